"""The five officer tasks of issue 20, done in headless Chromium on the demo authority as of the demo's own day,
each from "My week" through only what an officer sees (links, buttons, labelled fields), with the number of page
loads each takes. The counts are printed in the test log (tests/conftest.py's terminal summary) and in
docs/desk.md. Deselect with -m "not browser"."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from sqlmodel import select

from concerns.app.demo_term import TERM
from concerns.casework import views
from concerns.domain.formatting import ukdate
from concerns.store.db import session_scope
from models import Deadline, LaCategory, Letter, Notification, School
from tests.web.conftest import LiveDesk, demo_desk_database

pytestmark = pytest.mark.browser

DEMO_TODAY = date.fromisoformat(TERM[-1][0])  # Monday 5 April 2027: the desk's clock, as `./run demo` prints it
EMAIL, PASSWORD = "priya.shah@demoshire.example", "demo-desk-password"
# Ofsted's report on Greenfield Primary School (its last case closed in June 2026), published the Thursday before
# the demo's day: on that day every statement of action in the demo is already met, so the report gives the
# officer one to record, as a real report would; its due date falls within "this week and next" on My week (to the
# Sunday of next week). A school with an open case could not take it: each of theirs has an event on the demo's
# day, and history is recorded in order.
NEW_REPORT = ("990601", "Greenfield Primary School", "serious_weaknesses")
PUBLISHED = DEMO_TODAY - timedelta(days=4)

# The most page loads each task may take (every main-frame document load: the first page typed in, each link,
# each form post with the page its redirect lands on). An officer's task done in more than a handful of pages is
# a desk that makes them hunt; these are the walks the desk offers now, with no slack for an extra detour.
MOST_LOADS = {
    # My week, then the overdue school's page.
    "find what is overdue": 2,
    # My week, the school's form, the post and the page it lands on.
    "record a statement of action": 3,
    # My week, the school, the letter form, the preview, the sent letter, the Letters page.
    "draft, preview and send a letter": 6,
    # My week, Categories, the post and the page it lands on.
    "set a category with a reason": 3,
    # My week, the Register (the download itself loads no page).
    "download the register": 2,
}
# The counts measured, for the summary line (tests/conftest.py) in the order of the issue.
COUNTS: dict[str, int] = {}
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def summary_line() -> str | None:
    if not COUNTS:
        return None
    return "officer tasks in headless Chromium (page loads): " + ", ".join(
        f"{task} {COUNTS.get(task, 'not done')}" for task in MOST_LOADS)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("officer-tasks")
    with pytest.MonkeyPatch.context() as mp:
        url = demo_desk_database(folder, mp, {EMAIL: "senior_adviser"}, PASSWORD)
        from concerns.app.cli import main

        urn, _, outcome = NEW_REPORT
        assert main(["--db", url, "inspection", "add", urn, "--published", PUBLISHED.isoformat(),
                     "--inspected", "2027-03-10", "--outcome", outcome]) == 0
        yield url


@pytest.fixture(scope="module")
def officer(demo, chromium):
    """A signed-in officer's browser on the live desk; every task then starts from My week."""
    with LiveDesk(demo, today=DEMO_TODAY) as live:
        context = chromium.new_context(accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(60000)  # the machine may be busy: saving a letter writes it and its mails
        page.goto(f"{live.base}/login")
        page.get_by_label("E-mail address").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live.base}/week")
        yield live, page
        context.close()


class PageLoads:
    """Counts the main frame's document loads from the task's first page on."""

    def __init__(self, page):
        self.count = 0
        self.page = page
        page.on("load", self._loaded)

    def _loaded(self, _page) -> None:
        self.count += 1

    def done(self, task: str) -> int:
        self.page.remove_listener("load", self._loaded)
        COUNTS[task] = self.count
        assert self.count <= MOST_LOADS[task], f"{task}: {self.count} page loads, at most {MOST_LOADS[task]}"
        return self.count


def start(officer, task: str):
    """My week, typed in (the one page an officer opens by address), with the count of loads begun."""
    live, page = officer
    loads = PageLoads(page)
    page.goto(f"{live.base}/week")
    assert page.get_by_role("heading", level=1).inner_text() == "My week"
    return page, loads


