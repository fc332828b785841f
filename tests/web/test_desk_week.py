"""My week from the desk alone: what is overdue, due this week and next, the decisions due, this term's meetings,
Ofsted's dates and escalations, each row one click from the event form that closes it; and letters drafted on
the command line, viewed and sent from the desk."""

from __future__ import annotations

import html as html_module
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from concerns.app.web.desk import week_bounds
from concerns.store.db import session_scope
from models import Deadline, Letter, Notification
from tests.conftest import table_dump
from tests.test_plain_words import findings, visible_text
from tests.web.conftest import LA, OFFICER, Desk, add_desk_user, demo_desk_database, error_summary

SECTIONS = ("overdue", "due", "decisions", "meetings", "expected", "escalations")


def section(page: str, name: str) -> str:
    """The HTML of one section of My week."""
    start = page.index(f'<section aria-labelledby="{name}">')
    return page[start:page.index("</section>", start)]


def action_links(part: str) -> list[str]:
    """The links in a part of the page that open a school's event form set to an event."""
    return [html_module.unescape(h) for h in re.findall(r'href="(/schools/\d+\?[^"]+)"', part)]


def chosen(link: str) -> tuple[str, str, str]:
    """(urn, case, event) a week link opens."""
    parts = urlsplit(link)
    query = parse_qs(parts.query)
    assert set(query) == {"event", "case"}, link
    assert parts.fragment == f"{query['case'][0]}-event", link
    return parts.path.rsplit("/", 1)[1], query["case"][0], query["event"][0]


def checked_events(page: str) -> list[tuple[str, str]]:
    """(case, event) of every event radio the school page shows checked."""
    return re.findall(r'<input type="radio" id="([a-z_]+)-event-[a-z_0-9]+" name="event" value="([a-z_0-9]+)" checked>',
                      page)


def follow(desk: Desk, link: str) -> str:
    """Open a week link: the school page, with that event (and only it) checked in that case's form."""
    _, case, event = chosen(link)
    page = desk.client.get(link)
    assert page.status_code == 200, link
    assert findings(link, visible_text(page.text.split("<body>", 1)[-1])) == []
    assert checked_events(page.text) == [(case, event)], link
    return page.text


def record(desk: Desk, link: str, on: date) -> None:
    """Follow a week link and submit the form as it opens, with the day it happened."""
    urn, case, event = chosen(link)
    page = follow(desk, link)
    form = next(f for f in page.split("<form")[1:] if f'name="case" value="{case}"' in f)
    token = re.search(r'name="form_token" value="([^"]+)"', form)[1]
    response = desk.client.post(f"/schools/{urn}/events", data={
        "csrf_token": Desk.token(page), "form_token": token, "case": case, "event": event,
        "on_day": str(on.day), "on_month": str(on.month), "on_year": str(on.year)})
    assert response.status_code == 303, error_summary(response.text)


def week(desk: Desk) -> str:
    """My week as the officer reads it: in plain words (no internal key, code, ISO date or command)."""
    page = desk.client.get("/week")
    assert page.status_code == 200
    assert findings("/week", visible_text(page.text.split("<body>", 1)[-1])) == []
    return page.text


def signed_in(url: str, today: date, email: str = OFFICER) -> Desk:
    desk = Desk(url, today=today)
    assert desk.sign_in(email).status_code == 303
    return desk


# --- the week's bounds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("today", "last"), [
    (date(2026, 11, 16), date(2026, 11, 29)),  # a Monday: this week and all of the next
    (date(2026, 11, 20), date(2026, 11, 29)),  # a Friday
    (date(2026, 11, 22), date(2026, 11, 29)),  # a Sunday: today and the whole of next week, never today alone
])
def test_due_this_week_and_next_runs_from_today_to_the_sunday_of_next_week(today, last):
    assert week_bounds(today)[1] == last and last.weekday() == 6


