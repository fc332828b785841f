"""The five pathways as one `transitions` state machine, written as tables.

Every case starts in `start`; the opening event (an Ofsted judgement or `raise_concern`) takes it into
its pathway, and the guard on the school decides which: an academy in a category goes to
`academy_of_concern` and never gets an LA statement of action or a warning notice. All cases end in
`closed`, with an outcome.

The machine is built once (module level, `model=None`); each unit of work attaches one CaseModel,
fires one trigger and detaches it (docs/decisions/0015-one-machine.md). Deadlines are not timers: transitions create,
meet or cancel dated rows that the daily flow checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from transitions import Machine, MachineError, Transition

from concerns.domain.formatting import ukdate
from concerns.domain.pathways import PATHWAYS
from concerns.domain.policy import Policy
from concerns.domain.rules import NoRuleInForce, RuleRefusal
from statemachines.case import CaseFile, Deadline, SchoolFacts, Transitioned
from statemachines.deadlines import FACTORIES, local_deadlines, recurring_deadlines
from statemachines.events import EventContext

# state -> (pathway, one of concerns.domain.pathways.PATHWAYS; what it means to an officer)
STATES: dict[str, tuple[str | None, str]] = {
    "start": (None, "no case yet"),
    # 1. requires improvement / needs attention
    "ri_improvement_planning": ("requires_improvement", "RI or needs attention: improvement plan to agree with the school"),
    "ri_plan_agreed": ("requires_improvement", "improvement plan agreed; school reviews and support under way"),
    "ri_coasting": ("requires_improvement", "coasting: notified by the Secretary of State; eligible for intervention "
                                            "(EIA 2006 s60B)"),
    "ri_intervention": ("requires_improvement", "coasting: intervention powers in use (ss63-66, academy order)"),
    # 2. serious weaknesses / requires significant improvement
    "swk_statement_due": ("serious_weaknesses", "RSI: LA statement of action due"),
    "swk_monitoring": ("serious_weaknesses", "RSI: statement of action sent; HMI monitoring"),
    "swk_academy_order": ("serious_weaknesses", "RSI: academy order made; conversion to facilitate"),
    # 3. special measures
    "sm_statement_due": ("special_measures", "special measures: LA statement of action due"),
    "sm_monitoring": ("special_measures", "special measures: statement of action sent; HMI monitoring"),
    "sm_academy_order": ("special_measures", "special measures: academy order made; conversion to facilitate"),
    # 4. LA concern
    "concern_raised": ("la_concern", "concerns discussed with head and chair; to confirm in writing"),
    "concern_confirmed": ("la_concern", "concern confirmed in writing; improvement plan and progress meetings"),
    "warning_letter_sent": ("la_concern", "warning (pre-warning) letter sent"),
    "warning_notice_given": ("la_concern", "statutory warning notice given; compliance period running"),
    "compliance_failed": ("la_concern", "warning notice not complied with; written notice of intervention to give"),
    "eligible_for_intervention": ("la_concern", "eligible for intervention (EIA 2006 s60)"),
    "intervention": ("la_concern", "intervention powers in use (s63-66, academy order)"),
    "exit_monitoring": ("la_concern", "removed from concern; lighter-touch exit monitoring"),
    # 4a. teachers' pay and conditions warning notice (EIA 2006 s60A), given by the LA only
    "tpc_notice_given": ("la_concern", "teachers' pay and conditions warning notice given (EIA 2006 s60A); "
                                      "compliance period running"),
    "tpc_compliance_failed": ("la_concern", "teachers' pay and conditions warning notice not complied with; "
                                           "written notice of intervention to give (ss64-66 only)"),
    "tpc_eligible_for_intervention": ("la_concern", "eligible for intervention by virtue of EIA 2006 s60A "
                                                    "(ss64-66 only, never s63)"),
    # 5. academy of concern
    "aoc_concern_raised": ("academy_of_concern", "LA concern about an academy; meet the trust"),
    "aoc_category": ("academy_of_concern", "academy in an Ofsted category: termination warning notice presumption"),
    "aoc_trust_met": ("academy_of_concern", "trust, chair and head met"),
    "aoc_action_plan_requested": ("academy_of_concern", "action plan requested from the trust"),
    "aoc_monitoring": ("academy_of_concern", "action plan received; monitoring"),
    "aoc_warning_letter_sent": ("academy_of_concern", "letter sent saying the LA will tell the Secretary of State"),
    "aoc_referred": ("academy_of_concern", "concern referred to the Regional Director"),
    "closed": (None, "case closed"),
}

RI = ["ri_improvement_planning", "ri_plan_agreed", "ri_coasting", "ri_intervention"]
COASTING = ["ri_coasting", "ri_intervention"]
SWK = ["swk_statement_due", "swk_monitoring", "swk_academy_order"]
SM = ["sm_statement_due", "sm_monitoring", "sm_academy_order"]
LA_ACTIVE = ["concern_confirmed", "warning_letter_sent", "warning_notice_given", "compliance_failed",
             "eligible_for_intervention", "intervention"]
TPC = ["tpc_notice_given", "tpc_compliance_failed", "tpc_eligible_for_intervention"]
LA = ["concern_raised", *LA_ACTIVE, "exit_monitoring", *TPC]
AOC = ["aoc_concern_raised", "aoc_category", "aoc_trust_met", "aoc_action_plan_requested", "aoc_monitoring",
       "aoc_warning_letter_sent", "aoc_referred"]
# The open states, pathway by pathway in the domain's order.
OPEN_STATES = [state for pathway in PATHWAYS for state, (on, _) in STATES.items() if on == pathway]
# The states in which a progress meeting is held and recorded (the termly review schedules them there).
MEETING_STATES = [state for state in OPEN_STATES if state != "concern_raised"]

JUDGEMENT_TRIGGERS = {
    "ri": "judged_requires_improvement",
    "rsi": "judged_serious_weaknesses",
    "sm": "judged_special_measures",
    "good": "judged_good",
}
# Fired by recording an inspection, never typed by an officer.
INSPECTION_TRIGGERS = frozenset(JUDGEMENT_TRIGGERS.values())


@dataclass(frozen=True)
class Step:
    """One row of the transition table: what the event does besides changing state."""

    trigger: str
    source: list[str] | str
    dest: str
    conditions: tuple[str, ...] = ()
    create: tuple[str, ...] = ()  # FACTORIES names
    meet: tuple[str, ...] = ()  # deadline kinds this event meets
    cancel: tuple[str, ...] = ()  # deadline kinds it makes moot ("*" = all open)
    close: str | None = None  # outcome, when the case closes
    facts: dict = field(default_factory=dict)
    meets_requested_meeting: bool = False
    # The law (or "local procedure") the row follows, for the review table (docs/pathways.md).
    law: str = ""


class _EventDay:
    """In a Step's facts: the day of the event that records it (e.g. the day an academy order was made)."""

    def __repr__(self) -> str:
        return "<the event's day>"


