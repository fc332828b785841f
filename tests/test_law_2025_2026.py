"""The law of 2025-26, each rule checked the day before and the day of its boundary.

- Children's Wellbeing and Schools Act 2026 s58 (in force 29 Jun 2026): the duty to make an academy order is
  repealed; s58(9) keeps it for an order made under it that had effect immediately before.
- Coasting Schools (England) (Amendment) Regulations 2025, SI 2025/1120 (in force 17 Nov 2025), and EIA 2006
  s60B (the Secretary of State's notice makes a maintained school eligible for intervention).
- Ofsted report cards (10 Nov 2025): the 2023 handbook's return visit and the 2018 re-inspection window end;
  the report-card era's numbers are unconfirmed, configurable, and say so on the deadlines they make.
"""

from __future__ import annotations

import pytest

from concerns.domain.judgements import Grade, Judgement, Outcome, coasting, summarise
from concerns.domain.policy import policy_for
from concerns.domain.rules import (
    DEFAULT_RULES,
    RuleBook,
    academy_order_position,
    reinspection_due,
    safeguarding_return_due,
)
from statemachines.case import SchoolFacts
from statemachines.events import EventContext
from statemachines.pathways import EventRefused, fire, open_case
from tests.conftest import d

U, N, E, S = Grade.urgent_improvement, Grade.needs_attention, Grade.expected_standard, Grade.strong_standard
SM_CARD = ("--area", "leadership_and_governance=urgent_improvement", "--area", "inclusion=urgent_improvement",
           "--safeguarding", "met")


# --- Academy orders: Academies Act 2010 s4, as amended by the Children's Wellbeing and Schools Act 2026 s58 ---


def test_academy_order_duty_repealed_on_29_june_2026_the_day_before_still_a_duty():
    published = d("2026-06-10")
    assert academy_order_position(published, "special_measures", as_of=d("2026-06-28"))["duty"] == "must"
    on_the_day = academy_order_position(published, "special_measures", as_of=d("2026-06-29"))
    assert on_the_day["duty"] == "may" and on_the_day["rule"] == "academy_order/power-2026"
    assert "s58" in on_the_day["source"]


@pytest.mark.parametrize(("made", "duty", "rule"), [
    ("2026-06-20", "must", "academy_order/saved-duty"),
    ("2026-06-28", "must", "academy_order/saved-duty"),  # had effect immediately before 29 Jun 2026
    ("2026-06-29", "may", "academy_order/power-rise"),  # made under the power: the duty is gone
])
def test_academy_order_saved_duty_s58_9_keys_on_the_day_the_order_was_made(made, duty, rule):
    position = academy_order_position(d("2026-06-10"), "special_measures", as_of=d("2026-12-06"),
                                      order_made_on=d(made))
    assert (position["duty"], position["rule"]) == (duty, rule)
    assert position["order_made_on"] == made


def test_academy_order_saving_needs_an_order_under_the_duty_not_under_the_old_power():
    # A report of 2015 gave no duty: an order made on it was under s4(1)(b), which s58(9) does not save.
    position = academy_order_position(d("2015-06-10"), "special_measures", as_of=d("2026-12-06"),
                                      order_made_on=d("2015-09-01"))
    assert position["duty"] == "may"


def test_academy_order_duty_from_18_april_2016_unchanged_before_the_repeal():
    assert academy_order_position(d("2016-04-17"), "special_measures", as_of=d("2026-01-05"))["duty"] == "may"
    assert academy_order_position(d("2016-04-18"), "special_measures", as_of=d("2026-01-05"))["duty"] == "must"


def _sm_with_order(cli, urn, order_on=None):
    cli.ok("school", "add", urn, "--name", "Ash Tree Primary", "--la", "Derbyshire", "--type", "Community school")
    cli.ok("inspection", "add", urn, "--published", "2026-06-10", "--inspected", "2026-05-20", *SM_CARD)
    if order_on:
        cli.ok("event", urn, "academy_order_made", "--on", order_on)


