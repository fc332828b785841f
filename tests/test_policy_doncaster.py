"""Doncaster MBC, School Improvement Strategy 2015-16 (appendix 3 of its Key Stage 2 Rapid Improvement
Initiative 2015/16), walked through with schools on both database engines. Each test names the section
(or appendix) of the strategy it checks."""

from __future__ import annotations

from concerns.casework.cases import record_event
from concerns.domain.categories import SchoolPicture, propose
from concerns.domain.policy import policy_for
from concerns.store.db import session_scope
from tests.conftest import d

LA = "Doncaster"


def case_of(cli, urn: str, as_of: str, pathway: str | None = None) -> dict:
    cases = cli.json("case", "show", urn, "--as-of", as_of)["cases"]
    return next(c for c in cases if pathway is None or c["pathway"] == pathway)


def deadlines(case: dict, status: str = "open") -> dict[str, dict]:
    return {x["kind"]: x for x in case["deadlines"] if x["status"] == status}


def school(cli, urn: str, type_name: str = "Community school") -> None:
    cli.ok("school", "add", urn, "--name", f"School {urn}", "--la", "Doncaster MBC", "--type", type_name)


def test_roles_steps_senior_officers_and_the_assistant_director():
    """Section 4 and section 5, Monitoring: a Senior Officer is assigned to each school of concern; StEPs
    (Standards and Effectiveness Partners) know the school; the School of Concern meeting is with the
    Assistant Director/Head of Service; an admin officer prepares the papers and minutes (appendix 3)."""
    p = policy_for("Doncaster Metropolitan Borough Council")
    assert [p.role_for(f) for f in ("link_adviser", "case_lead", "service_head", "director", "admin")] == [
        "step", "senior_officer", "assistant_director", "director", "admin_officer"]
    chain, role = [], "step"
    while role:
        chain.append(role)
        role = p.manager_of(role)
    assert chain == ["step", "senior_officer", "assistant_director", "director"]
    assert p.responsible_for("meeting_minutes") == "admin_officer"


def test_school_of_concern_meetings_termly_and_governors_committee_half_termly(cli, db_url):
    """Section 5, Monitoring: "Each term, school leadership is required to attend a School of Concern meeting
    with the Assistant Director"; governors' School Improvement Committee "on at least a half-termly basis";
    appendix 3: the school gives the LA its papers 7 days before, the admin officer uploads the minutes
    within 7 days."""
    school(cli, "371001")
    cli.ok("event", "371001", "raise_concern", "--on", "2026-09-07")
    cli.ok("event", "371001", "confirm_concern", "--on", "2026-09-14")
    terms = policy_for(LA).terms
    autumn = terms.term_containing(d("2026-09-14"))
    due = deadlines(case_of(cli, "371001", "2026-09-14"))
    assert (due["progress_meeting"]["due"], due["progress_meeting"]["responsible"]) == (
        autumn.end.isoformat(), "assistant_director")
    first_half = autumn.half_term_boundaries()[0][1]
    assert (due["improvement_committee"]["due"], due["improvement_committee"]["responsible"]) == (
        first_half.isoformat(), "senior_officer")
    with session_scope(db_url) as session:
        record_event(session, "371001", "schedule_meeting", on=d("2026-09-21"), system=True, actor="termly review",
                     extra={"meeting_on": d("2026-11-18"), "term": autumn.label, "term_end": autumn.end})
    due = deadlines(case_of(cli, "371001", "2026-09-21"))
    assert (due["meeting_papers"]["due"], due["meeting_papers"]["responsible"]) == ("2026-11-11", "headteacher")
    assert (due["meeting_minutes"]["due"], due["meeting_minutes"]["responsible"]) == ("2026-11-25", "admin_officer")
    assert due["progress_judgement"]["due"] == "2026-11-18"  # "This meeting will lead to a formal judgement"


