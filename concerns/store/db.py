"""The application database: engine, sessions, and schema migrations.

SQLite by default (a file in the current directory), PostgreSQL in production. The schema is managed
by Alembic: `concerns init` upgrades to the latest revision, which is harmless to repeat. The app DB is
kept apart from Prefect's own database (docs/decisions/0008-separate-prefect-database.md).

Casework is serialised the same way on both engines. A unit of work that writes takes the write lock
before it reads anything, so two officers (or an officer and a job) can never both decide from the
same state: on SQLite every writing transaction starts with `BEGIN IMMEDIATE`; on PostgreSQL the
casework locks the school's row before it reads the school's cases. Whoever comes second waits (up to
`CONCERNS_DB_WAIT_SECONDS`, default 30) and then reads what the first one wrote.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from itertools import repeat
from operator import itemgetter
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from sqlalchemy import Boolean, Connection, Date, Table, event, func, insert, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlmodel import Session, create_engine
from sqlmodel.sql.sqltypes import UTCDateTime

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from concerns.domain import resources

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = resources.MIGRATIONS
DEFAULT_URL = "sqlite:///concerns.db"
DEFAULT_WAIT_SECONDS = 30
# An unreachable PostgreSQL server is reported after this long, not after the driver's default.
CONNECT_TIMEOUT_SECONDS = 10


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("CONCERNS_DB") or DEFAULT_URL


class DatabaseSettingRefused(ValueError):
    """A database setting that cannot be used (or must not be); one line that names it."""


# --- secrets -----------------------------------------------------------------------------------------


def mask_url(url: str | None) -> str:
    """The URL as it may be shown or logged: any password replaced by ***."""
    url = database_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        # Not a URL SQLAlchemy can read, so it may be mistyped in any way: hide whatever sits between
        # "user:" and "@", and show nothing of the URL's query (it can carry a password too).
        masked = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
        return masked.split("?", 1)[0]
    # libpq also takes the password as a query parameter (?password=...).
    hidden = {key: "***" for key in parsed.query if key.lower() == "password"}
    return parsed.update_query_dict(hidden).render_as_string(hide_password=True)


def carries_password(url: str) -> bool:
    """Does the URL hold a password (after "user:" or as libpq's ?password=)?"""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return bool(re.search(r"://[^:/@]*:[^@]*@", url))
    return bool(parsed.password) or "password" in {key.lower() for key in parsed.query}


def refuse_password_in_flow_parameter(url: str | None) -> str | None:
    """Refuse a database URL given as a flow parameter if it carries a password.

    Prefect stores every flow run's parameters in its own database and shows them in its UI, so a
    password there leaks to anyone who can read run history. Returns the URL unchanged when it is safe.
    """
    if url is None:
        return None
    try:
        make_url(url)
    except ArgumentError:
        raise DatabaseSettingRefused(f"db {mask_url(url)!r} is not a database URL") from None
    if carries_password(url):
        raise DatabaseSettingRefused(f"db {mask_url(url)!r} carries a password: put the password in CONCERNS_DB or "
                         "~/.pgpass, never in a flow parameter: parameters are stored in Prefect's database")
    return url


# --- engines -----------------------------------------------------------------------------------------


def wait_seconds() -> float:
    """How long a unit of work waits for another one's write lock before giving up."""
    text = os.environ.get("CONCERNS_DB_WAIT_SECONDS", "")
    try:
        value = float(text) if text else DEFAULT_WAIT_SECONDS
    except ValueError:
        raise DatabaseSettingRefused(f"CONCERNS_DB_WAIT_SECONDS {text!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise DatabaseSettingRefused(f"CONCERNS_DB_WAIT_SECONDS {text!r} must be between 0 and 3600")
    return value


def _sqlite_connect(wait: float):
    def on_connect(dbapi_connection, _record) -> None:
        # Transactions are begun by the "begin" hook below, not by the sqlite3 module: left to itself
        # it issues a deferred BEGIN only before the first INSERT or UPDATE, after the reads that
        # decided what to write, so two writers can both act on the same state. This is the
        # SQLAlchemy documentation's pysqlite recipe "Serializable isolation / Savepoints /
        # Transactional DDL".
        dbapi_connection.isolation_level = None
        # WAL lets a reader (the register) run while a flow writes; foreign keys are off by default in
        # SQLite, and without them cascades and references are not enforced (docs/decisions/0012-database-locking.md).
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def _sqlite_begin(connection) -> None:
    # IMMEDIATE takes the write lock now (waiting up to the busy timeout for it), so everything the
    # unit of work reads is still true when it writes (SQLite docs, "BEGIN TRANSACTION"). Read-only
    # sessions begin deferred and never wait for a writer: WAL gives them a consistent snapshot.
    writes = connection.get_execution_options().get("concerns_writes", True)
    # A read-only unit of work notes the database's version before its snapshot is taken (the snapshot
    # begins at its first read), so that what it computes is never newer than it is older: see data_version.
    connection.info[_VERSION_AT_BEGIN] = None if writes else _sqlite_version(connection)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN DEFERRED")


_VERSION_AT_BEGIN = "concerns_version_at_begin"
_LAST_SEEN = "concerns_last_seen"


class _SqliteEpochs:
    """One number for this process that moves on whenever any of its SQLite connections, beginning a
    read-only unit of work, sees that the database changed since that connection last looked: by
    `PRAGMA data_version` (which moves when any other connection, in any process, commits) or by the rows
    the connection changed itself (which data_version does not count: SQLite docs, "PRAGMA data_version").
    A connection seen for the first time moves it too. So after any commit, the first look of every
    connection moves the number past every value read before the commit (docs/decisions/0024)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.epoch = 0

    def read(self, connection) -> int:
        dbapi = connection.connection.dbapi_connection
        cursor = dbapi.cursor()
        try:
            (version,) = cursor.execute("PRAGMA data_version").fetchone()
        finally:
            cursor.close()
        seen = (version, dbapi.total_changes)
        with self._lock:
            if connection.info.get(_LAST_SEEN) != seen:
                connection.info[_LAST_SEEN] = seen
                self.epoch += 1
            return self.epoch


_SQLITE_EPOCHS = _SqliteEpochs()


def _sqlite_version(connection) -> tuple:
    return ("sqlite", _SQLITE_EPOCHS.read(connection))


def data_version(session: Session) -> tuple | None:
    """What the database held when this read-only unit of work began, as a value that changes whenever
    anything is committed anywhere in it: a page computed from the database can be kept under it and shown
    again while it is unchanged (concerns.store.readcache). None where no such value can be had (a unit of
    work that may write; an engine other than SQLite and PostgreSQL): then nothing is kept.

    PostgreSQL: the current snapshot (`pg_current_snapshot()`: the lowest transaction still running, one past
    the highest finished, and those running between); any commit or rollback on the server changes it (the
    server's databases share transaction numbers: another database's commits move it too, which only means
    computing again). A read-only unit of
    work reads at READ COMMITTED, so every query after this one sees at least this snapshot. SQLite: read
    before the unit's BEGIN (see _sqlite_begin), so again every read in it sees at least that version."""
    connection = session.connection()
    if connection.get_execution_options().get("concerns_writes", True):
        return None
    name = connection.dialect.name
    if name == "sqlite":
        version = connection.info.get(_VERSION_AT_BEGIN)
    elif name == "postgresql":
        # One server's transaction numbers are shared by all its databases: the database is part of the key.
        version = ("postgresql", connection.exec_driver_sql(
            "SELECT current_database(), pg_current_snapshot()::text").one()._tuple())
    else:
        return None
    return None if version is None else (connection.engine.url.render_as_string(hide_password=True), version)


_ENGINES: dict[str, Engine] = {}


def engine_for(url: str | None = None) -> Engine:
    url = database_url(url)
    if url not in _ENGINES:
        _ENGINES[url] = _create_engine(url, wait_seconds())
    return _ENGINES[url]


def _create_engine(url: str, wait: float) -> Engine:
    parsed = make_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"timeout": wait})
            event.listen(engine, "connect", _sqlite_connect(wait))
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        models.use_dialect(parsed.get_backend_name())
        # lock_timeout bounds the wait for another transaction's row lock (the school being worked
        # on), so an officer gets "busy, try again" rather than a command that never returns.
        return create_engine(url, pool_pre_ping=True, connect_args={
            "connect_timeout": CONNECT_TIMEOUT_SECONDS, "options": f"-c lock_timeout={int(wait * 1000)}"})
    except ImportError as exc:
        raise DatabaseSettingRefused(f"the database URL {mask_url(url)!r} needs the Python module {exc.name!r}, "
                                     "which is not installed") from None


