"""Casework: what an officer's command does to the database, through the pathway machine.

Each function runs inside one session (one transaction, committed by the caller): a state change, its
event row and its deadlines are written together or not at all. Refusals raise `Refused` before
anything is flushed, with a one-line reason that names the bad value.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert
from sqlmodel import Session, select

from concerns.domain.calendar import DayKind
from concerns.domain.clock import ImplausibleDate, check_date
from concerns.domain.judgements import Judgement, Outcome, Summary, regime_on, summarise
from concerns.domain.policy import Policy, policy_for
from concerns.domain.rules import academy_order_position
from concerns.domain.schedule import first_notice_on
from concerns.domain.schooltypes import UnknownSchoolType, canonical_type, is_maintained
from concerns.domain.untrusted import BadInput, check_name, check_note, check_text, check_urn_text
from models import AuthorityPolicy, Case, CaseEvent, Inspection, InspectionGrade, School
from models import Deadline as DeadlineRow
from statemachines.case import CaseFile, Deadline, SchoolFacts, Transitioned
from statemachines.pathways import (
    JUDGEMENT_TRIGGERS,
    OPENING_EVENTS,
    SYSTEM_TRIGGERS,
    EventContext,
    EventRefused,
    allowed_events,
    fire,
    open_case,
)


class Refused(ValueError):
    """Input refused: nothing was changed."""


# --- schools ----------------------------------------------------------------------------------------


def check_urn(urn: str) -> str:
    try:
        return check_urn_text(urn)
    except BadInput as exc:
        raise Refused(str(exc)) from None


def checked(check, value, what: str):
    try:
        return check(value, what)
    except (BadInput, ImplausibleDate) as exc:
        raise Refused(str(exc)) from None


def event_date(day: date, what: str) -> date:
    return check_date(day, "event", what)


def inspection_date(day: date, what: str) -> date:
    return check_date(day, "inspection", what)


def get_school(session: Session, urn: str, *, for_update: bool = False) -> School:
    """The school; with `for_update`, locked for the rest of the unit of work before its cases are read.

    On PostgreSQL the row lock serialises officers and jobs working on the same school: the second
    waits, then reads what the first wrote. FOR NO KEY UPDATE rather than FOR UPDATE, because rows that
    merely reference the school (a queued e-mail) take a key-share lock on it, and those must not wait
    for casework nor casework for them (PostgreSQL docs, "Row-level locks"). On SQLite the write
    session's BEGIN IMMEDIATE already holds the database's one write lock, so no query is needed.
    """
    urn = check_urn(urn)
    if for_update and session.get_bind().dialect.name != "sqlite":
        # populate_existing: what this session cached before the lock was taken may be stale.
        school = session.exec(select(School).where(School.urn == urn).with_for_update(key_share=True)
                              .execution_options(populate_existing=True)).first()
    else:
        school = session.get(School, urn)
    if school is None:
        raise Refused(f"unknown URN {urn}: register it first with `concerns school add {urn} ...`")
    return school


def record_authority_policy(session: Session, la: str) -> Policy:
    policy = policy_for(la)
    if session.get(AuthorityPolicy, la) is None:
        session.add(AuthorityPolicy(la=la, policy_key=policy.key, policy_title=policy.title,
                                    policy_source=policy.source))
    return policy


def add_school(session: Session, urn: str, *, name: str, la: str, type_name: str, diocese: str | None = None,
               trust: str | None = None, religious_character: str | None = None, phase: str | None = None,
               laestab: str | None = None, predecessor_urn: str | None = None) -> tuple[School, bool]:
    """Register a school. Returns (school, created). Re-adding the same school unchanged is harmless."""
    urn = check_urn(urn)
    name = checked(check_name, name, "--name")
    la = checked(check_name, la, "--la")
    diocese, trust = (checked(check_text, v, what) if v is not None else None
                      for v, what in ((diocese, "--diocese"), (trust, "--trust")))
    try:
        type_name = canonical_type(type_name)
    except UnknownSchoolType as exc:
        raise Refused(str(exc)) from None
    values = dict(name=name.strip(), la=la.strip(), type_name=type_name, maintained=is_maintained(type_name),
                  diocese=diocese, trust=trust, religious_character=religious_character, phase=phase,
                  laestab=laestab, predecessor_urn=predecessor_urn)
    existing = session.get(School, urn)
    if existing is not None:
        differs = {k: (getattr(existing, k), v) for k, v in values.items()
                   if v is not None and getattr(existing, k) != v}
        if differs:
            what = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in differs.items())
            raise Refused(f"URN {urn} is already registered as {existing.name!r}; it would change: {what}")
        return existing, False
    record_authority_policy(session, values["la"])
    school = School(urn=urn, **values)
    session.add(school)
    return school, True


def school_facts(school: School) -> SchoolFacts:
    return SchoolFacts(urn=school.urn, name=school.name, la=school.la, type_name=school.type_name,
                       maintained=school.maintained, diocese=school.diocese,
                       religious_character=school.religious_character, trust=school.trust)


# --- cases: rows <-> case files ---------------------------------------------------------------------


def _deadline_from_row(row: DeadlineRow) -> Deadline:
    return Deadline(kind=row.kind, due=row.due, responsible=row.responsible, rule=row.rule, source=row.source,
                    created_on=row.created_on, status=row.status, met_on=row.met_on,
                    cancelled_on=row.cancelled_on, note=row.note, id=row.id)


def case_file(session: Session, row: Case) -> CaseFile:
    deadlines = session.exec(select(DeadlineRow).where(DeadlineRow.case_id == row.id)
                             .order_by(DeadlineRow.due, DeadlineRow.id)).all()
    return CaseFile(pathway=row.pathway, state=row.state, opened=row.opened, closed=row.closed,
                    outcome=row.outcome, origin=row.origin, facts=copy.deepcopy(row.facts or {}),
                    deadlines=[_deadline_from_row(d) for d in deadlines], last_event_on=row.last_event_on,
                    id=row.id)


def open_case_rows(session: Session, urn: str) -> list[Case]:
    return list(session.exec(select(Case).where(Case.urn == urn, Case.closed.is_(None)).order_by(Case.id)).all())


def _write(session: Session, school: School, row: Case | None, case: CaseFile, result: Transitioned,
           ctx: EventContext, inspection_id: int | None = None) -> Case:
    if row is None:
        row = Case(urn=school.urn, pathway=case.pathway, state=case.state, origin=case.origin,
                   opened=case.opened, inspection_id=inspection_id)
        session.add(row)
    row.state, row.closed, row.outcome = case.state, case.closed, case.outcome
    row.facts, row.last_event_on = dict(case.facts), case.last_event_on
    session.flush()
    event = CaseEvent(case_id=row.id, urn=school.urn, event=result.event, on=ctx.on, until=ctx.until,
                      from_state=result.from_state, to_state=result.to_state, actor=ctx.actor or "unknown",
                      note=ctx.note, confidential=ctx.confidential)
    session.add(event)
    session.flush()
    _write_deadlines(session, school, row, case, result, event.id)
    return row


def _write_deadlines(session: Session, school: School, row: Case, case: CaseFile, result: Transitioned,
                     event_id: int, new_rows: list[dict] | None = None) -> None:
    """The case's new deadlines (created by event `event_id`) added to the session, or their column values
    appended to `new_rows` for one insert; those the event met or cancelled updated."""
    changed = {id(d) for d in (*result.met, *result.cancelled)}
    if any(d.id is None for d in case.deadlines):
        policy = policy_for(school.la)
        calendar = policy.calendar(DayKind.statutory)
    for deadline in case.deadlines:
        if deadline.id is None:
            values = dict(case_id=row.id, urn=school.urn, kind=deadline.kind, due=deadline.due,
                          responsible=deadline.responsible, rule=deadline.rule, source=deadline.source,
                          note=deadline.note, created_on=deadline.created_on, created_by_event_id=event_id,
                          next_notice_on=first_notice_on(deadline.due, calendar, policy.reminder_offsets,
                                                         deadline.kind))
            if new_rows is None:
                session.add(DeadlineRow(**values))  # flushed with the rest of the unit of work, not one by one
            else:
                new_rows.append(_with_defaults(DeadlineRow, values))
        elif id(deadline) in changed:
            stored = session.get(DeadlineRow, deadline.id)
            stored.status, stored.met_on, stored.cancelled_on = deadline.status, deadline.met_on, deadline.cancelled_on
            stored.next_notice_on = None


@dataclass
class EventResult:
    urn: str
    case_id: int
    transitioned: Transitioned
    opened: bool


def _extra_facts(case: CaseFile, result: Transitioned, ctx: EventContext) -> None:
    """Facts that depend on the rule in force on the day, not on the transition alone."""
    if ctx.summary and case.is_open and result.event.startswith("judged_"):
        case.facts["category"] = ctx.summary.category
        if ctx.summary.safeguarding_only:
            case.facts["safeguarding_only"] = True
    if result.event == "schedule_meeting":
        case.facts.setdefault("meetings", {})[ctx.extra["term"]] = ctx.extra["meeting_on"].isoformat()
    if result.from_state == "start" and case.pathway in ("special_measures", "serious_weaknesses") and ctx.judgement:
        # The position as the law stood on the report's publication; the views work it out again for the day
        # they are read, from the publication day and the day any order was made.
        case.facts["report_published"] = ctx.judgement.published.isoformat()
        case.facts["academy_order"] = academy_order_position(ctx.judgement.published, case.pathway)


# --- events ------------------------------------------------------------------------------------------


def record_event(session: Session, urn: str, event: str, *, on: date, until: date | None = None, note: str = "",
                 confidential: bool = False, actor: str = "", pathway: str | None = None,
                 meeting: str = "progress_meeting", extra: dict | None = None,
                 system: bool = False) -> EventResult:
    note = checked(check_note, note, "--note")
    checked(event_date, on, "--on")
    if until is not None:
        checked(event_date, until, "--until")
    school = get_school(session, urn, for_update=True)
    facts = school_facts(school)
    policy = policy_for(school.la)
    ctx = EventContext(trigger=event, on=on, until=until, note=note, actor=actor, confidential=confidential,
                       meeting=meeting, extra=extra or {})
    if event in JUDGEMENT_TRIGGERS.values():
        raise Refused(f"{event} comes from an inspection: record it with `concerns inspection add`")
    if event in SYSTEM_TRIGGERS and not system:
        raise Refused(f"{event} is recorded by the scheduled flows, not by hand")
    if meeting != "progress_meeting" and policy.meeting(meeting) is None:
        kinds = ", ".join(m.kind for m in policy.meetings)
        raise Refused(f"--meeting {meeting!r} is not a meeting in the {policy.key} policy ({kinds})")
    rows = [r for r in open_case_rows(session, school.urn) if pathway is None or r.pathway == pathway]
    files = {r.id: case_file(session, r) for r in rows}
    candidates = [r for r in rows
                  if event in allowed_events(files[r.id], facts, include_system=system, policy=policy)]
    if len(candidates) > 1:
        raise Refused(f"{event} applies to more than one open case of URN {school.urn} "
                      f"({', '.join(r.pathway for r in candidates)}): say which with --pathway")
    try:
        if candidates:
            row = candidates[0]
            case = files[row.id]
            result = fire(case, facts, policy, ctx)
            _extra_facts(case, result, ctx)
            row = _write(session, school, row, case, result, ctx)
            return EventResult(school.urn, row.id, result, opened=False)
        if event in OPENING_EVENTS:
            case, result = open_case(facts, policy, ctx)
            same = [r for r in open_case_rows(session, school.urn) if r.pathway == case.pathway]
            if same:
                raise Refused(f"URN {school.urn} already has an open {case.pathway} case "
                              f"(in state {same[0].state}); record events on it instead")
            row = _write(session, school, None, case, result, ctx)
            return EventResult(school.urn, row.id, result, opened=True)
        if rows:
            fire(files[rows[0].id], facts, policy, ctx)  # raises with the allowed events listed
        raise Refused(f"event {event!r} is not allowed: URN {school.urn} has no open case"
                      f"{' on the ' + pathway + ' pathway' if pathway else ''}; "
                      f"a case opens with {', '.join(OPENING_EVENTS)} or an inspection")
    except EventRefused as exc:
        if len(rows) > 1 and not candidates:
            details = "; ".join(
                f"{r.pathway} ({r.state}): {', '.join(allowed_events(files[r.id], facts, policy=policy)) or 'none'}"
                for r in rows)
            raise Refused(f"event {event!r} is not allowed for URN {school.urn}; allowed now: {details}") from None
        raise Refused(f"URN {school.urn}: {exc}") from None


# --- system events on many cases at once ---------------------------------------------------------------
# A job that fires the same system event on thousands of open cases (the termly review) has already read
# the schools and their cases; record_event would read each school and its cases again and flush three
# times per case. These do the same checks and write the same Case, CaseEvent and Deadline rows, from
# the rows the job loaded, with the cases' deadlines read in one query and the events flushed together.

_IN_CHUNK = 900  # bound parameters per IN list (SQLite before 3.32 allows 999)


def lock_schools(session: Session, urns: Sequence[str]) -> None:
    """get_school(for_update=True) for many schools in one query per chunk, before their cases are read.

    On SQLite the write session's BEGIN IMMEDIATE already holds the one write lock, so nothing is done.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    ordered = sorted(set(urns))  # one order for every locker: no deadlock between two bulk jobs
    for start in range(0, len(ordered), _IN_CHUNK):
        session.exec(select(School).where(School.urn.in_(ordered[start:start + _IN_CHUNK]))
                     .order_by(School.urn).with_for_update(key_share=True)
                     .execution_options(populate_existing=True)).all()


