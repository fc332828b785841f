"""Statutory and inspection rules as data, each with the period it applies to and its source.

A case uses the rule in force on the date of its triggering event (docs/decisions/0019-dated-rules.md): the date a notice
was given, the date a report was published, the date an inspection took place. Rules change: when one
does, a new row goes in RULES with its start date and the old row gets an end date. Nothing here is
computed from "today".

This is the one home of every dated fact of law (and of the few timed numbers of local procedure the
code relies on): other modules look a date up here (`DEFAULT_RULES.starts("<rule id>")`, `in_force`)
instead of writing it down again; tests/test_rules.py fails on a date literal anywhere else.

Confidence tags (docs/decisions/0020-sources-and-confidence.md): V verified in statute or official text, S secondary
source, H historical, U unconfirmed. Parameters of S/U rules can be overridden per authority in the
policy file (`[rules."<rule id>"]`), so a number nobody could confirm is configuration with a
sourced default, not code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType
from typing import Any

from dateutil.relativedelta import relativedelta

from concerns.domain.calendar import WorkingDayCalendar


@dataclass(frozen=True)
class Rule:
    id: str
    topic: str
    title: str
    applies_from: date | None
    applies_to: date | None  # inclusive; None = still in force
    source: str
    confidence: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def applies_on(self, day: date) -> bool:
        return (self.applies_from is None or day >= self.applies_from) and (
            self.applies_to is None or day <= self.applies_to
        )

    @property
    def period(self) -> str:
        start = self.applies_from.isoformat() if self.applies_from else "always"
        end = self.applies_to.isoformat() if self.applies_to else "now"
        return f"{start} to {end}"


D = date.fromisoformat

# From the repeal of s4(A1) the power covers every school eligible for intervention; the DfE's default routes
# (special measures -> academy order; RSI -> academy order, then from Sep 2026 RISE targeted intervention) are
# policy, kept in the rules' params and sources, not in what the law says.
ACADEMY_ORDER_POWER_2026 = ("The Secretary of State may make an academy order for any school eligible for intervention, "
                            "special measures and significant improvement included: the duty in s4(A1) is repealed")

# The earliest day a school's record can plausibly carry: the Office for Standards in Education and Her
# Majesty's Chief Inspector's office under the Education (Schools) Act 1992 began on 1 September 1992.
OFSTED_BEGAN = D("1992-09-01")

RULES: tuple[Rule, ...] = (
    # --- Warning notices (EIA 2006 s60) -------------------------------------------------------------
    Rule(
        "warning_notice/legacy", "warning_notice",
        "Warning notice: compliance period ends on the 15th working day following the day given",
        None, D("2016-04-17"),
        "EIA 2006 s60 as enacted; SI 2016/466 reg 4 (transitional); Tri-borough 2013 §5.8-5.12",
        "V/H",
        {"compliance_working_days": 15, "day_kind": "statutory", "representations_to_ofsted": True,
         "ofsted_decision_working_days": 10, "eligible_after_confirmation_working_days": 15},
    ),
    Rule(
        "warning_notice/issuer-sets-period", "warning_notice",
        "Warning notice: the compliance period is the one the issuer specifies in the notice",
        D("2016-04-18"), None,
        "EIA 2006 s60 as amended by the Education and Adoption Act 2016 s2",
        "V",
        {"compliance_period": "entered", "representations_to_ofsted": False},
    ),
    Rule(
        "warning_notice/sos-supersedes", "sos_warning_notice",
        "A Secretary of State (Regional Director) warning notice supersedes an earlier LA one",
        D("2016-04-18"), None, "EIA 2006 s60(4A)-(4B)", "V", {},
    ),
    Rule(
        "eligible_for_intervention", "eligible_for_intervention",
        "Eligible for intervention: compliance period expired, not complied with to the issuer's "
        "satisfaction, and reasonable written notice of intended intervention given",
        None, None, "EIA 2006 s60(1)", "V", {},
    ),
    # --- LA statement of action (EA 2005 s15) ------------------------------------------------------
    Rule(
        "statement_of_action", "statement_of_action",
        "LA statement of action within 10 inspection working days of the report's publication "
        "(maintained schools in special measures or requiring significant improvement)",
        None, None,
        "EA 2005 s15 and explanatory notes para 51; working day per SI 2005/2038 reg 2",
        "V/U",
        {"working_days": 10, "day_kind": "inspection", "maintained_only": True,
         "copy_to": ["HMCI (Ofsted)", "foundation-governor appointer (VA schools)"]},
    ),
    # --- Academy orders (Academies Act 2010 s4) ----------------------------------------------------
    Rule(
        "academy_order/power", "academy_order",
        "The Secretary of State may make an academy order for a school eligible for intervention",
        None, D("2016-04-17"), "Academies Act 2010 s4(1)(b) as enacted", "V",
        {"duty": "may", "provision": "Academies Act 2010 s4(1)(b)",
         "default_route": {"special_measures": "academy_order", "serious_weaknesses": "academy_order"}},
    ),
    Rule(
        "academy_order/duty", "academy_order",
        "The Secretary of State must make an academy order for a maintained school in special measures "
        "or requiring significant improvement",
        D("2016-04-18"), D("2026-06-28"),
        "Academies Act 2010 s4(A1), inserted by the Education and Adoption Act 2016 s7 (in force 18 Apr 2016, "
        "SI 2016/466 reg 2)",
        "V",
        {"duty": "must", "provision": "Academies Act 2010 s4(A1)",
         "default_route": {"special_measures": "academy_order", "serious_weaknesses": "academy_order"}},
    ),
    # Children's Wellbeing and Schools Act 2026 s58 (in force 29 Jun 2026, s78(2)) omits s4(A1), the words in
    # s4(1)(b) that kept schools eligible under EIA 2006 s61/s62 out of the power, s5A, and the Education and
    # Adoption Act 2016 ss7 and 9. The default routes are DfE policy, not statute (hence S).
    Rule(
        "academy_order/power-2026", "academy_order",
        # The same words as the next rule: the law did not change on 1 Sep 2026, only the DfE's default route
        # (in params and the source), so a report of changes in the law sees one change, on 29 Jun 2026.
        ACADEMY_ORDER_POWER_2026,
        D("2026-06-29"), D("2026-08-31"),
        "Children's Wellbeing and Schools Act 2026 s58(2) (in force 29 Jun 2026, s78(2)); default routes: "
        "DfE accountability reform consultation response",
        "V/S",
        {"duty": "may", "provision": "Academies Act 2010 s4(1)(b) as amended",
         "default_route": {"special_measures": "academy_order", "serious_weaknesses": "academy_order"}},
    ),
    Rule(
        "academy_order/power-rise", "academy_order",
        ACADEMY_ORDER_POWER_2026,
        D("2026-09-01"), None,
        "Children's Wellbeing and Schools Act 2026 s58(2); default routes: DfE consultation response "
        "9-10 Sep 2025",
        "V/S",
        {"duty": "may", "provision": "Academies Act 2010 s4(1)(b) as amended",
         "default_route": {"special_measures": "academy_order",
                           "serious_weaknesses": "rise_targeted_intervention"}},
    ),
    Rule(
        "academy_order/saved-duty", "academy_order_saving",
        "An academy order made under the duty that had effect immediately before the repeal, for a school not "
        "yet converted, keeps the law as it was (s4(A1), s5A)",
        D("2026-06-29"), None,
        "Children's Wellbeing and Schools Act 2026 s58(9)",
        "V",
        {"duty": "must", "provision": "Academies Act 2010 s4(A1), saved by the Children's Wellbeing and "
                                      "Schools Act 2026 s58(9)",
         "default_route": {"special_measures": "academy_order", "serious_weaknesses": "academy_order"}},
    ),
    # --- Ofsted timings ------------------------------------------------------------------------------
    Rule(
        "safeguarding_return", "safeguarding_return",
        "A school in a category solely for safeguarding gets a return visit within 3 months",
        D("2023-09-01"), D("2025-11-09"),
        "Ofsted school inspection handbook (Sept 2023), para 151, as cited by Derbyshire 2023", "S",
        {"months": 3},
    ),
    # Report cards: no source read gives a return-visit interval for a category given solely for
    # safeguarding, so the handbook's 3 months is carried over as a default an authority can change.
    Rule(
        "safeguarding_return/report-cards", "safeguarding_return",
        "A school in a category solely for safeguarding (report cards): Ofsted return visit expected; "
        "the interval is not confirmed",
        D("2025-11-10"), None,
        "Ofsted renewed framework for use from 10 Nov 2025: no return-visit interval found in the sources "
        "read; 3 months carried over from the Sept 2023 handbook para 151 as a default (unconfirmed; "
        "set it in the authority policy)", "U",
        {"months": 3, "caveat": "unconfirmed interval: the 3 months of Ofsted's 2023 handbook, carried over; "
                                "the report-card framework gives none that could be confirmed"},
    ),
    Rule(
        "reinspection/pre-2018", "reinspection",
        "Re-inspection window after a below-good judgement (before April 2018)",
        None, D("2018-04-12"), "Ofsted blog 13 Apr 2018 (previous windows)", "S",
        {"months": {"requires_improvement": 30, "serious_weaknesses": 18, "special_measures": 24}},
    ),
    Rule(
        "reinspection/2018", "reinspection",
        "Re-inspection within 30 months of publication for RI, serious weaknesses and special measures",
        D("2018-04-13"), D("2025-11-09"), "Ofsted, changes to the school inspection window, 13 Apr 2018", "S",
        {"months": {"requires_improvement": 30, "serious_weaknesses": 30, "special_measures": 30}},
    ),
    Rule(
        "reinspection/report-cards", "reinspection",
        "Re-inspection after a report card with an area needing attention or a category: the window is not "
        "confirmed",
        D("2025-11-10"), None,
        "Ofsted renewed framework for use from 10 Nov 2025: no re-inspection window found in the sources "
        "read; 30 months carried over from Ofsted, 13 Apr 2018, as a default (unconfirmed; set it in the "
        "authority policy)", "U",
        {"months": {"requires_improvement": 30, "serious_weaknesses": 30, "special_measures": 30},
         "caveat": "unconfirmed window: the 30 months Ofsted set in 2018, carried over; the report-card "
                   "framework gives none that could be confirmed"},
    ),
    Rule(
        "hmi_monitoring/legacy", "hmi_monitoring",
        "HMI monitoring of a school in a category: first visit within about 6 months, then about termly",
        None, D("2025-11-09"), "Tri-borough 2013 §5; Ofsted monitoring handbooks (intervals unconfirmed)",
        "H/U",
        {"first_within_months": {"special_measures": 6, "serious_weaknesses": 6}, "then": "term"},
    ),
    Rule(
        "hmi_monitoring/report-cards", "hmi_monitoring",
        "HMI monitoring of a school in a category: a monitoring inspection each term",
        D("2025-11-10"), None,
        "Ofsted school monitoring operating guide, Nov 2025 (termly; exact intervals unconfirmed)", "S/U",
        {"first": "next_term", "then": "term"},
    ),
    # --- Judgement regimes -------------------------------------------------------------------------
    Rule("judgements/graded", "judgements", "Overall effectiveness 1-4", None, D("2024-09-01"),
         "Ofsted school inspection handbooks to Sep 2024", "S", {"regime": "graded"}),
    Rule("judgements/key-judgements", "judgements",
         "No overall grade: four key judgements 1-4 and safeguarding effective / not",
         D("2024-09-02"), D("2025-11-09"), "Ofsted, 2 Sep 2024 (NAHT FAQs)", "S", {"regime": "key_judgements"}),
    Rule("judgements/report-cards", "judgements",
         "Report card: five-point area grades and safeguarding met / not met",
         D("2025-11-10"), None, "Ofsted renewed framework for use from 10 Nov 2025", "V",
         {"regime": "report_card"}),
    # --- Coasting and stuck --------------------------------------------------------------------------
    # Coasting Schools (England) Regulations 2022 (SI 2022/720): reg 3 (maintained nursery schools
    # excluded) and reg 4(1)-(2) read in their own text; reg 4(3)-(5) (a school with one inspection) not read.
    Rule("coasting/2022", "coasting",
         "Coasting: RI at the latest section 5 inspection and below good at the one before",
         D("2022-09-01"), D("2025-11-16"),
         "Coasting Schools (England) Regulations 2022, SI 2022/720, regs 3 and 4(2) (reg 4(3)-(5) not "
         "confirmed)", "V/U",
         {"excluded_types": ["Local authority nursery school"]}),
    # SI 2025/1120 (made 23 Oct 2025, in force 17 Nov 2025) substitutes reg 4 of SI 2022/720; reg 3 stands.
    # Its own text could not be read here: the routes follow published summaries, and what counts as a
    # "relevant assessment" and the exit test are parameters with those summaries' reading as default.
    Rule("coasting/2025", "coasting",
         "Coasting (report cards): leadership and governance needs attention with a relevant assessment at "
         "the previous section 5 inspection (or a linked predecessor's), or just out of a category but "
         "still needing attention; until the exit test is met",
         D("2025-11-17"), None,
         "Coasting Schools (England) (Amendment) Regulations 2025, SI 2025/1120, substituting reg 4 of "
         "SI 2022/720 (text not confirmed: routes as summarised by policy-wire and legislationtracker, "
         "27 Oct 2025); reg 3 of SI 2022/720 (maintained nursery schools); Academies Act 2010 s2B",
         "S/U",
         {"excluded_types": ["Local authority nursery school"],
          # Relevant assessment at the previous inspection: report-card leadership and governance grades,
          # and the outcomes of earlier regimes (overall, or the worst key judgement from Sep 2024).
          "relevant_report_card_grades": ["needs_attention", "urgent_improvement"],
          "relevant_earlier_outcomes": ["requires_improvement", "serious_weaknesses", "special_measures"],
          # Route B: still below good in an area after leaving a category.
          "route_b_report_card_grades": ["needs_attention"],
          "route_b_earlier_outcomes": ["requires_improvement"],
          # Exit: a later section 5 inspection with no area below this (report cards), or good or better.
          "exit_report_card_at_least": "expected_standard",
          "exit_earlier_outcomes": ["good", "outstanding"]}),
    Rule("coasting_notified", "coasting_notified",
         "A maintained school that is coasting and whose governing body the Secretary of State has notified "
         "that it is coasting is eligible for intervention (the LA's ss63-66 powers, the SoS's ss67-69)",
         D("2017-01-11"), None,
         "EIA 2006 s60B(1), inserted by the Education and Adoption Act 2016 s1 (in force 11 Jan 2017, "
         "SI 2017/6 reg 2(a)); EIA 2006 s59(2)", "V", {}),
    Rule("stuck", "stuck",
         "Stuck school (RISE targeted support): RI or equivalent at the latest inspection and below good "
         "at the previous one",
         D("2025-01-01"), None, "DfE RISE policy; PQ 17 Feb 2025", "S",
         # Which report-card grades count as "RI or equivalent" was not confirmed (docs/decisions/0019-dated-rules.md).
         {"equivalent_grades": ["needs_attention"], "key_judgement_areas": ["leadership_and_management",
                                                                           "quality_of_education"]}),
    # --- Names in letters: who holds an office on the day a letter is given ---------------------------
    Rule("crown/her-majesty", "crown", "Her Majesty's Chief Inspector (reign of Queen Elizabeth II)",
         None, D("2022-09-07"), "Interpretation Act 1978 s10; demise of the Crown 8 Sep 2022", "V",
         {"majesty": "Her"}),
    Rule("crown/his-majesty", "crown", "His Majesty's Chief Inspector (accession of King Charles III)",
         D("2022-09-08"), None, "Interpretation Act 1978 s10; accession of King Charles III, 8 Sep 2022", "V",
         {"majesty": "His"}),
    Rule("sos_office/regional-schools-commissioner", "sos_office",
         "The Secretary of State acts through the Regional Schools Commissioner",
         None, D("2022-06-30"), "DfE: Regional Schools Commissioners, until the Regions Group of Jul 2022", "S",
         {"via": "the Regional Schools Commissioner"}),
    Rule("sos_office/regional-director", "sos_office",
         "The Secretary of State acts through the Regional Director (DfE Regions Group)",
         D("2022-07-01"), None, "DfE Regions Group: Regional Schools Commissioners renamed Regional Directors, "
         "1 Jul 2022", "S",
         {"via": "the Regional Director, Department for Education"}),
    # --- Local procedure: not law, but kept here so every dated or timed number has one home ----------
    Rule("imports/live-window", "import_history",
         "An imported deadline already past stays news while its case is open and it fell due within about "
         "one school term",
         None, None, "local procedure (one term of 13 weeks); not statutory", "S",
         {"weeks": 13}),
)


# --- Who owes a deadline ----------------------------------------------------------------------------
# Dates that Ofsted owns are watched, not owed by an officer: the authority cannot make Ofsted visit, so
# when such a date passes it is `passed`, never `missed`, and never escalated. One table, read by the
# status views, the daily check, the desk and the termly report; add a kind here, not a string check.
OFSTED_OWNED_KINDS: frozenset[str] = frozenset({"reinspection", "hmi_monitoring"})


def ofsted_owned(kind: str) -> bool:
    """True for a deadline kind whose date Ofsted owns (watched, never missed or escalated)."""
    return kind in OFSTED_OWNED_KINDS


def status_when_past(kind: str) -> str:
    """What a deadline still open after its date is: `missed` if an officer owed it, `passed` if Ofsted did."""
    return "passed" if ofsted_owned(kind) else "missed"


class NoRuleInForce(LookupError):
    pass


class RuleBook:
    """The rules, with an authority's overrides of their parameters applied."""

    def __init__(self, rules: Iterable[Rule] = RULES, overrides: Mapping[str, Mapping[str, Any]] | None = None):
        by_id = {r.id: r for r in rules}
        for rule_id, params in (overrides or {}).items():
            if rule_id not in by_id:
                raise ValueError(f"policy overrides unknown rule {rule_id!r}; known: {', '.join(sorted(by_id))}")
            rule = by_id[rule_id]
            merged = {**rule.params, **params}
            by_id[rule_id] = replace(rule, params=MappingProxyType(merged),
                                     source=f"{rule.source}; parameters overridden by authority policy")
        self.rules = tuple(by_id.values())
        # (topic, day) -> the rule in force. The rules are fixed once built, so the answer for a day never
        # changes; a national import asks it some 50,000 times for a few thousand distinct days.
        self._in_force: dict[tuple[str, date], Rule] = {}
        self._reinspections: dict[tuple[date, str, date | None], Computed] = {}  # reinspection_due's answers

    def in_force(self, topic: str, on: date) -> Rule:
        found = self._in_force.get((topic, on))
        if found is not None:
            return found
        for rule in self.rules:
            if rule.topic == topic and rule.applies_on(on):
                self._in_force[(topic, on)] = rule
                return rule
        raise NoRuleInForce(f"no {topic} rule applies on {on.isoformat()}")

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"no rule {rule_id!r}; known: {', '.join(r.id for r in self.rules)}")

    def starts(self, rule_id: str) -> date:
        """The day a rule came into force (for rules that have one: a commencement, a change of regime)."""
        start = self.get(rule_id).applies_from
        if start is None:
            raise ValueError(f"rule {rule_id!r} has no start date")
        return start


