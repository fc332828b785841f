"""The termly review plans the term's meetings like a diary, on SQLite and PostgreSQL.

The demo authority (19 schools with an open case on 4 January 2027, one of them with two cases, one
senior adviser and one link adviser for all) under the default policy, and under a policy of its own
with a half-termly committee and two panels.
"""

from __future__ import annotations

import base64
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from concerns.app.demo import load_demo
from concerns.casework.views import register
from concerns.domain.policy import policy_for
from concerns.jobs import run_termly_review
from concerns.store.db import session_scope
from models import Case, CaseEvent, Deadline, Notification
from tests.conftest import d

AS_OF = d("2027-01-04")  # the first day of the spring term 2026/27
SENIOR, LINK, DIRECTOR = "priya.shah@demoshire.example", "tom.evans@demoshire.example", "alex.morgan@demoshire.example"


@pytest.fixture
def demo_db(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    monkeypatch.setenv("CONCERNS_REPORTS", str(tmp_path / "reports"))
    with session_scope(db_url) as session:
        load_demo(session)
    return db_url


OWN_POLICY = """
authority = "Demoshire"
[categories]
[[categories.levels]]
key = "good"
label = "Good"
when = ["latest:good", "default"]
[[categories.levels]]
key = "watch"
label = "Watched"
when = ["category:RI", "category:NA", "stuck"]
[[categories.levels]]
key = "concern"
label = "Causing concern"
causing_concern = true
when = ["category:SM", "category:RSI", "category:LA"]

[roles]
link_adviser = { title = "Link adviser", manager = "senior_adviser" }
senior_adviser = { title = "Senior adviser", manager = "assistant_director" }
assistant_director = { title = "Assistant director", manager = "director" }
director = { title = "Director of children's services" }
admin_officer = { title = "Admin officer", manager = "senior_adviser" }

[[meetings]]
kind = "progress_meeting"
name = "Progress review meeting"
cadence = "term"
minimum_per_year = 3
responsible = "senior_adviser"
chair = "senior_adviser"
attendees = ["link_adviser"]
days = ["wednesday"]
times = ["10:00", "14:00", "16:00"]
per_day_limit = 3

[[meetings]]
kind = "improvement_committee"
name = "School Improvement Committee"
cadence = "half_term"
pathways = ["special_measures"]
minimum_per_year = 6
responsible = "link_adviser"
chair = "chair_of_governors"
attendees = ["link_adviser"]
min_lead_days = 5
times = ["16:00"]
length_minutes = 90
per_day_limit = 1

[[meetings]]
kind = "concern_panel"
name = "Schools causing concern panel"
cadence = "term"
scope = "panel"
la_categories = ["concern"]
minimum_per_year = 3
responsible = "assistant_director"
chair = "assistant_director"
attendees = ["senior_adviser"]
papers_due_days_before = 7
minutes_due_days_after = 7
days = ["wednesday"]
times = ["10:00"]
length_minutes = 180
"""


@pytest.fixture
def own_policy(tmp_path, monkeypatch):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "demoshire.toml").write_text(OWN_POLICY, encoding="utf-8")
    monkeypatch.setenv("CONCERNS_POLICY_DIR", str(folder))
    assert policy_for("Demoshire").key == "demoshire"


def invitations(db) -> list[Notification]:
    with session_scope(db) as session:
        rows = session.exec(select(Notification).where(Notification.kind == "invitation")
                             .order_by(Notification.key)).all()
        session.expunge_all()
        return rows


def attachment(row: Notification, mimetype: str) -> bytes | None:
    found = [a for a in row.attachments if a["mimetype"] == mimetype]
    return base64.b64decode(found[0]["content_b64"]) if found else None


def clashes(meetings: list[dict], length: dict[str, timedelta]) -> list[tuple]:
    """Pairs of meetings that share an invited person and overlap in time."""
    spans = [(m, datetime.fromisoformat(m["at"]), datetime.fromisoformat(m["at"]) + length[m["meeting"]])
             for m in meetings]
    out = []
    for i, (a, a_start, a_end) in enumerate(spans):
        for b, b_start, b_end in spans[i + 1:]:
            if set(a["invited"]) & set(b["invited"]) and a_start < b_end and b_start < a_end:
                out.append((a["meeting"], a["schools"], b["meeting"], b["schools"]))
    return out