def test_on_a_sunday_the_week_holds_what_is_due_in_the_days_after(desk):
    # Sunday 15 November: the statement of action due on Wednesday 18th is this week and next, not "nothing".
    page = week(signed_in(desk.url, date(2026, 11, 15)))
    due = section(page, "due")
    assert "Ash Tree Primary" in due and "Statement of action" in due
    assert "Due from today to Sunday 22 November 2026" in due
    for name in SECTIONS:
        assert f'href="#{name}"' in page and f'id="{name}"' in page


# --- one click from the form that closes it ------------------------------------------------------------


def test_the_event_that_closes_a_deadline_is_read_from_the_machine_and_the_policy():
    from concerns.app.web.desk import events_meeting
    from concerns.domain.policy import policy_for

    derbyshire, default = policy_for("Derbyshire"), policy_for("Testshire")
    offered = ["appoint_ieb", "hmi_monitoring_visit", "plan_of_action_shared", "progress_meeting",
               "submit_statement_of_action"]
    # The machine's table: the step from this state that meets the kind.
    assert events_meeting("statement_of_action", "sm_statement_due", offered, default) == ["submit_statement_of_action"]
    assert events_meeting("hmi_monitoring", "sm_statement_due", offered, default) == ["hmi_monitoring_visit"]
    assert events_meeting("progress_meeting", "sm_statement_due", offered, default) == ["progress_meeting"]
    # Both decisions meet an ended compliance period.
    assert events_meeting("warning_notice_compliance", "warning_notice_given",
                          ["compliance_failed", "compliance_met", "progress_meeting"], default) == [
        "compliance_failed", "compliance_met"]
    # The authority's own: Derbyshire's plan of action is met by its own event.
    assert events_meeting("plan_of_action", "sm_statement_due", offered, derbyshire) == ["plan_of_action_shared"]
    assert events_meeting("plan_of_action", "sm_statement_due", offered, default) == []
    # Only an inspection meets the re-inspection date: no event form closes it.
    assert events_meeting("reinspection", "sm_monitoring", offered, default) == []


def test_a_deadline_due_this_week_opens_its_form_and_leaves_the_week_once_recorded(desk):
    page = week(desk)
    links = action_links(section(page, "due"))
    link = next(x for x in links if chosen(x) == ("100001", "special_measures", "submit_statement_of_action"))
    record(desk, link, date(2026, 11, 16))
    after = week(desk)
    assert link.replace("&", "&amp;") not in after and "Ash Tree Primary" not in section(after, "due")


def test_an_overdue_deadline_opens_its_form_and_leaves_the_week_once_recorded(desk):
    late = signed_in(desk.url, date(2026, 11, 20))
    page = week(late)
    assert "Ash Tree Primary" in section(page, "overdue") and "Ash Tree Primary" not in section(page, "due")
    link = next(x for x in action_links(section(page, "overdue")) if chosen(x)[0] == "100001")
    assert chosen(link)[2] == "submit_statement_of_action"
    record(late, link, date(2026, 11, 19))
    assert "Statement of action" not in section(week(late), "overdue")


def test_an_ended_compliance_period_is_a_decision_due_with_complied_and_not_complied(desk, cli):
    cli.ok("event", "100002", "confirm_concern", "--on", "2026-11-03")
    cli.ok("event", "100002", "warning_notice", "--on", "2026-11-04", "--until", "2026-11-25")
    later = signed_in(desk.url, date(2026, 12, 1))
    page = week(later)
    decisions = section(page, "decisions")
    assert "Beech Road Infants" in decisions and "decision due" in decisions
    assert "Beech Road Infants" not in section(page, "overdue")  # the school's obligation, not the officer's
    links = {chosen(x)[2]: x for x in action_links(decisions)}
    assert set(links) == {"compliance_met", "compliance_failed"}
    follow(later, links["compliance_met"])
    record(later, links["compliance_failed"], date(2026, 12, 1))
    after = week(later)
    assert "Beech Road Infants" not in section(after, "decisions") and "No decision is due." in after