def dispose_engines() -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


@contextmanager
def session_scope(url: str | None = None, *, writes: bool = True) -> Iterator[Session]:
    """One unit of work: everything in it commits together, or nothing does.

    `writes=False` is for views that only read: on SQLite they do not take the write lock, so the
    register still shows while a long job runs. Anything that may write must keep the default.
    """
    engine = engine_for(url)
    if not writes:
        engine = engine.execution_options(concerns_writes=False)
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# --- errors, as one line -----------------------------------------------------------------------------

LOCK_TIMEOUT_SQLSTATES = {"55P03", "40P01", "40001"}  # lock_not_available, deadlock, serialization


def is_busy(exc: BaseException) -> bool:
    """Did the unit of work give up waiting for another one's lock (and so may simply be retried)?"""
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    if getattr(orig, "sqlstate", None) in LOCK_TIMEOUT_SQLSTATES:
        return True
    message = str(orig).lower()
    return "database is locked" in message or "database is busy" in message


def describe_database_error(exc: SQLAlchemyError, url: str | None = None) -> str:
    """One line for an officer: what went wrong with which database, never its password."""
    where = mask_url(url)
    if isinstance(exc, ArgumentError):
        return f"the database URL {where!r} is not usable: {_first_line(exc, url)}"
    if is_busy(exc):
        return (f"the database is busy: another officer or a job held the lock on {where} for more than "
                f"{wait_seconds():g} s; nothing was changed, try again")
    if (isinstance(exc, DBAPIError) and exc.connection_invalidated) or _is_connection_failure(exc):
        return f"cannot reach the database {where}: {_first_line(exc, url)}"
    return f"the database {where} refused the change: {_first_line(exc, url)}"