def test_default_policy_one_meeting_per_school_spread_over_the_term(demo_db):
    summary = run_termly_review(demo_db, AS_OF, simulation=True)
    policy = policy_for("Demoshire")
    calendar = policy.calendar("statutory")
    with session_scope(demo_db) as session:
        everyone = register(session, AS_OF)
        events = session.exec(select(CaseEvent).where(CaseEvent.event == "schedule_meeting")).all()
        cases = session.exec(select(Case).where(Case.closed.is_(None))).all()
        owed = session.exec(select(Deadline.case_id).where(Deadline.kind == "progress_meeting")).all()
    # A concern only raised (Kingsway's) has no meeting until it is confirmed: none is booked, and its case
    # is owed none (it could not record one: deadlines nobody can meet).
    raised = [r["urn"] for r in everyone if {c["state"] for c in r["cases"]} == {"concern_raised"}]
    assert raised == ["990403"]
    assert not {c.id for c in cases if c.state == "concern_raised"} & set(owed)
    rows = [r for r in everyone if r["urn"] not in raised]
    two_cases = [r["urn"] for r in rows if len(r["cases"]) > 1]
    meetings = summary["meetings"]
    # One meeting per school, whatever its number of cases; each of the school's cases records it.
    assert sorted(s for m in meetings for s in m["schools"]) == sorted(r["urn"] for r in rows)
    assert two_cases and len(events) == sum(len(r["cases"]) for r in rows) == len(rows) + len(two_cases)
    booked = {c.id: c.facts["meetings"]["spring 2026/27"] for c in cases if c.urn in two_cases}
    assert len(booked) >= 2 and len(set(booked.values())) == 1
    # Nobody double-booked (the same senior and link adviser are invited to all), at most two a day, on
    # working days from the minimum lead time (15 days) to the end of the term, spread across the term.
    assert all({SENIOR, LINK} <= set(m["invited"]) for m in meetings)
    assert clashes(meetings, {m["meeting"]: timedelta(hours=2) for m in meetings}) == []
    days = Counter(date.fromisoformat(m["at"][:10]) for m in meetings)
    assert max(days.values()) <= 2
    assert all(calendar.is_working_day(day) and d("2027-01-19") <= day <= d("2027-03-19") for day in days)
    assert not [day for day in days if d("2027-02-15") <= day <= d("2027-02-19")]  # half term
    assert len(days) >= 10 and min(days) < d("2027-02-01") and max(days) > d("2027-03-01")
    assert summary["meetings_unplaced"] == []
    # The chair is invited and named; no agenda is attached, and the invitation does not claim one.
    rows = invitations(demo_db)
    for row in rows:
        assert attachment(row, "text/html") is None
        assert "agenda" not in row.body_text.lower() and "agenda" not in row.body_html.lower()
        assert "Chair: Priya Shah (Senior adviser)" in row.body_text
        assert b"ORGANIZER;CN=\"Priya Shah\":mailto:" + SENIOR.encode() in attachment(row, "text/calendar")
    per_school = Counter(row.urn for row in rows if row.recipient_email == SENIOR)
    assert set(per_school.values()) == {1}
    # A second run the same term books and sends nothing.
    again = run_termly_review(demo_db, AS_OF + timedelta(days=1), simulation=True)
    assert (again["meetings_scheduled"], again["invitations_queued"]) == (0, 0)
    assert len(invitations(demo_db)) == len(rows)


