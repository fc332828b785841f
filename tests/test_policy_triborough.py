"""Tri-borough Education Service (Hammersmith and Fulham, Kensington and Chelsea, Westminster), Framework
to Support School Improvement (January 2013), walked through with schools on both database engines. Each
test names the numbered section it checks."""

from __future__ import annotations

from sqlmodel import Session

from concerns.casework.people import holders
from concerns.domain.letterparties import LetterSchool
from concerns.domain.lettersettings import LetterSetting
from concerns.domain.policy import policy_for
from concerns.notify.directory import Directory
from concerns.store.db import engine_for
from tests.conftest import d

BOROUGHS = ("Hammersmith and Fulham", "Kensington and Chelsea", "Westminster")


def case_of(cli, urn: str, as_of: str, pathway: str | None = None) -> dict:
    cases = cli.json("case", "show", urn, "--as-of", as_of)["cases"]
    return next(c for c in cases if pathway is None or c["pathway"] == pathway)


def deadlines(case: dict, status: str = "open") -> dict[str, dict]:
    return {x["kind"]: x for x in case["deadlines"] if x["status"] == status}


def officers(cli) -> None:
    """Registered once, with the service: not once per borough."""
    for name, email, role in (("Lee Lead", "lee@triborough.example", "lead_adviser"),
                              ("Sam Senior", "sam@triborough.example", "senior_officer"),
                              ("Hana Head", "hana@triborough.example", "head_of_commissioning"),
                              ("Ed Executive", "ed@triborough.example", "executive_director")):
        cli.ok("person", "add", name, email, "--role", role, "--la", "Tri-borough")


def school(cli, urn: str, borough: str, type_name: str = "Community school") -> None:
    cli.ok("school", "add", urn, "--name", f"School {urn}", "--la", borough, "--type", type_name)


def test_one_service_over_three_boroughs():
    """1.2: "how each borough will fulfil its responsibilities within the Tri-borough Education Service":
    one policy for the three boroughs, which a report can take one section each."""
    p = policy_for("Tri-borough Education Service")
    assert p.boroughs == BOROUGHS
    assert {policy_for(b).key for b in BOROUGHS} == {"triborough"}
    assert [c.key for c in p.categories.levels] == ["outstanding", "good", "requires_improvement", "inadequate"]


def test_officers_registered_once_serve_every_borough(cli, db_url):
    """1.2 and 2.4: the Lead Adviser contacts the school, whichever borough it is in; the officers belong
    to the Tri-borough Education Service, not to one council."""
    officers(cli)
    for urn, borough in zip(("205001", "207001", "213001"), BOROUGHS, strict=True):
        school(cli, urn, borough)
    with Session(engine_for(db_url)) as session:
        directory = Directory(session, set(BOROUGHS))
        for urn, borough in zip(("205001", "207001", "213001"), BOROUGHS, strict=True):
            assert [p.email for p in directory.holders(borough, "lead_adviser", urn)] == ["lee@triborough.example"]
            assert [p.email for p in holders(session, borough, "senior_officer", urn)] == ["sam@triborough.example"]
        assert directory.holders("Camden", "lead_adviser") == []  # another authority's officers are not these
    # Registered under one borough's name, however written: an officer of the service, for all three.
    cli.ok("person", "add", "Ann Admin", "ann@triborough.example", "--role", "admin_officer", "--la",
           "kensington and chelsea")
    with Session(engine_for(db_url)) as session:
        assert [p.email for p in holders(session, "Hammersmith and Fulham", "admin_officer", "205001")] == [
            "ann@triborough.example"]
        assert [p.email for p in Directory(session, {"Westminster"}).holders("Westminster", "admin_officer")] == [
            "ann@triborough.example"]


def test_formal_visit_written_report_and_meeting(cli):
    """2.10-2.14: on concerns about a maintained school a Lead Adviser makes a formal visit; if the initial
    judgement is confirmed the service produces a written report and meets the head and chair; 2.15:
    regular meetings or a steering / review group decided by the Head of Commissioning."""
    officers(cli)
    school(cli, "213002", "Westminster")
    cli.ok("event", "213002", "raise_concern", "--on", "2026-09-14", "--note", "Desk-top analysis")
    case = case_of(cli, "213002", "2026-09-14")
    visit = deadlines(case)["formal_visit"]
    assert (visit["due"], visit["responsible"]) == ("2026-10-14", "lead_adviser")
    assert {"formal_visit", "visit_report_sent"} <= set(case["allowed_events"])
    cli.ok("event", "213002", "formal_visit", "--on", "2026-09-30")
    report = deadlines(case_of(cli, "213002", "2026-09-30"))["visit_report"]
    assert (report["due"], report["responsible"]) == ("2026-10-14", "senior_officer")  # ten working days
    cli.ok("event", "213002", "visit_report_sent", "--on", "2026-10-09")
    cli.ok("event", "213002", "confirm_concern", "--on", "2026-10-12")
    case = case_of(cli, "213002", "2026-10-12")
    assert {"formal_visit", "visit_report"} <= set(deadlines(case, "met"))
    steering = deadlines(case)["progress_meeting"]
    assert steering["responsible"] == "head_of_commissioning"
    assert [e["event"] for e in case["events"]] == ["raise_concern", "formal_visit", "visit_report_sent",
                                                     "confirm_concern"]
    assert [e["to_state"] for e in case["events"][1:3]] == ["concern_raised", "concern_raised"]


