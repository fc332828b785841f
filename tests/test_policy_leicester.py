"""Leicester City Council, Policy for School Improvement (September 2007), walked through with schools on
both database engines. Each test names the numbered section or appendix it checks."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from concerns.domain.policy import policy_for
from concerns.notify.directory import Directory
from concerns.store.db import engine_for
from tests.conftest import d


def case_of(cli, urn: str, as_of: str, pathway: str | None = None) -> dict:
    cases = cli.json("case", "show", urn, "--as-of", as_of)["cases"]
    return next(c for c in cases if pathway is None or c["pathway"] == pathway)


def deadlines(case: dict, status: str = "open") -> dict[str, dict]:
    return {x["kind"]: x for x in case["deadlines"] if x["status"] == status}


def school(cli, urn: str, la: str = "Leicester", type_name: str = "Community school") -> None:
    cli.ok("school", "add", urn, "--name", f"School {urn}", "--la", la, "--type", type_name)


@pytest.mark.parametrize("name", ["Leicester", "Leicester City", "Leicester City Council", "856"])
def test_leicester_and_leicester_city_are_one_authority(name):
    """The Policy is Leicester City Council's: every name it goes by is one authority with four levels of
    support (6.2)."""
    p = policy_for(name)
    assert p.key == "leicester" and [c.key for c in p.categories.levels] == ["1", "2", "3", "4"]


def test_officers_registered_as_leicester_city_serve_schools_registered_as_leicester(cli, db_url):
    """6.6 and 8.6: each school's SIP, and the locality School Improvement Manager, whichever of the
    council's names the school or the officer was registered under."""
    cli.ok("person", "add", "Sia Partner", "sip@leicester.example", "--role", "sip", "--la", "Leicester City")
    school(cli, "856001", "Leicester")
    with Session(engine_for(db_url)) as session:
        directory = Directory(session, {"Leicester"})
        assert [p.email for p in directory.holders("Leicester", "sip", "856001")] == ["sip@leicester.example"]


def test_the_level_of_support_statement_in_may_june_is_for_next_year():
    """Appendix 1: the Annual Level of Support Statement is agreed in May/June; the September-November
    reviews "refine levels of support agreed at end of previous academic year", so the statement is for
    the coming year."""
    p = policy_for("Leicester City")
    assert p.academic_year_label(d("2027-06-01")) == "2027/28"
    assert p.categorisation_date("2027/28") == d("2027-05-01")
    assert p.academic_year_label(d("2026-11-10")) == "2026/27"  # an in-year change is to this year's level


def test_a_level_set_in_june_is_recorded_for_next_year(cli):
    """Appendix 1: the May/June Annual Level of Support Statement is for the coming academic year; a level
    changed in the autumn is this year's (6.6: reviewed as circumstances change)."""
    school(cli, "856005", "Leicester City")
    cli.ok("category", "set", "856005", "2", "--on", "2026-06-03", "--reason", "Level of support statement")
    cli.ok("category", "set", "856005", "3", "--on", "2026-11-10", "--reason", "New acting headteacher")
    history = cli.json("category", "show", "856005")["history"]
    assert [(h["year"], h["level"], h["on"]) for h in history] == [("2026/27", "2", "2026-06-03"),
                                                                    ("2026/27", "3", "2026-11-10")]
    proposal = cli.json("category", "propose", "--la", "Leicester", "--as-of", "2026-06-03")
    assert [p["year"] for p in proposal] == ["2026/27"]


def test_roles_sip_sim_and_service_director():
    """4.1, 6.6: the School Improvement Partner; 8.6-8.7: the School Improvement Manager co-ordinates all
    intervention; 7.4: the Schools Intervention Group is chaired by the Service Director (Learning); 8.5:
    the Corporate Director or the Service Director chairs the formal meeting."""
    p = policy_for("Leicester")
    assert [p.title_of(p.role_for(f)) for f in ("link_adviser", "case_lead", "service_head", "director")] == [
        "School Improvement Partner (SIP)", "School Improvement Manager (SIM)", "Service Director (Learning)",
        "Corporate Director of Children and Young People's Services"]
    chain, role = [], "sip"
    while role:
        chain.append(role)
        role = p.manager_of(role)
    assert chain == ["sip", "sim", "head_of_service", "service_director", "corporate_director"]