def _with_defaults(model, values: dict) -> dict:
    """A row's column values for a Core insert: `values`, and the model's defaults for every other field
    (default_factory called per row, as constructing the model would), the id left to the database.
    Building thousands of SQLModel objects only to read their values back costs a second per 10,000."""
    row = dict(values)
    for name, info in model.model_fields.items():
        if name != "id" and name not in row:
            row[name] = info.default_factory() if info.default_factory is not None else info.default
    return row


@dataclass(frozen=True)
class SystemEvent:
    """One open case (its rows, as loaded after lock_schools) and the note and extras of its event."""

    school: School
    row: Case
    note: str = ""
    extra: dict | None = None
    meeting: str = "progress_meeting"  # the kind of meeting, for schedule_meeting


def record_system_events(session: Session, event: str, planned: Sequence[SystemEvent], *, on: date,
                         actor: str) -> list[EventResult]:
    """As `record_event(session, urn, event, on=on, actor=actor, pathway=row.pathway, note=note, extra=extra,
    system=True)` for each planned case, in order; a refusal raises Refused with record_event's words and
    the unit of work is rolled back by the caller, as one refused record_event would be."""
    checked(event_date, on, "--on")
    if event not in SYSTEM_TRIGGERS:
        raise Refused(f"{event} is not an event the scheduled flows record")
    ids = [p.row.id for p in planned]
    stored: dict[int, list[DeadlineRow]] = {case_id: [] for case_id in ids}
    for start in range(0, len(ids), _IN_CHUNK):
        for d in session.exec(select(DeadlineRow).where(DeadlineRow.case_id.in_(ids[start:start + _IN_CHUNK]))
                              .order_by(DeadlineRow.due, DeadlineRow.id)).all():
            stored[d.case_id].append(d)
    from concerns.store.db import insert_returning_ids
    from statemachines.bound import BoundMachine, Unreplayable

    machine = BoundMachine()  # pathways.fire's transitions, without adding a model to the machine per case
    fired, audits = [], []
    for p in planned:
        school, row = p.school, p.row
        note = checked(check_note, p.note, "--note")
        if row.closed is not None:
            raise Refused(f"event {event!r} is not allowed: the {row.pathway} case of URN {school.urn} is closed")
        facts, policy = school_facts(school), policy_for(school.la)
        ctx = EventContext(trigger=event, on=on, note=note, actor=actor, meeting=p.meeting, extra=p.extra or {})
        case = CaseFile(pathway=row.pathway, state=row.state, opened=row.opened, closed=row.closed,
                        outcome=row.outcome, origin=row.origin, facts=copy.deepcopy(row.facts or {}),
                        deadlines=[_deadline_from_row(d) for d in stored[row.id]], last_event_on=row.last_event_on,
                        id=row.id)
        try:
            if event not in allowed_events(case, facts, include_system=True):
                raise Unreplayable(event)
            result = machine.fire(case, facts, policy, ctx)
        except Unreplayable:
            # Refused: record_event's words, from pathways.fire on the case as it was stored.
            try:
                fire(case_file(session, row), facts, policy, ctx)
            except EventRefused as exc:
                raise Refused(f"URN {school.urn}: {exc}") from None
            raise Refused(f"event {event!r} is not allowed for URN {school.urn} ({row.pathway}, {row.state})") from None
        _extra_facts(case, result, ctx)
        row.state, row.closed, row.outcome = case.state, case.closed, case.outcome
        row.facts, row.last_event_on = dict(case.facts), case.last_event_on
        audits.append(_with_defaults(CaseEvent, dict(
            case_id=row.id, urn=school.urn, event=result.event, on=ctx.on, until=ctx.until,
            from_state=result.from_state, to_state=result.to_state, actor=ctx.actor or "unknown", note=ctx.note,
            confidential=ctx.confidential)))
        fired.append((school, row, case, result))
    session.flush()  # the cases' new states, before the events and deadlines that refer to them
    connection = session.connection()
    event_ids = insert_returning_ids(connection, CaseEvent.__table__, audits)
    new_deadlines: list[dict] = []
    for (school, row, case, result), event_id in zip(fired, event_ids, strict=True):
        _write_deadlines(session, school, row, case, result, event_id, new_deadlines)
    if new_deadlines:
        connection.execute(insert(DeadlineRow.__table__), new_deadlines)
    return [EventResult(school.urn, row.id, result, opened=False) for school, row, _, result in fired]


