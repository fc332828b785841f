"""Replayed schools written in bulk: one executemany per table and batch (concerns.db.insert_many), new
ids known in order.

The rows are the ones casework._write and record_inspection write for the same events (a test compares
every column of every table): the inspection, its grades, each case as it stands after the school's
last inspection, one event per transition, and each deadline with its final status, the event that
created it, its first notice date while it is open, and whether it is history on `as_of` (history.py).
Parents go in before children, their new ids known in the rows' order (insert_returning_ids), so that no
row needs a second statement to be linked.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from concerns.calendar import DayKind
from concerns.db import insert_many, insert_returning_ids
from concerns.imports.history import still_live
from concerns.imports.replay import ReplayedSchool, deadline_creators
from concerns.rules import ofsted_owned
from concerns.schedule import first_notice_on
from models import Case, CaseEvent, Deadline, Inspection, InspectionGrade
from models._base import utcnow

_INSPECTION = Inspection.__table__
_CASE = Case.__table__
_EVENT = CaseEvent.__table__
_GRADE = InspectionGrade.__table__
_DEADLINE = Deadline.__table__


class FirstNotices:
    """first_notice_on per policy, due date and whether Ofsted owns the date, each worked out once (a
    national file repeats them)."""

    def __init__(self) -> None:
        self.known: dict[tuple[str, date, bool], date] = {}

    def on(self, school: ReplayedSchool, due: date, kind: str = "") -> date:
        policy = school.policy
        key = (policy.key, due, ofsted_owned(kind))
        if key not in self.known:
            self.known[key] = first_notice_on(due, policy.calendar(DayKind.statutory), policy.reminder_offsets,
                                              kind)
        return self.known[key]


def write_replayed(connection: Connection, schools: list[ReplayedSchool], as_of: date,
                   notices: FirstNotices) -> int:
    """Insert what the schools' replays produced. Returns how many deadlines were recorded as history."""
    now = utcnow()
    # Inspections: only those that opened a case or carry grades need their id back.
    linked = [(school, index) for school in schools for index in range(len(school.inspections))
              if school.grades[index] or index in school.opened_by]
    plain = [school.inspections[index] | {"created_at": now} for school in schools
             for index in range(len(school.inspections))
             if not (school.grades[index] or index in school.opened_by)]
    if plain:
        insert_many(connection, _INSPECTION, plain)
    inspection_ids: dict[tuple[int, int], int] = {}
    if linked:
        ids = insert_returning_ids(connection, _INSPECTION, [school.inspections[index] | {"created_at": now}
                                                             for school, index in linked])
        inspection_ids = {(id(school), index): new for (school, index), new in zip(linked, ids, strict=True)}
        grades = [{"inspection_id": inspection_ids[(id(school), index)], "area": area, "grade": grade}
                  for school, index in linked for area, grade in school.grades[index].items()]
        if grades:
            insert_many(connection, _GRADE, grades)

    with_cases = [school for school in schools if school.cases]
    if not with_cases:
        return 0
    case_rows = [dict(urn=school.urn, pathway=case.pathway, state=case.state, origin=case.origin,
                      opened=case.opened, closed=case.closed, outcome=case.outcome, facts=dict(case.facts),
                      inspection_id=inspection_ids[(id(school), school.opened_by[number])],
                      last_event_on=case.last_event_on, created_at=now, updated_at=now)
                 for school in with_cases for number, case in enumerate(school.cases)]
    case_ids = iter(insert_returning_ids(connection, _CASE, case_rows))
    school_case_ids = [[next(case_ids) for _ in school.cases] for school in with_cases]

    event_rows = [dict(case_id=ids[event.case], urn=school.urn, event=event.transitioned.event, on=event.ctx.on,
                       until=event.ctx.until, from_state=event.transitioned.from_state,
                       to_state=event.transitioned.to_state, actor=event.ctx.actor or "unknown",
                       note=event.ctx.note, confidential=event.ctx.confidential, recorded_at=now)
                  for school, ids in zip(with_cases, school_case_ids, strict=True) for event in school.events]
    event_ids = iter(insert_returning_ids(connection, _EVENT, event_rows))

    deadline_rows, historical = [], 0
    for school, ids in zip(with_cases, school_case_ids, strict=True):
        events = [next(event_ids) for _ in school.events]
        creators = deadline_creators(school)
        for number, case in enumerate(school.cases):
            for deadline in case.deadlines:
                # History is not news: what mark_history decides after a batch, decided here at once.
                past = deadline.due < as_of and not still_live(deadline.due, case.closed is None, as_of)
                historical += past
                deadline_rows.append(dict(
                    case_id=ids[number], urn=school.urn, kind=deadline.kind, due=deadline.due,
                    status=deadline.status, responsible=deadline.responsible, rule=deadline.rule,
                    source=deadline.source, note=deadline.note, created_on=deadline.created_on,
                    met_on=deadline.met_on, cancelled_on=deadline.cancelled_on, missed_on=None,
                    created_by_event_id=events[creators[id(deadline)]], historical=past,
                    # casework gives a new deadline its first notice date, and clears it once the
                    # deadline is met or cancelled by a later event.
                    next_notice_on=notices.on(school, deadline.due, deadline.kind) if deadline.status == "open" else None,
                    updated_at=now))
    if deadline_rows:
        insert_many(connection, _DEADLINE, deadline_rows)
    return historical