EVENT_DAY = _EventDay()


CATEGORY_OPEN = ("statement_of_action", "hmi_monitoring", "reinspection", "safeguarding_return")


def _category_steps(prefix: str, level: str) -> list[Step]:
    """Serious weaknesses and special measures follow the same procedure: one builder, two pathways."""
    states = [f"{prefix}_statement_due", f"{prefix}_monitoring", f"{prefix}_academy_order"]
    trigger = JUDGEMENT_TRIGGERS[level]
    other = {"rsi": "sm", "sm": "rsi"}[level]
    eligible = {"rsi": "EIA 2006 s61", "sm": "EIA 2006 s62"}[level]
    return [
        Step(trigger, "start", f"{prefix}_statement_due", ("is_maintained",), create=CATEGORY_OPEN,
             facts={"category": {"rsi": "RSI", "sm": "SM"}[level], "origin": "ofsted"},
             law=f"EA 2005 s13(1)-(3); {eligible}; EA 2005 s15 (statement of action)"),
        Step("submit_statement_of_action", f"{prefix}_statement_due", f"{prefix}_monitoring",
             meet=("statement_of_action",), law="EA 2005 s15"),
        Step("submit_statement_of_action", f"{prefix}_academy_order", f"{prefix}_academy_order",
             ("has_open_statement_of_action",), meet=("statement_of_action",), law="EA 2005 s15"),
        Step("hmi_monitoring_visit", states, "=", meet=("hmi_monitoring", "safeguarding_return"),
             create=("next_hmi_monitoring",), law="EA 2005 s8 (monitoring inspection)"),
        # The day the order was made decides the law after 29 Jun 2026 (Children's Wellbeing and Schools
        # Act 2026 s58(9)): an order made before then under the duty keeps the duty's law.
        Step("academy_order_made", states[:2], f"{prefix}_academy_order", ("is_maintained",),
             facts={"academy_order_made_on": EVENT_DAY},
             law="Academies Act 2010 s4(A1) duty, from 29 Jun 2026 s4(1)(b) power, the duty saved for an order "
                 "made before (Children's Wellbeing and Schools Act 2026 s58(9))"),
        Step("rise_targeted_intervention", states[:2], "=", facts={"rise_targeted_intervention": True},
             law="DfE RISE targeted intervention (policy, not statute)"),
        Step("appoint_ieb", states, "=", ("is_maintained",), facts={"interim_executive_board": True},
             law="EIA 2006 s65 (LA, SoS consent) or s69 (SoS)"),
        # A monitoring or full inspection that keeps the same category.
        Step(trigger, states, "=", meet=("hmi_monitoring", "safeguarding_return"), create=("next_hmi_monitoring",),
             law="EA 2005 s8 / s13(3)"),
        # Category no longer required (EA 2005 s13(4)/(5)): the case closes; an RI outcome opens an RI case.
        # The judgement is the re-inspection: it meets that deadline (every other is cancelled).
        Step(JUDGEMENT_TRIGGERS["good"], states, "closed", meet=("reinspection",), cancel=("*",),
             close="removed_from_category", law="EA 2005 s13(4)-(5)"),
        Step(JUDGEMENT_TRIGGERS["ri"], states, "closed", meet=("reinspection",), cancel=("*",),
             close="removed_from_category", law="EA 2005 s13(4)-(5)"),
        Step(JUDGEMENT_TRIGGERS[other], states, "closed", meet=("reinspection",), cancel=("*",),
             close=f"moved_to_{LEVEL_NAMES[other]}", law="EA 2005 s13"),
        Step("convert_to_academy", states, "closed", cancel=("*",), close="converted",
             law="Academies Act 2010 s4"),
        Step("close_school", states, "closed", cancel=("*",), close="school_closed",
             law="EIA 2006 s15 (LA proposals) or s68 (SoS direction)"),
    ]


