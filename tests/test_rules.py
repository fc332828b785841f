"""Dated rules: each in force for its period only, with its source; judgement decisions."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from concerns.domain.calendar import DayKind
from concerns.domain.judgements import (
    Grade,
    Judgement,
    Outcome,
    category_from_report_card,
    is_coasting,
    is_stuck,
    summarise,
)
from concerns.domain.policy import policy_for
from concerns.domain.rules import (
    DEFAULT_RULES,
    RULES,
    NoRuleInForce,
    RuleBook,
    RuleRefusal,
    academy_order_position,
    reinspection_due,
    safeguarding_return_due,
    statement_of_action_due,
    warning_notice_compliance_end,
)
from tests.conftest import d

POLICY = policy_for("default")
STATUTORY = POLICY.calendar(DayKind.statutory)


def test_every_rule_has_a_source_and_a_coherent_period():
    for rule in RULES:
        assert rule.source and rule.confidence and rule.title
        if rule.applies_from and rule.applies_to:
            assert rule.applies_from <= rule.applies_to


def test_rules_of_one_topic_never_overlap():
    by_topic = {}
    for rule in RULES:
        by_topic.setdefault(rule.topic, []).append(rule)
    for topic, rules in by_topic.items():
        for a in rules:
            for b in rules:
                if a is b:
                    continue
                a_end, b_start = a.applies_to or d("9999-12-31"), b.applies_from or d("0001-01-01")
                b_end, a_start = b.applies_to or d("9999-12-31"), a.applies_from or d("0001-01-01")
                assert a_end < b_start or b_end < a_start, f"{topic}: {a.id} overlaps {b.id}"


def test_warning_notice_regime_changes_on_18_april_2016():
    legacy = warning_notice_compliance_end(d("2016-04-15"), None, STATUTORY)
    assert legacy.rule.id == "warning_notice/legacy"
    assert legacy.due == STATUTORY.add_working_days(d("2016-04-15"), 15)
    with pytest.raises(RuleRefusal, match="needs --until"):
        warning_notice_compliance_end(d("2016-04-18"), None, STATUTORY)
    current = warning_notice_compliance_end(d("2016-04-18"), d("2016-05-31"), STATUTORY)
    assert current.due == d("2016-05-31") and current.rule.id == "warning_notice/issuer-sets-period"


def test_legacy_notice_refuses_a_different_until():
    with pytest.raises(RuleRefusal, match="2016-01-13"):
        warning_notice_compliance_end(d("2015-12-18"), d("2016-02-01"), STATUTORY)
    assert warning_notice_compliance_end(d("2015-12-18"), d("2016-01-13"), STATUTORY).due == d("2016-01-13")


def test_until_must_follow_the_notice():
    with pytest.raises(RuleRefusal, match="after the notice date"):
        warning_notice_compliance_end(d("2026-11-20"), d("2026-11-20"), STATUTORY)


def test_statement_of_action_counts_inspection_working_days():
    due = statement_of_action_due(d("2026-11-04"), POLICY.calendar(DayKind.inspection))
    assert due.due == d("2026-11-18")
    assert "s15" in due.rule.source


@pytest.mark.parametrize(("published", "duty", "rsi_route"), [
    ("2016-04-17", "may", "academy_order"),
    ("2016-04-18", "must", "academy_order"),
    ("2026-06-28", "must", "academy_order"),
    ("2026-06-29", "may", "academy_order"),
    ("2026-09-01", "may", "rise_targeted_intervention"),
])
def test_academy_order_must_before_29_june_2026_and_may_after(published, duty, rsi_route):
    assert academy_order_position(d(published), "special_measures")["duty"] == duty
    assert academy_order_position(d(published), "special_measures")["default_route"] == "academy_order"
    assert academy_order_position(d(published), "serious_weaknesses")["default_route"] == rsi_route


def test_safeguarding_return_within_three_months_from_september_2023():
    assert safeguarding_return_due(d("2023-08-31")) is None
    assert safeguarding_return_due(d("2026-11-30")).due == d("2027-02-28")


def test_reinspection_within_30_months_since_april_2018():
    assert reinspection_due(d("2026-11-04"), "special_measures").due == d("2029-05-04")
    assert reinspection_due(d("2018-04-12"), "serious_weaknesses").rule.id == "reinspection/pre-2018"
    assert reinspection_due(d("2018-04-13"), "serious_weaknesses").due == d("2020-10-13")


def test_policy_overrides_unconfirmed_parameters_and_cites_it():
    book = RuleBook(overrides={"reinspection/report-cards": {"months": {"requires_improvement": 24,
                                                                         "serious_weaknesses": 24,
                                                                         "special_measures": 24}}})
    computed = reinspection_due(d("2026-11-04"), "special_measures", book)
    assert computed.due == d("2028-11-04")
    assert "overridden by authority policy" in computed.rule.source
    with pytest.raises(ValueError, match="unknown rule"):
        RuleBook(overrides={"no/such-rule": {}})


def test_no_rule_in_force_is_an_error_not_a_guess():
    with pytest.raises(NoRuleInForce):
        RuleBook().in_force("coasting", d("2020-01-01"))


U, N, E = Grade.urgent_improvement, Grade.needs_attention, Grade.expected_standard


@pytest.mark.parametrize(("areas", "safeguarding", "expected"), [
    ({"leadership_and_governance": E, "inclusion": E}, "met", None),
    ({"leadership_and_governance": E, "inclusion": N}, "met", None),
    ({"leadership_and_governance": E, "inclusion": U}, "met", "RSI"),
    ({"leadership_and_governance": U, "inclusion": E}, "met", "RSI"),  # L&G the only urgent area
    ({"leadership_and_governance": U, "inclusion": U}, "met", "SM"),
    ({"leadership_and_governance": U, "inclusion": E}, "not_met", "SM"),
    ({"leadership_and_governance": E, "inclusion": E}, "not_met", "RSI"),
])
def test_category_from_report_card(areas, safeguarding, expected):
    assert category_from_report_card(areas, safeguarding) == expected


def test_summary_of_a_report_card():
    card = Judgement(d("2026-01-20"), areas={"achievement": N, "inclusion": E}, safeguarding="met")
    assert summarise(card).level == "ri" and summarise(card).category == "NA"
    safeguarding_only = Judgement(d("2026-01-20"), areas={"achievement": E}, safeguarding="not_met")
    assert summarise(safeguarding_only).category == "RSI" and summarise(safeguarding_only).safeguarding_only


def _graded(published: str, outcome: Outcome) -> Judgement:
    return Judgement(d(published), outcome=outcome)


def test_stuck_needs_ri_now_and_below_good_before():
    ri, good = Outcome.requires_improvement, Outcome.good
    assert is_stuck(_graded("2025-06-01", ri), _graded("2022-06-01", ri))
    assert is_stuck(_graded("2025-06-01", ri), _graded("2022-06-01", Outcome.special_measures))
    assert not is_stuck(_graded("2025-06-01", ri), _graded("2022-06-01", good))
    assert not is_stuck(_graded("2025-06-01", ri), None)
    assert not is_stuck(_graded("2025-06-01", Outcome.special_measures), _graded("2022-06-01", ri))
    card = Judgement(d("2026-03-05"), areas={"leadership_and_governance": N})
    assert is_stuck(card, _graded("2023-02-01", ri))


def test_coasting_tests_by_date():
    ri = Outcome.requires_improvement
    # 2022 regulations: RI at the latest and below good at the previous.
    assert is_coasting(_graded("2023-05-01", ri), _graded("2020-05-01", ri))
    # Before 1 Sep 2022 there was no coasting definition in force.
    assert not is_coasting(_graded("2022-05-01", ri), _graded("2019-05-01", ri))
    # 2025 regulations, route A: leadership and governance needs attention with a relevant previous judgement.
    route_a = Judgement(d("2026-03-05"), areas={"leadership_and_governance": N, "inclusion": E})
    assert is_coasting(route_a, _graded("2023-02-01", ri))
    assert not is_coasting(route_a, _graded("2023-02-01", Outcome.good))
    # Route B: just out of a category but still needing attention somewhere.
    route_b = Judgement(d("2026-03-05"), areas={"leadership_and_governance": E, "inclusion": N})
    assert is_coasting(route_b, _graded("2024-02-01", Outcome.special_measures))
    assert not is_coasting(route_b, _graded("2024-02-01", ri))


# --- Law in one book: every dated fact is a rule, looked up on both sides of its boundary -----------------


@pytest.mark.parametrize("topic, day_before, day_of, rule_before, rule_of", [
    # Education and Adoption Act 2016 s2: the issuer sets the compliance period.
    ("warning_notice", "2016-04-17", "2016-04-18", "warning_notice/legacy", "warning_notice/issuer-sets-period"),
    # Academies Act 2010 s4(A1): the duty to make an academy order, inserted 2016 and repealed 2026.
    ("academy_order", "2016-04-17", "2016-04-18", "academy_order/power", "academy_order/duty"),
    ("academy_order", "2026-06-28", "2026-06-29", "academy_order/duty", "academy_order/power-2026"),
    # Ofsted report cards from 10 Nov 2025.
    ("judgements", "2025-11-09", "2025-11-10", "judgements/key-judgements", "judgements/report-cards"),
    # Interpretation Act 1978 s10: "His Majesty's" from the accession of King Charles III.
    ("crown", "2022-09-07", "2022-09-08", "crown/her-majesty", "crown/his-majesty"),
    # DfE: Regional Schools Commissioners renamed Regional Directors.
    ("sos_office", "2022-06-30", "2022-07-01", "sos_office/regional-schools-commissioner",
     "sos_office/regional-director"),
])
def test_each_dated_rule_changes_on_its_day(topic, day_before, day_of, rule_before, rule_of):
    assert DEFAULT_RULES.in_force(topic, d(day_before)).id == rule_before
    assert DEFAULT_RULES.in_force(topic, d(day_of)).id == rule_of
    assert DEFAULT_RULES.starts(rule_of) == d(day_of)


def test_stuck_rule_starts_on_1_january_2025():
    with pytest.raises(NoRuleInForce):
        DEFAULT_RULES.in_force("stuck", d("2024-12-31"))
    assert DEFAULT_RULES.in_force("stuck", d("2025-01-01")).id == "stuck"
    assert DEFAULT_RULES.starts("stuck") == d("2025-01-01")


def test_names_and_dates_in_refusals_come_from_the_rule_book():
    with pytest.raises(RuleRefusal, match=r"\(from 18 Apr 2016\) needs --until"):
        warning_notice_compliance_end(d("2016-04-18"), None, STATUTORY)
    with pytest.raises(RuleRefusal, match=r"\(before 18 Apr 2016\)"):
        warning_notice_compliance_end(d("2016-04-15"), d("2016-06-01"), STATUTORY)
    moved = RuleBook([replace(r, applies_from=d("2016-05-01")) if r.id == "warning_notice/issuer-sets-period"
                      else replace(r, applies_to=d("2016-04-30")) if r.id == "warning_notice/legacy" else r
                      for r in RULES])
    with pytest.raises(RuleRefusal, match=r"\(from 1 May 2016\)"):
        warning_notice_compliance_end(d("2016-05-01"), None, STATUTORY, moved)


def test_unknown_rule_id_is_named():
    with pytest.raises(KeyError, match="no rule 'nope'"):
        DEFAULT_RULES.get("nope")
    with pytest.raises(ValueError, match="has no start date"):
        DEFAULT_RULES.starts("eligible_for_intervention")


# A statutory date written anywhere but the rule book is a second copy that will one day disagree with it.
_DATE_LITERAL = re.compile(r"\bdate\(\s*(19|20)\d\d\s*,|\bD\(\"(19|20)\d\d-|timedelta\(\s*weeks\s*=\s*\d")
# Data, not law: the demo authority's fixed dates.
_NOT_LAW = {"concerns/domain/rules.py", "concerns/app/demo.py", "concerns/app/demo_term.py"}


def test_no_dated_constant_outside_the_rule_book():
    root = Path(__file__).resolve().parents[1]
    found = []
    for package in ("concerns", "statemachines", "flows"):
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel in _NOT_LAW:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if _DATE_LITERAL.search(line):
                    found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, "dated constants outside concerns/domain/rules.py:\n" + "\n".join(found)