def test_an_escalated_deadline_opens_its_form_for_the_manager_and_leaves_once_recorded(desk, cli):
    from concerns.jobs import run_deadline_check

    run_deadline_check(desk.url, date(2026, 11, 19), simulation=True)
    rc, _, err = add_desk_user(cli, "ann.assistant@testshire.example", "assistant_director", LA)
    assert rc == 0, err
    manager = signed_in(desk.url, date(2026, 11, 20), "ann.assistant@testshire.example")
    escalated = section(week(manager), "escalations")
    assert "Ash Tree Primary" in escalated
    [link] = action_links(escalated)
    assert chosen(link) == ("100001", "special_measures", "submit_statement_of_action")
    record(manager, link, date(2026, 11, 20))
    assert "Nothing has been escalated to you." in section(week(manager), "escalations")


def test_an_expected_ofsted_visit_opens_the_visit_form_and_leaves_once_recorded(desk, cli):
    rc, _, err = add_desk_user(cli, "lee.link@testshire.example", "link_adviser", LA)
    assert rc == 0, err
    with session_scope(desk.url) as session:
        due = session.exec(select(Deadline.due).where(Deadline.urn == "100001",
                                                      Deadline.kind == "hmi_monitoring")).one()
    link_adviser = signed_in(desk.url, due, "lee.link@testshire.example")
    expected = section(week(link_adviser), "expected")
    assert "Ash Tree Primary" in expected and "HMI monitoring" in expected
    link = next(x for x in action_links(expected) if chosen(x)[2] == "hmi_monitoring_visit")
    record(link_adviser, link, due)
    assert "Ash Tree Primary" not in section(week(link_adviser), "expected")


def test_this_terms_meetings_open_the_meeting_form_and_a_held_meeting_leaves(desk):
    from concerns.jobs.termly import run_termly_review

    run_termly_review(desk.url, date(2026, 11, 16))
    page = week(desk)
    meetings = section(page, "meetings")
    assert "Autumn term, to Friday 18 December 2026" in meetings and "Ash Tree Primary" in meetings
    link = next(x for x in action_links(meetings) if chosen(x)[0] == "100001")
    assert chosen(link)[2] == "progress_meeting"
    record(desk, link, date(2026, 11, 16))
    assert "Ash Tree Primary" not in section(week(desk), "meetings")


def test_in_a_holiday_the_meetings_are_those_of_the_next_term(desk):
    from concerns.jobs.termly import run_termly_review

    run_termly_review(desk.url, date(2026, 11, 16))
    # Christmas: the autumn term's meetings are past; the spring term is the one ahead.
    meetings = section(week(signed_in(desk.url, date(2026, 12, 28))), "meetings")
    assert "Spring term, which starts on Monday 4 January 2027" in meetings
    assert "December 2026" not in meetings.split("</p>", 1)[1]


@pytest.mark.parametrize("query", [
    "event=submit_statement_of_action&case=la_concern",  # a real event, on a case that does not offer it
    "event=compliance_failed&case=special_measures",  # not allowed on that case now
    "event=%3Cscript%3Ealert(1)%3C/script%3E&case=special_measures",
    "event=submit_statement_of_action&case=%22%3E%3Cb%3E",
    "event=&case=",
])
def test_the_school_page_ignores_an_event_or_case_it_does_not_offer_and_never_echoes_it(desk, query):
    page = desk.client.get(f"/schools/100001?{query}")
    assert page.status_code == 200
    assert checked_events(page.text) == []
    for raw in ("<script>alert(1)", "&lt;script&gt;", '"><b>', "&#34;&gt;&lt;b&gt;"):
        assert raw not in page.text


def test_the_school_page_sets_an_offered_event_without_a_week_link(desk):
    page = desk.client.get("/schools/100002?event=confirm_concern&case=la_concern").text
    assert checked_events(page) == [("la_concern", "confirm_concern")]


# --- the demo authority's week --------------------------------------------------------------------------

DEMO_OFFICER, DEMO_MANAGER, DEMO_PASSWORD = ("priya.shah@demoshire.example", "alex.morgan@demoshire.example",
                                             "demo-desk-password")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from concerns.app.demo_term import TERM

    folder = tmp_path_factory.mktemp("week-demo")
    with pytest.MonkeyPatch.context() as mp:
        url = demo_desk_database(folder, mp, {DEMO_OFFICER: "senior_adviser", DEMO_MANAGER: "assistant_director"},
                                 DEMO_PASSWORD)
        yield url, date.fromisoformat(TERM[-1][0])