LEVEL_NAMES = {"ri": "requires_improvement", "rsi": "serious_weaknesses", "sm": "special_measures"}

STEPS: list[Step] = [
    # 1. requires improvement / needs attention
    Step("judged_requires_improvement", "start", "ri_improvement_planning", create=("reinspection",),
         facts={"origin": "ofsted"}, law="EA 2005 s5; Ofsted school inspection handbook (re-inspection)"),
    Step("agree_improvement_plan", "ri_improvement_planning", "ri_plan_agreed", meet=("improvement_plan",),
         law="local procedure"),
    Step("school_review", RI, "=", meet=("school_review",), law="local procedure"),
    # Ofsted monitors schools judged RI (from Nov 2012 an HMI visit within four to six weeks, Tri-borough
    # Framework 2013 section 5.22) and those with an area needing attention (monitoring guide, Nov 2025).
    Step("hmi_monitoring_visit", RI, "=", meet=("hmi_monitoring",),
         law="EA 2005 s8 (monitoring inspection of a school judged RI or needing attention)"),
    Step("judged_requires_improvement", RI, "=", meet=("reinspection",), create=("reinspection",),
         law="EA 2005 s5; Ofsted school inspection handbook (re-inspection)"),
    Step("judged_good", RI, "closed", meet=("reinspection",), cancel=("*",), close="improved",
         law="EA 2005 s5"),
    Step("judged_serious_weaknesses", RI, "closed", cancel=("*",), close="moved_to_serious_weaknesses",
         law="EA 2005 s13(1)-(3)"),
    Step("judged_special_measures", RI, "closed", cancel=("*",), close="moved_to_special_measures",
         law="EA 2005 s13(1)-(3)"),
    Step("convert_to_academy", RI, "closed", ("is_maintained",), cancel=("*",), close="converted",
         law="Academies Act 2010 s4"),
    Step("close_school", RI, "closed", cancel=("*",), close="school_closed",
         law="EIA 2006 s15 (LA proposals) or s68 (SoS direction)"),
    # 1a. coasting: a maintained school the Secretary of State notifies that it is coasting is eligible for
    # intervention (EIA 2006 s60B(1)); the LA's powers (ss63-66) and the SoS's (ss67-69, and an academy
    # order under Academies Act 2010 s4(1)(b)) follow. A judgement of good ends the case, as on the RI pathway.
    Step("coasting_notified", ["ri_improvement_planning", "ri_plan_agreed"], "ri_coasting",
         ("is_maintained", "coasting_regime_applies"),
         facts={"coasting_notified_on": EVENT_DAY, "eligible_for_intervention": "coasting"},
         law="EIA 2006 s60B(1); Coasting Schools (England) Regulations 2022 as amended by SI 2025/1120"),
    Step("use_powers", COASTING, "ri_intervention", ("is_maintained",),
         law="EIA 2006 ss63-66 (LA; s65 with SoS consent), ss67-69 (SoS)"),
    Step("academy_order_made", COASTING, "=", ("is_maintained",), facts={"academy_order_made_on": EVENT_DAY},
         law="Academies Act 2010 s4(1)(b) (eligible for intervention under EIA 2006 s60B)"),
    # 2 and 3. categories of concern, maintained schools
    *_category_steps("swk", "rsi"),
    *_category_steps("sm", "sm"),
    # 5. an academy judged to be in a category: academy of concern, no statement of action
    Step("judged_serious_weaknesses", "start", "aoc_category", ("is_academy",),
         create=("hmi_monitoring", "reinspection", "safeguarding_return"),
         facts={"category": "RSI", "origin": "ofsted", "termination_warning_notice_presumption": True},
         law="EA 2005 s13(1)-(3); Academies Act 2010 s2A (termination warning notice); "
             "DfE Support and intervention in schools (2024)"),
    Step("judged_special_measures", "start", "aoc_category", ("is_academy",),
         create=("hmi_monitoring", "reinspection", "safeguarding_return"),
         facts={"category": "SM", "origin": "ofsted", "termination_warning_notice_presumption": True},
         law="EA 2005 s13(1)-(3); Academies Act 2010 s2A (termination warning notice); "
             "DfE Support and intervention in schools (2024)"),
    # 4. LA concern, maintained schools
    Step("raise_concern", "start", "concern_raised", ("is_maintained",), facts={"origin": "la"},
         law="DfE Support and intervention in schools (2024) (LA concerns about a maintained school); local procedure"),
    Step("confirm_concern", "concern_raised", "concern_confirmed", create=("progress_meetings",),
         law="local procedure"),
    Step("withdraw_concern", "concern_raised", "closed", cancel=("*",), close="not_confirmed",
         law="local procedure"),
    Step("agree_improvement_plan", LA_ACTIVE, "=", meet=("improvement_plan",), law="local procedure"),
    Step("progress_meeting", [*LA_ACTIVE, "exit_monitoring", *TPC], "=", create=("next_progress_meeting",),
         meets_requested_meeting=True, law="local procedure"),
    Step("warning_letter", ["concern_confirmed"], "warning_letter_sent",
         law="local procedure (pre-warning letter)"),
    # s60(4A): once notified that the Secretary of State has given a warning notice, the LA may not give
    # one unless or until the Secretary of State informs it that it may.
    Step("warning_notice", ["concern_confirmed", "warning_letter_sent"], "warning_notice_given",
         ("is_maintained", "la_may_give_warning_notice"), create=("warning_notice_compliance",),
         facts={"warning_notice_issuer": "la"}, law="EIA 2006 s60(2)-(4), (4A)"),
    # s60(4A)-(4B): an SoS notice supersedes the LA's, so its compliance period replaces the LA's.
    Step("sos_warning_notice", ["concern_raised", "concern_confirmed", "warning_letter_sent", "warning_notice_given"],
         "warning_notice_given", ("is_maintained",), cancel=("warning_notice_compliance",),
         create=("warning_notice_compliance",),
         facts={"warning_notice_issuer": "sos", "la_warning_notice_barred": True},
         law="EIA 2006 s60(4A)-(4B)"),
    Step("sos_permits_warning_notice", [s for s in LA if s not in TPC], "=", ("la_warning_notice_is_barred",),
         facts={"la_warning_notice_barred": False}, law="EIA 2006 s60(4A)"),
    Step("compliance_met", "warning_notice_given", "concern_confirmed", meet=("warning_notice_compliance",),
         law="EIA 2006 s60(1)(b)"),
    Step("compliance_failed", "warning_notice_given", "compliance_failed", ("compliance_period_over",),
         meet=("warning_notice_compliance",), law="EIA 2006 s60(1)(b)-(c)"),
    # s60(1)(d): the notice comes from the body that gave the warning notice; the LA's is refused after an
    # SoS warning notice (the letter's preconditions), and the event records whose it was.
    Step("notice_of_intervention", "compliance_failed", "eligible_for_intervention",
         facts={"eligible_by": "s60"}, law="EIA 2006 s60(1)(d)"),
    Step("use_powers", ["eligible_for_intervention", "intervention"], "intervention",
         law="EIA 2006 ss63-66 (LA; s65 with SoS consent), ss67-69 (SoS)"),
    Step("remove_concern", ["concern_confirmed", "warning_letter_sent", "eligible_for_intervention", "intervention",
                            "tpc_eligible_for_intervention"],
         "exit_monitoring", cancel=("*",), law="local procedure"),
    Step("reopen_concern", "exit_monitoring", "concern_confirmed", cancel=("*",), create=("progress_meetings",),
         law="local procedure"),
    Step("end_monitoring", "exit_monitoring", "closed", cancel=("*",), close="removed_from_concern",
         law="local procedure"),
    Step("convert_to_academy", LA, "closed", cancel=("*",), close="converted",
         law="Academies Act 2010 s4"),
    Step("close_school", LA, "closed", cancel=("*",), close="school_closed",
         law="EIA 2006 s15 (LA proposals) or s68 (SoS direction)"),
    # 4a. teachers' pay and conditions warning notice: the LA only (s60A(2)); its own compliance period,
    # set by the LA from 18 April 2016 (Education and Adoption Act 2016, s3); on failure and written notice
    # the school is eligible by virtue of s60A, which opens ss64-66 only (s60A(1); s63(1) excludes it).
    Step("tpc_warning_notice", ["concern_raised", "concern_confirmed", "warning_letter_sent"], "tpc_notice_given",
         ("is_maintained",), create=("tpc_warning_notice_compliance",), facts={"tpc_warning_notice_issuer": "la"},
         law="EIA 2006 s60A(2), (4)"),
    Step("compliance_met", "tpc_notice_given", "concern_confirmed", meet=("tpc_warning_notice_compliance",),
         law="EIA 2006 s60A(1)"),
    Step("compliance_failed", "tpc_notice_given", "tpc_compliance_failed", ("compliance_period_over",),
         meet=("tpc_warning_notice_compliance",), law="EIA 2006 s60A(1)"),
    Step("notice_of_intervention", "tpc_compliance_failed", "tpc_eligible_for_intervention",
         facts={"eligible_by": "s60A"}, law="EIA 2006 s60A(1) (notice of ss64-66 only)"),
    Step("use_powers", "tpc_eligible_for_intervention", "intervention",
         law="EIA 2006 ss64-66 (s63 excluded by s63(1) for a school eligible by virtue of s60A)"),
    # 5. academy of concern
    Step("raise_concern", "start", "aoc_concern_raised", ("is_academy",), facts={"origin": "la"},
         law="DfE Support and intervention in schools (2024) (concerns about an academy); local procedure"),
    Step("meet_trust", ["aoc_concern_raised", "aoc_category"], "aoc_trust_met", law="local procedure"),
    Step("request_action_plan", ["aoc_trust_met", "aoc_category"], "aoc_action_plan_requested",
         law="local procedure"),
    Step("action_plan_received", "aoc_action_plan_requested", "aoc_monitoring", meet=("action_plan",),
         law="local procedure"),
    Step("warning_letter", ["aoc_trust_met", "aoc_action_plan_requested", "aoc_monitoring"], "aoc_warning_letter_sent",
         law="local procedure"),
    Step("refer_to_regional_director", [s for s in AOC if s != "aoc_referred"], "aoc_referred",
         law="DfE Support and intervention in schools (2024) (the LA tells the Regional Director)"),
    Step("hmi_monitoring_visit", AOC, "=", ("has_open_hmi_monitoring",),
         meet=("hmi_monitoring", "safeguarding_return"), create=("next_hmi_monitoring",),
         law="EA 2005 s8 (monitoring inspection)"),
    Step("judged_serious_weaknesses", AOC, "=", meet=("hmi_monitoring",), create=("next_hmi_monitoring",),
         facts={"category": "RSI"}, law="EA 2005 s8 / s13(3)"),
    Step("judged_special_measures", AOC, "=", meet=("hmi_monitoring",), create=("next_hmi_monitoring",),
         facts={"category": "SM"}, law="EA 2005 s8 / s13(3)"),
    Step("judged_good", AOC, "closed", meet=("reinspection",), cancel=("*",), close="removed_from_category",
         law="EA 2005 s13(4)-(5)"),
    Step("judged_requires_improvement", AOC, "closed", meet=("reinspection",), cancel=("*",),
         close="removed_from_category", law="EA 2005 s13(4)-(5)"),
    Step("close_concern", AOC, "closed", cancel=("*",), close="concern_resolved", law="local procedure"),
    Step("close_school", AOC, "closed", cancel=("*",), close="school_closed",
         law="Academies Act 2010 funding agreement (termination)"),
    # Every open case: the termly progress meeting the termly review schedules, its papers and minutes,
    # and the formal judgement of progress it asks for.
    # Not while a concern is only raised: its meetings begin when it is confirmed (confirm_concern), and a
    # meeting scheduled before could not be recorded.
    Step("schedule_meeting", MEETING_STATES, "=", create=("scheduled_meeting",), law="local procedure"),
    Step("progress_meeting", [*RI, *SWK, *SM, *AOC], "=", meets_requested_meeting=True,
         law="local procedure"),
    Step("papers_sent", OPEN_STATES, "=", meet=("meeting_papers",), law="local procedure"),
    Step("minutes_filed", OPEN_STATES, "=", meet=("meeting_minutes",), law="local procedure"),
    Step("progress_judgement", OPEN_STATES, "=", meet=("progress_judgement",), law="local procedure"),
]


