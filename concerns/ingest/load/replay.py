"""A school's new inspections replayed through the pathway machine in memory, nothing written.

`casework.record_inspection` loads a school's open cases, fires the judgement on each, writes the event
and the deadlines, and opens a case when none stays open: eight statements and four flushes per
inspection, and the module-level machine attached to and detached from a fresh model on every event.
An import of a school with no Ofsted case open does the same procedure here over plain dataclasses
(CaseFile, Deadline, Transitioned), with the same transition table, the same deadline factories and the
same extra facts, on one machine whose one model is bound once and given each case in turn. The rows
it yields (`ReplayedSchool`) are written in bulk by bulk_write.py.

Anything the replay cannot reproduce exactly is not guessed at: an event the machine refuses, a rule
that refuses, a URN casework would not accept. The school is then marked `Unreplayable` and goes
through record_inspection one inspection at a time (ofsted.py), which refuses it with the same reason
an officer typing it would get.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from concerns.casework.cases import _extra_facts, inspection_values
from concerns.domain.judgements import Judgement, JudgementError, Summary, summarise
from concerns.domain.policy import Policy
from concerns.domain.untrusted import URN
from concerns.ingest.load.summary import Tally
from concerns.ingest.parse import InspectionRecord
from statemachines.bound import BoundMachine, Unreplayable  # noqa: F401  (imported from here before)
from statemachines.case import CaseFile, SchoolFacts, Transitioned
from statemachines.pathways import JUDGEMENT_TRIGGERS, EventContext


@dataclass(frozen=True)
class ReplayedEvent:
    case: int  # index in ReplayedSchool.cases
    inspection: int  # index in ReplayedSchool.inspections
    transitioned: Transitioned
    ctx: EventContext
    opened: bool


@dataclass
class ReplayedSchool:
    """What record_inspection would have written for one school's new inspections, as plain values."""

    urn: str
    policy: Policy
    inspections: list[dict] = field(default_factory=list)  # Inspection column values, oldest first
    grades: list[dict[str, str]] = field(default_factory=list)  # area -> grade, per inspection
    cases: list[CaseFile] = field(default_factory=list)  # as they stand after the last inspection
    opened_by: list[int] = field(default_factory=list)  # per case: the inspection that opened it
    events: list[ReplayedEvent] = field(default_factory=list)  # in the order they happened
    tally: Tally = field(default_factory=Tally)


def judgement_event(judgement: Judgement, actor: str, summary: Summary | None = None) -> EventContext:
    """The event an inspection fires on a school's cases (as casework._carry_cases builds it); `summary`,
    when given, is summarise(judgement) already made."""
    if summary is None:
        summary = summarise(judgement)
    return EventContext(trigger=JUDGEMENT_TRIGGERS[summary.level], on=judgement.published, actor=actor,
                        judgement=judgement, summary=summary,
                        note=f"Ofsted report published {judgement.published.isoformat()}")


def replay_school(machine: BoundMachine, facts: SchoolFacts, policy: Policy,
                  inspections: list[tuple[int, InspectionRecord, Judgement, str | None]], *, source: str,
                  actor: str) -> ReplayedSchool:
    """Record a school's new inspections, oldest first, on a school with no Ofsted case open.

    The procedure of casework.record_inspection: each inspection's judgement is fired on every case
    still open, and a below-good judgement that leaves none open opens one. Raises Unreplayable.
    """
    if not URN.fullmatch(facts.urn):
        raise Unreplayable(f"URN {facts.urn!r}")
    school = ReplayedSchool(facts.urn, policy)
    for index, (_, record, judgement, category) in enumerate(inspections):
        try:
            summary = summarise(judgement)
        except JudgementError as exc:
            raise Unreplayable(str(exc)) from None
        school.inspections.append(inspection_values(
            facts.urn, judgement, summary, number=record.number, category_code=category,
            inspection_type=record.inspection_type, source=source))
        school.grades.append({area: str(grade) for area, grade in judgement.areas.items()} if judgement.areas
                             else {})
        # The event is built when a case is there to fire it on: most inspections find a good school with
        # no case and none to open (three in four nationally), and need none. One per inspection, shared
        # by its cases, as before.
        ctx = None
        still_on_pathway = False
        for number, case in enumerate(school.cases):
            if case.closed is not None:
                continue
            if ctx is None:
                ctx = judgement_event(judgement, actor, summary)
            result = machine.fire(case, facts, policy, ctx)
            _extra_facts(case, result, ctx)
            school.events.append(ReplayedEvent(number, index, result, ctx, opened=False))
            still_on_pathway = still_on_pathway or case.is_open
        if summary.level != "good" and not still_on_pathway:
            if ctx is None:
                ctx = judgement_event(judgement, actor, summary)
            case = CaseFile()
            result = machine.fire(case, facts, policy, ctx)
            _extra_facts(case, result, ctx)
            school.cases.append(case)
            school.opened_by.append(index)
            school.events.append(ReplayedEvent(len(school.cases) - 1, index, result, ctx, opened=True))
        school.tally.inspections_recorded += 1
    for event in school.events:
        if event.opened:
            school.tally.cases_opened += 1
        elif event.transitioned.closed:
            school.tally.cases_closed += 1
        else:
            school.tally.cases_moved += 1
    return school


def deadline_creators(school: ReplayedSchool) -> dict[int, int]:
    """id(Deadline) -> index of the event that created it (Deadline.created_by_event_id)."""
    return {id(deadline): number for number, event in enumerate(school.events)
            for deadline in event.transitioned.created}