def test_school_causing_concern_formal_meeting_sig_and_task_group(cli):
    """8.5: "When schools are identified as causing concern a formal meeting will be held"; 7.4: the
    Schools Intervention Group meets half-termly; Appendix 7: a task group meets at least half-termly."""
    school(cli, "856002")
    cli.ok("event", "856002", "raise_concern", "--on", "2026-09-07")
    cli.ok("event", "856002", "confirm_concern", "--on", "2026-09-14")
    p = policy_for("Leicester")
    due = deadlines(case_of(cli, "856002", "2026-09-14"))
    meeting = due["causing_concern_meeting"]
    assert (meeting["due"], meeting["responsible"]) == (
        p.calendar().add_working_days(d("2026-09-14"), 10).isoformat(), "service_director")
    first_half = p.terms.term_containing(d("2026-09-14")).half_term_boundaries()[0][1].isoformat()
    assert (due["progress_meeting"]["due"], due["progress_meeting"]["responsible"]) == (first_half, "service_director")
    # Appendix 7: the task group is for level 4 schools, which the termly review picks by their level.
    assert "task_group" not in due
    cli.ok("event", "856002", "causing_concern_meeting", "--on", "2026-09-24", "--note", "Action plan agreed")
    cli.ok("event", "856002", "progress_meeting", "--on", "2026-10-07")
    case = case_of(cli, "856002", "2026-10-07")
    assert {"causing_concern_meeting", "progress_meeting"} <= set(deadlines(case, "met"))
    second_half = p.terms.term_containing(d("2026-10-07")).half_term_boundaries()[1][1].isoformat()
    assert deadlines(case)["progress_meeting"]["due"] == second_half  # the next half term's


def test_warning_notice_where_the_school_will_not_engage(cli):
    """8.9 and Appendix 9: "A formal warning notice may be issued where a school refuses to acknowledge its
    problems or accept external support" (no pre-warning letter in Leicester's ladder)."""
    school(cli, "856003")
    assert "warning_letter" not in policy_for("Leicester").escalation
    cli.ok("event", "856003", "raise_concern", "--on", "2026-09-07")
    cli.ok("event", "856003", "confirm_concern", "--on", "2026-09-14")
    cli.ok("event", "856003", "warning_notice", "--on", "2026-10-05", "--until", "2026-11-06")
    case = case_of(cli, "856003", "2026-10-05")
    assert case["state"] == "warning_notice_given"
    assert deadlines(case)["warning_notice_compliance"]["due"] == "2026-11-06"


def test_the_sip_is_copied_on_the_authoritys_letters(cli, tmp_path, monkeypatch):
    """6.6 and 8.5: the SIP recommends the school's level and sits in the formal meeting; the policy copies
    the SIP on the confirmation of concern, warning notice and categorisation letters."""
    p = policy_for("Leicester")
    assert all("sip" in p.letters[k].copy for k in ("confirmation_of_concern", "warning_notice", "categorisation"))
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    for name, email, role in (("Sia Partner", "sip@leicester.example", "sip"),
                              ("Sim Manager", "sim@leicester.example", "sim"),
                              ("Sue Director", "sue@leicester.example", "service_director")):
        cli.ok("person", "add", name, email, "--role", role, "--la", "Leicester City Council")
    school(cli, "856004")
    for name, role in (("Hal Head", "headteacher"), ("Cat Chair", "chair_of_governors")):
        cli.ok("person", "add", name, f"{role}@school.example", "--role", role, "--la", "Leicester", "--urn", "856004")
    cli.ok("event", "856004", "raise_concern", "--on", "2026-09-07")
    cli.ok("event", "856004", "confirm_concern", "--on", "2026-09-14")
    details = tmp_path / "coc.toml"
    details.write_text('discussed_on = 2026-09-10\nconcerns = ["Standards below floor targets."]\n'
                       'next_steps = ["Agree an action plan"]\nreview_cadence = "half-termly"\n'
                       'first_review = 2026-10-07T10:00:00\nlocal_category = "4 High level support"\n')
    cli.ok("letter", "draft", "856004", "confirmation_of_concern", "--on", "2026-09-14", "--details", str(details))
    letter = case_of(cli, "856004", "2026-09-14")["letters"][0]
    assert letter["to"] == ["Hal Head", "Cat Chair"]
    assert {"Sim Manager", "Sia Partner"} <= set(letter["copies"])
    assert "Sue Director" in next((tmp_path / "letters").rglob("*.html")).read_text()


def test_leicester_appendix_7_task_group_for_level_4_only():
    """Leicester City Council, Policy for School Improvement (2007), Appendix 7 (high level support): "A
    task group will be commissioned ...; this group will meet at least half-termly"; levels 1-3 have none."""
    task = policy_for("Leicester").meeting("task_group")
    assert task.selects([], [], "4")
    assert not any(task.selects(["la_concern"], ["LA"], level) for level in ("1", "2", "3"))


def test_leicester_s6_9_enhanced_support_is_causing_concern():
    """Leicester 2007, 6.9: "schools causing concern (e.g. those in receipt of enhanced support or high
    level intervention)": levels 3 and 4 cause concern, 1 and 2 do not."""
    levels = {lv.key: lv.causing_concern for lv in policy_for("Leicester").categories.levels}
    assert levels == {"1": False, "2": False, "3": True, "4": True}


def test_leicester_s7_3_sig_review_for_schools_on_the_register_not_every_case():
    """Leicester 2007, 7.3-7.4: the Schools Intervention Group reviews schools on the cause-for-concern
    register (a formal warning, an Ofsted category, the authority's own concern): not a school whose only
    case is an academy's or a judgement of requires improvement."""
    review = policy_for("Leicester").meeting("progress_meeting")
    assert all(review.selects_case(pw, None) for pw in ("la_concern", "serious_weaknesses", "special_measures"))
    assert not review.selects_case("requires_improvement", "RI")
    assert not review.selects_case("academy_of_concern", None)
