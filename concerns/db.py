"""The application database: engine, sessions, and schema migrations.

SQLite by default (a file in the current directory), PostgreSQL in production. The schema is managed
by Alembic: `concerns init` upgrades to the latest revision, which is harmless to repeat. The app DB is
kept apart from Prefect's own database (TECH-NOTES §1.9).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

import models  # noqa: F401  (registers every table on SQLModel.metadata)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DEFAULT_URL = "sqlite:///concerns.db"


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("CONCERNS_DB") or DEFAULT_URL


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets a reader (the register) run while a flow writes; foreign keys are off by default in
    # SQLite, and without them cascades and references are not enforced (TECH-NOTES §4).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_ENGINES: dict[str, Engine] = {}


def engine_for(url: str | None = None) -> Engine:
    url = database_url(url)
    if url not in _ENGINES:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        _ENGINES[url] = engine
    return _ENGINES[url]


def dispose_engines() -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One unit of work: everything in it commits together, or nothing does."""
    with Session(engine_for(url), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None) -> tuple[str | None, str]:
    """Bring the schema to the latest revision. Returns (revision before, revision after)."""
    engine = engine_for(url)
    before = current_revision(engine)
    cfg = alembic_config(url)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    return before, current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


class SchemaNotReady(RuntimeError):
    pass


def require_schema(url: str | None = None) -> None:
    engine = engine_for(url)
    if current_revision(engine) != head_revision():
        raise SchemaNotReady(f"the database {database_url(url)} is not initialised or is out of date: run `concerns init`")
