"""concerns.db.insert_many stores exactly what SQLAlchemy's own executemany stores, on both engines."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import insert

from concerns.db import engine_for, insert_many, insert_returning_ids
from models import Case, CaseEvent, Deadline, Inspection, InspectionGrade, School

NOW = datetime(2026, 11, 24, 9, 30, 15, 123456, tzinfo=UTC)


def _school(urn: str) -> dict:
    # Leaves out status, whose default ("open") SQLAlchemy fills in; created_at and updated_at are given.
    return dict(urn=urn, name="St Example's", la="Derbyshire", type_name="Community school", maintained=True,
                laestab=None, phase="Primary", religious_character=None, diocese=None, trust=None,
                predecessor_urn=None, opened_on=date(2001, 9, 1), closed_on=None, created_at=NOW, updated_at=NOW)


def _write(connection, urn: str, bulk: bool) -> None:
    def put(table, rows):
        if bulk:
            insert_many(connection, table, rows)
        else:
            connection.execute(insert(table), rows)

    put(School.__table__, [_school(urn)])
    inspection = dict(urn=urn, key="10001", number="10001", inspected=date(2024, 3, 5), published=date(2024, 4, 1),
                      regime="graded", outcome="special_measures", category="SM", level="sm", safeguarding=None,
                      graded=True, inspection_type="S5", source="ofsted-import", created_at=NOW)
    plain = inspection | {"key": "10000", "number": None, "outcome": None, "graded": False}
    put(Inspection.__table__, [plain])
    if bulk:
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
        by_sqlalchemy, by_insert_many = _stored(connection, "100001"), _stored(connection, "100002")
    assert all(by_sqlalchemy.values())
    assert by_insert_many == by_sqlalchemy