def test_own_policy_half_termly_committee_and_a_panel_with_its_agenda(demo_db, own_policy):
    summary = run_termly_review(demo_db, AS_OF, simulation=True)
    assert summary["meetings_unplaced"] == []
    by_kind = defaultdict(list)
    for m in summary["meetings"]:
        by_kind[m["meeting"]].append(m)
    with session_scope(demo_db) as session:
        rows = register(session, AS_OF)
    special = sorted(r["urn"] for r in rows if any(c["pathway"] == "special_measures" for c in r["cases"]))
    # "category:LA" reads any open case of the authority's own concern, not only the register's main case.
    concern = sorted(r["urn"] for r in rows if r["category"] in ("SM", "RSI", "LA")
                     or any(c["pathway"] in ("la_concern", "academy_of_concern") for c in r["cases"]))
    assert special and concern

    # Half-termly: two committees per special-measures school this term, one in each half, none in the
    # half-term holiday (15-19 February 2027).
    committees = by_kind["School Improvement Committee"]
    assert sorted(s for m in committees for s in m["schools"]) == sorted(special * 2)
    for urn in special:
        days = sorted(date.fromisoformat(m["at"][:10]) for m in committees if m["schools"] == [urn])
        assert days[0] < d("2027-02-15") and days[1] > d("2027-02-19")
    assert {m["period"] for m in committees} == {"spring 2026/27, first half", "spring 2026/27, second half"}
    assert max(Counter(m["at"][:10] for m in committees).values()) == 1  # its per-day limit

    # One panel for the authority, on a Wednesday at 10:00, listing the schools at the "concern" level.
    [panel] = by_kind["Schools causing concern panel"]
    assert sorted(panel["schools"]) == concern
    assert datetime.fromisoformat(panel["at"]).weekday() == 2 and panel["at"].endswith("10:00")

    # The progress meetings only on the eight Wednesdays left in the term: crowded, three on some days,
    # around the panel (the senior adviser chairs both) and the committees (the link adviser attends both).
    reviews = by_kind["Progress review meeting"]
    # Every school but the one whose concern is only raised (its meetings begin when it is confirmed).
    recorded = [r for r in rows if {c["state"] for c in r["cases"]} != {"concern_raised"}]
    assert len(reviews) == len(recorded) == len(rows) - 1 and all(datetime.fromisoformat(m["at"]).weekday() == 2 for m in reviews)
    assert max(Counter(m["at"][:10] for m in reviews).values()) == 3
    assert DIRECTOR in panel["invited"] and SENIOR in panel["invited"]
    assert not [p for p in panel["invited"] if "schools.demoshire" in p]  # no school's staff at a panel

    lengths = {"Progress review meeting": timedelta(hours=2), "School Improvement Committee": timedelta(minutes=90),
               "Schools causing concern panel": timedelta(hours=3)}
    assert clashes(summary["meetings"], lengths) == []
    assert not [m for m in summary["meetings"] if "2027-02-15" <= m["at"][:10] <= "2027-02-19"]  # half term

    rows = invitations(demo_db)
    panel_rows = [r for r in rows if ":panel:" in r.key]
    assert sorted(r.recipient_email for r in panel_rows) == sorted(panel["invited"])
    for row in panel_rows:
        agenda = attachment(row, "text/html").decode()
        assert all(urn in agenda for urn in concern) and "Causing concern" in agenda
        assert "The agenda is attached" in row.body_text and "Chair: Alex Morgan (Assistant director)" in row.body_text
    # A school's committee is chaired by its chair of governors, who is invited with the head.
    committee_rows = [r for r in rows if ":improvement_committee:" in r.key]
    first = [r for r in committee_rows if r.urn == special[0] and "first half" in r.key]
    assert {r.recipient_email for r in first} == {f"chair{special[0][-3:]}@schools.demoshire.example",
                                                  f"head{special[0][-3:]}@schools.demoshire.example", LINK}
    # The chair, recorded by post ("Chair of governors of ..."), is named by the post alone.
    assert all("Chair: Chair of governors." in r.body_text and "Chair of governors of" not in r.body_text
               and "agenda" not in r.body_text.lower() for r in first)

    again = run_termly_review(demo_db, AS_OF + timedelta(days=2), simulation=True)
    assert (again["meetings_scheduled"], again["invitations_queued"]) == (0, 0)