def _is_connection_failure(exc: SQLAlchemyError) -> bool:
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is None and orig is not None and type(orig).__module__.startswith("psycopg"):
        return True  # psycopg raises before there is a server to give a SQLSTATE
    return bool(sqlstate and sqlstate.startswith("08")) or "unable to open database" in str(orig)


def _first_line(exc: BaseException, url: str | None) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    try:
        password = make_url(database_url(url)).password
    except ArgumentError:
        password = None
    return line.replace(str(password), "***") if password else line


# --- migrations --------------------------------------------------------------------------------------
# Alembic is imported only by the functions that migrate: every other command checks the schema with
# one query and the head revision read from the migration files' own `revision =` lines (about 1 s of
# Alembic import and ScriptDirectory building saved per command; tests/test_schema.py checks that the
# two agree).


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None) -> tuple[str | None, str]:
    """Bring the schema to the latest revision. Returns (revision before, revision after)."""
    engine = engine_for(url)
    before = current_revision(engine)
    from alembic import command

    cfg = alembic_config(url)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    return before, current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.execution_options(concerns_writes=False).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def stored_revisions(engine: Engine) -> set[str]:
    """The revisions recorded in the database's alembic_version table (none when it has no such table)."""
    with engine.execution_options(concerns_writes=False).connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return set()
        return {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}


_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"""['"]([^'"]+)['"]""")


@cache
def head_revision() -> str:
    """The newest revision in concerns/store/migrations/versions, from each file's `revision` and
    `down_revision` lines (the one no other file names as its down revision). Alembic's
    ScriptDirectory gives the same answer (tests/test_schema.py) but costs about a second to build."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _ASSIGNMENT.findall(path.read_text(encoding="utf-8")):
            (revisions if name == "revision" else downs).update(_QUOTED.findall(value))
    heads = revisions - downs
    if len(heads) != 1:  # a branch, or a file this reading does not understand: ask Alembic
        return script_head_revision()
    return heads.pop()


def script_head_revision() -> str:
    """The head revision as Alembic computes it (slow: imports Alembic and builds the ScriptDirectory)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


class SchemaNotReady(RuntimeError):
    pass


def require_schema(url: str | None = None) -> None:
    engine = engine_for(url)
    if stored_revisions(engine) != {head_revision()}:
        raise SchemaNotReady(f"the database {mask_url(url)} is not initialised or is out of date: "
                             "run `concerns init`")


_INSERTS: dict[tuple, tuple[str, tuple[str, ...] | None] | None] = {}
_PYFORMAT_BIND = re.compile(r"%\((\w+)\)s")