# --- inspections -------------------------------------------------------------------------------------


def inspection_key(number: str | None, published: date, inspected: date | None) -> str:
    return number or f"{published.isoformat()}/{inspected.isoformat() if inspected else '-'}"


def inspection_values(urn: str, judgement: Judgement, summary: Summary, *, number: str | None,
                      category_code: str | None, inspection_type: str | None, source: str) -> dict:
    """The Inspection row an inspection is recorded as: one definition for `inspection add` and imports."""
    # A literal, not dict(...): a national import makes 40,000 of these (the keys keep their order).
    return {
        "urn": urn, "key": inspection_key(number, judgement.published, judgement.inspected), "number": number,
        "inspected": judgement.inspected, "published": judgement.published,
        "regime": "report_card" if judgement.is_report_card else regime_on(judgement.on),
        "outcome": judgement.outcome.value if judgement.outcome else None,
        "category": category_code or ("SM" if summary.level == "sm" else "RSI" if summary.level == "rsi" else None),
        "level": summary.level,
        "safeguarding": judgement.safeguarding, "graded": judgement.graded, "inspection_type": inspection_type,
        "source": source}


@dataclass
class InspectionResult:
    inspection: Inspection
    created: bool
    events: list[EventResult]


def record_inspection(session: Session, urn: str, judgement: Judgement, *, number: str | None = None,
                      category_code: str | None = None, inspection_type: str | None = None,
                      source: str = "cli", actor: str = "") -> InspectionResult:
    """Record an inspection and carry the school's Ofsted-driven cases along with it."""
    checked(inspection_date, judgement.published, "--published")
    if judgement.inspected:
        checked(inspection_date, judgement.inspected, "--inspected")
    school = get_school(session, urn, for_update=True)
    if judgement.inspected and judgement.inspected > judgement.published:
        raise Refused(f"--inspected {judgement.inspected.isoformat()} is after --published "
                      f"{judgement.published.isoformat()}")
    summary = summarise(judgement)
    key = inspection_key(number, judgement.published, judgement.inspected)
    existing = session.exec(select(Inspection).where(Inspection.urn == school.urn, Inspection.key == key)).first()
    if existing is not None:
        return InspectionResult(existing, False, [])
    inspection = Inspection(**inspection_values(school.urn, judgement, summary, number=number,
                                                category_code=category_code, inspection_type=inspection_type,
                                                source=source))
    session.add(inspection)
    session.flush()
    for area, grade in judgement.areas.items():
        session.add(InspectionGrade(inspection_id=inspection.id, area=area, grade=str(grade)))
    events = _carry_cases(session, school, inspection, judgement, summary, actor or "ofsted")
    return InspectionResult(inspection, True, events)