def _sources(step: Step) -> list[str]:
    return [step.source] if isinstance(step.source, str) else list(step.source)


# (trigger, source) -> Step: how the generic callbacks find what a transition does.
STEP_INDEX: dict[tuple[str, str], list[Step]] = {}
for _step in STEPS:
    for _src in _sources(_step):
        STEP_INDEX.setdefault((_step.trigger, _src), []).append(_step)

# The facts the machine's steps record on a case (besides its origin), which letters' preconditions read.
KNOWN_FACTS = frozenset(key for s in STEPS for key in s.facts if key != "origin")

# Fired by the scheduled flows, not typed by an officer.
SYSTEM_TRIGGERS = frozenset({"schedule_meeting"})
OFFICER_EVENTS = sorted({s.trigger for s in STEPS} - INSPECTION_TRIGGERS - SYSTEM_TRIGGERS)
OPENING_EVENTS = sorted({s.trigger for s in STEPS if "start" in _sources(s)} - INSPECTION_TRIGGERS)
# The deadline kinds the machine's own steps create (a policy's local deadlines must not reuse them).
CREATED_KINDS = frozenset({"statement_of_action", "hmi_monitoring", "reinspection", "safeguarding_return",
                           "warning_notice_compliance", "tpc_warning_notice_compliance", "meeting_papers",
                           "meeting_minutes", "progress_judgement"})
