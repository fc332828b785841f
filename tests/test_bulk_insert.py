"""concerns.store.db.insert_many and insert_rows store exactly what SQLAlchemy's own executemany stores, on both
engines; on PostgreSQL, their COPY stores what their executemany stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select, text
from sqlmodel import SQLModel

from concerns.store.db import (
    engine_for,
    insert_many,
    insert_returning_ids,
    insert_rows,
    insert_rows_returning_ids,
    row_tuples,
)
from models import Case, CaseEvent, Deadline, Inspection, InspectionGrade, School
from tests.conftest import _require_postgres

NOW = datetime(2026, 11, 24, 9, 30, 15, 123456, tzinfo=UTC)


def _school(urn: str) -> dict:
    # Leaves out status, whose default ("open") SQLAlchemy fills in; created_at and updated_at are given.
    return dict(urn=urn, name="St Example's", la="Derbyshire", type_name="Community school", maintained=True,
                laestab=None, phase="Primary", religious_character=None, diocese=None, trust=None,
                predecessor_urn=None, opened_on=date(2001, 9, 1), closed_on=None, created_at=NOW, updated_at=NOW)


def _write(connection, urn: str, bulk: bool | str) -> None:
    """The same rows by SQLAlchemy (bulk False), insert_many (True) or insert_rows ("rows": tuples, the
    timestamps given as `same`)."""
    def put(table, rows):
        if bulk == "rows":
            stamps = {k: rows[0][k] for k in ("created_at", "updated_at", "recorded_at") if k in rows[0]}
            names = [k for k in rows[0] if k not in stamps]
            insert_rows(connection, table, names, row_tuples(rows, names), same=stamps)
        elif bulk:
            insert_many(connection, table, rows)
        else:
            connection.execute(insert(table), rows)

    put(School.__table__, [_school(urn)])
    inspection = dict(urn=urn, key="10001", number="10001", inspected=date(2024, 3, 5), published=date(2024, 4, 1),
                      regime="graded", outcome="special_measures", category="SM", level="sm", safeguarding=None,
                      graded=True, inspection_type="S5", source="ofsted-import", created_at=NOW)
    plain = inspection | {"key": "10000", "number": None, "outcome": None, "graded": False}
    put(Inspection.__table__, [plain])
    if bulk == "rows":
        names = [k for k in inspection if k != "created_at"]
        [inspection_id] = insert_rows_returning_ids(connection, Inspection.__table__, names,
                                                    row_tuples([inspection], names), same={"created_at": NOW})
    elif bulk:
        [inspection_id] = insert_returning_ids(connection, Inspection.__table__, [inspection])
    else:
        inspection_id = connection.execute(insert(Inspection.__table__), inspection).inserted_primary_key[0]
    put(InspectionGrade.__table__, [{"inspection_id": inspection_id, "area": "leadership_and_management",
                                     "grade": "4"}])
    case = dict(urn=urn, pathway="special_measures", state="awaiting_soa", origin="ofsted", opened=date(2024, 4, 1),
                closed=None, outcome=None, inspection_id=inspection_id, last_event_on=date(2024, 4, 1),
                created_at=NOW, updated_at=NOW)
    put(Case.__table__, [case | {"facts": {"lead": "hmi", "visits": [1, 2]}},
                         case | {"pathway": "la_concern", "closed": date(2024, 5, 1), "facts": {}}])
    case_id = connection.execute(Case.__table__.select().where(Case.__table__.c.urn == urn)).first().id
    # Leaves out note and confidential (scalar defaults).
    put(CaseEvent.__table__, [dict(case_id=case_id, urn=urn, event="judgement_sm", on=date(2024, 4, 1), until=None,
                                   from_state="none", to_state="awaiting_soa", actor="import", recorded_at=NOW)])
    put(Deadline.__table__, [dict(case_id=case_id, urn=urn, kind="statement_of_action", due=date(2024, 4, 15),
                                  status="open", responsible="senior_adviser", rule="eia-2006/s15", source="EA 2005",
                                  note="", created_on=date(2024, 4, 1), met_on=None, cancelled_on=None, missed_on=None,
                                  created_by_event_id=None, historical=flag, next_notice_on=None, updated_at=NOW)
                             for flag in (True, False)])


TABLES = {"school": ("urn", "laestab"), "inspection": ("id", "urn"), "inspection_grade": ("id", "inspection_id"),
          "pathway_case": ("id", "urn", "inspection_id"), "case_event": ("id", "urn", "case_id"),
          "deadline": ("id", "urn", "case_id")}


def _stored(connection, urn: str) -> dict[str, list[tuple]]:
    """Every row of the school, as the driver reads it back (dates and JSON as stored), ids and links left out."""
    found = {}
    for table, skipped in TABLES.items():
        urn_of = ("urn" if table != "inspection_grade"
                  else "(SELECT urn FROM inspection WHERE inspection.id = inspection_id)")
        result = connection.exec_driver_sql(f"SELECT * FROM {table} WHERE {urn_of} = '{urn}' ORDER BY 1")
        keep = [i for i, name in enumerate(result.keys()) if name not in skipped]
        found[table] = [tuple(row[i] for i in keep) for row in result]
    return found


def test_insert_many_stores_what_sqlalchemy_stores(db_url):
    with engine_for(db_url).begin() as connection:
        _write(connection, "100001", bulk=False)
        _write(connection, "100002", bulk=True)
        _write(connection, "100003", bulk="rows")
        by_sqlalchemy, by_insert_many = _stored(connection, "100001"), _stored(connection, "100002")
        by_insert_rows = _stored(connection, "100003")
    assert all(by_sqlalchemy.values())
    assert by_insert_many == by_sqlalchemy
    assert by_insert_rows == by_sqlalchemy


class _Day(date):
    """A subclass of date (as pendulum's is): equal to the plain date of the same day."""


AHEAD = timezone(timedelta(hours=1))
BEHIND = timezone(timedelta(hours=-5))
# Equal values of different types or zones in one column (processed once per distinct value: each must
# still be stored as SQLAlchemy stores it), a timestamp with no microseconds, a year before 1000.
_VARIANTS = [
    dict(maintained=True, opened_on=date(2001, 9, 1), closed_on=None, created_at=NOW, updated_at=NOW),
    dict(maintained=1, opened_on=_Day(2001, 9, 1), closed_on=date(999, 1, 2),
         created_at=NOW.astimezone(AHEAD), updated_at=NOW),
    dict(maintained=False, opened_on=None, closed_on=_Day(2024, 2, 29),
         created_at=NOW.replace(microsecond=0), updated_at=NOW.astimezone(BEHIND)),
    dict(maintained=0, opened_on=date(2001, 9, 1), closed_on=date(2024, 2, 29),
         created_at=datetime(2026, 3, 29, 0, 30, tzinfo=AHEAD), updated_at=datetime(2026, 3, 29, 0, 30, tzinfo=AHEAD)),
]


def test_equal_values_of_other_types_are_stored_as_sqlalchemy_stores_them(db_url):
    with engine_for(db_url).begin() as connection:
        for prefix, how in (("2", None), ("3", "many"), ("4", "rows")):
            rows = [_school(f"{prefix}0000{n}") | variant for n, variant in enumerate(_VARIANTS)]
            if how is None:
                connection.execute(insert(School.__table__), rows)
            elif how == "many":
                for row in rows:  # one at a time too: what a column's earlier inserts processed is reused
                    insert_many(connection, School.__table__, [row])
                insert_many(connection, School.__table__, [row | {"urn": "5" + row["urn"][1:]} for row in rows])
            else:
                names = list(rows[0])
                insert_rows(connection, School.__table__, names, row_tuples(rows, names))
        stored = {prefix: [row[1:] for row in connection.execute(
            text("SELECT * FROM school WHERE urn LIKE :prefix ORDER BY urn"), {"prefix": f"{prefix}%"})]
            for prefix in "2345"}
    assert len(stored["2"]) == len(_VARIANTS)
    assert stored["3"] == stored["2"]
    assert stored["4"] == stored["2"]
    assert stored["5"] == stored["2"]


def test_utc_timestamps_are_formatted_as_sqlalchemys_sqlite_processor_formats_them():
    from sqlalchemy.dialects import sqlite

    from concerns.store.db import _SQLITE_DATETIME_FORMAT, _sqlite_utc

    dialect = sqlite.dialect()
    assert sqlite.DATETIME._storage_format == _SQLITE_DATETIME_FORMAT  # the format written by position
    process = School.__table__.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    values = [NOW, NOW.replace(microsecond=0), datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
              datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), NOW.astimezone(AHEAD), None]
    assert [_sqlite_utc(process)(value) for value in values] == [process(value) for value in values]