def _carry_cases(session, school, inspection, judgement, summary, actor) -> list[EventResult]:
    facts, policy = school_facts(school), policy_for(school.la)
    trigger = JUDGEMENT_TRIGGERS[summary.level]
    ctx = EventContext(trigger=trigger, on=judgement.published, actor=actor, judgement=judgement, summary=summary,
                       note=f"Ofsted report published {judgement.published.isoformat()}")
    results, still_on_pathway = [], False
    try:
        for row in open_case_rows(session, school.urn):
            if row.origin != "ofsted":
                continue
            case = case_file(session, row)
            result = fire(case, facts, policy, ctx)
            _extra_facts(case, result, ctx)
            _write(session, school, row, case, result, ctx, inspection.id)
            results.append(EventResult(school.urn, row.id, result, opened=False))
            still_on_pathway = still_on_pathway or case.is_open
        if summary.level != "good" and not still_on_pathway:
            case, result = open_case(facts, policy, ctx)
            _extra_facts(case, result, ctx)
            row = _write(session, school, None, case, result, ctx, inspection.id)
            results.append(EventResult(school.urn, row.id, result, opened=True))
    except EventRefused as exc:
        raise Refused(f"URN {school.urn}: inspection published {judgement.published.isoformat()}: {exc}") from None
    return results


def judgement_from_row(inspection: Inspection, grades: Sequence[InspectionGrade]) -> Judgement:
    from concerns.domain.judgements import Grade

    return Judgement(published=inspection.published, inspected=inspection.inspected,
                     outcome=Outcome(inspection.outcome) if inspection.outcome else None,
                     areas={g.area: Grade(g.grade) for g in grades}, safeguarding=inspection.safeguarding,
                     graded=inspection.graded)