def _demo_desk(demo, email: str) -> Desk:
    url, today = demo
    desk = Desk(url, today=today)
    assert desk.sign_in(email, DEMO_PASSWORD).status_code == 303
    return desk


def test_every_row_of_the_demo_week_opens_a_form_set_to_the_event_that_closes_it(demo):
    seen = set()
    for email in (DEMO_OFFICER, DEMO_MANAGER):
        desk = _demo_desk(demo, email)
        page = week(desk)
        for name in SECTIONS:
            rows = section(page, name).split("<tbody>", 1)[-1].split("<tr>")[1:]
            for row in rows:
                if not re.search(r'href="/schools/\d+"', row):
                    continue  # "Nothing is overdue." and the like
                links = action_links(row)
                assert links, f"{email}, {name}: a row with no link to the form that closes it: {row}"
                for link in links:
                    follow(desk, link)
                seen.add(name)
    # The demo's last day: missed meetings, the term's meetings, and what was escalated to the manager.
    assert {"overdue", "meetings", "escalations"} <= seen


def test_on_the_demo_an_overdue_and_an_escalated_row_leave_the_week_once_recorded(demo):
    url, today = demo
    officer, manager = _demo_desk(demo, DEMO_OFFICER), _demo_desk(demo, DEMO_MANAGER)
    overdue = action_links(section(week(officer), "overdue"))
    escalated = action_links(section(week(manager), "escalations"))
    # Bramble Hill's missed progress meeting: overdue for the officer, escalated to the manager.
    link = next(x for x in overdue if chosen(x)[0] == "990404" and chosen(x)[2] == "progress_meeting")
    assert link in escalated
    record(officer, link, today)
    assert link not in action_links(section(week(officer), "overdue"))
    assert link not in action_links(section(week(manager), "escalations"))


# --- letters drafted on the command line ---------------------------------------------------------------

CONFIRMATION = """discussed_on = 2026-11-02
concerns = ["Attendance has fallen for three terms", "Governors lack data"]
next_steps = ["Agree an attendance plan"]
review_cadence = "each term"
"""


def test_a_letter_drafted_on_the_command_line_is_viewed_and_sent_from_the_desk_once(desk, cli, tmp_path):
    details = tmp_path / "confirmation.toml"
    details.write_text(CONFIRMATION)
    cli.ok("letter", "draft", "100002", "confirmation_of_concern", "--on", "2026-11-16", "--details", str(details))
    with session_scope(desk.url) as session:
        letter = session.exec(select(Letter).where(Letter.urn == "100002")).one()
        letter_id, key, title = letter.id, letter.key, letter.title
    page = f"/schools/100002/letters/{letter_id}"
    assert page in desk.client.get("/letters").text and page in desk.client.get("/schools/100002").text
    shown = desk.client.get(page).text
    assert "Attendance has fallen for three terms" in html_module.unescape(shown)
    assert title in html_module.unescape(shown) and "Send by e-mail" in shown
    assert "Attendance has fallen for three terms" in desk.client.get(page + "/file").text

    sent = desk.post_form(page, page + "/send", {})
    assert sent.status_code == 303 and "done=sent" in sent.headers["location"]
    with session_scope(desk.url) as session:
        mails = session.exec(select(Notification).where(Notification.key.like(f"letter:{key}:%"))).all()
        assert {m.recipient_email for m in mails} >= {"head@beech.sch.example", "chair@beech.sch.example"}
        assert all(m.attachments for m in mails)
    assert f"queued={len(mails)}" in sent.headers["location"]
    after = desk.client.get(page).text
    assert "Send by e-mail" not in after and "head@beech.sch.example" in after
    # Sent again (a second tab, a replayed request): nothing more is queued.
    before = table_dump(desk.url)
    again = desk.client.post(page + "/send", data={"csrf_token": Desk.token(after)})
    assert again.status_code == 303 and "queued=0" in again.headers["location"]
    assert table_dump(desk.url) == before