def test_a_school_whose_case_opens_mid_term_is_booked_around_the_diary(demo_db, own_policy):
    first = run_termly_review(demo_db, AS_OF, simulation=True)
    with session_scope(demo_db) as session:
        from concerns.casework.cases import record_event

        taken = {r["urn"] for r in register(session, AS_OF)}
        from models import School

        free = sorted(s.urn for s in session.exec(select(School)).all() if s.urn not in taken)[0]
        record_event(session, free, "raise_concern", on=d("2027-01-11"), actor="t", note="attendance falling")
        record_event(session, free, "confirm_concern", on=d("2027-01-11"), actor="t", note="confirmed")
    later = run_termly_review(demo_db, d("2027-01-12"), simulation=True)
    [new] = [m for m in later["meetings"] if m["meeting"] == "Progress review meeting"]
    assert new["schools"] == [free] and new["at"][:10] >= "2027-01-27"  # 15 days' notice
    lengths = {"Progress review meeting": timedelta(hours=2), "School Improvement Committee": timedelta(minutes=90),
               "Schools causing concern panel": timedelta(hours=3)}
    # The diary read back from the first run's invitations: the new meeting clashes with none of them.
    assert clashes([*first["meetings"], new], lengths) == []
    assert max(Counter(m["at"][:10] for m in [*first["meetings"], new]
                       if m["meeting"] == "Progress review meeting").values()) <= 3


def test_doncaster_school_of_concern_meetings_and_governors_committees(cli, tmp_path, monkeypatch):
    """Doncaster 2015-16, appendix 3: termly School of Concern meetings for categories 4 and 5, chaired by
    the assistant director with the senior officer, head and chair of governors, the agenda attached;
    half-termly governors' School Improvement Committees with the assigned officer."""
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    monkeypatch.setenv("CONCERNS_REPORTS", str(tmp_path / "reports"))
    schools = {"700001": "Balby Carr Primary", "700002": "Hexthorpe Primary", "700003": "Wheatley Park Primary"}
    for urn, name in schools.items():
        cli.ok("school", "add", urn, "--name", name, "--la", "Doncaster", "--type", "Community school")
        cli.ok("person", "add", f"Head of {name}", f"head{urn}@school.example", "--role", "headteacher",
               "--la", "Doncaster", "--urn", urn)
        cli.ok("person", "add", f"Chair of {name}", f"chair{urn}@school.example", "--role", "chair_of_governors",
               "--la", "Doncaster", "--urn", urn)
    officers = {"assistant_director": "ad@doncaster.example", "senior_officer": "so@doncaster.example",
                "admin_officer": "admin@doncaster.example", "step": "step@doncaster.example",
                "director": "dlo@doncaster.example"}
    for role, email in officers.items():
        cli.ok("person", "add", role.replace("_", " ").title(), email, "--role", role, "--la", "Doncaster")
    cli.ok("inspection", "add", "700001", "--published", "2026-11-04", "--outcome", "special_measures")
    cli.ok("inspection", "add", "700003", "--published", "2026-10-07", "--outcome", "requires_improvement")
    cli.ok("event", "700002", "raise_concern", "--on", "2026-11-02", "--note", "Falling standards")
    cli.ok("event", "700002", "confirm_concern", "--on", "2026-11-16", "--note", "Confirmed in writing")

    summary = run_termly_review(cli.url, AS_OF, simulation=True)
    meetings = defaultdict(list)
    for m in summary["meetings"]:
        meetings[m["meeting"]].append(m)
    # Categories 4 and 5 (special measures, the LA's own concern) only: the RI school (category 3) has none.
    soc = meetings["School of Concern meeting"]
    assert sorted(s for m in soc for s in m["schools"]) == ["700001", "700002"]
    sic = meetings["School Improvement Committee (governors)"]
    assert sorted(s for m in sic for s in m["schools"]) == ["700001", "700001", "700002", "700002"]
    assert all(m["at"].endswith("16:00") for m in sic)

    rows = invitations(cli.url)
    first = [r for r in rows if r.urn == "700001" and ":progress_meeting:" in r.key]
    assert sorted(r.recipient_email for r in first) == sorted(
        [officers["assistant_director"], officers["senior_officer"], officers["admin_officer"],
         "head700001@school.example", "chair700001@school.example"])
    for row in first:
        assert "Chair: Assistant Director (Assistant director)" in row.body_text
        assert "The agenda is attached" in row.body_text and b"School of Concern" in attachment(row, "text/html")
        assert "Please send the papers by" in row.body_text
        # The agenda's reference is a letter's (URN, initials, date), with no case number or term in it.
        assert re.search(rb"<th>Our reference</th><td>700001/SMA/\d{8}</td>", attachment(row, "text/html"))
    committee = [r for r in rows if r.urn == "700001" and ":improvement_committee:" in r.key and "first half" in r.key]
    assert sorted(r.recipient_email for r in committee) == sorted(
        [officers["senior_officer"], "head700001@school.example", "chair700001@school.example"])
    assert all("Chair: Chair of governors." in r.body_text and "Chair of Balby Carr Primary" not in r.body_text
               and "agenda" not in r.body_text.lower()
               and "formal judgement" not in r.body_text for r in committee)
    # The School of Concern meeting asks for papers, minutes and a formal judgement of progress; the
    # governors' committee for none of them.
    with session_scope(cli.url) as session:
        made = Counter((x.urn, x.kind) for x in session.exec(select(Deadline).where(
            Deadline.created_on == AS_OF, Deadline.urn == "700001")).all())
    assert made[("700001", "meeting_papers")] == made[("700001", "meeting_minutes")] == 1
    assert made[("700001", "progress_judgement")] == 1