DEFAULT_RULES = RuleBook()


@dataclass(frozen=True)
class Computed:
    """A date a rule produced, with the rule (so each deadline can cite its source)."""

    due: date
    rule: Rule

    @property
    def caveat(self) -> str:
        """What officers must be told with the date: for an unconfirmed rule, that its number is unconfirmed."""
        return str(self.rule.params.get("caveat", ""))


# --- Procedures: each reads like the rule it implements --------------------------------------------


def short_date(day: date) -> str:
    """A date as the rule book writes it in messages: 18 Apr 2016."""
    month = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")[day.month - 1]
    return f"{day.day} {month} {day.year}"


class RuleRefusal(ValueError):
    """An input the law does not allow (e.g. a post-2016 warning notice with no compliance end)."""


def warning_notice_compliance_end(
    given_on: date, until: date | None, calendar: WorkingDayCalendar, rules: RuleBook = DEFAULT_RULES
) -> Computed:
    rule = rules.in_force("warning_notice", given_on)
    change = short_date(rules.starts("warning_notice/issuer-sets-period"))
    if rule.params.get("compliance_period") == "entered":
        if until is None:
            raise RuleRefusal(
                f"a warning notice given on {given_on.isoformat()} (from {change}) needs --until: "
                "the issuer sets the compliance period in the notice (EIA 2006 s60 as amended)"
            )
        if until <= given_on:
            raise RuleRefusal(f"--until {until.isoformat()} must be after the notice date {given_on.isoformat()}")
        return Computed(until, rule)
    computed = calendar.add_working_days(given_on, int(rule.params["compliance_working_days"]))
    if until is not None and until != computed:
        raise RuleRefusal(
            f"a warning notice given on {given_on.isoformat()} (before {change}) has a statutory compliance "
            f"period ending {computed.isoformat()}; --until {until.isoformat()} does not match (omit --until)"
        )
    return Computed(computed, rule)