def test_an_academys_concerns_are_for_its_chain_so_no_formal_visit_is_owed(cli):
    """2.8 and 2.10: for academies it is for the chain or the DfE to identify a cause for concern; the formal
    visit is for a maintained school."""
    officers(cli)
    school(cli, "207002", "Kensington and Chelsea", "Academy converter")
    cli.ok("event", "207002", "raise_concern", "--on", "2026-09-14")
    case = case_of(cli, "207002", "2026-09-14")
    assert case["pathway"] == "academy_of_concern" and "formal_visit" not in deadlines(case)


def test_serious_weaknesses_review_after_six_months(cli):
    """5.26: the LA will submit its statement of action, and "after six months, review whether or not
    progress is good and advise whether to further use the local authority's powers of intervention"."""
    officers(cli)
    school(cli, "205002", "Hammersmith and Fulham")
    cli.ok("inspection", "add", "205002", "--published", "2026-11-04", "--outcome", "serious_weaknesses")
    due = deadlines(case_of(cli, "205002", "2026-11-04"))
    assert due["statement_of_action"]["responsible"] == "senior_officer"
    assert (due["further_review"]["due"], due["further_review"]["responsible"]) == ("2027-05-04", "lead_adviser")
    cli.ok("event", "205002", "further_review", "--on", "2027-04-28", "--note", "Progress good; no further powers")
    assert "further_review" in deadlines(case_of(cli, "205002", "2027-04-28"), "met")


def test_hmi_monitoring_visit_on_a_school_requiring_improvement(cli):
    """5.22: schools judged to require improvement receive an initial HMI monitoring inspection visit,
    usually within four to six weeks of the report's publication."""
    school(cli, "213003", "Westminster")
    cli.ok("inspection", "add", "213003", "--published", "2026-10-05", "--outcome", "requires_improvement")
    assert "hmi_monitoring_visit" in case_of(cli, "213003", "2026-10-05")["allowed_events"]
    cli.ok("event", "213003", "hmi_monitoring_visit", "--on", "2026-11-09", "--note", "HMI monitoring visit")
    last = case_of(cli, "213003", "2026-11-09")["events"][-1]
    assert (last["event"], last["from_state"], last["to_state"]) == (
        "hmi_monitoring_visit", "ri_improvement_planning", "ri_improvement_planning")


def test_legacy_warning_notice_compliance_period_of_fifteen_working_days(cli):
    """5.8: "The initial compliance period beginning with the day when the warning notice is given and
    ending 15 working days following that day" (the rule for notices given before 18 April 2016)."""
    officers(cli)
    school(cli, "213004", "Westminster")
    cli.ok("event", "213004", "raise_concern", "--on", "2015-01-12")
    cli.ok("event", "213004", "confirm_concern", "--on", "2015-01-19")
    cli.ok("event", "213004", "warning_notice", "--on", "2015-02-02")
    due = deadlines(case_of(cli, "213004", "2015-02-02"))["warning_notice_compliance"]
    assert due["due"] == policy_for("Westminster").calendar().add_working_days(d("2015-02-02"), 15).isoformat()


def test_letters_come_from_the_service_and_warning_notices_copy_the_executive_director(cli, tmp_path, monkeypatch):
    """5.9: the warning notice is copied to "the Tri-borough Executive Director of Children's Services, the
    headteacher, and in the case of a faith school, the appropriate diocesan authority"; the officers the
    letter names are the service's, registered once, for a school in any borough."""
    officers(cli)
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    school(cli, "207003", "Kensington and Chelsea")
    for name, role in (("Hal Head", "headteacher"), ("Cat Chair", "chair_of_governors")):
        cli.ok("person", "add", name, f"{role}@school.example", "--role", role, "--la", "Kensington and Chelsea",
               "--urn", "207003")
    assert policy_for("Kensington and Chelsea").letters["warning_notice"].copy == ("executive_director",)
    cli.ok("event", "207003", "raise_concern", "--on", "2026-09-14")
    cli.ok("event", "207003", "confirm_concern", "--on", "2026-09-21")
    details = tmp_path / "coc.toml"
    details.write_text('discussed_on = 2026-09-14\nconcerns = ["Reading is well below similar schools."]\n'
                       'next_steps = ["Revise the improvement plan"]\nreview_cadence = "termly"\n'
                       'first_review = 2026-11-20T10:00:00\nlocal_category = "Requires improvement"\n')
    cli.ok("letter", "draft", "207003", "confirmation_of_concern", "--on", "2026-09-21", "--details", str(details))
    letter = case_of(cli, "207003", "2026-09-21")["letters"][0]
    assert letter["to"] == ["Hal Head", "Cat Chair"] and "Sam Senior" in letter["copies"]
    html = next((tmp_path / "letters").rglob("*.html")).read_text()
    assert "Hana Head" in html and "Head of Commissioning, School Standards" in html