def test_an_officer_serving_two_authorities_is_not_booked_twice(demo_db, own_policy, tmp_path):
    from concerns.casework.cases import add_school, record_event
    from concerns.casework.people import add_person

    # Otherborough meets only on Wednesdays at 10:00, the slot Demoshire's senior adviser fills first.
    (tmp_path / "policies" / "otherborough.toml").write_text(
        OWN_POLICY.replace('authority = "Demoshire"', 'authority = "Otherborough"')
        .replace('times = ["10:00", "14:00", "16:00"]\nper_day_limit = 3', 'times = ["10:00"]\nper_day_limit = 3')
        .replace('attendees = ["link_adviser"]\ndays', 'attendees = []\ndays'), encoding="utf-8")
    with session_scope(demo_db) as session:
        for n in range(3):
            add_school(session, f"88000{n}", name=f"Other School {n}", la="Otherborough", type_name="Community school")
            session.flush()
            record_event(session, f"88000{n}", "raise_concern", on=d("2026-12-01"), actor="t", note="concern")
            record_event(session, f"88000{n}", "confirm_concern", on=d("2026-12-01"), actor="t", note="confirmed")
        add_person(session, "Priya Shah", SENIOR, role="senior_adviser", la="Otherborough")
    summary = run_termly_review(demo_db, AS_OF, simulation=True)
    other = [m for m in summary["meetings"] if m["la"] == "Otherborough"]
    assert len(other) == 3 and all(m["invited"] == [SENIOR] and m["at"].endswith("10:00") for m in other)
    lengths = {"Progress review meeting": timedelta(hours=2), "School Improvement Committee": timedelta(minutes=90),
               "Schools causing concern panel": timedelta(hours=3)}
    assert clashes(summary["meetings"], lengths) == []
    # Each authority's per-day limit counts its own meetings only.
    demoshire = Counter(m["at"][:10] for m in summary["meetings"]
                        if m["la"] == "Demoshire" and m["meeting"] == "Progress review meeting")
    assert max(demoshire.values()) == 3