def test_case_show_academy_order_no_order_is_may_on_6_december_2026(cli):
    _sm_with_order(cli, "100001")
    (case,) = cli.json("case", "show", "100001", "--as-of", "2026-12-06")["cases"]
    assert case["pathway"] == "special_measures"
    assert case["facts"]["academy_order"] == case["facts"]["academy_order"] | {
        "duty": "may", "order_made_on": None, "rule": "academy_order/power-rise", "as_of": "2026-12-06"}
    # The day before the repeal the same case showed the duty.
    (before,) = cli.json("case", "show", "100001", "--as-of", "2026-06-28")["cases"]
    assert before["facts"]["academy_order"]["duty"] == "must"
    (row,) = cli.json("register", "--as-of", "2026-12-06")
    assert row["academy_order"] == "may"


def test_case_show_academy_order_made_20_june_2026_is_must_on_6_december_2026(cli):
    _sm_with_order(cli, "100001", "2026-06-20")
    (case,) = cli.json("case", "show", "100001", "--as-of", "2026-12-06")["cases"]
    assert case["state"] == "sm_academy_order"
    assert case["facts"]["academy_order"] == case["facts"]["academy_order"] | {
        "duty": "must", "order_made_on": "2026-06-20", "rule": "academy_order/saved-duty"}
    assert "s58(9)" in case["facts"]["academy_order"]["source"]
    (row,) = cli.json("register", "--as-of", "2026-12-06")
    assert row["academy_order"] == "must"
    # As of a day before the order, the view does not know of it (and the duty still applied then).
    (early,) = cli.json("case", "show", "100001", "--as-of", "2026-06-15")["cases"]
    assert early["facts"]["academy_order"] | {"duty": "must", "order_made_on": None} == early["facts"]["academy_order"]


def test_case_show_academy_order_made_on_29_june_2026_is_may(cli):
    _sm_with_order(cli, "100001", "2026-06-29")
    (case,) = cli.json("case", "show", "100001", "--as-of", "2026-12-06")["cases"]
    assert case["facts"]["academy_order"]["duty"] == "may"


def test_academy_order_made_records_its_day_as_a_fact(community, derbyshire):
    card = Judgement(d("2026-06-10"), areas={"leadership_and_governance": U, "inclusion": U}, safeguarding="met")
    case, _ = open_case(community, derbyshire, EventContext("judged_special_measures", d("2026-06-10"),
                                                            judgement=card, summary=summarise(card)))
    fire(case, community, derbyshire, EventContext("academy_order_made", d("2026-06-20")))
    assert case.facts["academy_order_made_on"] == "2026-06-20"


# --- Ofsted timings: 2023 handbook and 2018 window end the day before report cards --------------------------


def test_safeguarding_return_2023_handbook_ends_9_november_2025_report_cards_unconfirmed():
    assert safeguarding_return_due(d("2025-11-09")).rule.id == "safeguarding_return"
    on_the_day = safeguarding_return_due(d("2025-11-10"))
    assert on_the_day.rule.id == "safeguarding_return/report-cards" and on_the_day.rule.confidence == "U"
    assert on_the_day.due == d("2026-02-10") and "unconfirmed" in on_the_day.caveat
    assert safeguarding_return_due(d("2025-11-09")).caveat == ""


def test_reinspection_2018_window_ends_9_november_2025_report_cards_unconfirmed():
    assert reinspection_due(d("2025-12-01"), "special_measures", judged_on=d("2025-11-09")).rule.id == "reinspection/2018"
    on_the_day = reinspection_due(d("2025-12-01"), "special_measures", judged_on=d("2025-11-10"))
    assert on_the_day.rule.id == "reinspection/report-cards" and on_the_day.rule.confidence == "U"
    assert "unconfirmed" in on_the_day.caveat and "unconfirmed" in on_the_day.rule.source


def test_reinspection_report_cards_months_are_policy_configurable():
    book = RuleBook(overrides={"reinspection/report-cards": {"months": {"requires_improvement": 24,
                                                                         "serious_weaknesses": 18,
                                                                         "special_measures": 18}}})
    assert reinspection_due(d("2026-01-15"), "serious_weaknesses", book).due == d("2027-07-15")
    with pytest.raises(ValueError, match="unknown rule"):
        RuleBook(overrides={"reinspection/report-card": {}})