def follow(page, target) -> None:
    """Click a link or a form's button and wait for the document it leads to (a click does not wait for it)."""
    with page.expect_navigation():
        target.click()


def fill(scope, label: str, value: str) -> None:
    """A field by its label; or, where the field is a group of inputs (rows of fields), its first box by legend."""
    field = scope.get_by_label(label, exact=True)
    if field.count():
        field.first.fill(value)
        return
    scope.get_by_role("group", name=label).get_by_role("textbox").first.fill(value)


def fill_date(scope, label: str, day: date) -> None:
    """A date by its label (a browser date box) or by its legend (Day, Month and Year fields)."""
    single = scope.get_by_label(label, exact=True)
    if single.count() and single.first.get_attribute("type") == "date":
        single.first.fill(day.isoformat())
        return
    group = scope.get_by_role("group", name=label)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def section_text(page, heading: re.Pattern) -> str:
    """The text of the week page's section under a heading (whichever layout the week page has)."""
    return page.locator("section", has=page.get_by_role("heading", name=heading)).first.inner_text()


def test_find_what_is_overdue(officer, demo):
    page, loads = start(officer, "find what is overdue")
    overdue = page.locator("section", has=page.get_by_role("heading", name=re.compile(r"^(Missed|Overdue)\b")))
    text = overdue.first.inner_text()
    with session_scope(demo) as session:
        missed = session.exec(select(Deadline).where(Deadline.status == "missed").order_by(Deadline.due)).all()
        oldest = missed[0]
        name = session.get(School, oldest.urn).name
    assert name in text and name == "Riverside Infant School", text
    follow(page, overdue.first.get_by_role("link", name=name, exact=True).first)
    assert page.get_by_role("heading", level=1).inner_text() == name
    cases = page.locator("section", has=page.get_by_role("heading", name="Cases and deadlines")).inner_text()
    # The tags are capitals by the style sheet; inner_text reads them as shown.
    assert "missed" in cases.lower() and "Friday 18 December 2026" in cases
    loads.done("find what is overdue")


def test_record_a_statement_of_action(officer, demo):
    urn, school, _ = NEW_REPORT
    page, loads = start(officer, "record a statement of action")
    with session_scope(demo) as session:
        due = session.exec(select(Deadline).where(Deadline.urn == urn,
                                                  Deadline.kind == "statement_of_action")).one().due
    assert DEMO_TODAY < due <= DEMO_TODAY + timedelta(days=13)  # on the week's "due this week and next"
    row = page.get_by_role("row").filter(has_text=school).filter(has_text="Statement of action").first
    assert ukdate(due) in row.inner_text()
    links = row.get_by_role("link")
    record = links.filter(has_text=re.compile(r"record|statement", re.I))
    follow(page, (record if record.count() else links.filter(has_text=school)).first)
    form = page.locator("form").filter(has=page.get_by_role("radio", name="Statement of action submitted"))
    form.get_by_role("radio", name="Statement of action submitted").check()
    fill_date(form, "Date it happened", DEMO_TODAY)
    fill(form, "Note (optional)", "Sent to HMCI by secure e-mail")
    form.get_by_role("button", name="Record the event").click()
    page.wait_for_url(re.compile(rf"/schools/{urn}\?done=recorded"))
    assert page.get_by_role("status").inner_text() == "The event was recorded."
    row = page.get_by_role("row").filter(has_text="Statement of action").first
    assert "met on monday 5 april 2027" in row.inner_text().lower()
    with session_scope(demo) as session:
        deadline = session.exec(select(Deadline).where(Deadline.urn == urn,
                                                       Deadline.kind == "statement_of_action")).one()
        assert (deadline.status, deadline.met_on) == ("met", DEMO_TODAY)
    loads.done("record a statement of action")