# The deadline kinds the machine creates or meets (a policy's meetings and local deadlines add their own).
DEADLINE_KINDS = frozenset({"statement_of_action", "hmi_monitoring", "reinspection", "safeguarding_return",
                            "warning_notice_compliance", "tpc_warning_notice_compliance", "progress_meeting",
                            "meeting_papers", "meeting_minutes",
                            "progress_judgement", *(kind for s in STEPS for kind in s.meet)})
# Events that need a --until date.
EVENTS_NEEDING_UNTIL = {"warning_notice", "sos_warning_notice", "tpc_warning_notice"}


def transition_table() -> list[dict]:
    """The table in the form `transitions` takes (also used to draw the diagram)."""
    table = []
    for step in STEPS:
        dests = {src: (src if step.dest == "=" else step.dest) for src in _sources(step)}
        # A reflexive step is one row per source, so each keeps its own state.
        if step.dest == "=":
            for src, dst in dests.items():
                table.append({"trigger": step.trigger, "source": src, "dest": dst,
                              "conditions": list(step.conditions)})
        else:
            table.append({"trigger": step.trigger, "source": _sources(step), "dest": step.dest,
                          "conditions": list(step.conditions)})
    return table


class EventRefused(ValueError):
    """An event the case's state, the school, or the law does not allow. Nothing was changed."""