def test_categorised_at_the_start_of_the_academic_year():
    """2.22: "Annual LA categorisation / review takes place at the start of the academic year"; 2.6: every
    head and chair is told in writing of the outcome."""
    p = policy_for("Westminster")
    assert p.categorisation_date("2026/27") == d("2026-09-15")
    assert p.academic_year_label(d("2026-09-15")) == "2026/27"
    assert p.categories.change_letter == "categorisation"


def test_one_desk_officer_of_the_service_sees_every_boroughs_schools(cli, db_url):
    """1.2: one service over three boroughs: an officer signed in for the service sees the schools of all
    three on the desk's register, and each school's page; another authority's school stays hidden."""
    from tests.web.conftest import Desk, add_desk_user

    officers(cli)
    for urn, borough in zip(("205001", "207001", "213001"), BOROUGHS, strict=True):
        school(cli, urn, borough)
        cli.ok("event", urn, "raise_concern", "--on", "2026-11-02")
    cli.ok("school", "add", "300001", "--name", "Camden Primary", "--la", "Camden", "--type", "Community school")
    cli.ok("event", "300001", "raise_concern", "--on", "2026-11-02")
    assert add_desk_user(cli, "lee@triborough.example", "lead_adviser", "Tri-borough")[0] == 0
    desk = Desk(db_url)
    desk.sign_in(email="lee@triborough.example")
    register = desk.client.get("/register").text
    for urn in ("205001", "207001", "213001"):
        assert f"/schools/{urn}" in register
        assert desk.client.get(f"/schools/{urn}").status_code == 200
    assert "300001" not in register and desk.client.get("/schools/300001").status_code == 404


def test_triborough_steering_group_for_concern_serious_weaknesses_and_special_measures_only():
    """Tri-borough Framework to Support School Improvement (2013), 5.20, 5.26 and 5.28: a Steering Group
    for schools causing concern, with serious weaknesses or in special measures; none for a school that
    only requires improvement (5.21-5.25) or for an academy."""
    group = policy_for("Westminster").meeting("progress_meeting")
    assert group.name == "Steering Group"
    assert all(group.selects_case(pw, None) for pw in ("la_concern", "serious_weaknesses", "special_measures"))
    assert not group.selects_case("requires_improvement", "RI")
    assert not group.selects_case("academy_of_concern", None)


def test_triborough_5_28_statement_of_action_goes_to_the_dfe_and_ofsted():
    """5.28: the statement of action is produced "for submission to the DfE and Ofsted": Ofsted is on the
    statutory list, and the framework's own [letters.statement_of_action] adds the Secretary of State."""
    from concerns.domain.letterparties import LetterParty
    from concerns.output.letters import LetterAuthority, render_letter
    from tests.test_letters import _people, statement_details

    setting = policy_for("Westminster").letters["statement_of_action"]
    assert setting.parties == ("secretary_of_state",)
    head, chair = _people("pimlico")
    school = LetterSchool("213001", "Pimlico Primary School", "Westminster", "Community school", True,
                          headteacher=head, chair=chair)
    officers = {"director": LetterParty("Ada Director", "Executive Director of Children's Services"),
                "assistant_director": LetterParty("Sam Senior", "Head of School Standards"),
                "senior_adviser": LetterParty("Lee Lead", "Lead Adviser")}

    def copies(settings):
        authority = LetterAuthority(name="Westminster City Council", officers=officers, settings=settings)
        return render_letter("statement_of_action", school=school, authority=authority, on=d("2026-11-13"),
                             reference="R", **statement_details()).copies

    # The framework's parties alone (its own roles' copies are another test's), against no setting at all.
    copied = copies({"statement_of_action": LetterSetting("statement_of_action", parties=setting.parties)})
    without = copies({})
    assert [p.name for p in copied if "Secretary of State" in p.name]
    assert not [p.name for p in without if "Secretary of State" in p.name]
    assert [p.name for p in copied if "Chief Inspector" in p.name or "Ofsted" in p.name]


def test_a_letter_setting_naming_an_unknown_outside_party_is_refused_in_one_line():
    import pytest

    from concerns.domain.lettersettings import LetterSettingsError, parse_letter_settings

    with pytest.raises(LetterSettingsError) as refused:
        parse_letter_settings({"statement_of_action": {"parties": ["the_dfe"]}}, "x.toml")
    assert str(refused.value).count("\n") == 0
    assert "'the_dfe' is not a party the product knows" in str(refused.value) and "secretary_of_state" in str(refused.value)
