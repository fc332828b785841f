"""Reminders, digests, escalation and sending, with a real SMTP server on loopback and a real SQLite file.

No Prefect here: the jobs the flows wrap are plain Python.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from concerns.app.demo import load_demo
from concerns.casework.views import case_view, deadlines_view
from concerns.domain.rules import OFSTED_OWNED_KINDS
from concerns.jobs import (
    run_annual_categorisation,
    run_deadline_check,
    run_hmi_reminders,
    run_send_notifications,
    run_termly_review,
)
from concerns.notify import wording as words
from concerns.store.db import session_scope
from models import Deadline, DeadlineNotice, Notification
from tests.conftest import d
from tests.support.smtp import SmtpTestServer


@pytest.fixture
def demo_db(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    monkeypatch.setenv("CONCERNS_REPORTS", str(tmp_path / "reports"))
    with session_scope(db_url) as session:
        load_demo(session)
    return db_url


@pytest.fixture
def smtp(monkeypatch):
    with SmtpTestServer() as server:
        monkeypatch.setenv("CONCERNS_SMTP_URL", server.url())
        monkeypatch.setenv("CONCERNS_MAIL_FROM", "concerns@demoshire.example")
        yield server


def by_recipient(server) -> dict[str, list]:
    out: dict[str, list] = {}
    for m in server.messages:
        for rcpt in m.rcpt_tos:
            out.setdefault(rcpt, []).append(m.msg)
    return out


def body(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def test_right_people_get_the_right_mail_on_the_right_day(demo_db, smtp):
    # 23 Nov 2026 (Monday): Northgate's statement of action (due Wed 18 Nov) is missed; St Joseph's
    # (due Wed 25 Nov) is 2 working days away; Holy Trinity's compliance period ends Fri 4 Dec.
    summary = run_deadline_check(demo_db, d("2026-11-23"))
    assert summary["by_step"]["missed"] >= 1 and summary["by_step"]["escalated"] >= 1
    sent = run_send_notifications(demo_db)
    assert sent["sent"] == summary["digests_queued"] and sent["failed"] == 0
    mail = by_recipient(smtp)
    # One digest per officer, not one mail per deadline.
    assert all(len(msgs) == 1 for msgs in mail.values())
    senior = body(mail["priya.shah@demoshire.example"][0])
    assert "MISSED" in senior and "Northgate Primary School, statement of action to Ofsted" in senior
    assert "St Joseph's Catholic Primary School" in senior and "DUE WITHIN 3 WORKING DAYS" in senior
    assert "Escalated" not in mail["priya.shah@demoshire.example"][0]["Subject"]
    # The missed statement of action escalates to the senior adviser's manager, the assistant director:
    # the subject says so, and the line names the officer who missed it, not a role key.
    escalation = mail["alex.morgan@demoshire.example"][0]
    director = body(escalation)
    assert escalation["Subject"].startswith("Escalated to you: Northgate Primary School, statement of action to Ofsted missed")
    assert "ESCALATED TO YOU" in director and "Northgate Primary School" in director
    assert "Escalated from Priya Shah (senior adviser)" in director
    assert "Education Act 2005, s15" in director and "EA 2005" not in director
    # No school-side recipient gets a deadline digest.
    assert not [r for r in mail if "schools.demoshire" in r]
    with session_scope(demo_db) as session:
        soa = session.exec(select(Deadline).where(Deadline.urn == "990301", Deadline.kind == "statement_of_action")).one()
        assert (soa.status, soa.missed_on) == ("missed", date(2026, 11, 23))


def test_digest_items_link_to_the_school_on_the_desk_when_its_address_is_set(demo_db, smtp, monkeypatch):
    monkeypatch.setenv("CONCERNS_WEB_URL", "https://concerns.demoshire.example/")
    run_deadline_check(demo_db, d("2026-11-23"))
    run_send_notifications(demo_db)
    msg = by_recipient(smtp)["priya.shah@demoshire.example"][0]
    text, html = body(msg), msg.get_body(("html",)).get_content()
    assert "https://concerns.demoshire.example/schools/990301" in text
    assert '<a href="https://concerns.demoshire.example/schools/990301">Northgate Primary School</a>' in html
    # With the desk, officers are sent there, not to a command line.
    assert "concerns event" not in text and "officers' desk" in text


# --- Ofsted's dates (reinspection, HMI monitoring): watched, not owed -------------------------------------

OFSTED_WORDS = tuple(sorted(words.kind(k).lower() for k in OFSTED_OWNED_KINDS))  # as officers read them


def test_a_passed_reinspection_window_is_passed_never_missed_and_escalated_to_no_one(demo_db, smtp):
    # Demo, 23 Nov 2026: the reinspection windows of 990101 (12 Sep) and 990104 (10 Nov) have closed with no
    # inspection yet. Nobody in the authority owes Ofsted's visit: `passed`, no notice, no escalation.
    summary = run_deadline_check(demo_db, d("2026-11-23"))
    assert summary["marked_passed"] == 2
    assert not [i for i in summary["items"] if i["deadline"].lower() in OFSTED_WORDS]
    # The statement of action goes missed and escalates exactly as before.
    assert summary["marked_missed"] >= 1 and summary["by_step"]["escalated"] >= 1
    with session_scope(demo_db) as session:
        windows = session.exec(select(Deadline).where(Deadline.kind == "reinspection",
                                                      Deadline.urn.in_(("990101", "990104")))).all()
        assert sorted((w.urn, w.status, w.missed_on, w.next_notice_on) for w in windows) == [
            ("990101", "passed", None, None), ("990104", "passed", None, None)]
        assert not session.exec(select(DeadlineNotice).where(
            DeadlineNotice.deadline_id.in_([w.id for w in windows]))).all()
        shown = {r["urn"]: r["status"] for r in deadlines_view(session, d("2026-11-23"))
                 if r["kind"] == "reinspection" and r["status"] != "open"}
        assert shown == {"990101": "passed", "990104": "passed"}
        soa = session.exec(select(Deadline).where(Deadline.urn == "990301", Deadline.kind == "statement_of_action")).one()
        assert soa.status == "missed"
        notices = session.exec(select(DeadlineNotice.step).where(DeadlineNotice.deadline_id == soa.id)).all()
        assert sorted(notices) == ["escalated", "missed"]
    # A second run changes nothing.
    again = run_deadline_check(demo_db, d("2026-11-23"))
    assert (again["marked_passed"], again["marked_missed"], again["reminders"], again["digests_queued"]) == (0, 0, 0, 0)
    run_send_notifications(demo_db)
    assert smtp.messages
    assert not [m for m in smtp.messages if any(w in body(m.msg).lower() for w in OFSTED_WORDS)]


def test_ofsted_dates_get_one_expected_from_ofsted_heads_up_and_the_assistant_director_none(demo_db, smtp):
    # Through the rest of the term: HMI monitoring windows close 18 Dec, 990102's reinspection window 20 Dec.
    days = ("2026-11-23", "2026-12-04", "2026-12-07", "2026-12-18", "2026-12-21", "2027-01-05", "2027-01-06")
    summaries = {day: run_deadline_check(demo_db, d(day), simulation=True) for day in days}
    heads_up = [i for i in summaries["2026-12-04"]["items"] if i["deadline"] == "HMI monitoring visit"]
    assert len(heads_up) == 3 and {i["reminder"] for i in heads_up} == {"expected from Ofsted"}
    ofsted_items = [i for s in summaries.values() for i in s["items"] if i["deadline"].lower() in OFSTED_WORDS]
    assert {i["reminder"] for i in ofsted_items} == {"expected from Ofsted"}
    assert sum(s["marked_passed"] for s in summaries.values()) == 2 + 3 + 1  # 2 reinspections, 3 HMI, 990102
    with session_scope(demo_db) as session:
        steps = session.exec(select(DeadlineNotice.deadline_id, DeadlineNotice.step).join(
            Deadline, Deadline.id == DeadlineNotice.deadline_id).where(Deadline.kind.in_(OFSTED_OWNED_KINDS))).all()
        assert {step for _, step in steps} == {"expected"} and len(steps) == len({i for i, _ in steps})
        assert not session.exec(select(Deadline).where(Deadline.kind.in_(OFSTED_OWNED_KINDS),
                                                       Deadline.status == "missed")).all()
        hmi = session.exec(select(Deadline).where(Deadline.kind == "hmi_monitoring", Deadline.urn == "990203",
                                                  Deadline.due == d("2026-12-18"))).one()
        assert hmi.status == "passed"
        shown = case_view(session, "990203", d("2027-01-06"))["cases"]
        assert {x["status"] for c in shown for x in c["deadlines"] if x["due"] == "2026-12-18"} == {"passed"}
    run_send_notifications(demo_db)
    mail = by_recipient(smtp)
    director = [body(m).lower() for m in mail["alex.morgan@demoshire.example"]]
    assert director and not [b for b in director if any(w in b for w in OFSTED_WORDS)]
    expected = [m for msgs in mail.values() for m in msgs if "EXPECTED FROM OFSTED" in body(m)]
    assert expected
    # A digest of nothing but Ofsted's dates asks for no action now.
    only = [m for m in expected if "MISSED" not in body(m) and "DUE" not in body(m)]
    assert only and not [m for m in only if "needing action now" in m["Subject"]]


def test_termly_report_never_lists_an_ofsted_date_as_overdue_even_one_marked_missed_before(demo_db, smtp):
    # An older database: the check once marked 990101's reinspection window missed and escalated it.
    with session_scope(demo_db) as session:
        window = session.exec(select(Deadline).where(Deadline.urn == "990101", Deadline.kind == "reinspection")).one()
        window.status, window.missed_on, window.next_notice_on = "missed", d("2026-09-14"), None
        session.add(window)
        session.add(DeadlineNotice(key=f"deadline:{window.id}:escalated", deadline_id=window.id, step="escalated",
                                   for_date=d("2026-09-14"), recipient_role="senior_adviser"))
    summary = run_termly_review(demo_db, d("2027-01-04"), simulation=True)
    overdue = {row["what"] for row in summary["overdue"]}
    assert "statement of action to Ofsted" in overdue
    assert not overdue & {words.kind(k) for k in OFSTED_OWNED_KINDS}
    with session_scope(demo_db) as session:
        shown = case_view(session, "990101", d("2027-01-04"))["cases"]
        assert {x["status"] for c in shown for x in c["deadlines"] if x["kind"] == "reinspection"} == {"passed"}


def test_nothing_is_missed_before_the_working_day_after(demo_db, smtp):
    run_deadline_check(demo_db, d("2026-11-18"))  # due today: a reminder, not missed
    with session_scope(demo_db) as session:
        soa = session.exec(select(Deadline).where(Deadline.urn == "990301", Deadline.kind == "statement_of_action")).one()
        assert soa.status == "open"
    run_send_notifications(demo_db)
    assert "DUE TODAY" in body(by_recipient(smtp)["priya.shah@demoshire.example"][0])


def test_a_second_run_the_same_day_sends_nothing(demo_db, smtp):
    run_deadline_check(demo_db, d("2026-11-23"))
    first = run_send_notifications(demo_db)["sent"]
    again = run_deadline_check(demo_db, d("2026-11-23"))
    assert again["reminders"] == 0 and again["digests_queued"] == 0 and again["marked_missed"] == 0
    assert run_send_notifications(demo_db)["sent"] == 0
    assert len(smtp.messages) == first


def test_smtp_failure_mid_batch_loses_nothing_and_sends_each_once(demo_db, smtp):
    run_deadline_check(demo_db, d("2026-11-23"))
    run_termly_review(demo_db, d("2027-01-04"), simulation=True)
    with session_scope(demo_db) as session:
        queued = len(session.exec(select(Notification)).all())
    assert queued > 20
    smtp.handler.refuse_next(3, after=5)  # the server accepts 5, then answers 451 three times
    start = datetime.now(UTC)
    first = run_send_notifications(demo_db, now=start)
    assert first["sent"] == queued - 3 and len(first["errors"]) == 3 and first["failed"] == 0
    assert first["deferred"] == 3
    assert run_send_notifications(demo_db, now=start)["sent"] == 0  # backing off: not due yet
    smtp.stop()  # and then the server goes away altogether
    down = run_send_notifications(demo_db, now=start + timedelta(minutes=2))
    # One tried and deferred; the two behind it held back without being charged an attempt.
    assert down["sent"] == 0 and down["deferred"] == 3 and down["failed"] == 0
    with session_scope(demo_db) as session:
        waiting = session.exec(select(Notification).where(Notification.status == "deferred")).all()
        assert sorted(n.attempts for n in waiting) == [1, 1, 2]
    smtp.start()
    back = run_send_notifications(demo_db, now=start + timedelta(minutes=10))
    assert back["sent"] == 3 and back["alarms"] == []
    ids = [m.msg["Message-ID"] for m in smtp.messages]
    assert len(ids) == queued == len(set(ids)), "every message delivered exactly once"
    with session_scope(demo_db) as session:
        assert {n.status for n in session.exec(select(Notification)).all()} == {"sent"}


def test_message_ids_are_deterministic(demo_db, smtp):
    run_deadline_check(demo_db, d("2026-11-23"))
    run_send_notifications(demo_db)
    with session_scope(demo_db) as session:
        stored = {n.message_id for n in session.exec(select(Notification)).all()}
    assert stored == {m.msg["Message-ID"] for m in smtp.messages}


def test_termly_review_invites_with_ics_and_agenda_and_reports(demo_db, smtp, tmp_path):
    summary = run_termly_review(demo_db, d("2027-01-04"), simulation=True)
    assert summary["term"] == "spring 2026/27"
    # Every school with a case open on 4 Jan 2027 gets the term's meeting (one per school in the register),
    # but a concern only raised: it is confirmed in writing before meetings are owed, and none could be
    # recorded on it yet.
    with session_scope(demo_db) as session:
        from concerns.casework.views import register

        rows = register(session, d("2027-01-04"))
        owed = [r for r in rows if r["state"] != "concern_raised"]
    assert len(owed) < len(rows) and summary["meetings_scheduled"] == len(owed)
    assert any(row["pathway"] == "special measures" for row in summary["table"])
    assert "Overdue" in summary["markdown"] and (tmp_path / "reports").exists()
    assert Path(summary["reports"][0]).with_suffix(".pdf").read_bytes().startswith(b"%PDF-")
    again = run_termly_review(demo_db, d("2027-01-04"), simulation=True)
    assert again["meetings_scheduled"] == 0 and again["invitations_queued"] == 0
    run_send_notifications(demo_db)
    invitations = [m.msg for m in smtp.messages if m.msg["Subject"].startswith("Progress review meeting")]
    assert invitations
    parts = {p.get_content_type(): p for p in invitations[0].iter_attachments()}
    ics = parts["text/calendar"]
    assert ics.get_param("method") == "REQUEST"
    assert b"BEGIN:VEVENT" in ics.get_payload(decode=True)
    report = [m.msg for m in smtp.messages if m.msg["Subject"].startswith("Termly report")]
    assert [m["To"] for m in report] == ["alex.morgan@demoshire.example"]
    # The report is the mail's HTML body, and a PDF to print and file; no markdown travels.
    html = report[0].get_body(("html",)).get_content()
    assert "School by school" in html and "Northgate Primary School" in html
    [attached] = list(report[0].iter_attachments())
    assert attached.get_content_type() == "application/pdf" and attached.get_filename().endswith(".pdf")
    assert attached.get_payload(decode=True).startswith(b"%PDF-")
    # Heads and chairs are invited too: their mail is signed by the service, with no "do not forward".
    school_side = [m.msg for m in smtp.messages if m.msg["Subject"].startswith("Progress review meeting")
                   and "schools.demoshire" in m.msg["To"]]
    officer = [m for m in invitations if "schools.demoshire" not in m["To"]]
    assert school_side and officer
    for msg in school_side:
        text, html = body(msg), msg.get_body(("html",)).get_content()
        assert "School improvement service, Demoshire Council" in text and "forward" not in text + html
        assert "Sent by" not in text + html
    assert "do not forward this message outside the authority" in body(officer[0])
    # The Demoshire demo has no SoC agenda: the invitation does not claim one.
    assert "agenda" not in body(invitations[0]) and "A calendar invitation is attached." in body(invitations[0])


def test_invitations_greet_by_post_and_do_not_list_the_addressee_among_the_others(demo_db, smtp):
    run_termly_review(demo_db, d("2027-01-04"), simulation=True)
    run_send_notifications(demo_db)
    invitations = [m.msg for m in smtp.messages if m.msg["Subject"].startswith("Progress review meeting")]
    school_side = [m for m in invitations if "schools.demoshire" in m["To"]]
    assert invitations and school_side
    # The demo records its heads by post ("Headteacher of Northgate Primary School"): each is greeted by the
    # post, and nobody is listed among the others invited to their own invitation.
    for msg in invitations:
        text = body(msg).replace("\r\n", "\n")
        greeting = next(line for line in text.splitlines() if line.startswith("Dear "))
        assert " of " not in re.sub(r"(?i)chair of governors", "", greeting), greeting
        others = next((line for line in text.splitlines() if line.startswith("Also invited: ")), "")
        assert " of " not in re.sub(r"(?i)chair of governors", "", others), others
        name = msg["To"].split("<")[0].strip().strip('"')
        if name and not name.startswith(("Headteacher", "Chair")):
            assert name not in others, (name, others)
        # Greeted by name, "Yours sincerely"; by post, "Yours faithfully" (the letters' rule).
        assert ("\nYours faithfully,\n" if greeting.startswith(("Dear Headteacher", "Dear Chair"))
                else "\nYours sincerely,\n") in text, text
    heads = [body(m) for m in school_side if body(m).startswith("Dear Headteacher,")]
    assert heads and all("Headteacher" not in text.split("Also invited: ")[1].split("\n")[0] for text in heads)


def test_confidential_notes_never_reach_school_side_recipients(demo_db, smtp):
    # The demo records "Headteacher capability concerns" as a confidential note on Kingsway (990403).
    run_deadline_check(demo_db, d("2026-11-23"))
    run_termly_review(demo_db, d("2027-01-04"), simulation=True)
    run_annual_categorisation(demo_db, d("2026-10-01"), approved_by="Alex Morgan")
    run_send_notifications(demo_db)
    school_side = [m for m in smtp.messages if any("schools.demoshire" in r for r in m.rcpt_tos)]
    assert school_side, "heads and chairs do receive invitations and letters"
    for m in school_side:
        raw = m.raw.decode("utf-8", "replace")
        assert "capability" not in raw.lower()
        for part in m.msg.walk():
            if part.get_content_maintype() == "text" or part.get_filename():
                payload = part.get_payload(decode=True) or b""
                assert b"capability" not in payload.lower()


def test_hmi_reminders_once_per_term(demo_db, smtp):
    first = run_hmi_reminders(demo_db, d("2027-01-04"), simulation=True)
    assert first["cases_reminded"] >= 5 and first["mails_queued"] == 1
    assert run_hmi_reminders(demo_db, d("2027-01-05"), simulation=True)["cases_reminded"] == 0
    assert run_hmi_reminders(demo_db, d("2027-04-20"), simulation=True)["cases_reminded"] >= 5  # the summer term
    run_send_notifications(demo_db)
    link = by_recipient(smtp)["tom.evans@demoshire.example"]
    assert "Northgate Primary School (990301): special measures" in body(link[0])
    # Signed by the service, with the line every officers' mail carries.
    assert "School improvement service, Demoshire Council. The register of schools causing concern is not public" \
        in " ".join(body(link[0]).split())


def test_annual_categorisation_proposes_then_records_and_writes_letters_only_once_approved(demo_db, smtp, tmp_path):
    from concerns.casework.lacategories import history
    from concerns.store.db import session_scope

    # Proposed only: nothing recorded, no letter.
    proposed = run_annual_categorisation(demo_db, d("2026-10-01"))
    assert proposed["awaiting_approval"] and proposed["letters"] == 0 and proposed["recorded"] == 0
    assert not (tmp_path / "letters").exists() or not list((tmp_path / "letters").rglob("*categorisation*"))
    # As of 1 October 2026 Northgate was not yet in special measures (published 4 November).
    before = {row["urn"]: row["category"] for row in proposed["table"]}
    assert before["990301"] == "Good"
    approved = run_annual_categorisation(demo_db, d("2026-10-01"), approved_by="Alex Morgan")
    assert approved["recorded"] == approved["schools"] and approved["letters"] > 0
    with session_scope(demo_db) as session:
        assert [(h["year"], h["label"], h["source"]) for h in history(session, "990301")] == [
            ("2026/27", "Good", "approved_proposal")]
    summary = run_annual_categorisation(demo_db, d("2026-11-23"), approved_by="Alex Morgan")
    categories = {row["urn"]: row["category"] for row in summary["table"]}
    assert categories["990301"].startswith("Inadequate")  # default policy: special measures
    assert categories["990102"] == "Requires improvement"  # stuck RI
    # Decided for 2026/27 already: kept (an officer changes it with `concerns category set`), no letter.
    assert summary["recorded"] == 0 and summary["letters"] == 0
    # Next year's categorisation is not due before the authority's date (1 October by default).
    assert run_annual_categorisation(demo_db, d("2027-09-06"), simulation=True, approved_by="Alex Morgan")[
        "schools"] == 0
    assert run_annual_categorisation(demo_db, d("2027-10-01"), simulation=True,
                                     approved_by="Alex Morgan")["letters"] == approved["letters"]
    letters = sorted((tmp_path / "letters" / "990301").glob("*categorisation.html"))
    assert len(letters) == 2 and "Inadequate" in letters[-1].read_text()


def test_outbox_files_when_no_smtp(demo_db, tmp_path, monkeypatch):
    run_deadline_check(demo_db, d("2026-11-23"))
    result = run_send_notifications(demo_db)
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert result["sent"] == len(files) > 0
    assert run_send_notifications(demo_db)["sent"] == 0


def test_annual_categorisation_writes_the_whole_table_as_csv_and_the_artifact_is_capped(demo_db, smtp, tmp_path):
    import csv

    from flows.annual_categorisation import artifact_rows

    summary = run_annual_categorisation(demo_db, d("2026-11-23"))
    with open(summary["table_csv"], encoding="utf-8", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [r["urn"] for r in written] == [r["urn"] for r in summary["table"]]
    shown = artifact_rows(summary["table"], limit=3)
    assert len(shown) == 3
    concern = [r for r in summary["table"] if r["causing_concern"]]
    assert [r["URN"] for r in shown] == [r["urn"] for r in (concern + [r for r in summary["table"]
                                                                        if not r["causing_concern"]])[:3]]
    assert set(shown[0]) == {"URN", "School", "Authority", "Year", "Proposed", "Already decided", "Why"}


def test_record_system_events_writes_what_record_event_writes(demo_db):
    # The termly review records its meetings with casework.record_system_events; the rows must be those
    # record_event(..., system=True) writes case by case (ids and timestamps aside).
    from sqlmodel import Session

    from concerns.casework.cases import SystemEvent, lock_schools, record_event, record_system_events
    from concerns.store.db import engine_for
    from models import Case, CaseEvent, School

    on = d("2026-11-24")
    extra = {"meeting_on": d("2026-12-02"), "term": "autumn 2026/27", "term_end": d("2026-12-18")}

    def written(bulk: bool):
        with Session(engine_for(demo_db), expire_on_commit=False) as session:
            # The cases the termly review books a meeting on: every open one but a concern only raised.
            pairs = session.exec(select(Case, School).join(School, School.urn == Case.urn)
                                 .where(Case.closed.is_(None), Case.state != "concern_raised")
                                 .order_by(Case.id)).all()
            assert pairs
            if bulk:
                lock_schools(session, [s.urn for _, s in pairs])
                record_system_events(session, "schedule_meeting",
                                     [SystemEvent(s, c, note="termly", extra=extra) for c, s in pairs], on=on, actor="t")
            else:
                for c, s in pairs:
                    record_event(session, s.urn, "schedule_meeting", on=on, actor="t", pathway=c.pathway,
                                 note="termly", extra=extra, system=True)
            session.flush()
            events = {e.id: (e.case_id, e.urn, e.event, e.on, e.until, e.from_state, e.to_state, e.note, e.confidential)
                      for e in session.exec(select(CaseEvent).where(CaseEvent.actor == "t")).all()}
            deadlines = sorted(
                (x.case_id, x.urn, x.kind, x.due, x.status, x.responsible, x.rule, x.source, x.note, x.created_on,
                 x.next_notice_on, x.historical, events[x.created_by_event_id])
                for x in session.exec(select(Deadline).where(Deadline.created_by_event_id.in_(list(events)))).all())
            cases = [(c.id, c.state, c.facts, c.last_event_on) for c in session.exec(select(Case).order_by(Case.id))]
            session.rollback()
        return sorted(events.values()), deadlines, cases

    bulk = written(True)
    assert bulk[0] and bulk[1] and bulk == written(False)


# --- the end of a compliance period: the school's obligation, the officer's decision -------------------

def test_an_ended_compliance_period_is_a_decision_due_never_missed_and_escalated(demo_db, smtp):
    # Demo: Holy Trinity's (990402) warning notice's compliance period ends Fri 4 Dec 2026; nothing is
    # recorded by Mon 7 Dec. The school had to comply; the officer now decides whether it did.
    run_deadline_check(demo_db, d("2026-12-04"))
    run_send_notifications(demo_db)
    smtp.messages.clear()
    summary = run_deadline_check(demo_db, d("2026-12-07"))
    decisions = [i for i in summary["items"] if i["school"].endswith("(990402)")]
    assert [i["reminder"] for i in decisions] == ["decision due: did the school comply?"]
    assert "escalated" not in summary["by_step"] or not [
        i for i in summary["items"] if i["school"].endswith("(990402)") and "escalated" in i["reminder"]]
    run_send_notifications(demo_db)
    mail = by_recipient(smtp)
    texts = {who: body(msgs[0]) for who, msgs in mail.items()}
    officer = next(t for t in texts.values() if "Holy Trinity" in t)
    assert "DECISION DUE" in officer and "decide whether it complied" in officer
    section = officer.split("DECISION DUE", 1)[1]
    assert "Holy Trinity" in section.split("\n\n\n", 1)[0]
    assert not [t for t in texts.values() if "MISSED" in t and "Holy Trinity" in t.split("MISSED", 1)[1]
                .split("\n\n\n", 1)[0]]
    # Nobody's manager is told of it as a failure.
    assert not [t for t in texts.values() if "ESCALATED TO YOU" in t and "Holy Trinity" in t]
    with session_scope(demo_db) as session:
        end = session.exec(select(Deadline).where(Deadline.urn == "990402",
                                                  Deadline.kind == "warning_notice_compliance")).one()
        # The status keeps the contract's value; officers read "decision due".
        assert end.status == "missed"
        steps = session.exec(select(DeadlineNotice.step).where(DeadlineNotice.deadline_id == end.id)).all()
        assert "escalated" not in steps and "missed" not in steps and "decision" in steps
        [row] = [r for r in deadlines_view(session, d("2026-12-07")) if r["urn"] == "990402"
                 and r["kind"] == "warning_notice_compliance"]
        assert (row["status"], row["shown"]) == ("missed", "decision due")
        [case] = [c for c in case_view(session, "990402", d("2026-12-07"))["cases"] if c["pathway"] == "la_concern"]
        [listed] = [x for x in case["deadlines"] if x["kind"] == "warning_notice_compliance"]
        assert (listed["status"], listed["shown"]) == ("missed", "decision due")
