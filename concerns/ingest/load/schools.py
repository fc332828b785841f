"""The school upsert every importer shares: held schools loaded in bulk, new ones inserted with Core."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import Connection, Row, bindparam, func, update
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from concerns.domain.policy import policy_for
from concerns.domain.schooltypes import UnknownSchoolType, canonical_type, is_maintained
from concerns.domain.untrusted import BadInput, check_line, check_name
from concerns.ingest.load.summary import NotStateFunded, RowRefused
from concerns.ingest.parse import (
    SchoolRecord,
)
from concerns.store.db import insert_many, insert_rows
from models import AuthorityPolicy, Case, School
from models._base import utcnow

# Schools per committed batch: large enough that commits (an fsync each on SQLite) and each table's
# statement cost little (2,000 against 500: the national import 3.2 s against 4.1 s at best, 4.2 against
# 4.7 s at the median of four runs each), small enough that a crash loses little work (a rerun completes
# it: imports are idempotent) and that another writer waits well under a second.
BATCH_SCHOOLS = 2000
# SQLite allows 999 bound parameters per statement before 3.32; IN lists are chunked below that.
CHUNK = 900


# --- schools ----------------------------------------------------------------------------------------------


def chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def fold(name: str) -> str:
    return " ".join(name.replace("-", " ").split()).casefold()


def preload_schools(session: Session, urns: Iterable[str]) -> dict[str, School]:
    urns = list(dict.fromkeys(urns))
    found: dict[str, School] = {}
    for chunk in chunks(urns):
        for school in session.exec(select(School).where(School.urn.in_(chunk))):
            found[school.urn] = school
    return found


def in_one_pass(connection: Connection, schools: int) -> bool:
    """Whether what is held about a file's `schools` is best read in one pass over a table rather than by
    URN: when the file names most of the schools held (a national file, or an empty database). For
    22,000 schools the pass took 0.14 s against 0.22 s by URN, and a tenth of that for their inspections."""
    if not schools:
        return False
    held = connection.execute(select(func.count()).select_from(School.__table__)).scalar_one()
    return 3 * schools >= 2 * held


def held_school_rows(session: Session, urns: Iterable[str]) -> dict[str, Row]:
    """The schools held among `urns`, as rows (read-only, attribute access as on a School)."""
    table = School.__table__
    query = select(*_HELD_COLUMNS)
    wanted = list(dict.fromkeys(urns))
    connection = session.connection()
    if in_one_pass(connection, len(wanted)):
        wanted_set = set(wanted)
        return {row[0]: row for row in connection.execute(query) if row[0] in wanted_set}
    found: dict[str, Row] = {}
    for chunk in chunks(wanted):
        for row in connection.execute(query.where(table.c.urn.in_(chunk))):
            found[row[0]] = row
    return found


_SCHOOL = School.__table__
# What held_school_rows reads: not the timestamps (no import compares them, and reading them back is half
# the cost), the URN first; and where each column stands in the rows it reads.
_HELD_COLUMNS = [_SCHOOL.c.urn, *(c for c in _SCHOOL.columns if c.name not in ("urn", "created_at", "updated_at"))]
_HELD_AT = {column.name: at for at, column in enumerate(_HELD_COLUMNS)}
_POLICY = AuthorityPolicy.__table__


# The file's texts that reach letters, mails, the desk and terminals, with the name each has in a refusal.
_RECORD_TEXTS = (("laestab", "LAESTAB"), ("phase", "phase"), ("religious_character", "religious character"),
                 ("diocese", "diocese"), ("trust", "trust"), ("predecessor_urn", "predecessor URN"),
                 ("status", "status"))


def check_record(record: SchoolRecord) -> None:
    """The one door for a school's texts from a file (GIAS or Ofsted): names one line, not empty, at most
    200 characters, nothing invisible (no control characters, no bidi overrides, no CR/LF); other texts one
    bounded line. A bad row is refused alone (RowRefused, naming the value); the rest of the file goes on."""
    try:
        check_name(record.name, "school name")
        if record.la_name is not None:
            check_name(record.la_name, "local authority")
        if record.type_name is not None:
            check_line(record.type_name, "type of establishment")
        for attr, what in _RECORD_TEXTS:
            value = getattr(record, attr)
            if value is not None:
                check_line(value, what)
        for part in record.address:
            if part is not None:
                check_line(part, "address")
    except BadInput as exc:
        raise RowRefused(str(exc)) from None


class Schools:
    """The schools of one import: the ones already held, read in bulk as plain rows (an ORM School costs
    more to load than the row it holds, at 22,000 a file); new ones inserted with Core statements."""

    def __init__(self, session: Session, urns: Iterable[str]):
        self.session = session
        self.by_urn = held_school_rows(session, urns)  # as held before the import
        self.policies_recorded: set[str] = set()
        self.types: dict[str, tuple[str, bool] | None] = {}  # as spelled -> (GIAS name, maintained)

    def get(self, urn: str) -> Row | None:
        return self.by_urn.get(urn)

    def plan(self, record: SchoolRecord, la: str | None, *, says_open: bool = True) -> tuple[str, dict]:
        """What the record does to the school: ("new", row values), ("changed", changes) or ("unchanged",
        {}). Raises RowRefused (cannot register it) or NotStateFunded. Writes nothing.

        `says_open` False: the file's "open" is only implied (an Ofsted MI file lists the schools open at
        its date), so it sets the status of a new school but never reopens one another source closed.
        """
        check_record(record)
        existing = self.by_urn.get(record.urn)
        type_name = self._canonical_type(record.type_name) if record.type_name else None
        la_name = record.la_name or la
        # A value the file does not give is left as it is: an Ofsted file says nothing of the diocese, a
        # GIAS extract may lack a column, and neither should blank what another source set. The postal
        # address comes last (GIAS only: an Ofsted record has none, and blanks nothing).
        values = {k: v for k, v in zip(_PLANNED, (
            record.name, la_name, type_name, record.laestab, record.phase, record.religious_character,
            record.diocese, record.trust, record.predecessor_urn, record.status, record.open_date,
            record.close_date, *record.address), strict=False) if v is not None}  # an address may be short
        if type_name:
            values["maintained"] = self.types[record.type_name][1]
        if existing is None:
            if not type_name:
                raise RowRefused("Type of education: missing, and the school is not yet registered")
            if not la_name:
                raise RowRefused("Local authority: missing, and the school is not yet registered")
            row = _NEW_ROW.copy()
            row.update(values)
            row["urn"] = record.urn
            row["created_at"] = row["updated_at"] = utcnow()
            return "new", row
        if not says_open and values.get("status") == "open":
            del values["status"]
        # By position: a Row's attribute access costs several times more, and its mapping's twice.
        changed = {k: v for k, v in values.items() if existing[_HELD_AT[k]] != v}
        return ("changed", changed) if changed else ("unchanged", {})

    def _canonical_type(self, spelled: str) -> str:
        """canonical_type, once per spelling in the file (a national file has a few dozen)."""
        if spelled not in self.types:
            try:
                type_name = canonical_type(spelled)
            except UnknownSchoolType:
                self.types[spelled] = None
            else:
                self.types[spelled] = (type_name, is_maintained(type_name))
        if self.types[spelled] is None:
            raise NotStateFunded(f"not a state-funded school type ({spelled}): no pathway applies")
        return self.types[spelled][0]

    def write(self, urn: str, kind: str, values: dict) -> None:
        if kind == "new":
            self.insert_many([values])
        elif kind == "changed":
            self.update_many([(urn, values)])

    def update_many(self, changes: list[tuple[str, dict]]) -> None:
        """Write the changed values of held schools: one executemany per set of columns changed."""
        now = utcnow()
        self._record_policies(values["la"] for _, values in changes if "la" in values)
        by_columns: dict[tuple[str, ...], list[dict]] = {}
        for urn, values in changes:
            by_columns.setdefault(tuple(sorted(values)), []).append(values | {"urn_": urn, "updated_at": now})
        table = School.__table__
        connection = self.session.connection()
        for columns, rows in by_columns.items():
            statement = (update(table).where(table.c.urn == bindparam("urn_"))
                         .values({name: bindparam(name) for name in (*columns, "updated_at")}))
            connection.execute(statement, rows)
        # A School the session already holds would not see a Core UPDATE: read it again when next used.
        for urn, _ in changes:
            held = self.session.identity_map.get(identity_key(School, urn))
            if held is not None:
                self.session.expire(held)

    def insert_many(self, rows: list[dict]) -> None:
        if rows:
            self._record_policies(row["la"] for row in rows)
            insert_many(self.session.connection(), _SCHOOL, rows)

    def _record_policies(self, las: Iterable[str]) -> None:
        """casework.record_authority_policy for each LA not yet recorded by this import, the policy rows in
        before any school of their LA: the ones held read with one query, the others inserted with one
        statement (an ORM lookup and flush for each of a national file's 150 LAs cost a tenth of a second)."""
        wanted = [la for la in dict.fromkeys(las) if la not in self.policies_recorded]
        if not wanted:
            return
        policies = [policy_for(la) for la in wanted]
        self.session.flush()  # a policy the session holds unwritten is found below, not inserted twice
        connection = self.session.connection()
        held: set[str] = set()
        for chunk in chunks(wanted):
            held.update(connection.execute(select(_POLICY.c.la).where(_POLICY.c.la.in_(chunk))).scalars())
        insert_rows(connection, _POLICY, ("la", "policy_key", "policy_title", "policy_source"),
                    [(la, policy.key, policy.title, policy.source)
                     for la, policy in zip(wanted, policies, strict=True) if la not in held],
                    same={"recorded_at": utcnow()})
        self.policies_recorded.update(wanted)

    def forget(self) -> None:
        """After a rollback: a policy recorded inside it is gone too (recording one again is harmless)."""
        self.policies_recorded.clear()


SCHOOL_COLUMNS = tuple(c.name for c in School.__table__.columns)
ADDRESS_COLUMNS = ("street", "locality", "address3", "town", "county", "postcode")  # SchoolRecord.address
# The columns a record gives, in Schools.plan's order; a new school's row before the record's values.
_PLANNED = ("name", "la", "type_name", "laestab", "phase", "religious_character", "diocese", "trust",
            "predecessor_urn", "status", "opened_on", "closed_on", *ADDRESS_COLUMNS)
_NEW_ROW = dict.fromkeys(SCHOOL_COLUMNS) | {"status": "open"}


def schools_to_settle(session: Session, urns: Sequence[str]) -> tuple[dict[str, School], list[str]]:
    """Among a file's schools, those with cases to settle: academies naming a predecessor that has open
    cases (predecessor URN -> academy), and closed schools with open cases.

    Asked of the few schools with open cases, not of the file's thousands.
    """
    in_file = set(urns)
    open_cases = select(Case.urn).where(Case.closed.is_(None))
    successors: dict[str, School] = {}
    for school in session.exec(select(School).where(School.predecessor_urn.in_(open_cases),
                                                    School.maintained.is_(False))):
        if school.urn in in_file:
            successors[school.predecessor_urn] = school
    closed = [urn for urn in session.exec(select(School.urn).where(School.status == "closed",
                                                                    School.urn.in_(open_cases)))
              if urn in in_file]
    return successors, closed
