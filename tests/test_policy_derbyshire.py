"""Derbyshire County Council, Local Authority Procedures for Schools Causing Concern (September 2023),
walked through with schools on both database engines. Each test names the section it checks."""

from __future__ import annotations

import pytest

from concerns.domain.policy import policy_for
from tests.conftest import d

LA = "Derbyshire County Council"  # the schools' LA as GIAS names it; officers register with "Derbyshire"


def case_of(cli, urn: str, as_of: str, pathway: str | None = None) -> dict:
    cases = cli.json("case", "show", urn, "--as-of", as_of)["cases"]
    return next(c for c in cases if pathway is None or c["pathway"] == pathway)


def deadlines(case: dict, status: str = "open") -> dict[str, dict]:
    return {x["kind"]: x for x in case["deadlines"] if x["status"] == status}


@pytest.fixture
def officers(cli):
    for name, email, role in (("Lin Adviser", "lin@derbyshire.example", "link_adviser"),
                              ("Sol Senior", "sol@derbyshire.example", "senior_adviser"),
                              ("Ada Assistant", "ada@derbyshire.example", "assistant_director"),
                              ("Eve Executive", "eve@derbyshire.example", "director")):
        cli.ok("person", "add", name, email, "--role", role, "--la", "Derbyshire")
    return cli


def school(cli, urn: str, type_name: str = "Community school") -> None:
    cli.ok("school", "add", urn, "--name", f"School {urn}", "--la", LA, "--type", type_name)
    if type_name == "Community school":
        cli.ok("person", "add", "Hal Head", f"head{urn}@school.example", "--role", "headteacher", "--la", LA,
               "--urn", urn)
        cli.ok("person", "add", "Cat Chair", f"chair{urn}@school.example", "--role", "chair_of_governors",
               "--la", LA, "--urn", urn)


def test_roles_and_who_answers_for_what():
    """Section Three: the link adviser reports to the senior adviser for the locality, who reports to the
    assistant director; the Executive Director may recommend a warning notice; the senior adviser writes
    the statement of action and convenes the School Progress Reviews; the link adviser contacts HMI."""
    p = policy_for(LA)
    assert [p.role_for(f) for f in ("link_adviser", "case_lead", "service_head", "director")] == [
        "link_adviser", "senior_adviser", "assistant_director", "director"]
    chain, role = [], "link_adviser"
    while role:
        chain.append(p.title_of(role))
        role = p.manager_of(role)
    assert chain == ["Link adviser", "Senior adviser", "Assistant director",
                     "Most senior local authority officer for schools", "Executive Director of Children's Services"]
    assert p.responsible_for("statement_of_action") == "senior_adviser"
    assert p.responsible_for("hmi_monitoring") == "link_adviser"
    assert p.meeting("progress_meeting").responsible == "senior_adviser"


def test_school_causing_concern_to_the_la_through_the_escalation_ladder(officers, tmp_path):
    """Section Three, schools causing concern but not in Ofsted categories: concerns discussed with the
    head and chair; confirmed in writing by the assistant director; School Progress Reviews at least three
    times a year; a letter from the most senior officer (not a warning notice); then a warning notice."""
    cli = officers
    school(cli, "830001")
    ladder = policy_for(LA).escalation
    assert ladder == ("raise_concern", "confirm_concern", "progress_meeting", "warning_letter", "warning_notice")
    cli.ok("event", "830001", "raise_concern", "--on", "2026-09-14", "--note", "Concerns discussed with head and chair")
    assert "confirm_concern" in case_of(cli, "830001", "2026-09-14")["allowed_events"]
    cli.ok("event", "830001", "confirm_concern", "--on", "2026-09-21")
    case = case_of(cli, "830001", "2026-09-21")
    terms = policy_for(LA).terms
    autumn = terms.term_containing(d("2026-09-21"))
    review = deadlines(case)["progress_meeting"]
    assert (review["due"], review["responsible"]) == (autumn.end.isoformat(), "senior_adviser")  # this term's review
    cli.ok("event", "830001", "progress_meeting", "--on", "2026-11-25")
    spring = terms.next_term_starting_after(autumn.end)
    assert deadlines(case_of(cli, "830001", "2026-11-25"))["progress_meeting"]["due"] == spring.end.isoformat()
    assert "warning_letter" in case_of(cli, "830001", "2026-11-25")["allowed_events"]
    cli.ok("event", "830001", "warning_letter", "--on", "2026-11-26", "--note", "Letter from the most senior officer")
    cli.ok("event", "830001", "warning_notice", "--on", "2027-01-11", "--until", "2027-02-12")
    case = case_of(cli, "830001", "2027-01-11")
    assert case["state"] == "warning_notice_given"
    assert [e["event"] for e in case["events"]] == list(ladder)  # each step in the ladder's order