def test_report_card_deadlines_say_their_number_is_unconfirmed(cli):
    cli.ok("school", "add", "100001", "--name", "Ash Tree Primary", "--la", "Derbyshire", "--type", "Community school")
    cli.ok("inspection", "add", "100001", "--published", "2025-12-01", "--inspected", "2025-11-10",
           "--area", "inclusion=expected_standard", "--safeguarding", "not_met")
    (case,) = cli.json("case", "show", "100001", "--as-of", "2025-12-02")["cases"]
    by_kind = {x["kind"]: x for x in case["deadlines"]}
    for kind in ("reinspection", "safeguarding_return"):
        assert "unconfirmed" in by_kind[kind]["note"] and "unconfirmed" in by_kind[kind]["source"]
    assert by_kind["safeguarding_return"]["due"] == "2026-02-10"


def test_key_judgement_deadlines_the_day_before_report_cards_keep_the_old_rules(cli):
    cli.ok("school", "add", "100001", "--name", "Ash Tree Primary", "--la", "Derbyshire", "--type", "Community school")
    cli.ok("inspection", "add", "100001", "--published", "2025-12-01", "--inspected", "2025-11-09",
           "--outcome", "serious_weaknesses", "--safeguarding", "not_met")
    (case,) = cli.json("case", "show", "100001", "--as-of", "2025-12-02")["cases"]
    by_kind = {x["kind"]: x for x in case["deadlines"]}
    assert by_kind["reinspection"]["rule"] == "reinspection/2018"
    assert by_kind["safeguarding_return"]["rule"] == "safeguarding_return"
    assert "unconfirmed" not in by_kind["reinspection"]["note"]


# --- Coasting: SI 2022/720 to 16 Nov 2025, SI 2025/1120 from 17 Nov 2025 ------------------------------------


def _graded(published: str, outcome: Outcome) -> Judgement:
    return Judgement(d(published), outcome=outcome)


def _card(published: str, **areas: Grade) -> Judgement:
    return Judgement(d(published), areas=areas, safeguarding="met")


RI = Outcome.requires_improvement


def test_coasting_2022_definition_ends_16_november_2025_2025_definition_from_17th():
    history = [_graded("2021-03-01", RI), _graded("2024-03-01", RI)]
    before = coasting(history, d("2025-11-16"))
    assert (before.coasting, before.rule) == (True, "coasting/2022")
    on_the_day = coasting(history, d("2025-11-17"))
    # RI twice is not an entry route under SI 2025/1120: leadership and governance "needs attention" is.
    assert (on_the_day.coasting, on_the_day.rule) == (False, "coasting/2025")


def test_coasting_2025_route_a_needs_a_relevant_assessment_at_the_previous_inspection():
    latest = _card("2026-03-05", leadership_and_governance=N, inclusion=E)
    assert coasting([_graded("2023-02-01", RI), latest], d("2026-04-01")).route == "A"
    assert not coasting([_graded("2023-02-01", Outcome.good), latest], d("2026-04-01")).coasting


def test_coasting_2025_route_a_reads_a_linked_predecessor_when_no_previous_inspection():
    latest = _card("2026-03-05", leadership_and_governance=N, inclusion=E)
    assert not coasting([latest], d("2026-04-01")).coasting
    found = coasting([latest], d("2026-04-01"), predecessor=_graded("2024-01-10", Outcome.special_measures))
    assert (found.coasting, found.route) == (True, "A") and "predecessor" in found.reason
    # The school's own previous inspection comes first: the predecessor is read only when there is none.
    assert not coasting([_graded("2024-06-01", Outcome.good), latest], d("2026-04-01"),
                        predecessor=_graded("2024-01-10", Outcome.special_measures)).coasting


def test_coasting_2025_route_b_out_of_a_category_still_needing_attention():
    out = _card("2026-03-05", leadership_and_governance=E, inclusion=N)
    assert coasting([_graded("2024-02-01", Outcome.special_measures), out], d("2026-04-01")).route == "B"
    assert not coasting([_graded("2024-02-01", RI), out], d("2026-04-01")).coasting
    # RI by the earlier regime's grades, out of serious weaknesses.
    assert coasting([_graded("2023-02-01", Outcome.serious_weaknesses), _graded("2025-01-10", RI)],
                    d("2026-01-05")).route == "B"


