"""The pathway machine on its own: no database, no Prefect."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from concerns.domain.judgements import Grade, Judgement, Outcome, summarise
from concerns.domain.pathways import PATHWAYS
from statemachines.case import CaseFile
from statemachines.pathways import (
    MACHINE,
    OPEN_STATES,
    STATES,
    STEPS,
    EventContext,
    EventRefused,
    allowed_events,
    fire,
    mermaid_diagram,
    open_case,
)
from statemachines.review import BEGIN, END, review_table
from tests.conftest import d


def judged(outcome: Outcome, published: str) -> EventContext:
    j = Judgement(published=d(published), outcome=outcome)
    trigger = {"requires_improvement": "judged_requires_improvement", "serious_weaknesses": "judged_serious_weaknesses",
               "special_measures": "judged_special_measures", "good": "judged_good"}[outcome.value]
    return EventContext(trigger, d(published), judgement=j, summary=summarise(j))


def ev(trigger: str, on: str, **kw) -> EventContext:
    return EventContext(trigger, d(on), **kw)


def kinds(case: CaseFile, status: str = "open") -> dict[str, str]:
    return {x.kind: x.due.isoformat() for x in case.deadlines if x.status == status}


def test_special_measures_maintained_gets_a_statement_of_action(community, derbyshire):
    case, result = open_case(community, derbyshire, judged(Outcome.special_measures, "2026-11-04"))
    assert (case.pathway, case.state) == ("special_measures", "sm_statement_due")
    assert kinds(case)["statement_of_action"] == "2026-11-18"
    soa = next(x for x in case.deadlines if x.kind == "statement_of_action")
    assert soa.responsible == "senior_adviser" and "s15" in soa.source
    assert {"hmi_monitoring", "reinspection"} <= set(kinds(case))
    assert result.from_state == "start" and result.created


def test_academy_in_special_measures_is_an_academy_of_concern(academy, derbyshire):
    case, _ = open_case(academy, derbyshire, judged(Outcome.special_measures, "2026-11-04"))
    assert (case.pathway, case.state) == ("academy_of_concern", "aoc_category")
    assert "statement_of_action" not in kinds(case)
    assert case.facts["termination_warning_notice_presumption"] is True
    assert "warning_notice" not in allowed_events(case, academy)
    assert "submit_statement_of_action" not in allowed_events(case, academy)


def test_academy_never_gets_a_warning_notice(academy, derbyshire):
    case, _ = open_case(academy, derbyshire, ev("raise_concern", "2026-09-01"))
    assert case.pathway == "academy_of_concern"
    with pytest.raises(EventRefused, match="allowed now: .*meet_trust"):
        fire(case, academy, derbyshire, ev("warning_notice", "2026-09-10", until=d("2026-10-30")))


def test_la_concern_ladder_end_to_end(community, derbyshire):
    case, _ = open_case(community, derbyshire, ev("raise_concern", "2026-03-02"))
    assert case.state == "concern_raised"
    fire(case, community, derbyshire, ev("confirm_concern", "2026-03-09"))
    # Derbyshire: School Progress Review at least three times a year -> one by the end of this term.
    assert kinds(case) == {"progress_meeting": "2026-03-27"}
    fire(case, community, derbyshire, ev("progress_meeting", "2026-03-20"))
    assert kinds(case, "met") == {"progress_meeting": "2026-03-27"}
    assert kinds(case) == {"progress_meeting": "2026-07-22"}
    fire(case, community, derbyshire, ev("warning_letter", "2026-04-20"))
    fire(case, community, derbyshire, ev("warning_notice", "2026-05-04", until=d("2026-06-19")))
    assert kinds(case)["warning_notice_compliance"] == "2026-06-19"
    with pytest.raises(EventRefused, match="runs to Friday 19 June 2026"):
        fire(case, community, derbyshire, ev("compliance_failed", "2026-06-19"))
    fire(case, community, derbyshire, ev("compliance_failed", "2026-06-22"))
    assert case.state == "compliance_failed"
    with pytest.raises(EventRefused, match="allowed now: .*notice_of_intervention"):
        fire(case, community, derbyshire, ev("use_powers", "2026-06-23"))
    fire(case, community, derbyshire, ev("notice_of_intervention", "2026-06-23"))
    assert case.state == "eligible_for_intervention"
    fire(case, community, derbyshire, ev("use_powers", "2026-07-01", note="s65 IEB"))
    fire(case, community, derbyshire, ev("remove_concern", "2027-07-14"))
    assert case.state == "exit_monitoring" and case.is_open
    assert not case.open_deadlines()
    fire(case, community, derbyshire, ev("end_monitoring", "2027-12-15"))
    assert (case.state, case.outcome, case.closed) == ("closed", "removed_from_concern", d("2027-12-15"))


def test_compliance_met_returns_to_monitoring(community, derbyshire):
    case, _ = open_case(community, derbyshire, ev("raise_concern", "2026-09-01"))
    fire(case, community, derbyshire, ev("confirm_concern", "2026-09-03"))
    fire(case, community, derbyshire, ev("warning_notice", "2026-09-10", until=d("2026-10-16")))
    fire(case, community, derbyshire, ev("compliance_met", "2026-10-10"))
    assert case.state == "concern_confirmed"
    assert kinds(case, "met")["warning_notice_compliance"] == "2026-10-16"


def test_legacy_warning_notice_is_computed(community, derbyshire):
    case, _ = open_case(community, derbyshire, ev("raise_concern", "2015-11-02"))
    fire(case, community, derbyshire, ev("confirm_concern", "2015-11-05"))
    fire(case, community, derbyshire, ev("warning_notice", "2015-12-18"))
    compliance = next(x for x in case.deadlines if x.kind == "warning_notice_compliance")
    assert compliance.due == d("2016-01-13") and compliance.rule == "warning_notice/legacy"


def test_warning_notice_from_2016_needs_until_and_refusal_changes_nothing(community, derbyshire):
    case, _ = open_case(community, derbyshire, ev("raise_concern", "2026-09-01"))
    fire(case, community, derbyshire, ev("confirm_concern", "2026-09-03"))
    before = (case.state, [(x.kind, x.status) for x in case.deadlines], case.last_event_on)
    with pytest.raises(EventRefused, match="needs --until"):
        fire(case, community, derbyshire, ev("warning_notice", "2026-09-10"))
    assert (case.state, [(x.kind, x.status) for x in case.deadlines], case.last_event_on) == before


def test_sos_warning_notice_supersedes_the_las(community, derbyshire):
    case, _ = open_case(community, derbyshire, ev("raise_concern", "2026-09-01"))
    fire(case, community, derbyshire, ev("confirm_concern", "2026-09-03"))
    fire(case, community, derbyshire, ev("warning_notice", "2026-09-10", until=d("2026-10-16")))
    fire(case, community, derbyshire, ev("sos_warning_notice", "2026-09-24", until=d("2026-11-20")))
    assert kinds(case)["warning_notice_compliance"] == "2026-11-20"
    assert kinds(case, "cancelled")["warning_notice_compliance"] == "2026-10-16"
    assert case.facts["warning_notice_issuer"] == "sos"


def test_refused_event_lists_exactly_what_is_allowed(community, derbyshire):
    case, _ = open_case(community, derbyshire, ev("raise_concern", "2026-09-01"))
    with pytest.raises(EventRefused) as refused:
        fire(case, community, derbyshire, ev("warning_notice", "2026-09-10", until=d("2026-10-30")))
    listed = re.search(r"allowed now: (.*)$", str(refused.value)).group(1).split(", ")
    assert listed == allowed_events(case, community)
    assert listed == ["close_school", "confirm_concern", "convert_to_academy", "minutes_filed", "papers_sent",
                      "progress_judgement", "sos_warning_notice", "tpc_warning_notice", "withdraw_concern"]


def test_allowed_events_are_exactly_the_machines_triggers_for_the_state(community, academy):
    for state in OPEN_STATES:
        case = CaseFile(pathway=STATES[state][0], state=state)
        for school in (community, academy):
            listed = set(allowed_events(case, school))
            assert listed <= set(MACHINE.get_triggers(state))
            assert not any(t.startswith("judged_") for t in listed)


def test_events_out_of_order_are_refused(community, derbyshire):
    case, _ = open_case(community, derbyshire, ev("raise_concern", "2026-09-10"))
    with pytest.raises(EventRefused, match="earlier than the case's last event"):
        fire(case, community, derbyshire, ev("confirm_concern", "2026-09-01"))


def test_unknown_event(community, derbyshire):
    case, _ = open_case(community, derbyshire, ev("raise_concern", "2026-09-10"))
    with pytest.raises(EventRefused, match="unknown event 'frobnicate'"):
        fire(case, community, derbyshire, ev("frobnicate", "2026-09-11"))


def test_ri_then_good_closes_improved(community, derbyshire):
    case, _ = open_case(community, derbyshire, judged(Outcome.requires_improvement, "2024-03-12"))
    assert (case.pathway, case.state) == ("requires_improvement", "ri_improvement_planning")
    assert kinds(case) == {"reinspection": "2026-09-12"}
    fire(case, community, derbyshire, judged(Outcome.good, "2026-06-10"))
    assert (case.state, case.outcome) == ("closed", "improved")
    assert kinds(case, "met") == {"reinspection": "2026-09-12"}


def test_special_measures_lifted_closes_the_case(community, derbyshire):
    case, _ = open_case(community, derbyshire, judged(Outcome.special_measures, "2025-01-15"))
    fire(case, community, derbyshire, ev("submit_statement_of_action", "2025-01-27"))
    fire(case, community, derbyshire, judged(Outcome.requires_improvement, "2026-10-01"))
    assert (case.state, case.outcome) == ("closed", "removed_from_category")
    assert not case.open_deadlines()


def test_academy_order_duty_is_recorded_by_date(community, derbyshire):
    from concerns.domain.rules import academy_order_position

    assert academy_order_position(d("2026-02-10"), "special_measures")["duty"] == "must"
    case, _ = open_case(community, derbyshire, judged(Outcome.special_measures, "2026-02-10"))
    fire(case, community, derbyshire, ev("academy_order_made", "2026-04-01"))
    assert case.state == "sm_academy_order"
    assert "statement_of_action" in kinds(case)  # still owed: the order does not discharge s15
    fire(case, community, derbyshire, ev("submit_statement_of_action", "2026-04-02"))
    fire(case, community, derbyshire, ev("convert_to_academy", "2026-09-01"))
    assert case.outcome == "converted"


def test_safeguarding_only_category_gets_a_return_visit(community, derbyshire):
    card = Judgement(d("2026-11-30"), areas={"inclusion": Grade.expected_standard}, safeguarding="not_met")
    ctx = EventContext("judged_serious_weaknesses", d("2026-11-30"), judgement=card, summary=summarise(card))
    case, _ = open_case(community, derbyshire, ctx)
    assert kinds(case)["safeguarding_return"] == "2027-02-28"


def test_the_machines_states_are_on_the_domains_pathways_and_only_those():
    # The policy's events and meetings are checked against concerns.domain.pathways.PATHWAYS: a state on
    # a pathway missing there (or a pathway with no state) would pass those checks and fail on a case.
    assert {pathway for pathway, _ in STATES.values() if pathway is not None} == set(PATHWAYS)
    assert set(OPEN_STATES) == {state for state, (pathway, _) in STATES.items() if pathway is not None}


def test_every_pathway_is_reachable_from_start(community, academy, derbyshire):
    reached = set()
    for school in (community, academy):
        for ctx in (judged(Outcome.requires_improvement, "2026-01-01"), judged(Outcome.serious_weaknesses, "2026-01-01"),
                    judged(Outcome.special_measures, "2026-01-01"), ev("raise_concern", "2026-01-01")):
            reached.add(open_case(school, derbyshire, ctx)[0].pathway)
    assert reached == set(PATHWAYS)


def test_diagram_in_docs_is_generated_from_the_machine():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "pathways.md").read_text()
    block = re.search(r"```mermaid\n(.*?)```", doc, re.S)
    assert block, "docs/pathways.md has no mermaid block"
    assert block.group(1).strip() == mermaid_diagram().strip(), (
        "the diagram in docs/pathways.md is stale: regenerate it with `concerns diagram`")


def test_the_next_meeting_after_one_held_belongs_to_the_following_term(community, derbyshire):
    case, _ = open_case(community, derbyshire, ev("raise_concern", "2027-01-05"))
    fire(case, community, derbyshire, ev("confirm_concern", "2027-01-06"))
    assert kinds(case) == {"progress_meeting": "2027-03-19"}  # this (spring) term
    fire(case, community, derbyshire, ev("progress_meeting", "2027-02-24"))
    # Held in the spring term with three weeks of it left: the next is the summer term's, not another spring one.
    assert kinds(case) == {"progress_meeting": "2027-07-22"}


def test_every_transition_row_names_the_law_it_follows():
    assert [s.trigger for s in STEPS if not s.law.strip()] == []


def test_review_table_in_docs_is_generated_from_the_machine():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "pathways.md").read_text()
    block = re.search(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), doc, re.S)
    assert block, "docs/pathways.md has no generated review table"
    assert block.group(1).strip() == review_table().strip(), (
        "docs/pathways.md is stale: regenerate the table with `concerns diagram --table`")


def test_review_table_has_one_row_per_step_with_its_law():
    rows = [line for line in review_table().splitlines() if line.startswith("| ") and not line.startswith("| from")]
    assert len(rows) == len(STEPS)
    assert "| concern_confirmed, warning_letter_sent | warning_notice | is_maintained and la_may_give_warning_notice | " \
           "warning_notice_given | warning_notice_compliance | – | – | EIA 2006 s60(2)-(4), (4A) |" in rows


def test_after_an_sos_warning_notice_the_la_may_not_give_one_until_the_sos_says_it_may(community, derbyshire):
    case, _ = open_case(community, derbyshire, ev("raise_concern", "2026-09-01"))
    fire(case, community, derbyshire, ev("sos_warning_notice", "2026-09-10", until=d("2026-10-16")))
    fire(case, community, derbyshire, ev("compliance_met", "2026-10-20"))
    assert "warning_notice" not in allowed_events(case, community)
    before = (case.state, dict(case.facts), len(case.deadlines))
    with pytest.raises(EventRefused, match=r"s60\(4A\)"):
        fire(case, community, derbyshire, ev("warning_notice", "2026-11-02", until=d("2026-12-04")))
    assert (case.state, dict(case.facts), len(case.deadlines)) == before
    fire(case, community, derbyshire, ev("sos_permits_warning_notice", "2026-11-05"))
    assert "sos_permits_warning_notice" not in allowed_events(case, community)
    fire(case, community, derbyshire, ev("warning_notice", "2026-11-06", until=d("2026-12-04")))
    assert (case.state, case.facts["warning_notice_issuer"]) == ("warning_notice_given", "la")


def test_sos_permission_is_refused_when_no_sos_notice_bars_the_la(community, derbyshire):
    case, _ = open_case(community, derbyshire, ev("raise_concern", "2026-09-01"))
    with pytest.raises(EventRefused, match="no warning notice"):
        fire(case, community, derbyshire, ev("sos_permits_warning_notice", "2026-09-10"))


def test_s60a_notice_opens_its_own_compliance_period_and_leads_to_s60a_eligibility(community, derbyshire):
    case, _ = open_case(community, derbyshire, ev("raise_concern", "2026-09-01"))
    fire(case, community, derbyshire, ev("confirm_concern", "2026-09-03"))
    with pytest.raises(EventRefused, match="--until"):
        fire(case, community, derbyshire, ev("tpc_warning_notice", "2026-09-10"))
    fire(case, community, derbyshire, ev("tpc_warning_notice", "2026-09-10", until=d("2026-10-16")))
    assert (case.state, kinds(case)["tpc_warning_notice_compliance"]) == ("tpc_notice_given", "2026-10-16")
    assert "warning_notice_compliance" not in kinds(case)
    with pytest.raises(EventRefused, match=r"teachers' pay and conditions warning notice's compliance period runs "
                                           r"to .*16 October 2026.*s60A\(1\)"):
        fire(case, community, derbyshire, ev("compliance_failed", "2026-10-16"))
    fire(case, community, derbyshire, ev("compliance_failed", "2026-10-19"))
    assert case.state == "tpc_compliance_failed"
    assert kinds(case, "met")["tpc_warning_notice_compliance"] == "2026-10-16"
    fire(case, community, derbyshire, ev("notice_of_intervention", "2026-10-21"))
    assert (case.state, case.facts["eligible_by"]) == ("tpc_eligible_for_intervention", "s60A")
    fire(case, community, derbyshire, ev("use_powers", "2026-11-10"))
    assert (case.state, case.facts["eligible_by"]) == ("intervention", "s60A")


def test_s60a_notice_complied_with_returns_to_the_confirmed_concern(community, derbyshire):
    case, _ = open_case(community, derbyshire, ev("raise_concern", "2026-09-01"))
    fire(case, community, derbyshire, ev("tpc_warning_notice", "2026-09-10", until=d("2026-10-16")))
    fire(case, community, derbyshire, ev("compliance_met", "2026-10-12"))
    assert (case.state, kinds(case, "met")["tpc_warning_notice_compliance"]) == ("concern_confirmed", "2026-10-16")


def test_an_academy_is_given_no_s60a_notice(academy, derbyshire):
    case, _ = open_case(academy, derbyshire, ev("raise_concern", "2026-09-01"))
    with pytest.raises(EventRefused):
        fire(case, academy, derbyshire, ev("tpc_warning_notice", "2026-09-10", until=d("2026-10-16")))