def insert_many(connection: Connection, table: Table, rows: list[dict], *, copy: bool = True) -> None:
    """Insert the rows with one executemany: what `connection.execute(insert(table), rows)` does, less
    its per-row work.

    SQLAlchemy builds each row's parameters and runs each value through its column type one row at a
    time (two thirds of the time a bulk import spent writing, measured). Here the statement is compiled
    once, each column's values go through that column type's own bind processor (once per distinct value
    where that gives the same result, see _converted), and the driver is handed positional parameter
    tuples: the same values are stored (tests/test_bulk_insert.py compares the two on both engines).
    Every row must have the same keys. A column the rows leave out takes its scalar default as
    SQLAlchemy would give it; rows that leave out a column whose default is computed per row go through
    SQLAlchemy unchanged.

    On PostgreSQL the rows go in with COPY ... FROM STDIN (psycopg's Cursor.copy and write_row), on the
    same connection and so in the same transaction, unless `copy` is False: the server parses one stream
    of rows instead of executing the statement once per row (see _copy_rows). Rows that give their ids
    leave the table's sequence past the largest (_advance_sequence), so a later insert does not collide.
    """
    if not rows:
        return
    names = tuple(rows[0])
    insert_rows(connection, table, names, row_tuples(rows, names), copy=copy)


def insert_rows(connection: Connection, table: Table, names: Sequence[str], rows: Sequence[tuple], *,
                same: dict | None = None, copy: bool = True) -> None:
    """insert_many for rows given as tuples of the `names` columns' values, in that order: a writer that
    builds its rows itself saves making a dict of each and taking it apart again. `same`: columns whose
    value is the same for every row (a batch's timestamp), put through the column type once. `copy`:
    on PostgreSQL, COPY (the default) or an executemany (what COPY is compared with)."""
    if rows:
        _insert_columns(connection, table, tuple(names), list(zip(*rows, strict=True)), len(rows), same or {},
                        copy=copy)


def row_tuples(rows: list[dict], names: Sequence[str]) -> list[tuple]:
    """The rows' values of the `names` columns, as tuples in that order (for insert_rows)."""
    if len(names) == 1:  # itemgetter of one key returns the value, not a tuple
        return [(row[names[0]],) for row in rows]
    return list(map(itemgetter(*names), rows))


def _insert_columns(connection: Connection, table: Table, names: tuple[str, ...], columns: list[Sequence],
                    count: int, same: dict, *, copy: bool = True, ids_drawn: bool = False) -> None:
    """Insert `count` rows given column by column (`columns[i]` holds column `names[i]`'s values).
    `ids_drawn`: the rows' ids were drawn from the table's own sequence (insert_rows_returning_ids), which
    is therefore past them already."""
    fill = dict(same)
    for column in table.columns:
        if column.key in names or column.key in fill or column.default is None:
            continue
        if not column.default.is_scalar:
            _insert_by_sqlalchemy(connection, table, names, columns, same)
            if "id" in names and not ids_drawn:
                _advance_sequence(connection, table, columns[names.index("id")])
            return
        fill[column.key] = column.default.arg
    dialect = connection.dialect
    keys = (*names, *fill)
    memos: dict[tuple, dict] = {}
    values: dict[str, Iterable] = {name: _converted(table.c[name], dialect, column, memos)
                                   for name, column in zip(names, columns, strict=True)}
    for name, value in fill.items():
        process = _bind_processor(table.c[name], dialect)
        values[name] = repeat(value if process is None else process(value), count)
    if "id" in names and not ids_drawn:
        _advance_sequence(connection, table, columns[names.index("id")])
    if copy and dialect.name == "postgresql":
        _copy_rows(connection, table, keys, zip(*(values[k] for k in keys), strict=True))
        return
    statement = _insert_statement(table, dialect, keys)
    if statement is None:  # a bind name the driver must see spelt otherwise
        _insert_by_sqlalchemy(connection, table, names, columns, same)
        return
    sql, order = statement
    if order is None:  # PostgreSQL, a statement whose placeholders could not be made positional
        parameters = [dict(zip(keys, row, strict=True)) for row in zip(*(values[k] for k in keys), strict=True)]
    else:
        parameters = list(zip(*(values[name] for name in order), strict=True))
    connection.exec_driver_sql(sql, parameters)