def test_confirmation_letter_goes_to_head_and_chair_from_the_derbyshire_officers(officers, tmp_path, monkeypatch):
    """Section Three: "The assistant director confirms these concerns in writing to the headteacher and
    the chair of governors"; officers registered once with Derbyshire serve schools registered under the
    council's full name."""
    cli = officers
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    school(cli, "830002")
    cli.ok("event", "830002", "raise_concern", "--on", "2026-09-14")
    cli.ok("event", "830002", "confirm_concern", "--on", "2026-09-21")
    details = tmp_path / "coc.toml"
    details.write_text('discussed_on = 2026-09-14\nconcerns = ["Progress in mathematics is well below similar '
                       'schools."]\nnext_steps = ["Revise the improvement plan"]\nreview_cadence = "at least three '
                       'times a year"\nfirst_review = 2026-11-20T10:00:00\nlocal_category = "High risk"\n')
    cli.ok("letter", "draft", "830002", "confirmation_of_concern", "--on", "2026-09-21", "--details", str(details))
    letter = case_of(cli, "830002", "2026-09-21")["letters"][0]
    assert letter["to"] == ["Hal Head", "Cat Chair"]
    assert "Sol Senior" in letter["copies"]
    html = (tmp_path / "letters").rglob("*.html").__next__().read_text()
    assert "Ada Assistant" in html and "Assistant director" in html  # signed by the assistant director


def test_special_measures_statement_of_action_and_plan_of_action(officers):
    """Section Three, schools in Ofsted categories: the senior adviser draws up a Local Authority Plan of
    Action and provides the statement of action submitted to Ofsted; the link adviser contacts the lead
    HMI inspector; the senior adviser attends the inspectors' feedback."""
    cli = officers
    school(cli, "830003")
    cli.ok("inspection", "add", "830003", "--published", "2026-11-04", "--outcome", "special_measures")
    case = case_of(cli, "830003", "2026-11-04")
    open_now = deadlines(case)
    assert (open_now["statement_of_action"]["due"], open_now["statement_of_action"]["responsible"]) == (
        "2026-11-18", "senior_adviser")
    assert (open_now["plan_of_action"]["due"], open_now["plan_of_action"]["responsible"]) == (
        "2026-11-18", "senior_adviser")
    assert {"lead_inspector_contacted", "inspection_feedback_attended", "plan_of_action_shared"} <= set(
        case["allowed_events"])
    cli.ok("event", "830003", "lead_inspector_contacted", "--on", "2026-11-05")
    cli.ok("event", "830003", "plan_of_action_shared", "--on", "2026-11-16")
    cli.ok("event", "830003", "submit_statement_of_action", "--on", "2026-11-16")
    case = case_of(cli, "830003", "2026-11-16")
    met = deadlines(case, "met")
    assert {"plan_of_action", "statement_of_action"} <= set(met)
    local = [e for e in case["events"] if e["event"] in ("lead_inspector_contacted", "plan_of_action_shared")]
    assert all(e["from_state"] == e["to_state"] == "sm_statement_due" for e in local)


def test_an_academy_in_special_measures_gets_no_la_plan_of_action(officers):
    """Section Three applies to local authority maintained schools: an academy has no LA statement of
    action and no LA plan of action."""
    cli = officers
    school(cli, "830004", "Academy converter")
    cli.ok("inspection", "add", "830004", "--published", "2026-11-04", "--outcome", "special_measures")
    case = case_of(cli, "830004", "2026-11-04")
    assert case["pathway"] == "academy_of_concern"
    assert not {"statement_of_action", "plan_of_action"} & set(deadlines(case))


def test_categorised_with_the_school_each_year():
    """Section One: low, medium and high risk, assessed with the school as part of the core support."""
    p = policy_for("Derbyshire")
    assert [c.key for c in p.categories.levels] == ["low", "medium", "high"]
    assert p.categorisation_date("2026/27") == d("2026-10-01")
    assert p.categories.change_letter == "categorisation"


def test_derbyshire_s3_warning_letter_from_the_most_senior_officer_for_schools():
    """Derbyshire County Council, Local Authority Procedures for Schools Causing Concern (2023), section 3:
    "a subsequent letter from the most senior local authority officer for schools will be sent"."""
    p = policy_for(LA)
    assert p.title_of(p.letters["warning_letter"].signatory) == "Most senior local authority officer for schools"
    assert p.manager_of("assistant_director") == "senior_officer_for_schools"


def test_derbyshire_s3_warning_notice_issued_by_the_cabinet_member_on_the_executive_directors_recommendation():
    """Derbyshire 2023, section 3: "The Executive Director of Children's Services may recommend the issuing
    of a warning notice by the Cabinet Member for Young People": the Cabinet Member signs, the Executive
    Director is copied."""
    p = policy_for(LA)
    notice = p.letters["warning_notice"]
    assert p.title_of(notice.signatory) == "Cabinet Member for Young People"
    assert "director" in notice.copy and p.title_of("director") == "Executive Director of Children's Services"
