"""The deadlines each step of a pathway creates, one small function per kind.

Each takes the case being moved (a MachineModel) and what happened (an EventContext) and returns the deadlines to
create, each citing the rule or policy that produced it. The transition table in pathways.py names
them; nothing here decides *when* they apply.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from concerns.domain import rules
from concerns.domain.calendar import DayKind
from statemachines.case import Deadline
from statemachines.events import EventContext, MachineModel

# The end of a warning notice's compliance period is the school's obligation, not an officer's: when it has
# passed, an officer owes a decision (did the school comply? compliance_met or compliance_failed), so it is
# told as a decision due, never as a step the officer missed, and never escalated as their failure.
DECISION_KINDS: frozenset[str] = frozenset({"warning_notice_compliance", "tpc_warning_notice_compliance"})


def status_word(kind: str, status: str) -> str:
    """The word officers read for a deadline's status: the status itself (`open`, `met`, `missed`,
    `cancelled`, `passed`), but "decision due" for a compliance period that has ended undecided."""
    return "decision due" if status == "missed" and kind in DECISION_KINDS else status


def _deadline(model: MachineModel, ctx: EventContext, kind: str, computed: rules.Computed, note: str = "") -> Deadline:
    # A date from a rule nobody could confirm says so wherever the deadline is read.
    note = f"{note} ({computed.caveat})" if computed.caveat else note
    return Deadline(kind=kind, due=computed.due, responsible=model.policy.responsible_for(kind),
                    rule=computed.rule.id, source=computed.rule.source, created_on=ctx.on, note=note)


def statement_of_action(model: MachineModel, ctx: EventContext) -> list[Deadline]:
    if not model.school.maintained:  # EA 2005 s15 applies to maintained schools only
        return []
    published = ctx.judgement.published if ctx.judgement else ctx.on
    computed = rules.statement_of_action_due(published, model.policy.calendar(DayKind.inspection),
                                             model.policy.rules)
    return [_deadline(model, ctx, "statement_of_action", computed)]


_CATEGORY_OF_LEVEL = {"sm": "special_measures", "rsi": "serious_weaknesses", "ri": "requires_improvement"}


def _category_of(model: MachineModel, ctx: EventContext) -> str:
    level = ctx.summary.level if ctx.summary else "sm"
    return _CATEGORY_OF_LEVEL[level]


def hmi_monitoring(model: MachineModel, ctx: EventContext) -> list[Deadline]:
    published = ctx.judgement.published if ctx.judgement else ctx.on
    computed = rules.hmi_monitoring_due(published, _category_of(model, ctx), model.policy.terms,
                                        model.policy.rules)
    return [_deadline(model, ctx, "hmi_monitoring", computed, "expected HMI monitoring window closes")]


def next_hmi_monitoring(model: MachineModel, ctx: EventContext) -> list[Deadline]:
    computed = rules.next_hmi_monitoring_due(ctx.on, model.policy.terms, model.policy.rules)
    return [_deadline(model, ctx, "hmi_monitoring", computed, "expected HMI monitoring window closes")]


def reinspection(model: MachineModel, ctx: EventContext) -> list[Deadline]:
    published = ctx.judgement.published if ctx.judgement else ctx.on
    computed = rules.reinspection_due(published, _category_of(model, ctx), model.policy.rules,
                                      judged_on=ctx.judgement.on if ctx.judgement else None)
    return [_deadline(model, ctx, "reinspection", computed, "latest date for the next full inspection")]


def safeguarding_return(model: MachineModel, ctx: EventContext) -> list[Deadline]:
    if not (ctx.summary and ctx.summary.safeguarding_only and ctx.judgement):
        return []
    computed = rules.safeguarding_return_due(ctx.judgement.on, model.policy.rules)
    return [_deadline(model, ctx, "safeguarding_return", computed, "Ofsted return visit")] if computed else []


def warning_notice_compliance(model: MachineModel, ctx: EventContext) -> list[Deadline]:
    computed = rules.warning_notice_compliance_end(ctx.on, ctx.until, model.policy.calendar(DayKind.statutory),
                                                   model.policy.rules)
    issuer = "Secretary of State" if ctx.trigger == "sos_warning_notice" else "local authority"
    return [_deadline(model, ctx, "warning_notice_compliance", computed,
                      f"end of the compliance period ({issuer} warning notice given {ctx.on.isoformat()})")]


def tpc_warning_notice_compliance(model: MachineModel, ctx: EventContext) -> list[Deadline]:
    """The end of a teachers' pay and conditions warning notice's compliance period (EIA 2006 s60A): the
    same regimes as a s60 notice (the 15th working day following before 18 April 2016; from then the period
    the authority sets in the notice, Education and Adoption Act 2016, s3)."""
    computed = rules.warning_notice_compliance_end(ctx.on, ctx.until, model.policy.calendar(DayKind.statutory),
                                                   model.policy.rules)
    return [_deadline(model, ctx, "tpc_warning_notice_compliance", computed,
                      f"end of the compliance period (teachers' pay and conditions warning notice given "
                      f"{ctx.on.isoformat()})")]


def _meeting_due(model: MachineModel, after: date, kind: str, following: bool = False) -> tuple[date, str] | None:
    """The end of the first term (or half term) with room for the meeting after `after`.

    `following`: a meeting was just held on `after`, so the next belongs to the following period.
    """
    meeting = model.policy.meeting(kind)
    if meeting is None:
        return None
    terms = model.policy.terms
    if following:
        held_in = terms.current_or_next_term(after)
        periods = held_in.half_term_boundaries() if meeting.cadence == "half_term" else [(held_in.start, held_in.end)]
        after = next((end for _, end in periods if end >= after), held_in.end)
    earliest = after + timedelta(days=meeting.min_lead_days)
    term = terms.current_or_next_term(earliest)
    if meeting.cadence == "term":
        return term.end, meeting.name
    for _, half_end in term.half_term_boundaries():
        if half_end >= earliest:
            return half_end, meeting.name
    return terms.next_term_starting_after(term.end).half_term_boundaries()[0][1], meeting.name


def _policy_meeting_deadlines(model: MachineModel, ctx: EventContext, kinds: list[str],
                              following: bool = False) -> list[Deadline]:
    made = []
    for kind in kinds:
        due = _meeting_due(model, ctx.on, kind, following)
        if due is None:
            continue
        meeting = model.policy.meeting(kind)
        made.append(Deadline(
            kind=kind, due=due[0], responsible=meeting.responsible,
            rule=f"policy:{model.policy.key}:meetings",
            source=f"{model.policy.source}: {meeting.name}, "
                   f"{'termly' if meeting.cadence == 'term' else 'half-termly'}, at least {meeting.minimum_per_year} a year",
            created_on=ctx.on, note=f"{due[1]} to be held by this date"))
    return made


def progress_meetings(model: MachineModel, ctx: EventContext) -> list[Deadline]:
    """On confirming a concern: the first meeting of each kind the policy holds for such a case (a school
    meeting whose schools the case's pathway and category choose; panels, and meetings chosen by the
    authority's own level, are owed when the termly review books them)."""
    category = model.case.facts.get("category")
    return _policy_meeting_deadlines(model, ctx, [m.kind for m in model.policy.meetings
                                                  if m.selects_case(model.case.pathway, category)])


def next_progress_meeting(model: MachineModel, ctx: EventContext) -> list[Deadline]:
    """After a meeting is held: the next one of the same kind."""
    return _policy_meeting_deadlines(model, ctx, [ctx.meeting], following=True)


def local_deadlines(model: MachineModel, ctx: EventContext) -> list[Deadline]:
    """Deadlines the authority's policy attaches to this event (e.g. written confirmation)."""
    made = []
    for local in model.policy.deadlines_on(ctx.trigger):
        if not local.applies_to(model.school.maintained, model.case.pathway):
            continue  # e.g. a deadline the authority sets its maintained schools, or one pathway, only
        if local.unit == "working_days":
            due = model.policy.calendar(DayKind.statutory).add_working_days(ctx.on, local.count)
        elif local.unit == "months":
            due = ctx.on + relativedelta(months=local.count)
        else:
            due = ctx.on + timedelta(days=local.count)
        made.append(Deadline(kind=local.kind, due=due, responsible=local.responsible,
                             rule=f"policy:{model.policy.key}:{local.kind}", source=local.source,
                             created_on=ctx.on, note=local.label))
    return made


def recurring_deadlines(model: MachineModel, ctx: EventContext, meet: set[str]) -> list[Deadline]:
    """The next of each recurring local deadline this event meets (`every = "term"` or `"year"`).

    "year": the same date a year after the one met; "term": the end of the term after the one the
    deadline was met in."""
    made = []
    if not meet:  # most events meet nothing: no deadline to look through
        return made
    for deadline in model.case.open_deadlines():
        if deadline.kind not in meet:
            continue
        local = next((d for d in model.policy.local_deadlines if d.kind == deadline.kind and d.every), None)
        if local is None or not local.applies_to(model.school.maintained, model.case.pathway):
            continue
        if local.every == "year":
            due = deadline.due + relativedelta(years=1)
        else:
            terms = model.policy.terms
            due = terms.next_term_starting_after(terms.current_or_next_term(ctx.on).end).end
        made.append(Deadline(kind=local.kind, due=due, responsible=local.responsible,
                             rule=f"policy:{model.policy.key}:{local.kind}", source=local.source,
                             created_on=ctx.on, note=f"{local.label or local.kind} (every {local.every})"))
    return made


def scheduled_meeting(model: MachineModel, ctx: EventContext) -> list[Deadline]:
    """The termly review schedules a meeting: hold it, papers before, minutes after, a judgement asked for."""
    meeting_on: date = ctx.extra["meeting_on"]
    meeting = model.policy.meeting(ctx.meeting)
    rule, name = f"policy:{model.policy.key}:meetings", meeting.name if meeting else "Progress meeting"
    source = f"{model.policy.source}: {name}" if meeting else "termly review"
    responsible = meeting.responsible if meeting else model.policy.responsible_for(ctx.meeting)

    def make(kind: str, due: date, note: str, role: str = responsible) -> Deadline:
        return Deadline(kind=kind, due=due, responsible=role, rule=rule, source=source, created_on=ctx.on, note=note)

    # A school with several open cases has one meeting: its papers and minutes are owed once, on the
    # case the termly review names as the lead; each case still has the meeting and a judgement of progress.
    lead = ctx.extra.get("lead", True)
    made = []
    if not any(d.due <= ctx.extra.get("term_end", meeting_on) for d in model.case.open_deadlines(ctx.meeting)):
        made.append(make(ctx.meeting, meeting_on, f"{name} scheduled for {meeting_on.isoformat()}"))
    if lead and meeting and meeting.papers_due_days_before is not None:
        made.append(make("meeting_papers", meeting_on - timedelta(days=meeting.papers_due_days_before),
                         f"papers for the {name} of {meeting_on.isoformat()}",
                         model.policy.responsible_for("meeting_papers")))
    if lead and meeting and meeting.minutes_due_days_after is not None:
        made.append(make("meeting_minutes", meeting_on + timedelta(days=meeting.minutes_due_days_after),
                         f"minutes of the {name} of {meeting_on.isoformat()}",
                         model.policy.responsible_for("meeting_minutes")))
    if ctx.meeting == "progress_meeting":  # the authority's own review judges progress, not (say) a governors' committee
        made.append(make("progress_judgement", meeting_on, f"formal judgement of progress at the {name}"))
    return made


FACTORIES: dict[str, Callable[[MachineModel, EventContext], list[Deadline]]] = {
    "statement_of_action": statement_of_action,
    "hmi_monitoring": hmi_monitoring,
    "next_hmi_monitoring": next_hmi_monitoring,
    "reinspection": reinspection,
    "safeguarding_return": safeguarding_return,
    "warning_notice_compliance": warning_notice_compliance,
    "tpc_warning_notice_compliance": tpc_warning_notice_compliance,
    "progress_meetings": progress_meetings,
    "next_progress_meeting": next_progress_meeting,
    "scheduled_meeting": scheduled_meeting,
}