def _copy_rows(connection: Connection, table: Table, keys: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """COPY the rows into the table on PostgreSQL, in the connection's transaction.

    The values are those the executemany would have been given (each column's bind processor applied:
    aware UTC timestamps, dates, booleans, JSON already wrapped as psycopg's Json); psycopg's text dumpers
    write each as the server reads that type's input (an offset kept on a timestamp with time zone,
    None as NULL, tabs, newlines and backslashes escaped). tests/test_bulk_insert.py holds the stored
    rows equal to the executemany's for every table the import fills. Nothing is converted again here,
    and no column's own type is named: the server parses the text as the column's type, as it does a
    statement's untyped parameter."""
    preparer = connection.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(table.c[key].name) for key in keys)
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor.copy(f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN") as stream:
            write = stream.write_row
            for row in rows:
                write(row)
    finally:
        cursor.close()


def _advance_sequence(connection: Connection, table: Table, ids: Sequence) -> None:
    """Rows given their own ids leave the table's id sequence where it was: move it past the largest, so
    that the next row the sequence numbers does not take one of theirs (PostgreSQL; on SQLite a new rowid
    is the largest plus one anyway). Never moved back: another transaction may have drawn further."""
    given = [i for i in ids if i is not None]
    if connection.dialect.name != "postgresql" or not given:
        return
    # nextval - 1: the last value drawn (or 0 on a fresh sequence), whatever is_called says; the value
    # that nextval takes is a gap at most, as any rolled-back draw leaves. A table whose id has no
    # sequence gets NULL from pg_get_serial_sequence, and is left alone.
    connection.execute(text("SELECT setval(s, GREATEST(:top, nextval(s) - 1)) "
                            "FROM pg_get_serial_sequence(:table, 'id') AS s WHERE s IS NOT NULL"),
                       {"top": max(given), "table": connection.dialect.identifier_preparer.format_table(table)})


def _insert_by_sqlalchemy(connection: Connection, table: Table, names: tuple[str, ...], columns: list[Sequence],
                          same: dict) -> None:
    connection.execute(insert(table), [dict(zip(names, row, strict=True)) | same
                                       for row in zip(*columns, strict=True)])


def _insert_statement(table: Table, dialect, keys: tuple[str, ...]) -> tuple[str, tuple[str, ...] | None] | None:
    """The INSERT for these columns as the driver takes it, and the order its parameters go in (None: by
    name); None when a bind name needs escaping. Compiled once per table, dialect and columns."""
    cache_key = (table, dialect.name, dialect.paramstyle, *keys)
    if cache_key in _INSERTS:
        return _INSERTS[cache_key]
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys), for_executemany=True)  # no RETURNING
    statement: tuple[str, tuple[str, ...] | None] | None
    if compiled.escaped_bind_names or set(compiled.binds) != set(keys):
        statement = None
    elif compiled.positional:
        statement = (compiled.string, tuple(compiled.positiontup))
    else:
        head, _, row = compiled.string.partition(" VALUES ")
        order = _PYFORMAT_BIND.findall(row)
        if not (row.startswith("(") and row.endswith(")")) or sorted(order) != sorted(keys):
            statement = (compiled.string, None)
        else:
            # PostgreSQL: the row's placeholders made positional (casts kept), so that the driver is
            # handed tuples. (One statement carrying a thousand rows' VALUES was measured slower: psycopg
            # reads a long query's placeholders in Python on every execute.)
            statement = (head + " VALUES " + _PYFORMAT_BIND.sub("%s", row), tuple(order))
    _INSERTS[cache_key] = statement
    return statement


# Column types whose bind processor gives equal values equal results: True and 1, a date and a subclass
# of date holding the same day (a date never equals a datetime), two aware datetimes of the same instant
# in different zones (UTCDateTime converts to UTC first). Their values are processed once per distinct
# value: an import's rows repeat the same few dates and one timestamp thousands of times. A plain
# DateTime is not among them: on SQLite it writes an aware value's own wall-clock time, so two equal
# instants in different zones are stored differently. Exactly these types: a subclass may process otherwise.
_BY_VALUE = {Date, Boolean, UTCDateTime}
# Dates and booleans are few (a century has 36,525 days), so what they were processed into is kept from
# one insert to the next, per dialect (a national import inserts its inspections' dates in 44 batches);
# timestamps are new in every batch, and are kept for one insert only.
_KEPT: WeakKeyDictionary = WeakKeyDictionary()
_KEPT_MAX = 100_000


class _Processed(dict):
    """Value -> what `process` makes of it, each distinct value processed on first lookup (a column's
    values are then looked up in one pass, in C, whatever share of them is new)."""

    __slots__ = ("process",)

    def __missing__(self, value):
        done = self[value] = self.process(value)
        return done


