"""Luton Council Education Service, Protocols for Monitoring Schools, including Schools Causing Concern,
walked through with schools on both database engines. The protocol has no numbered sections: each test
names the heading (and item) it checks."""

from __future__ import annotations

import pytest
from dateutil.relativedelta import relativedelta
from sqlmodel import Session

from concerns.domain.policy import policy_for
from concerns.notify.directory import Directory
from concerns.store.db import engine_for
from tests.conftest import d

LA = "Luton"


def case_of(cli, urn: str, as_of: str, pathway: str | None = None) -> dict:
    cases = cli.json("case", "show", urn, "--as-of", as_of)["cases"]
    return next(c for c in cases if pathway is None or c["pathway"] == pathway)


def deadlines(case: dict, status: str = "open") -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for x in case["deadlines"]:
        if x["status"] == status:
            found.setdefault(x["kind"], []).append(x)
    return found


def school(cli, urn: str, type_name: str = "Community school") -> None:
    cli.ok("school", "add", urn, "--name", f"School {urn}", "--la", "Luton Borough Council", "--type", type_name)


def test_roles_in_lutons_words():
    """Inadequate Schools: "The School Improvement Adviser is responsible for writing the LA Statement of
    Action. The School Improvement Group is chaired by the Service Director for Education." RI protocol,
    item 1: a School Improvement Adviser is allocated to every RI maintained school."""
    p = policy_for("Luton Council")
    assert p.key == "luton"
    assert p.title_of(p.role_for("link_adviser")) == "School Improvement Adviser"
    assert p.title_of(p.role_for("service_head")) == "Service Director for Education"
    assert p.responsible_for("statement_of_action") == "sia"
    assert p.meeting("progress_meeting").name == "School improvement group"
    assert p.meeting("progress_meeting").responsible == "service_director"


def test_ri_protocol_for_a_maintained_school(cli):
    """Requires Improvement (RI) protocol: the School Improvement Adviser meets the head and chair after the
    judgement (item 2); an improvement plan (item 7); a school review within 12 months of its start
    (item 8); the school submits its Section 175 safeguarding audit (item 9), every year."""
    school(cli, "821001")
    cli.ok("inspection", "add", "821001", "--published", "2026-10-05", "--outcome", "requires_improvement")
    case = case_of(cli, "821001", "2026-10-05")
    due = deadlines(case)
    assert due["ri_first_meeting"][0]["due"] == "2026-11-05" and due["ri_first_meeting"][0]["responsible"] == "sia"
    assert due["s175_audit"][0]["due"] == "2027-01-05"
    assert {"head_and_chair_met", "s175_audit_received", "professionals_meeting", "hmi_monitoring_visit"} <= set(
        case["allowed_events"])
    cli.ok("event", "821001", "head_and_chair_met", "--on", "2026-10-12")
    cli.ok("event", "821001", "agree_improvement_plan", "--on", "2026-11-02")
    review = deadlines(case_of(cli, "821001", "2026-11-02"))["school_review"][0]
    assert review["due"] == (d("2026-11-02") + relativedelta(years=1)).isoformat() == "2027-11-02"
    cli.ok("event", "821001", "s175_audit_received", "--on", "2026-12-01")
    case = case_of(cli, "821001", "2026-12-01")
    assert {"ri_first_meeting", "s175_audit"} <= set(deadlines(case, "met"))
    assert deadlines(case)["s175_audit"][0]["due"] == "2028-01-05"  # the next year's audit
    cli.ok("event", "821001", "school_review", "--on", "2027-10-20")
    assert "school_review" in deadlines(case_of(cli, "821001", "2027-10-20"), "met")
    local = [e for e in case["events"] if e["event"] in ("head_and_chair_met", "s175_audit_received")]
    assert len(local) == 2 and all(e["from_state"] == e["to_state"] for e in local)  # local steps change no state


def test_an_academy_judged_ri_sends_its_audit_and_the_la_meets_the_trust(cli):
    """Academies: "the LA will request an action plan from the multi academy trust and meet with the CEO on
    a regular basis ... The academy will be expected to submit their Section 175 safeguarding audit";
    the RI protocol's meeting and school review are for maintained schools."""
    school(cli, "821002", "Academy sponsor led")
    cli.ok("inspection", "add", "821002", "--published", "2026-10-05", "--outcome", "requires_improvement")
    case = case_of(cli, "821002", "2026-10-05")
    assert set(deadlines(case)) == {"reinspection", "s175_audit"}
    assert "trust_ceo_met" in case["allowed_events"]
    cli.ok("event", "821002", "trust_ceo_met", "--on", "2026-10-20", "--note", "Met the CEO about the plan")
    assert case_of(cli, "821002", "2026-10-20")["events"][-1]["event"] == "trust_ceo_met"


def test_professionals_meeting_then_pre_warning_notice_then_warning_notice(cli):
    """All Schools: "Particular concerns may result in a professionals' meeting" (Appendix B); RI protocol,
    additional action 2: a warning notice or a 'Pre Warning Notice'; Appendix A, category D: the LA has
    issued a warning notice or a pre-warning notice."""
    school(cli, "821003")
    ladder = policy_for(LA).escalation
    assert ladder.index("professionals_meeting") < ladder.index("warning_letter") < ladder.index("warning_notice")
    cli.ok("event", "821003", "raise_concern", "--on", "2026-09-10")
    cli.ok("event", "821003", "confirm_concern", "--on", "2026-09-17")
    cli.ok("event", "821003", "professionals_meeting", "--on", "2026-10-01")
    assert case_of(cli, "821003", "2026-10-01")["state"] == "concern_confirmed"
    cli.ok("event", "821003", "warning_letter", "--on", "2026-10-08", "--note", "Pre-warning notice")
    cli.ok("event", "821003", "warning_notice", "--on", "2026-11-02", "--until", "2026-12-04")
    case = case_of(cli, "821003", "2026-11-02")
    assert [e["event"] for e in case["events"]] == ["raise_concern", "confirm_concern", "professionals_meeting",
                                                     "warning_letter", "warning_notice"]
    assert deadlines(case)["warning_notice_compliance"][0]["due"] == "2026-12-04"