def test_warning_letter_then_warning_notice_after_insufficient_progress(cli):
    """Section 5, Monitoring: "Where significant or sustained insufficient progress is recorded, the Local
    Authority may issue a 'Warning Letter' ... A subsequent judgement of insufficient progress is then likely
    to lead to a formal warning notice being issued." Section 6, category 4: a Local Authority review that
    produces a strategic improvement plan."""
    school(cli, "371002")
    cli.ok("event", "371002", "raise_concern", "--on", "2026-09-07")
    cli.ok("event", "371002", "confirm_concern", "--on", "2026-09-14")
    review = deadlines(case_of(cli, "371002", "2026-09-14"))["la_review"]
    assert (review["due"], review["responsible"]) == ("2026-10-26", "senior_officer")
    cli.ok("event", "371002", "la_review", "--on", "2026-10-20")
    cli.ok("event", "371002", "progress_meeting", "--on", "2026-11-18")
    cli.ok("event", "371002", "progress_judgement", "--on", "2026-11-18", "--note", "Insufficient progress")
    cli.ok("event", "371002", "warning_letter", "--on", "2026-11-20")
    cli.ok("event", "371002", "warning_notice", "--on", "2027-02-03", "--until", "2027-03-03",
           "--note", "Insufficient progress at the next School of Concern meeting")
    case = case_of(cli, "371002", "2027-02-03")
    ladder = [s for s in policy_for(LA).escalation]
    assert [e["event"] for e in case["events"] if e["event"] in ladder] == ladder
    assert case["state"] == "warning_notice_given"


def test_removal_from_school_of_concern_notified_by_the_assistant_director(cli):
    """Section 5, Progress and Removal from School of Concern: "the Headteacher and Chair will be notified in
    writing by the Assistant Director"."""
    school(cli, "371003")
    cli.ok("event", "371003", "raise_concern", "--on", "2026-09-07")
    cli.ok("event", "371003", "confirm_concern", "--on", "2026-09-14")
    cli.ok("event", "371003", "remove_concern", "--on", "2026-11-25")
    cli.ok("event", "371003", "removal_notified", "--on", "2026-11-26")
    case = case_of(cli, "371003", "2026-11-26")
    assert case["state"] == "exit_monitoring" and case["events"][-1]["event"] == "removal_notified"


def test_step_visits_recorded_on_a_school_requiring_improvement(cli):
    """Section 6, category 3: "In addition to a programme of bespoke support provided by a StEP"; appendix 4:
    the StEP calendar. The attached officer communicates with HMI during monitoring (the HMI visit)."""
    school(cli, "371004")
    cli.ok("inspection", "add", "371004", "--published", "2026-10-05", "--outcome", "requires_improvement")
    cli.ok("event", "371004", "step_visit", "--on", "2026-10-14")
    cli.ok("event", "371004", "hmi_monitoring_visit", "--on", "2026-11-09")
    events = case_of(cli, "371004", "2026-11-09")["events"]
    assert [e["event"] for e in events][-2:] == ["step_visit", "hmi_monitoring_visit"]
    assert all(e["from_state"] == e["to_state"] for e in events[-2:])


def test_an_academy_gets_a_warning_letter_not_a_notice(cli):
    """Section 5, academies: "the Local Authority will issue a warning letter outlining its concerns and the
    expected improvements"; the LA has no warning-notice power over an academy."""
    school(cli, "371005", "Academy sponsor led")
    cli.ok("event", "371005", "raise_concern", "--on", "2026-09-07")
    cli.ok("event", "371005", "meet_trust", "--on", "2026-09-21")
    cli.ok("event", "371005", "warning_letter", "--on", "2026-10-05")
    case = case_of(cli, "371005", "2026-10-05")
    assert case["pathway"] == "academy_of_concern" and "warning_notice" not in case["allowed_events"]
    assert "la_review" not in deadlines(case)