def _converted(column, dialect, values: Sequence, memos: dict[tuple, _Processed]) -> Sequence:
    """The column's values as its type's bind processor hands them to the driver.

    `memos`: the insert's own; columns whose types process alike share their results (a row's
    created_at and updated_at are usually the same value, put through the processor once)."""
    process = _bind_processor(column, dialect)
    if process is None:
        return values
    kind = column.type
    if type(kind) not in _BY_VALUE:
        return list(map(process, values))  # each value as SQLAlchemy would (a JSON column's dicts)
    impl = kind.dialect_impl(dialect)
    # What decides the processor's output: the type and, for SQLite's dates, the storage format.
    key = (type(kind), type(impl), getattr(impl, "_storage_format", None))
    if type(kind) is UTCDateTime:
        done = memos.setdefault(key, _Processed())
        if dialect.name == "sqlite" and getattr(impl.impl_instance.dialect_impl(dialect), "_storage_format",
                                                None) == _SQLITE_DATETIME_FORMAT:
            process = _sqlite_utc(process)
    else:
        done = _KEPT.setdefault(dialect, {}).setdefault(key, _Processed())
        if len(done) > _KEPT_MAX:
            done.clear()
    done.process = process
    try:
        return list(map(done.__getitem__, values))
    except TypeError:  # an unhashable value: the processor refuses it as SQLAlchemy would
        return list(map(process, values))


# How SQLAlchemy's SQLite DATETIME stores a datetime by default, and the same format by position: an aware
# UTC datetime written with it directly costs half what the UTCDateTime and DATETIME processors cost
# together (a national import stamps each of its 22,000 new schools with its own time).
_SQLITE_DATETIME_FORMAT = ("%(year)04d-%(month)02d-%(day)02d "
                           "%(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d")
_SQLITE_DATETIME_BY_POSITION = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _sqlite_utc(process):
    """`process` (UTCDateTime's on SQLite) for any value; an aware datetime already in UTC (utcnow's) is
    formatted here as that processor would: converting it to UTC changes none of its fields."""
    def utc(value):
        if type(value) is datetime and value.tzinfo is UTC:
            return _SQLITE_DATETIME_BY_POSITION % (value.year, value.month, value.day, value.hour, value.minute,
                                                   value.second, value.microsecond)
        return process(value)

    return utc


def _bind_processor(column, dialect):
    """The function SQLAlchemy passes a value for this column through on its way to the driver (None:
    the value goes as it is); the column type's own, as compiled for this dialect."""
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def insert_returning_ids(connection: Connection, table: Table, rows: list[dict]) -> list[int]:
    """Insert the rows with one executemany and return their new ids, in the rows' order.

    PostgreSQL: the ids drawn from the table's sequence, then the rows inserted with them (insert_many).
    Another database: INSERT ... RETURNING, which SQLAlchemy batches and sorts back into parameter order.
    SQLite cannot promise the order of RETURNING rows, so SQLAlchemy would send them one statement per
    row; instead they go in with a plain executemany (insert_many) and the ids are read off the table:
    SQLite gives each new row of a rowid table the largest rowid plus one, and no other connection can
    insert while this transaction holds the write lock, so the rows hold the last len(rows) ids, in order.
    """
    if not rows:
        return []
    names = tuple(rows[0])
    if connection.dialect.name not in ("postgresql", "sqlite"):
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(connection.execute(statement, rows).scalars().all())
    return insert_rows_returning_ids(connection, table, names, row_tuples(rows, names))


def insert_rows_returning_ids(connection: Connection, table: Table, names: Sequence[str], rows: Sequence[tuple],
                              *, same: dict | None = None) -> list[int]:
    """insert_returning_ids for rows given as tuples (insert_rows), on SQLite or PostgreSQL."""
    if not rows:
        return []
    names, columns, same = tuple(names), list(zip(*rows, strict=True)), same or {}
    if connection.dialect.name == "postgresql":
        # The ids taken from the table's sequence first, in one query, in order, and the rows inserted
        # with them: INSERT ... RETURNING through SQLAlchemy would process every row's parameters one at a
        # time. Another transaction drawing on the sequence meanwhile only leaves gaps, as it would anyway.
        ids = list(connection.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count) ORDER BY 1"),
            {"table": table.name, "count": len(rows)}).scalars())
        _insert_columns(connection, table, (*names, "id"), [*columns, ids], len(rows), same, ids_drawn=True)
        return ids
    if connection.dialect.name != "sqlite":
        raise ValueError(f"insert_rows_returning_ids: no way to know the new ids on {connection.dialect.name}")
    _insert_columns(connection, table, names, columns, len(rows), same)
    last = connection.execute(select(func.max(table.c.id))).scalar_one()
    return list(range(last - len(rows) + 1, last + 1))