def statement_of_action_due(
    published: date, inspection_calendar: WorkingDayCalendar, rules: RuleBook = DEFAULT_RULES
) -> Computed:
    rule = rules.in_force("statement_of_action", published)
    return Computed(inspection_calendar.add_working_days(published, int(rule.params["working_days"])), rule)


def academy_order_position(published: date, category: str, rules: RuleBook = DEFAULT_RULES, *,
                           as_of: date | None = None, order_made_on: date | None = None) -> dict[str, str | None]:
    """Whether the SoS must or may make an academy order for a maintained school in a category, as the law
    stands on `as_of` (the report's publication day when not given), and the policy default route.

    Before the repeal of s4(A1) (Children's Wellbeing and Schools Act 2026 s58) the duty follows the report:
    published from 18 Apr 2016, the SoS must. From the repeal the SoS may, unless an order made under the
    duty had effect immediately before it (s58(9)): then the old law goes on until the school converts.
    `order_made_on` is the day the order was made, if one was.
    """
    day = as_of or published
    at_report = rules.in_force("academy_order", published)
    repeal = rules.starts("academy_order/power-2026")
    if day < repeal:
        rule = at_report
    elif order_made_on is not None and order_made_on < repeal and at_report.params["duty"] == "must":
        rule = rules.in_force("academy_order_saving", day)
    else:
        rule = rules.in_force("academy_order", day)
    return {"duty": rule.params["duty"], "provision": rule.params["provision"],
            "default_route": rule.params["default_route"][category],
            "order_made_on": order_made_on.isoformat() if order_made_on else None,
            "as_of": day.isoformat(), "rule": rule.id, "source": rule.source}


