"""Replayed schools written in bulk: one executemany per table and batch (concerns.store.db.insert_rows), new
ids known in order.

The rows are the ones casework._write and record_inspection write for the same events (a test compares
every column of every table): the inspection, its grades, each case as it stands after the school's
last inspection, one event per transition, and each deadline with its final status, the event that
created it, its first notice date while it is open, and whether it is history on `as_of` (history.py).
Parents go in before children, their new ids known in the rows' order (insert_rows_returning_ids), so
that no row needs a second statement to be linked.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from concerns.domain.calendar import DayKind
from concerns.domain.rules import ofsted_owned
from concerns.domain.schedule import first_notice_on
from concerns.ingest.load.history import still_live
from concerns.ingest.load.replay import ReplayedSchool, deadline_creators
from concerns.store.db import insert_rows, insert_rows_returning_ids, row_tuples
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
    # The rows go to the driver as tuples built here (concerns.store.db.insert_rows), the batch's one timestamp
    # put through its column type once.
    now = utcnow()
    # Inspections: only those that opened a case or carry grades need their id back.
    linked, plain = [], []
    for school in schools:
        for index, values in enumerate(school.inspections):
            if school.grades[index] or index in school.opened_by:
                linked.append((school, index))
            else:
                plain.append(values)
    names = next((tuple(school.inspections[0]) for school in schools if school.inspections), ())
    if plain:
        insert_rows(connection, _INSPECTION, names, row_tuples(plain, names), same={"created_at": now})
    inspection_ids: dict[tuple[int, int], int] = {}
    if linked:
        ids = insert_rows_returning_ids(connection, _INSPECTION, names,
                                        row_tuples([school.inspections[index] for school, index in linked], names),
                                        same={"created_at": now})
        inspection_ids = {(id(school), index): new for (school, index), new in zip(linked, ids, strict=True)}
        grades = [(inspection_ids[(id(school), index)], area, grade)
                  for school, index in linked for area, grade in school.grades[index].items()]
        insert_rows(connection, _GRADE, ("inspection_id", "area", "grade"), grades)

    with_cases = [school for school in schools if school.cases]
    if not with_cases:
        return 0
    case_rows = [(school.urn, case.pathway, case.state, case.origin, case.opened, case.closed, case.outcome,
                  dict(case.facts), inspection_ids[(id(school), school.opened_by[number])], case.last_event_on)
                 for school in with_cases for number, case in enumerate(school.cases)]
    case_ids = iter(insert_rows_returning_ids(connection, _CASE, _CASE_COLUMNS, case_rows,
                                              same={"created_at": now, "updated_at": now}))
    school_case_ids = [[next(case_ids) for _ in school.cases] for school in with_cases]

    event_rows = [(ids[event.case], school.urn, event.transitioned.event, event.ctx.on, event.ctx.until,
                   event.transitioned.from_state, event.transitioned.to_state, event.ctx.actor or "unknown",
                   event.ctx.note, event.ctx.confidential)
                  for school, ids in zip(with_cases, school_case_ids, strict=True) for event in school.events]
    event_ids = iter(insert_rows_returning_ids(connection, _EVENT, _EVENT_COLUMNS, event_rows,
                                               same={"recorded_at": now}))

    deadline_rows, historical = [], 0
    for school, ids in zip(with_cases, school_case_ids, strict=True):
        events = [next(event_ids) for _ in school.events]
        creators = deadline_creators(school)
        for number, case in enumerate(school.cases):
            for deadline in case.deadlines:
                # History is not news: what mark_history decides after a batch, decided here at once.
                past = deadline.due < as_of and not still_live(deadline.due, case.closed is None, as_of)
                historical += past
                deadline_rows.append((
                    ids[number], school.urn, deadline.kind, deadline.due, deadline.status, deadline.responsible,
                    deadline.rule, deadline.source, deadline.note, deadline.created_on, deadline.met_on,
                    deadline.cancelled_on, None, events[creators[id(deadline)]], past,
                    # casework gives a new deadline its first notice date, and clears it once the
                    # deadline is met or cancelled by a later event.
                    notices.on(school, deadline.due, deadline.kind) if deadline.status == "open" else None))
    insert_rows(connection, _DEADLINE, _DEADLINE_COLUMNS, deadline_rows, same={"updated_at": now})
    return historical


# The columns of the rows built above, in their order (the batch's timestamps are given apart).
_CASE_COLUMNS = ("urn", "pathway", "state", "origin", "opened", "closed", "outcome", "facts", "inspection_id",
                 "last_event_on")
_EVENT_COLUMNS = ("case_id", "urn", "event", "on", "until", "from_state", "to_state", "actor", "note",
                  "confidential")
_DEADLINE_COLUMNS = ("case_id", "urn", "kind", "due", "status", "responsible", "rule", "source", "note",
                     "created_on", "met_on", "cancelled_on", "missed_on", "created_by_event_id", "historical",
                     "next_notice_on")
