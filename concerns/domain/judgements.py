"""Ofsted judgements across the three regimes, and what they mean for a school's pathway.

Regimes by inspection date (Ofsted school inspection handbooks): graded 1-4 to 1 Sep 2024; key
judgements from 2 Sep 2024; report cards from 10 Nov 2025. Whatever the regime, an inspection is summarised into one `level`
(good, ri, rsi, sm) that drives the pathway state machine; the category decision for report cards is
the one replaceable function `category_from_report_card`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from concerns.domain.rules import DEFAULT_RULES, NoRuleInForce, RuleBook


class Outcome(StrEnum):
    outstanding = "outstanding"
    good = "good"
    requires_improvement = "requires_improvement"
    serious_weaknesses = "serious_weaknesses"
    special_measures = "special_measures"


class Grade(StrEnum):
    exceptional = "exceptional"
    strong_standard = "strong_standard"
    expected_standard = "expected_standard"
    needs_attention = "needs_attention"
    urgent_improvement = "urgent_improvement"


AREAS = (
    "inclusion",
    "curriculum_and_teaching",
    "achievement",
    "attendance_and_behaviour",
    "personal_development",
    "leadership_and_governance",
    "early_years",
    "sixth_form",
)

SAFEGUARDING = ("met", "not_met")

# Overall effectiveness 1-4 (3 was "satisfactory" before Sep 2012) and the Ofsted MI category codes.
OVERALL_GRADE_OUTCOME = {1: Outcome.outstanding, 2: Outcome.good, 3: Outcome.requires_improvement}
CATEGORY_OUTCOME = {"SM": Outcome.special_measures, "RSI": Outcome.serious_weaknesses,
                    "SWK": Outcome.serious_weaknesses, "NTI": Outcome.serious_weaknesses}

# Levels, worst last, and the pathway and register category each one gives.
LEVELS = ("good", "ri", "rsi", "sm")
LEVEL_PATHWAY = {"ri": "requires_improvement", "rsi": "serious_weaknesses", "sm": "special_measures"}
OUTCOME_LEVEL = {
    Outcome.outstanding: "good",
    Outcome.good: "good",
    Outcome.requires_improvement: "ri",
    Outcome.serious_weaknesses: "rsi",
    Outcome.special_measures: "sm",
}


class JudgementError(ValueError):
    pass


def parse_outcome(word: str) -> Outcome:
    try:
        return Outcome(word)
    except ValueError:
        raise JudgementError(
            f"unknown outcome {word!r}; use one of: {', '.join(o.value for o in Outcome)}"
        ) from None


def parse_area_grade(text: str) -> tuple[str, Grade]:
    if "=" not in text:
        raise JudgementError(f"--area {text!r}: expected AREA=GRADE, e.g. inclusion=expected_standard")
    area, _, grade = text.partition("=")
    area, grade = area.strip(), grade.strip()
    if area not in AREAS:
        raise JudgementError(f"unknown area {area!r}; use one of: {', '.join(AREAS)}")
    try:
        return area, Grade(grade)
    except ValueError:
        raise JudgementError(
            f"unknown grade {grade!r} for {area}; use one of: {', '.join(g.value for g in Grade)}"
        ) from None


@dataclass(frozen=True)
class Judgement:
    """One inspection as the rules see it."""

    published: date
    inspected: date | None = None
    outcome: Outcome | None = None
    areas: Mapping[str, Grade] = field(default_factory=dict)
    safeguarding: str | None = None
    graded: bool = True

    @property
    def on(self) -> date:
        """The date that decides the regime: the inspection itself, else its publication."""
        return self.inspected or self.published

    @property
    def is_report_card(self) -> bool:
        return bool(self.areas)


def regime_on(day: date, rules: RuleBook = DEFAULT_RULES) -> str:
    return rules.in_force("judgements", day).params["regime"]


def category_from_report_card(areas: Mapping[str, Grade], safeguarding: str | None) -> str | None:
    """Report-card category decision (Ofsted, "School monitoring operating guide for
    inspectors: for use from November 2025", as summarised by the NEU; secondary, so kept in one
    replaceable place).

    SM: leadership and governance `urgent improvement` and another area urgent too, or safeguarding
    not met alongside it. RSI: any other case with an `urgent improvement` area or safeguarding not met.
    None: no category.
    """
    urgent = {a for a, g in areas.items() if g is Grade.urgent_improvement}
    safeguarding_failed = safeguarding == "not_met"
    if not urgent and not safeguarding_failed:
        return None
    lg_urgent = "leadership_and_governance" in urgent
    if lg_urgent and (len(urgent) > 1 or safeguarding_failed):
        return "SM"
    return "RSI"


@dataclass(frozen=True)
class Summary:
    level: str  # good | ri | rsi | sm
    category: str | None  # SM | RSI | RI | NA | None
    safeguarding_only: bool = False

    @property
    def pathway(self) -> str | None:
        return LEVEL_PATHWAY.get(self.level)

    @property
    def below_good(self) -> bool:
        return self.level != "good"


# What summarise made of each judgement it has seen, keyed by all it reads of one. A national import
# summarises some 40,000 inspections that share a few dozen combinations of grades. Each value's type is in
# the key: a plain string equals its StrEnum member but fails the `is` tests below.
_SUMMARIES: dict[tuple, Summary] = {}
_SUMMARIES_HELD = 4096  # distinct combinations kept; a surprise beyond this starts afresh


def summarise(j: Judgement) -> Summary:
    outcome, areas = j.outcome, j.areas
    key = (type(outcome), outcome, j.safeguarding,
           tuple((area, type(grade), grade) for area, grade in areas.items()) if areas else ())
    found = _SUMMARIES.get(key)
    if found is None:
        found = _summarise(j)  # an error is raised every time, never kept
        if len(_SUMMARIES) >= _SUMMARIES_HELD:
            _SUMMARIES.clear()
        _SUMMARIES[key] = found
    return found


def _summarise(j: Judgement) -> Summary:
    if j.is_report_card:
        category = category_from_report_card(j.areas, j.safeguarding)
        urgent = any(g is Grade.urgent_improvement for g in j.areas.values())
        if category == "SM":
            return Summary("sm", "SM", safeguarding_only=not urgent)
        if category == "RSI":
            return Summary("rsi", "RSI", safeguarding_only=not urgent)
        if any(g is Grade.needs_attention for g in j.areas.values()):
            return Summary("ri", "NA")
        return Summary("good", None)
    if j.outcome is None:
        raise JudgementError("an inspection needs either an outcome or report-card area grades")
    level = OUTCOME_LEVEL[j.outcome]
    category = {"ri": "RI", "rsi": "RSI", "sm": "SM"}.get(level)
    # A 1-4 era category given solely for safeguarding is recorded with --safeguarding not_met and
    # no other inadequate judgement; only the report-card form can show that from the grades alone.
    return Summary(level, category, safeguarding_only=(level in ("rsi", "sm") and j.safeguarding == "not_met"
                                                      and j.outcome is Outcome.serious_weaknesses))


def ri_or_equivalent(j: Judgement, rules: RuleBook = DEFAULT_RULES) -> bool:
    s = summarise(j)
    if s.level != "ri":
        return False
    if not j.is_report_card:
        return True
    equivalent = set(rules.in_force("stuck", max(j.published, rules.starts("stuck"))).params["equivalent_grades"])
    return any(g.value in equivalent for g in j.areas.values())


def is_stuck(latest: Judgement | None, previous: Judgement | None, rules: RuleBook = DEFAULT_RULES) -> bool:
    """RI or equivalent at the latest inspection and below good at the previous one."""
    if latest is None or previous is None:
        return False
    return ri_or_equivalent(latest, rules) and summarise(previous).below_good


@dataclass(frozen=True)
class Coasting:
    """Whether a school is coasting as the definition in force on a day reads its section 5 history."""

    coasting: bool
    rule: str | None = None  # the coasting rule applied; None when no definition was in force
    route: str | None = None  # "A" or "B" (SI 2025/1120), "reg 4(2)" (SI 2022/720)
    entered: date | None = None  # publication of the inspection that met the route
    reason: str = ""


_GRADE_ORDER = [g.value for g in Grade]  # best first


def _outcome_of(j: Judgement) -> str | None:
    return j.outcome.value if j.outcome is not None else None


def coasting(history: Sequence[Judgement], on: date, *, predecessor: Judgement | None = None,
             type_name: str | None = None, rules: RuleBook = DEFAULT_RULES) -> Coasting:
    """The coasting definition in force on `on`, applied to a school's section 5 inspections (`history`, oldest
    first, published on or before `on`) and, for route A, its linked predecessor's most recent one.

    SI 2022/720 reg 4(2): RI at the latest inspection and below good at the one before. SI 2025/1120 (reg 4 as
    substituted): coasting once an inspection meets route A or route B, until a later one meets the exit test.
    Maintained nursery schools are outside s60B (SI 2022/720 reg 3). Being coasting makes a maintained school
    eligible for intervention only once the Secretary of State notifies it (EIA 2006 s60B(1)).
    """
    try:
        rule = rules.in_force("coasting", on)
    except NoRuleInForce:
        return Coasting(False, reason="no definition of coasting in force")
    params = rule.params
    if type_name is not None and type_name in params.get("excluded_types", ()):
        return Coasting(False, rule.id, reason=f"the coasting regime does not apply to a {type_name.lower()}")
    history = [j for j in history if j.published <= on]
    if not history:
        return Coasting(False, rule.id, reason="no section 5 inspection")
    if rule.id == "coasting/2022":
        latest = history[-1]
        previous = history[-2] if len(history) > 1 else None
        if previous is not None and summarise(latest).level == "ri" and summarise(previous).below_good:
            return Coasting(True, rule.id, "reg 4(2)", latest.published, "RI now and below good before")
        return Coasting(False, rule.id, reason="not RI at the latest two section 5 inspections")
    entered: Coasting | None = None
    for k, j in enumerate(history):
        if entered is not None and _meets_exit(j, params):
            entered = None
        before = history[k - 1] if k > 0 else predecessor
        route = _route_a(j, before, params) or _route_b(j, history[k - 1] if k > 0 else None, params)
        if route:
            entered = Coasting(True, rule.id, route, j.published,
                               "leadership and governance needs attention after a relevant assessment"
                               + (" at the linked predecessor" if k == 0 else "") if route == "A"
                               else "out of a category but still below good")
    return entered or Coasting(False, rule.id, reason="no entry route met since the last exit")


def _route_a(j: Judgement, before: Judgement | None, params) -> str | None:
    if j.areas.get("leadership_and_governance") is not Grade.needs_attention or before is None:
        return None
    if before.is_report_card:
        grade = before.areas.get("leadership_and_governance")
        relevant = grade is not None and grade.value in params["relevant_report_card_grades"]
    else:
        relevant = _outcome_of(before) in params["relevant_earlier_outcomes"]
    return "A" if relevant else None


def _route_b(j: Judgement, before: Judgement | None, params) -> str | None:
    if before is None or summarise(before).level not in ("rsi", "sm") or summarise(j).level in ("rsi", "sm"):
        return None
    if j.is_report_card:
        below = any(g.value in params["route_b_report_card_grades"] for g in j.areas.values())
    else:
        below = _outcome_of(j) in params["route_b_earlier_outcomes"]
    return "B" if below else None


def _meets_exit(j: Judgement, params) -> bool:
    if summarise(j).level in ("rsi", "sm"):
        return False
    if j.is_report_card:
        floor = _GRADE_ORDER.index(params["exit_report_card_at_least"])
        return j.safeguarding != "not_met" and all(_GRADE_ORDER.index(g.value) <= floor for g in j.areas.values())
    return _outcome_of(j) in params["exit_earlier_outcomes"]


def is_coasting(latest: Judgement | None, previous: Judgement | None, rules: RuleBook = DEFAULT_RULES) -> bool:
    """Coasting on the latest report's publication day, from the latest two section 5 inspections alone."""
    if latest is None:
        return False
    return coasting([j for j in (previous, latest) if j is not None], latest.published, rules=rules).coasting