class CaseModel:
    """Wraps a CaseFile for `transitions`: guards and effects, no storage."""

    def __init__(self, case: CaseFile, school: SchoolFacts, policy: Policy):
        self.case = case
        self.school = school
        self.policy = policy
        self.refusals: list[str] = []
        self._planned: dict | None = None
        self.result: Transitioned | None = None

    @property
    def state(self) -> str:
        return self.case.state

    @state.setter
    def state(self, value: str) -> None:
        self.case.state = value

    # --- guards: each says why when it fails ---------------------------------------------------------
    def _guard(self, ok: bool, why: str) -> bool:
        if not ok:
            self.refusals.append(why)
        return ok

    def is_maintained(self, ev) -> bool:
        return self._guard(self.school.maintained,
                           f"{self.school.type_name} is an academy: the LA has no statutory powers over it")

    def is_academy(self, ev) -> bool:
        return self._guard(self.school.academy, f"{self.school.type_name} is a maintained school")

    def has_open_statement_of_action(self, ev) -> bool:
        return self._guard(bool(self.case.open_deadlines("statement_of_action")),
                           "the statement of action has already been submitted")

    def coasting_regime_applies(self, ev) -> bool:
        ctx: EventContext = ev.kwargs["ctx"]
        try:
            excluded = self.policy.rules.in_force("coasting", ctx.on).params.get("excluded_types", ())
        except NoRuleInForce:
            return self._guard(False, f"no definition of coasting was in force on {ukdate(ctx.on)}")
        return self._guard(self.school.type_name not in excluded,
                           f"section 60B of the Education and Inspections Act 2006 does not apply to a "
                           f"{self.school.type_name.lower()} (Coasting Schools (England) Regulations 2022, reg 3)")

    def has_open_hmi_monitoring(self, ev) -> bool:
        return self._guard(bool(self.case.open_deadlines("hmi_monitoring")),
                           "no HMI monitoring is expected on this case")

    def compliance_period_over(self, ev) -> bool:
        ctx: EventContext = ev.kwargs["ctx"]
        tpc = self.case.state == "tpc_notice_given"
        kind, notice, section = (("tpc_warning_notice_compliance", "teachers' pay and conditions warning notice",
                                  "s60A(1)") if tpc else ("warning_notice_compliance", "warning notice", "s60(1)"))
        ends = self.case.open_deadlines(kind)
        if not ends:
            return self._guard(False, f"no {notice} compliance period is running")
        # The notice's own period: the one the case recorded when the notice was given (a letter drafted on
        # the case takes the same date and cannot state another).
        end = max(d.due for d in ends)
        return self._guard(ctx.on > end, f"the {notice}'s compliance period runs to {ukdate(end)}: "
                                         f"compliance can only be judged failed after it has ended "
                                         f"(Education and Inspections Act 2006, {section})")

    def la_may_give_warning_notice(self, ev) -> bool:
        return self._guard(not self.case.facts.get("la_warning_notice_barred"),
                           "the Secretary of State has given a warning notice to this school: the authority may "
                           "not give one unless or until the Secretary of State informs it that it may "
                           "(Education and Inspections Act 2006, s60(4A))")

    def la_warning_notice_is_barred(self, ev) -> bool:
        return self._guard(bool(self.case.facts.get("la_warning_notice_barred")),
                           "the Secretary of State has given no warning notice on this case that bars the "
                           "authority's own (Education and Inspections Act 2006, s60(4A))")

    # --- effects: planned before the state changes (so a refusal changes nothing), applied after -----
    def plan_effects(self, ev) -> None:
        ctx: EventContext = ev.kwargs["ctx"]
        step = _step_of(ev)
        created: list[Deadline] = []
        for name in step.create:
            created.extend(FACTORIES[name](self, ctx))
        created.extend(local_deadlines(self, ctx))
        meet = set(step.meet) | self.policy.met_by(ev.event.name)
        if step.meets_requested_meeting:
            meet.add(ctx.meeting)
        created.extend(recurring_deadlines(self, ctx, meet))
        self._planned = {"step": step, "ctx": ctx, "created": created, "meet": meet}

    def apply_effects(self, ev) -> None:
        plan = self._planned
        step: Step = plan["step"]
        ctx: EventContext = plan["ctx"]
        case = self.case
        met, cancelled = [], []
        for deadline in case.open_deadlines():
            if deadline.kind in plan["meet"]:
                deadline.status, deadline.met_on = "met", ctx.on
                met.append(deadline)
            elif "*" in step.cancel or deadline.kind in step.cancel:
                deadline.status, deadline.cancelled_on = "cancelled", ctx.on
                cancelled.append(deadline)
        case.deadlines.extend(plan["created"])
        if ev.transition.source == "start":
            case.pathway = STATES[ev.transition.dest][0]
            case.opened = ctx.on
        for key, value in step.facts.items():
            if value is EVENT_DAY:
                value = ctx.on.isoformat()
            if key == "origin":
                case.origin = value
            else:
                case.facts[key] = value
        if step.close:
            case.closed, case.outcome = ctx.on, step.close
        case.last_event_on = ctx.on
        self.result = Transitioned(ev.event.name, ctx.on, ev.transition.source, ev.transition.dest,
                                   case.pathway or "", tuple(plan["created"]), tuple(met), tuple(cancelled),
                                   bool(step.close))