def test_inadequate_school_statement_of_action_by_the_sia(cli):
    """Inadequate Schools: the School Improvement Adviser writes the LA statement of action; the school
    improvement group, chaired by the Service Director, meets termly."""
    school(cli, "821004")
    cli.ok("inspection", "add", "821004", "--published", "2026-11-04", "--outcome", "serious_weaknesses")
    due = deadlines(case_of(cli, "821004", "2026-11-04"))
    assert due["statement_of_action"][0]["responsible"] == "sia"
    assert "s175_audit" not in due  # the audit is part of the RI protocol


def test_a_reminder_for_an_unregistered_adviser_reaches_their_manager(cli, db_url):
    """Roles: a deadline the School Improvement Adviser answers for reaches the lead adviser and then the
    Service Director when nobody holds the role (the management chain in the policy's roles)."""
    cli.ok("person", "add", "Sara Director", "sara@luton.example", "--role", "service_director", "--la", "Luton")
    with Session(engine_for(db_url)) as session:
        directory = Directory(session, {"Luton Borough Council"})
        role, people = directory.reach("Luton Borough Council", "sia")
    assert role == "service_director" and [p.email for p in people] == ["sara@luton.example"]


@pytest.mark.parametrize("name", ["Luton", "Luton Council", "Luton Borough Council", "821"])
def test_one_authority_under_all_its_names(name):
    """All Schools: the Local Authority categorises all schools including academies from A to D."""
    p = policy_for(name)
    assert p.key == "luton" and [c.key for c in p.categories.levels] == ["A", "B", "C", "D"]


def test_the_termly_school_monitoring_panels_list_their_schools_by_category(cli, db_url, tmp_path, monkeypatch):
    """All Schools and Appendix B: a termly panel for A and B schools and another for C and D, each
    authority-wide with an agenda listing its schools, chaired as the procedure says."""
    from concerns.jobs import run_termly_review

    monkeypatch.setenv("CONCERNS_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    for urn, outcome in (("821101", "good"), ("821102", "outstanding"), ("821103", "requires_improvement"),
                         ("821104", "special_measures")):
        school(cli, urn)
        cli.ok("inspection", "add", urn, "--published", "2025-06-10", "--outcome", outcome)
    for name, email, role in (("Sara Director", "sara@luton.example", "service_director"),
                              ("Leo Lead", "leo@luton.example", "lead_adviser"),
                              ("Sam Adviser", "sam@luton.example", "sia")):
        cli.ok("person", "add", name, email, "--role", role, "--la", "Luton")
    summary = run_termly_review(db_url, d("2027-01-04"), simulation=True)
    panels = {m["meeting"]: m for m in summary["meetings"] if m["meeting"].startswith("School monitoring panel")}
    assert sorted(panels["School monitoring panel (categories A and B)"]["schools"]) == ["821101", "821102"]
    assert sorted(panels["School monitoring panel (categories C and D)"]["schools"]) == ["821103", "821104"]
    assert panels["School monitoring panel (categories C and D)"]["invited"][0] == "sara@luton.example"


def test_luton_appendix_a_category_c_is_the_first_year_after_exit_from_category_d():
    """Luton Council, Protocols for Monitoring Schools, Appendix A, C: "The school is in the first year after
    exit from Category D": leaving special measures counts; leaving a requires-improvement case does not."""
    from datetime import date

    from concerns.domain.categories import SchoolPicture, propose

    scheme = policy_for("Luton").categories
    good = ((date(2026, 3, 1), "good"),)
    out_of_sm = SchoolPicture(as_of=date(2026, 10, 1), graded=good, closed=(("special_measures", date(2026, 3, 20)),))
    out_of_ri = SchoolPicture(as_of=date(2026, 10, 1), graded=good, closed=(("requires_improvement", date(2026, 3, 20)),))
    assert propose(scheme, out_of_sm)[0].key == "C"
    assert propose(scheme, out_of_ri)[0].key == "B"


def test_luton_inadequate_schools_service_director_chairs_the_group_for_inadequate_schools_only():
    """Luton, Inadequate Schools: "The School Improvement Group is chaired by the Service Director for
    Education" for maintained schools judged inadequate; RI protocol item 6: an RI school's group has the
    School Improvement Adviser; Academies: the LA meets the trust's CEO, no group."""
    p = policy_for("Luton")
    inadequate, ri = p.meeting("progress_meeting"), p.meeting("ri_improvement_group")
    assert inadequate.chair_role == "service_director"
    assert inadequate.selects_case("special_measures", "SM") and inadequate.selects_case("serious_weaknesses", "RSI")
    assert not inadequate.selects_case("requires_improvement", "RI")
    assert ri.chair_role == "sia" and ri.selects_case("requires_improvement", "RI")
    assert not any(m.selects_case("academy_of_concern", None) for m in p.meetings)


def test_luton_ri_protocol_item_8_school_review_is_owed_on_the_ri_pathway_only():
    """RI protocol, item 8: "Within 12 months of the start of the Improvement Plan the LA will arrange for a
    school review": a step of the RI protocol, not owed when a plan is agreed on an LA concern case."""
    (review,) = [d for d in policy_for("Luton").local_deadlines if d.kind == "school_review"]
    assert review.applies_to(True, "requires_improvement")
    assert not review.applies_to(True, "la_concern")