def test_held_school_rows_are_the_same_read_by_urn_or_in_one_pass(db_url):
    from concerns.ingest.load.schools import held_school_rows
    from concerns.store.db import session_scope

    with engine_for(db_url).begin() as connection:
        insert_many(connection, School.__table__, [_school(f"30000{n}") for n in range(6)])
    with session_scope(db_url) as session:
        few = held_school_rows(session, ["300001", "300004", "399999"])  # by URN: 3 of 6 held
        most = held_school_rows(session, [f"30000{n}" for n in range(5)] + ["399999"])  # one pass
        assert held_school_rows(session, []) == {}
    assert sorted(few) == ["300001", "300004"] and sorted(most) == [f"30000{n}" for n in range(5)]
    assert {urn: most[urn] for urn in few} == few
    assert few["300004"]._mapping["opened_on"] == date(2001, 9, 1) and few["300004"]._mapping["maintained"] is True


# --- COPY on PostgreSQL against the executemany it replaced ---------------------------------------------------


@pytest.fixture
def postgres_urls() -> Iterator[Callable[[], str]]:
    """Fresh migrated PostgreSQL databases, as many as the test asks for, dropped after it."""
    _require_postgres()
    from tests.support.databases import drop_postgres_database, fresh_postgres_database

    names: list[str] = []

    def fresh() -> str:
        url, name = fresh_postgres_database()
        names.append(name)
        return url

    yield fresh
    for name in names:
        drop_postgres_database(name)