def _step_of(ev) -> Step:
    """The table row the transition being taken was made from.

    `transitions` tries a trigger's transitions from a state in the order of the table and takes the
    first whose conditions pass; that is the first row, in STEP_INDEX order, with this destination and
    passing conditions, which is how it is found when the machine has no map of its rows (or a
    transition was added after it was built).
    """
    step = getattr(ev.machine, "steps", {}).get(ev.transition)
    if step is not None:
        return step
    source, dest = ev.transition.source, ev.transition.dest
    return next(s for s in STEP_INDEX[(ev.event.name, source)]
                if (s.dest == dest or (s.dest == "=" and dest == source))
                and all(getattr(ev.model, c)(ev) for c in s.conditions))


class PathwayMachine(Machine):
    """The transitions Machine of the table, which knows the row each of its transitions was made from.

    Without the map, finding the row meant asking the row's guards a second time on every event, after
    `transitions` had asked them to choose the transition.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.steps = _steps_by_transition(self)


def _steps_by_transition(machine: Machine) -> dict[Transition, Step]:
    """Each transition of a machine built from transition_table() -> the Step it was made from.

    add_transitions made them in STEPS order, one per step and source, as STEP_INDEX lists the steps;
    each is checked against its row, so a table the map does not fit fails here, not on an event.
    """
    found: dict[Transition, Step] = {}
    for (trigger, source), steps in STEP_INDEX.items():
        made = machine.events[trigger].transitions.get(source, [])
        if len(made) != len(steps) or any(
                t.dest != (source if s.dest == "=" else s.dest) or [c.func for c in t.conditions] != list(s.conditions)
                for t, s in zip(made, steps, strict=True)):
            raise RuntimeError(f"the machine's {trigger} transitions from {source} do not follow the table")
        found.update(zip(made, steps, strict=True))
    if len(found) != sum(len(ts) for e in machine.events.values() for ts in e.transitions.values()):
        raise RuntimeError("the machine has transitions that are not in the table")
    return found


def build_machine(graph: bool = False) -> Machine:
    kwargs = dict(model=None, states=list(STATES), transitions=transition_table(), initial=None,
                  auto_transitions=False, send_event=True, ignore_invalid_triggers=False,
                  before_state_change="plan_effects", after_state_change="apply_effects")
    if graph:
        from transitions.extensions import GraphMachine

        return GraphMachine(graph_engine="mermaid", show_conditions=True, title="concerns pathways", **kwargs)
    return PathwayMachine(**kwargs)


MACHINE = build_machine()


# The guards that read only the case's recorded facts, so the events offered now can apply them too.
FACT_GUARDS = {
    "la_may_give_warning_notice": lambda facts: not facts.get("la_warning_notice_barred"),
    "la_warning_notice_is_barred": lambda facts: bool(facts.get("la_warning_notice_barred")),
}


def allowed_events(case: CaseFile, school: SchoolFacts, include_system: bool = False,
                   policy: Policy | None = None) -> list[str]:
    """The officer events the case's state permits for this school (guards on the school applied), with
    the `policy`'s own events for the case's pathway when it is given."""
    found = set(policy.events_on(case.pathway)) if policy is not None and case.is_open else set()
    for trigger in MACHINE.get_triggers(case.state):
        if trigger in INSPECTION_TRIGGERS or (trigger in SYSTEM_TRIGGERS and not include_system):
            continue
        for step in STEP_INDEX.get((trigger, case.state), []):
            school_guards = [c for c in step.conditions if c in ("is_maintained", "is_academy")]
            fact_guards = [c for c in step.conditions if c in FACT_GUARDS]
            if (all(getattr(school, c.removeprefix("is_")) for c in school_guards)
                    and all(FACT_GUARDS[c](case.facts) for c in fact_guards)):
                found.add(trigger)
    return sorted(found)


def fire(case: CaseFile, school: SchoolFacts, policy: Policy, ctx: EventContext) -> Transitioned:
    """Fire one event on a case. Raises EventRefused (case unchanged) when it is not allowed."""
    if case.last_event_on and ctx.on < case.last_event_on:
        raise EventRefused(
            f"{ctx.trigger} on {ctx.on.isoformat()} is earlier than the case's last event "
            f"({case.last_event_on.isoformat()}); history is not rewritten: record events in order"
        )
    if ctx.trigger in EVENTS_NEEDING_UNTIL and ctx.until is not None and ctx.until <= ctx.on:
        raise EventRefused(f"--until {ctx.until.isoformat()} must be after --on {ctx.on.isoformat()}")
    if ctx.trigger not in MACHINE.events:
        if policy.local_event(ctx.trigger) is not None:
            return _fire_local(case, school, policy, ctx)
        local = [e.name for e in policy.events]
        raise EventRefused(f"unknown event {ctx.trigger!r}; events: {', '.join(OFFICER_EVENTS)}"
                           + (f"; the {policy.key} policy's own: {', '.join(local)}" if local else ""))
    model = CaseModel(case, school, policy)
    snapshot = (case.state, case.pathway, case.opened, case.closed, case.outcome, case.origin, dict(case.facts),
                [replace(d) for d in case.deadlines], case.last_event_on)
    MACHINE.add_model(model, initial=case.state)
    try:
        ok = getattr(model, ctx.trigger)(ctx=ctx)
    except MachineError:
        where = f"{case.pathway} case in state {case.state}" if case.pathway else "this school"
        allowed = allowed_events(case, school)
        raise EventRefused(
            f"event {ctx.trigger!r} is not allowed for {where}; allowed now: {', '.join(allowed) or 'none'}"
        ) from None
    except Exception as exc:
        (case.state, case.pathway, case.opened, case.closed, case.outcome, case.origin, case.facts,
         case.deadlines, case.last_event_on) = snapshot
        if isinstance(exc, RuleRefusal):
            raise EventRefused(str(exc)) from None
        raise
    finally:
        MACHINE.remove_model(model)
    if not ok:
        raise EventRefused(f"event {ctx.trigger!r} refused: {'; '.join(dict.fromkeys(model.refusals))}")
    return model.result


def _fire_local(case: CaseFile, school: SchoolFacts, policy: Policy, ctx: EventContext) -> Transitioned:
    """One of the policy's own events: recorded with no change of state; it meets the deadline kinds the
    policy says and creates the local deadlines set `on` it (and the next of a recurring one it meets)."""
    event = policy.local_event(ctx.trigger)
    if not case.is_open:
        raise EventRefused(f"{event.name} ({event.label}) is recorded on an open case; this school has none")
    if case.pathway not in event.pathways:
        raise EventRefused(f"{event.name} ({event.label}) is recorded on {', '.join(event.pathways)} cases under "
                           f"the {policy.key} policy, not on a {case.pathway} case")
    model = CaseModel(case, school, policy)
    meet = policy.met_by(event.name)
    created = [*local_deadlines(model, ctx), *recurring_deadlines(model, ctx, meet)]
    met = []
    for deadline in case.open_deadlines():
        if deadline.kind in meet:
            deadline.status, deadline.met_on = "met", ctx.on
            met.append(deadline)
    case.deadlines.extend(created)
    case.last_event_on = ctx.on
    return Transitioned(event.name, ctx.on, case.state, case.state, case.pathway or "", tuple(created),
                        tuple(met), (), False)


def open_case(school: SchoolFacts, policy: Policy, ctx: EventContext) -> tuple[CaseFile, Transitioned]:
    case = CaseFile()
    result = fire(case, school, policy, ctx)
    return case, result


def mermaid_diagram() -> str:
    """The machine drawn as a Mermaid state diagram, from the same tables the machine runs on."""

    class _Drawable:
        pass

    machine = build_machine(graph=True)
    model = _Drawable()
    machine.add_model(model, initial="start")
    drawn = model.get_graph().draw(None)
    # Drop the styling that marks a model's current state: the diagram is of the machine, not of a case.
    keep = [line for line in drawn.splitlines() if not line.strip().startswith(("classDef ", "Class "))]
    return "\n".join(line.rstrip() for line in keep).strip() + "\n"


def describe_state(state: str) -> str:
    return STATES[state][1]