def test_coasting_2025_lasts_until_the_exit_test_is_met():
    entry = [_graded("2023-02-01", RI), _card("2026-01-05", leadership_and_governance=N, inclusion=E)]
    still = _card("2026-09-05", leadership_and_governance=E, inclusion=N)  # no new entry, no exit
    assert coasting([*entry, still], d("2026-10-01")).coasting
    out = _card("2026-09-05", leadership_and_governance=S, inclusion=E)
    assert not coasting([*entry, out], d("2026-10-01")).coasting
    # As of a day before the exit inspection was published, still coasting.
    assert coasting([*entry, out], d("2026-09-04")).coasting


def test_coasting_excludes_maintained_nursery_schools_reg_3():
    history = [_graded("2023-02-01", RI), _card("2026-01-05", leadership_and_governance=N)]
    found = coasting(history, d("2026-02-01"), type_name="Local authority nursery school")
    assert not found.coasting and "nursery" in found.reason
    assert coasting(history, d("2026-02-01"), type_name="Community school").coasting


def test_coasting_with_a_linked_predecessor_from_the_database(db_url):
    from concerns.casework.cases import add_school, record_inspection
    from concerns.casework.views import case_view, register
    from concerns.store.db import session_scope

    with session_scope(db_url) as session:
        add_school(session, "100010", name="Old Ash Primary", la="Derbyshire", type_name="Community school")
        add_school(session, "100011", name="Ash Primary", la="Derbyshire", type_name="Community school",
                   predecessor_urn="100010")
        record_inspection(session, "100010", _graded("2024-01-10", RI))
        record_inspection(session, "100011", _card("2026-03-05", leadership_and_governance=N, inclusion=E))
    with session_scope(db_url, writes=False) as session:
        doc = case_view(session, "100011", d("2026-04-01"))
        assert (doc["coasting"], doc["coasting_route"]) == (True, "A")
        assert case_view(session, "100011", d("2026-03-04"))["coasting"] is False
        (row,) = [r for r in register(session, d("2026-04-01")) if r["urn"] == "100011"]
        assert row["coasting"] is True


# --- s60B: the Secretary of State's notice; the LA's powers follow ------------------------------------------


def _ri_case(school, policy):
    card = _card("2026-01-05", leadership_and_governance=N, inclusion=E)
    return open_case(school, policy, EventContext("judged_requires_improvement", d("2026-01-05"), judgement=card,
                                                  summary=summarise(card)))[0]


def test_coasting_notified_s60b_makes_a_maintained_school_eligible_and_the_la_powers_follow(community, derbyshire):
    case = _ri_case(community, derbyshire)
    fire(case, community, derbyshire, EventContext("coasting_notified", d("2026-02-02")))
    assert case.state == "ri_coasting" and case.facts["coasting_notified_on"] == "2026-02-02"
    fire(case, community, derbyshire, EventContext("use_powers", d("2026-03-02")))
    assert case.state == "ri_intervention"
    fire(case, community, derbyshire, EventContext("academy_order_made", d("2026-04-01")))
    assert case.facts["academy_order_made_on"] == "2026-04-01"
    # A later good report card ends the case, as on the RI pathway.
    good = _card("2027-01-05", leadership_and_governance=E, inclusion=E)
    fire(case, community, derbyshire, EventContext("judged_good", d("2027-01-05"), judgement=good,
                                                   summary=summarise(good)))
    assert (case.state, case.outcome) == ("closed", "improved")


def test_coasting_notified_refused_for_a_maintained_nursery_school(derbyshire):
    nursery = SchoolFacts("100020", "Little Acorns Nursery", "Derbyshire", "Local authority nursery school", True)
    case = _ri_case(nursery, derbyshire)
    with pytest.raises(EventRefused, match="does not apply to a local authority nursery school"):
        fire(case, nursery, derbyshire, EventContext("coasting_notified", d("2026-02-02")))
    assert case.state == "ri_improvement_planning"


def test_use_powers_on_the_ri_pathway_needs_the_coasting_notice(community, derbyshire):
    case = _ri_case(community, derbyshire)
    with pytest.raises(EventRefused, match="use_powers"):
        fire(case, community, derbyshire, EventContext("use_powers", d("2026-02-02")))


def test_coasting_notified_rule_is_s60b():
    rule = DEFAULT_RULES.in_force("coasting_notified", d("2026-02-02"))
    assert "s60B" in rule.source and rule.confidence == "V"
    assert policy_for("default").rules.in_force("coasting", d("2025-11-17")).id == "coasting/2025"