def test_letter_to_every_school_in_the_autumn_term():
    """Section 4, Annual Review and Risk Assessment: "All schools and academies will receive a letter
    annually to inform them how the Local Authority intends to categorise" them; five categories; section 6,
    category 5 is "Extreme Concern to the Local Authority, Ofsted Special Measures or Serious Weaknesses"."""
    p = policy_for(LA)
    assert [c.key for c in p.categories.levels] == ["1", "2", "3", "4", "5"]
    assert p.categorisation_date("2026/27") == d("2026-10-01") and p.categories.change_letter == "categorisation"


def test_doncaster_s6_plain_ri_is_securing_good():
    """Doncaster MBC, School Improvement Strategy 2015-16, section 6: category 3 "Securing Good" is for
    "Schools judged to be 'Requiring Improvement'"; category 2 takes an RI school only with "secure evidence
    of good improvement that can be sustained". An RI school with no risk-assessment facts is 3."""
    scheme = policy_for(LA).categories
    ri = SchoolPicture(as_of=d("2026-10-01"), graded=((d("2025-05-01"), "ri"),))
    assert propose(scheme, ri)[0].label == "3 Securing Good"
    evidenced = SchoolPicture(as_of=d("2026-10-01"), graded=((d("2025-05-01"), "ri"),),
                              facts=(("good_improvement", d("2026-09-01"), None),))
    assert propose(scheme, evidenced)[0].label == "2 Aspiring to Excellence"


def test_doncaster_s6_neither_stuck_nor_a_warning_notice_is_a_criterion():
    """Doncaster 2015-16, section 6: no category's criteria name two RI inspections or a warning notice (a
    warning notice is what categories 4 and 5 may lead to)."""
    scheme = policy_for(LA).categories
    stuck_good = SchoolPicture(as_of=d("2026-10-01"), stuck=True,
                               graded=((d("2025-05-01"), "good"), (d("2023-05-01"), "ri"), (d("2021-05-01"), "ri")))
    assert propose(scheme, stuck_good)[0].key == "2"
    notice = SchoolPicture(as_of=d("2026-10-01"), graded=((d("2025-05-01"), "good"),), events=frozenset({"warning_notice"}),
                           pathways=frozenset({"la_concern"}), categories=frozenset({"LA"}))
    assert propose(scheme, notice)[0].key == "4"
    assert not any("stuck" in str(c) or "warning_notice" in str(c)
                   for level in scheme.levels for c in level.when)


def test_doncaster_titles_step_and_the_director_in_the_strategys_words():
    """Doncaster 2015-16, section 4: "Standards and Effectiveness Partners (StEPs)"; the strategy names the
    "Director of Learning, Opportunities & Skills (DCS)"."""
    p = policy_for(LA)
    assert p.title_of("step") == "Standards and Effectiveness Partner (StEP)"
    assert p.title_of(p.role_for("director")) == "Director of Learning, Opportunities & Skills (DCS)"


def test_doncaster_appendix_3_papers_are_the_schools_duty_chased_by_the_senior_officer():
    """Doncaster 2015-16, appendix 3: "7 days prior to the meeting the school is required to give the LA
    access to" its papers: the headteacher answers for them; a missed one is the senior officer's to chase
    (reminders go to officers, never to the school)."""
    p = policy_for(LA)
    assert p.responsible_for("meeting_papers") == "headteacher"
    assert p.manager_of("headteacher") == "senior_officer"


def test_doncaster_appendix_3_reminder_for_the_schools_papers_reaches_the_officer(cli, db_url):
    """Doncaster 2015-16, appendix 3: the school's papers are chased by the senior officer, not lost
    because the head, who owes them, is never sent an officers' reminder."""
    from concerns.notify.directory import Directory

    school(cli, "371009")
    cli.ok("person", "add", "Head of 371009", "head371009@school.example", "--role", "headteacher",
           "--la", LA, "--urn", "371009")
    cli.ok("person", "add", "Sam Officer", "so@doncaster.example", "--role", "senior_officer", "--la", LA)
    with session_scope(db_url) as session:
        role, people = Directory(session).reach(LA, "headteacher", "371009")
    assert (role, [p.email for p in people]) == ("senior_officer", ["so@doncaster.example"])