def reinspection_due(published: date, pathway: str, rules: RuleBook = DEFAULT_RULES,
                     judged_on: date | None = None) -> Computed:
    """The latest date for the next full inspection: months from publication, by the rule in force on the
    day that decides the inspection's regime (`judged_on`, the inspection day; else publication)."""
    # Kept per book like in_force: a national import opens thousands of cases on a few hundred report days.
    key = (published, pathway, judged_on)
    found = rules._reinspections.get(key)
    if found is None:
        rule = rules.in_force("reinspection", judged_on or published)
        found = rules._reinspections[key] = Computed(published + relativedelta(months=int(rule.params["months"][pathway])),
                                                     rule)
    return found


def safeguarding_return_due(inspected: date, rules: RuleBook = DEFAULT_RULES) -> Computed | None:
    try:
        rule = rules.in_force("safeguarding_return", inspected)
    except NoRuleInForce:
        return None
    return Computed(inspected + relativedelta(months=int(rule.params["months"])), rule)


def hmi_monitoring_due(published: date, category: str, terms, rules: RuleBook = DEFAULT_RULES) -> Computed:
    """When the next HMI monitoring visit is expected by (the end of its expected window).

    Report-card era: each term, starting with the term after publication. Earlier frameworks: the
    first visit within a configured number of months.
    """
    rule = rules.in_force("hmi_monitoring", published)
    if "first_within_months" in rule.params:
        return Computed(published + relativedelta(months=int(rule.params["first_within_months"][category])),
                        rule)
    return Computed(terms.next_term_starting_after(published).end, rule)


def next_hmi_monitoring_due(visited: date, terms, rules: RuleBook = DEFAULT_RULES) -> Computed:
    """After a monitoring visit the next is expected by the end of the following term."""
    rule = rules.in_force("hmi_monitoring", visited)
    return Computed(terms.next_term_starting_after(visited).end, rule)