def _everything(url: str) -> dict[str, list[tuple]]:
    """Every row of every application table, as the server stores it, in primary-key order, ids and all."""
    found = {}
    with engine_for(url).connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            key = ", ".join(c.name for c in table.primary_key.columns)
            found[table.name] = [tuple(row) for row in connection.exec_driver_sql(
                f"SELECT * FROM {table.name} ORDER BY {key}")]
    return found


def test_copy_stores_what_executemany_stores_for_every_table_the_import_fills(postgres_urls, tmp_path):
    """A national sample imported on PostgreSQL (its rows written by COPY); every row of every table it
    filled read back and written again into two fresh databases, once by COPY and once by executemany
    (insert_many's copy=False, as before COPY), ids given: the three databases hold the same rows, value
    for value as the server stores them (dates, aware timestamps, JSON, booleans, NULLs)."""
    from bench.make_national import write as write_national
    from concerns.ingest.load import import_ofsted

    sample = write_national(tmp_path / "sample", 400, 2028)
    imported = postgres_urls()
    summary = import_ofsted(imported, sample["ofsted"], as_of=date(2026, 11, 24))
    assert summary.cases_opened > 0 and summary.rows_refused == 0
    # The 2017 layout carries no report-card grades: a school with grades and nested JSON facts added, as a
    # report-card file's import writes them.
    with engine_for(imported).begin() as connection:
        _write(connection, "999009", bulk=True)
    written = _everything(imported)
    filled = [name for name, rows in written.items() if rows and name != "alembic_version"]
    # The import's tables, its digests among them: something of every kind was compared.
    assert {"school", "authority_policy", "inspection", "inspection_grade", "pathway_case", "case_event", "deadline",
            "import_file_digest", "import_school_digest"} <= set(filled)
    with engine_for(imported).connect() as connection:
        rows = {name: [dict(row._mapping) for row in connection.execute(select(SQLModel.metadata.tables[name]))]
                for name in filled}
    stored = {}
    for copy in (True, False):
        url = postgres_urls()
        with engine_for(url).begin() as connection:
            for table in SQLModel.metadata.sorted_tables:  # parents first
                if table.name in rows:
                    insert_many(connection, table, rows[table.name], copy=copy)
        stored[copy] = _everything(url)
    assert stored[True] == stored[False] == written
    assert any(value is None for row in written["deadline"] for value in row)  # NULLs went through too


def test_ids_given_to_copy_move_the_sequence_past_them_and_never_back(postgres_urls):
    """Rows written with their own ids: a later insert numbered by the sequence takes the next id, not one
    of theirs; rows given lower ids than the sequence has reached leave it where it is."""
    url = postgres_urls()
    events = CaseEvent.__table__

    def event(n: int) -> dict:
        return dict(case_id=case_id, urn="100001", event="judgement_sm", on=date(2024, 4, 1), until=None,
                    from_state="start", to_state="sm_statement_due", actor="import", note="", confidential=False,
                    recorded_at=NOW)

    with engine_for(url).begin() as connection:
        _write(connection, "100001", bulk=True)
        case_id = connection.execute(select(Case.__table__.c.id).limit(1)).scalar_one()
        first = connection.execute(select(func.max(events.c.id))).scalar_one()
        insert_many(connection, events, [event(n) | {"id": first + 100 + n} for n in range(3)])
        after_given = connection.execute(insert(events).values(event(0))).inserted_primary_key[0]
        insert_many(connection, events, [event(0) | {"id": first + 50}], copy=False)  # below: not moved back
        after_lower = connection.execute(insert(events).values(event(0))).inserted_primary_key[0]
        [drawn] = insert_returning_ids(connection, events, [event(0)])
    assert (after_given, after_lower, drawn) == (first + 103, first + 104, first + 105)