def test_confirming_a_concern_owes_only_the_school_meetings_its_case_is_for(tmp_path, monkeypatch):
    """Panels and meetings chosen by the authority's own level are owed when the review books them; a
    school meeting for other pathways is not owed at all."""
    from statemachines.case import SchoolFacts
    from statemachines.pathways import EventContext, fire, open_case

    text = OWN_POLICY.replace('kind = "progress_meeting"\n', 'kind = "progress_meeting"\npathways = ["la_concern"]\n')
    text += ('\n[[meetings]]\nkind = "sm_review"\nname = "Special measures review"\ncadence = "term"\n'
             'pathways = ["special_measures"]\nminimum_per_year = 3\nresponsible = "senior_adviser"\n')
    (tmp_path / "demoshire.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("CONCERNS_POLICY_DIR", str(tmp_path))
    policy = policy_for("Demoshire")
    school = SchoolFacts("990999", "Test Primary", "Demoshire", "Community school", True)
    case, _ = open_case(school, policy, EventContext("raise_concern", d("2027-01-11")))
    fire(case, school, policy, EventContext("confirm_concern", d("2027-01-18")))
    owed = {x.kind for x in case.deadlines if x.status == "open"}
    # Only the progress meeting (for LA concerns): the committee and the review are for special measures,
    # and the panel (chosen by level) is owed when the termly review books it.
    assert owed == {"progress_meeting"}


def test_a_half_termly_panel_meets_in_each_half_with_every_school_on_the_register(demo_db, tmp_path, monkeypatch):
    """As Leicester's School Intervention Group: half-termly, chaired by the service director, reviewing
    every school on the cause-for-concern register (an open case)."""
    text = OWN_POLICY[:OWN_POLICY.index("[[meetings]]")] + """
[[meetings]]
kind = "intervention_group"
name = "School Intervention Group"
cadence = "half_term"
scope = "panel"
minimum_per_year = 6
responsible = "assistant_director"
chair = "assistant_director"
attendees = ["senior_adviser", "link_adviser"]
"""
    (tmp_path / "demoshire.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("CONCERNS_POLICY_DIR", str(tmp_path))
    summary = run_termly_review(demo_db, AS_OF, simulation=True)
    with session_scope(demo_db) as session:
        on_register = sorted(r["urn"] for r in register(session, AS_OF))
    groups = summary["meetings"]
    assert [m["period"] for m in groups] == ["spring 2026/27, first half", "spring 2026/27, second half"]
    assert all(sorted(m["schools"]) == on_register for m in groups)
    assert groups[0]["at"][:10] < "2027-02-15" < "2027-02-19" < groups[1]["at"][:10]
    assert all(sorted(m["invited"]) == sorted([DIRECTOR, SENIOR, LINK]) for m in groups)
    # No case event: a panel is the authority's, not a school's; the outbox keeps it from being booked twice.
    with session_scope(demo_db) as session:
        assert not session.exec(select(CaseEvent).where(CaseEvent.event == "schedule_meeting")).all()
    assert run_termly_review(demo_db, AS_OF + timedelta(days=3), simulation=True)["meetings_scheduled"] == 0


def test_a_meeting_the_diary_cannot_place_is_told_to_its_chair_once(demo_db, tmp_path, monkeypatch):
    # Progress meetings on Wednesdays at 10:00 only, one a day: a term of some ten Wednesdays cannot hold
    # a meeting for each of the demo's 19 schools.
    tight = OWN_POLICY.replace('times = ["10:00", "14:00", "16:00"]\nper_day_limit = 3',
                               'times = ["10:00"]\nper_day_limit = 1')
    assert tight != OWN_POLICY
    folder = tmp_path / "tight"
    folder.mkdir()
    (folder / "demoshire.toml").write_text(tight, encoding="utf-8")
    monkeypatch.setenv("CONCERNS_POLICY_DIR", str(folder))
    summary = run_termly_review(demo_db, AS_OF, simulation=True)
    unplaced = [u for u in summary["meetings_unplaced"] if u["meeting"] == "Progress review meeting"]
    assert unplaced and all(u["told"] == [SENIOR] for u in unplaced)  # the meeting's chair
    with session_scope(demo_db) as session:
        mails = session.exec(select(Notification).where(Notification.kind == "meeting_unplaced")).all()
        session.expunge_all()
    assert len(mails) == len(unplaced) and {m.recipient_email for m in mails} == {SENIOR}
    told_about = sorted(m.urn for m in mails)
    assert told_about == sorted(u["schools"][0] for u in unplaced)
    mail = mails[0]
    assert mail.subject.startswith("Not booked: Progress review meeting for ")
    text = " ".join(mail.body_text.split())
    assert "could not book the progress review meeting for" in text
    assert "is already taken, or someone invited is busy then" in text
    assert "Please find a time by hand with Tom Evans (Link adviser), " in text and "Priya Shah (" not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}", mail.body_text + (mail.body_html or ""))  # dates in words
    # A second run of the same day tells nobody again.
    again = run_termly_review(demo_db, AS_OF, simulation=True)
    assert again["meetings_unplaced"]
    with session_scope(demo_db) as session:
        assert len(session.exec(select(Notification).where(Notification.kind == "meeting_unplaced")).all()) == len(mails)