# On the demo's desk, whose today is ahead of the calendar, the letter saved is checked against the desk's day
# (draft_letter takes the desk's clock), as the preview was.
def test_draft_preview_and_send_a_letter(officer, demo):
    urn, school = "990104", "Riverside Infant School"
    with session_scope(demo) as session:
        mails_before = len(session.exec(select(Notification)).all())
    page, loads = start(officer, "draft, preview and send a letter")
    follow(page, page.get_by_role("link", name=school, exact=True).first)
    page.get_by_label("Draft a letter").select_option(label="Warning letter")
    follow(page, page.get_by_role("button", name="Start the letter"))
    fill(page, "Concerns", "Attendance has fallen for three terms running")
    # The actions are rows of fields (Item 1, Item 2, ...): the first one's "What".
    fill(page.get_by_role("group", name="Item 1", exact=True), "What", "Agree an attendance plan with the local authority")
    fill_date(page, "Complete by", date(2027, 6, 30))
    follow(page, page.get_by_role("button", name="Preview the letter"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Preview:")
    letter_text = page.frame_locator("iframe.letter-frame").locator("body").inner_text()
    assert "Attendance has fallen for three terms running" in letter_text and "30 June 2027" in letter_text
    follow(page, page.get_by_role("button", name="Save and send by e-mail"))
    assert re.search(rf"/schools/{urn}/letters/\d+\?done=sent", page.url), page.locator("main").inner_text()[:300]
    queued = re.search(r"(\d+) e-mail\(s\) were queued", page.get_by_role("status").inner_text())
    assert queued, page.get_by_role("status").inner_text()
    follow(page, page.get_by_role("link", name="Letters", exact=True).first)
    listed = page.get_by_role("row").filter(has_text=school).first.inner_text()
    assert "Warning letter" in listed and "queued or sent" in listed
    with session_scope(demo) as session:
        letter = session.exec(select(Letter).where(Letter.urn == urn, Letter.kind == "warning_letter")).one()
        mails = session.exec(select(Notification).where(Notification.key.like(f"letter:{letter.key}:%"))).all()
        # One mail per addressee (the head, the chair, the copies), each queued in the outbox table once.
        assert len(mails) == int(queued.group(1)) >= 2 and {m.status for m in mails} == {"pending"}
        assert len({m.recipient_email for m in mails}) == len(mails)
        assert {"head104@schools.demoshire.example", "chair104@schools.demoshire.example"} <= {
            m.recipient_email for m in mails}
        assert len(session.exec(select(Notification)).all()) == mails_before + len(mails)
    loads.done("draft, preview and send a letter")


def test_set_a_category_with_a_reason(officer, demo):
    urn, school, _ = NEW_REPORT
    reason = "Ofsted judged it to have serious weaknesses on 5 April 2027"
    page, loads = start(officer, "set a category with a reason")
    follow(page, page.get_by_role("link", name="Categories", exact=True).first)
    choice = page.get_by_label(f"Category for {school}")
    row = page.get_by_role("row").filter(has=choice)
    choice.select_option(label="Inadequate (causing concern)")
    fill(row, "Reason", reason)
    follow(page, row.get_by_role("button", name="Set the category"))
    confirmation = page.get_by_role("status").inner_text()
    assert school in confirmation, confirmation
    with session_scope(demo) as session:
        latest = session.exec(select(LaCategory).where(LaCategory.urn == urn).order_by(LaCategory.id.desc())).first()
        assert (latest.level, latest.reason, latest.decided_by, latest.decided_on) == (
            "inadequate", reason, EMAIL, DEMO_TODAY)
    loads.done("set a category with a reason")


def test_download_the_register(officer, demo):
    page, loads = start(officer, "download the register")
    follow(page, page.get_by_role("link", name="Register", exact=True).first)
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download this list as CSV")).click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    with session_scope(demo) as session:
        open_schools = {r["urn"]: r["name"] for r in views.register(session, DEMO_TODAY, la="Demoshire")}
    urn_column = next(c for c in rows[0] if c.upper() == "URN")
    assert {r[urn_column] for r in rows} == set(open_schools) and len(rows) == len(open_schools)
    on_page = page.get_by_role("table").first.inner_text()
    assert all(name in on_page for name in open_schools.values())
    dated = [value for r in rows for value in r.values() if value and re.search(r"\d{4}", value)
             and re.search(r"(January|February|March|April|May|June|July|August|September|October|November|"
                           r"December)", value)]
    assert dated, "no date in the register's CSV"
    assert not any(ISO_DATE.search(value) for r in rows for value in r.values() if value), rows[0]
    loads.done("download the register")
