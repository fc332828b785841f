"""The desk over HTTP: sign-in and rights, and refusals that say one thing and change nothing."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from sqlmodel import select

from concerns.app.web.desk import read_date
from concerns.store.db import session_scope
from models import CaseEvent, Deadline, LaCategory, Officer, SignInAttempt
from tests.conftest import table_dump
from tests.web.conftest import LA, OFFICER, PASSWORD, TODAY, Desk, add_desk_user, error_summary

SCHOOL = "/schools/100001"


def _event(desk: Desk, data: dict, school: str = SCHOOL, token: bool = True):
    return desk.post_form(school, f"{school}/events", {"case": "special_measures", "note": "", **data}, token)


# --- accounts and sign-in --------------------------------------------------------------------------------


def test_user_add_stores_a_salted_scrypt_hash_and_refuses_bad_input(authority, cli):
    with session_scope(authority) as session:
        officer = session.exec(select(Officer).where(Officer.email == OFFICER)).one()
        assert officer.password_hash.startswith("scrypt$") and PASSWORD not in officer.password_hash
        assert (officer.role, officer.la) == ("senior_adviser", LA)
    rc, _, err = add_desk_user(cli, "someone@testshire.example", "headteacher", LA)
    assert rc == 2 and "role 'headteacher' is not in the default policy" in err
    rc, _, err = add_desk_user(cli, "someone@testshire.example", "link_adviser", LA, password="short")
    assert rc == 2 and "at least 12 characters" in err
    rc, _, err = add_desk_user(cli, "not-an-address", "link_adviser", LA)
    assert rc == 2 and "is not an e-mail address" in err
    # The same e-mail twice is the same account with a new password, not a second account.
    rc, out, _ = add_desk_user(cli, OFFICER.upper(), "senior_adviser", LA, password="another long password")
    assert rc == 0 and "Updated" in out
    desk = Desk(authority)
    assert desk.sign_in(password=PASSWORD).status_code == 400
    assert desk.sign_in(password="another long password").status_code == 303


def test_pages_need_a_signed_in_officer(authority):
    desk = Desk(authority)
    for path in ("/week", "/register", "/register.csv", "/letters", SCHOOL):
        response = desk.client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_session_cookie_is_secure_httponly_and_lax(authority):
    response = Desk(authority).sign_in()
    assert response.status_code == 303 and response.headers["location"] == "/week"
    cookie = response.headers["set-cookie"].lower()
    assert "desk_session=" in cookie and "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie


def test_sign_in_is_rate_limited_per_account_with_one_clear_message(authority):
    desk = Desk(authority)
    for _ in range(5):
        response = desk.sign_in(password="wrong password here")
        assert response.status_code == 400
        assert error_summary(response.text) == "The e-mail address or password is not right."
    response = desk.sign_in()  # even the right password, while the limit holds
    assert response.status_code == 429
    assert error_summary(response.text) == "Too many failed sign-in attempts: wait 15 minutes, then try again."
    assert "desk_session" not in response.headers.get("set-cookie", "")


def test_sign_in_is_rate_limited_per_client_across_accounts(authority):
    # A client guessing many accounts waits. The limit is higher than the per-account one (an authority's
    # officers may all reach the desk from one address), and never counts the account alone: see
    # tests/web/test_desk_security.py for the lock-out it prevents.
    from concerns.app.web.accounts import CLIENT_ATTEMPTS_ALLOWED

    desk = Desk(authority)
    for n in range(CLIENT_ATTEMPTS_ALLOWED):
        assert desk.sign_in(email=f"guess{n}@testshire.example").status_code == 400
    assert desk.sign_in().status_code == 429
    with session_scope(authority) as session:
        assert len(session.exec(select(SignInAttempt)).all()) == CLIENT_ATTEMPTS_ALLOWED


def test_sign_in_without_the_forms_token_is_refused(authority):
    desk = Desk(authority)
    desk.client.get("/login")
    response = desk.client.post("/login", data={"email": OFFICER, "password": PASSWORD})
    assert response.status_code == 403 and "security token" in error_summary(response.text)


def test_sign_in_never_redirects_off_the_desk(authority):
    desk = Desk(authority)
    page = desk.client.get("/login")
    response = desk.client.post("/login", data={"csrf_token": desk.token(page.text), "email": OFFICER,
                                                "password": PASSWORD, "next": "//evil.example/"})
    assert response.headers["location"] == "/week"


def test_sign_out_ends_the_session(desk):
    response = desk.post_form("/week", "/logout", {})
    assert response.status_code == 303
    assert desk.client.get("/week").status_code == 303


# --- refusals change nothing ----------------------------------------------------------------------------


def test_a_post_without_the_anti_forgery_token_changes_nothing(desk):
    before = table_dump(desk.url)
    response = _event(desk, {"event": "submit_statement_of_action", "on": "2026-11-16"}, token=False)
    assert response.status_code == 403
    assert "Nothing was changed" in response.text and response.text.count("<h1>") == 1
    response = _event(desk, {"event": "submit_statement_of_action", "on": "2026-11-16", "csrf_token": "forged"},
                      token=False)
    assert response.status_code == 403
    assert table_dump(desk.url) == before


def test_another_authoritys_school_is_not_found_and_changes_nothing(desk):
    assert desk.client.get("/schools/200001").status_code == 404
    assert desk.client.get("/schools/999999").status_code == 404
    assert desk.client.get("/schools/200001/letters/new?kind=statement_of_action").status_code == 404
    before = table_dump(desk.url)
    token = Desk.token(desk.client.get(SCHOOL).text)
    response = desk.client.post("/schools/200001/events", data={"csrf_token": token, "case": "special_measures",
                                                                "event": "submit_statement_of_action",
                                                                "on": "2026-11-16"})
    assert response.status_code == 404
    assert table_dump(desk.url) == before
    register = desk.client.get("/register").text
    assert "Cedar Academy" not in register and "Ash Tree Primary" in register


def test_an_event_the_machine_does_not_allow_shows_its_reason_and_changes_nothing(desk):
    before = table_dump(desk.url)
    response = _event(desk, {"event": "remove_concern", "on": "2026-11-16"})
    assert response.status_code == 400
    message = error_summary(response.text)
    assert message.startswith("URN 100001: event “removed from concern” is not allowed for special measures case "
                              "in state statement of action due; allowed now:")
    assert "\n" not in message and response.text.count('class="error-summary"') == 1
    assert table_dump(desk.url) == before


def test_a_bad_date_is_one_clear_message_and_changes_nothing(desk):
    before = table_dump(desk.url)
    response = _event(desk, {"event": "submit_statement_of_action", "on_day": "30", "on_month": "2", "on_year": "2026"})
    assert response.status_code == 400
    assert error_summary(response.text) == "The date it happened must be a real date: check the day and the month."
    # The form keeps what was typed, and the summary links to the day field.
    form = response.text.split('value="special_measures"', 1)[1]
    assert re.search(r'name="on_day" [^>]*value="30"', form) and re.search(r'name="on_month" [^>]*value="2"', form)
    assert 'href="#special_measures-on"' in response.text and 'id="special_measures-on" name="on_day"' in response.text
    on = {"event": "submit_statement_of_action"}
    for data, expected in [({**on, "on": ""}, "Enter the date it happened."),
                           ({**on, "on_day": "16", "on_year": "2026"}, "The date it happened must include a month."),
                           ({**on, "on_day": "16", "on_month": "11", "on_year": "26"}, "the year must have four numbers"),
                           ({**on, "on_day": "16", "on_month": "Smarch", "on_year": "2026"}, "the month must be a number"),
                           ({"on": "2026-11-16"}, "Choose the event to record."),
                           ({**on, "on": "2026-12-25"}, "is after today (Monday 16 November 2026)"),
                           ({**on, "on": "2026-11-01"}, "is before the case's last event (4 November 2026)")]:
        response = _event(desk, data)
        assert response.status_code == 400 and expected in error_summary(response.text), (data, response.text[-3000:])
    assert table_dump(desk.url) == before


def test_a_date_is_typed_day_month_year_never_in_a_browsers_own_date_box(desk):
    page = desk.client.get(SCHOOL).text
    assert 'type="date"' not in page
    form = page.split('value="special_measures"', 1)[1].split("</form>", 1)[0]
    for label in ("Day", "Month", "Year"):
        assert f">{label}</label>" in form
    # 5 December, typed day first, is stored as 5 December (a native box in a US locale read 05122026 as 12 May).
    later = Desk(desk.url, today=date(2026, 12, 7))
    assert later.sign_in().status_code == 303
    response = _event(later, {"event": "submit_statement_of_action", "on_day": "5", "on_month": "12",
                              "on_year": "2026"})
    assert response.status_code == 303, error_summary(response.text)
    with session_scope(desk.url) as session:
        event = session.exec(select(CaseEvent).where(CaseEvent.event == "submit_statement_of_action")).one()
        assert event.on == date(2026, 12, 5)
    # A month may be typed as its name.
    assert read_date("6", "Dec", "2026", "the date") == read_date("6", "december", "2026", "the date") == date(2026, 12, 6)


def test_a_refused_letter_form_changes_nothing(desk):
    before = table_dump(desk.url)
    page = "/schools/100002/letters/new?kind=confirmation_of_concern"
    response = desk.post_form(page, "/schools/100002/letters", {"kind": "confirmation_of_concern",
                                                                "on": "2026-11-16", "discussed_on": "2026-11-02",
                                                                "step": "send"})
    assert response.status_code == 400
    assert error_summary(response.text) == "Concerns: this letter needs it"
    response = desk.post_form(page, "/schools/100002/letters/preview", {
        "kind": "confirmation_of_concern", "on": "2026-11-16", "discussed_on": "2026-11-20",
        "concerns": "Attendance", "next_steps-0-text": "Plan", "review_cadence": "each term"})
    assert response.status_code == 400
    assert error_summary(response.text) == "Confirmation of concern: discussed on is after the letter date"
    assert table_dump(desk.url) == before



def test_a_letter_form_with_a_forged_number_of_rows_shows_and_reads_at_most_its_limit(desk):
    from concerns.app.web.letterform import MAX_ROWS

    before = table_dump(desk.url)
    page = "/schools/100001/letters/new?kind=statement_of_action"
    for rows in ("100000", "-3", "x"):
        response = desk.post_form(page, "/schools/100001/letters/preview", {
            "kind": "statement_of_action", "on": "2026-11-16", "priorities-rows": rows,
            "priorities-0-actions-rows": rows, "add": "priorities"})
        assert response.status_code == 200
        shown = len(re.findall(r'id="f-priorities-\d+-issue"', response.text))
        assert 1 <= shown <= MAX_ROWS
        assert len(re.findall(r'id="f-priorities-0-actions-\d+-action"', response.text)) <= MAX_ROWS
    assert table_dump(desk.url) == before

# --- what officers do ----------------------------------------------------------------------------------


def test_an_event_is_recorded_with_the_signed_in_officer_as_actor(desk):
    response = _event(desk, {"event": "submit_statement_of_action", "on": "2026-11-16", "note": "Sent to HMCI",
                             "confidential": "yes"})
    assert response.status_code == 303
    with session_scope(desk.url) as session:
        event = session.exec(select(CaseEvent).where(CaseEvent.urn == "100001",
                                                     CaseEvent.event == "submit_statement_of_action")).one()
        assert (event.actor, event.note, event.confidential) == (OFFICER, "Sent to HMCI", True)
        soa = session.exec(select(Deadline).where(Deadline.urn == "100001",
                                                  Deadline.kind == "statement_of_action")).one()
        assert soa.status == "met"
    page = desk.client.get(response.headers["location"]).text
    assert "The event was recorded." in page and f"Recorded by {OFFICER}" in page


def test_the_school_page_offers_exactly_the_machines_allowed_events(desk, cli):
    shown = cli.json("case", "show", "100001", "--as-of", "2026-11-16")["cases"][0]["allowed_events"]
    page = desk.client.get(SCHOOL).text
    offered = sorted(set(__import__("re").findall(r'id="special_measures-event-(\w+)"', page)))
    assert offered == sorted(shown)
    assert page.count("<h1>") == 1 and 'href="#main-content"' in page


def test_the_register_filters_sorts_and_exports_csv(desk):
    page = desk.client.get("/register?pathway=la_concern").text
    assert "Beech Road Infants" in page and "Ash Tree Primary" not in page
    page = desk.client.get("/register?category=SM").text
    assert "Ash Tree Primary" in page and "Beech Road Infants" not in page
    page = desk.client.get("/register?sort=name&order=desc").text
    assert page.index("Beech Road Infants") < page.index("Ash Tree Primary")
    response = desk.client.get("/register.csv?sort=urn")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    # In words, dates in words, as the page shows them.
    assert [(r["URN"], r["Pathway"], r["Ofsted category"]) for r in rows] == [
        ("100001", "Special measures", "Special measures"),
        ("100002", "Local authority concern", "None (the authority's own concern)")]
    assert rows[0]["Next deadline"] == "Statement of action to Ofsted" and "Sam Adviser" in rows[0]["Officers"]
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]+ 2026", rows[0]["Next deadline due"])
    assert not re.search(r"\b[a-z]+_[a-z_]+\b|\b20\d\d-\d\d-\d\d\b", response.text)


def test_the_registers_next_deadline_is_never_one_already_past(desk, cli):
    # The statement of action is due on 18 November; on 25 November it is missed, not "next".
    later = Desk(desk.url, today=date(2026, 11, 25))
    assert later.sign_in().status_code == 303
    page = later.client.get("/register").text
    row = page.split('href="/schools/100001"', 1)[1].split("</tr>", 1)[0]
    due = re.findall(r"(\w+day \d{1,2} \w+ 20\d\d)", row)
    assert "missed" in row
    for shown in due:
        from datetime import datetime
        assert datetime.strptime(shown, "%A %d %B %Y").date() >= date(2026, 11, 25), row
    rows = list(csv.DictReader(io.StringIO(later.client.get("/register.csv").text)))
    assert rows[0]["Next deadline"] != "Statement of action to Ofsted"


def test_my_week_sorts_deadlines_by_urgency(desk):
    page = desk.client.get("/week").text
    due = page[page.index('id="due"'):page.index('id="decisions"')]
    assert "Ash Tree Primary" in due and "Statement of action" in due
    later = Desk(desk.url, today=date(2026, 11, 20))
    later.sign_in()
    page = later.client.get("/week").text
    overdue = page[page.index('id="overdue"'):page.index('id="due"')]
    assert "Ash Tree Primary" in overdue


def test_my_week_shows_ofsted_dates_as_expected_never_missed_or_escalated(desk, cli):
    # An older database: the check once marked Ash Tree's HMI monitoring window missed and escalated it
    # to the senior adviser. Ofsted's date is watched, not owed: it shows as passed, expected from Ofsted.
    from concerns.jobs import run_deadline_check
    from models import DeadlineNotice

    with session_scope(desk.url) as session:
        hmi = session.exec(select(Deadline).where(Deadline.urn == "100001", Deadline.kind == "hmi_monitoring")).one()
        hmi.due, hmi.status, hmi.missed_on, hmi.next_notice_on = TODAY, "missed", TODAY, None
        session.add(hmi)
        session.add(DeadlineNotice(key=f"deadline:{hmi.id}:escalated", deadline_id=hmi.id, step="escalated",
                                   for_date=TODAY, recipient_role="senior_adviser"))
    # The statement of action (senior adviser's, due 18 Nov) is missed and escalated for real.
    run_deadline_check(desk.url, date(2026, 11, 19), simulation=True)
    rc, _, err = add_desk_user(cli, "lee.link@testshire.example", "link_adviser", LA)
    assert rc == 0, err
    rc, _, err = add_desk_user(cli, "ann.assistant@testshire.example", "assistant_director", LA)
    assert rc == 0, err
    day = date(2026, 11, 20)
    pages = {}
    for email in (OFFICER, "lee.link@testshire.example", "ann.assistant@testshire.example"):
        officer = Desk(desk.url, today=day)
        assert officer.sign_in(email).status_code == 303
        pages[email] = officer.client.get("/week").text
    link = pages["lee.link@testshire.example"]
    assert "HMI monitoring" not in link[link.index('id="overdue"'):link.index('id="meetings"')]
    expected = link[link.index('id="expected"'):link.index('id="escalations"')]
    assert "Ash Tree Primary" in expected and "HMI monitoring" in expected and "passed" in expected
    senior = pages[OFFICER]
    assert "Nothing has been escalated to you." in senior[senior.index('id="escalations"'):]
    director = pages["ann.assistant@testshire.example"]
    escalated = director[director.index('id="escalations"'):]
    assert "Statement of action" in escalated and "HMI monitoring" not in escalated


def test_a_trusted_sign_on_header_is_ignored_unless_configured(authority):
    desk = Desk(authority)
    assert desk.client.get("/week", headers={"X-Remote-User": OFFICER}).status_code == 303
    trusted = Desk(authority, trusted_header="X-Remote-User")
    response = trusted.client.get("/week", headers={"X-Remote-User": OFFICER})
    assert response.status_code == 200 and "My week" in response.text
    # An unknown name from the proxy is nobody, even with an older session cookie in the browser.
    assert trusted.client.get("/week", headers={"X-Remote-User": "nobody@testshire.example"}).status_code == 303
    fresh = Desk(authority, trusted_header="X-Remote-User")
    assert fresh.client.get("/week", headers={"X-Remote-User": "nobody@testshire.example"}).status_code == 303


def test_my_week_lists_the_meetings_the_termly_review_scheduled(desk):
    from concerns.jobs.termly import run_termly_review

    run_termly_review(desk.url, TODAY)
    page = desk.client.get("/week").text
    meetings = page[page.index('id="meetings"'):page.index('id="expected"')]
    assert "Ash Tree Primary" in meetings and "No meetings scheduled this term." not in meetings
    # Beech Road's concern is only raised: it is confirmed in writing before progress meetings are owed, and
    # no meeting could be recorded on it yet, so the termly review books none.
    assert "Beech Road Infants" not in meetings


def test_every_page_has_one_h1_a_skip_link_and_a_label_for_every_field(desk):
    from html.parser import HTMLParser

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.h1, self.ids, self.labels, self.fields = 0, set(), set(), []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            self.h1 += tag == "h1"
            if "id" in a:
                self.ids.add(a["id"])
            if tag == "label":
                self.labels.add(a.get("for"))
            if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
                self.fields.append(a.get("id"))

    paths = ["/week", "/register", "/letters", "/categories", SCHOOL, "/schools/100002",
             "/schools/100002/letters/new?kind=confirmation_of_concern",
             "/schools/100001/letters/new?kind=statement_of_action", "/schools/999999"]
    for path in paths:
        page = Page()
        page.feed(desk.client.get(path).text)
        assert page.h1 == 1, path
        assert "main-content" in page.ids, path
        unlabelled = [f for f in page.fields if f is None or f not in page.labels]
        assert not unlabelled, f"{path}: fields without a label: {unlabelled}"
    login = Page()
    login.feed(Desk(desk.url).client.get("/login").text)
    assert login.h1 == 1 and set(login.fields) <= login.labels


# --- the authority's categories -------------------------------------------------------------------------


def test_the_categories_page_shows_each_proposal_with_its_reasons_and_sets_a_category_with_a_reason(desk):
    page = desk.client.get("/categories").text
    assert "Categories for 2026/27" in page and "Ash Tree Primary" in page and "Cedar Academy" not in page
    assert "It is in special measures." in page
    response = desk.post_form("/categories", "/categories/100001",
                              {"level": "inadequate", "reason": "Agreed at the panel on 12 November"})
    assert response.status_code == 303
    with session_scope(desk.url) as session:
        (row,) = session.exec(select(LaCategory).where(LaCategory.urn == "100001")).all()
        assert (row.level, row.decided_by, row.reason, row.source) == (
            "inadequate", OFFICER, "Agreed at the panel on 12 November", "officer")
    school = desk.client.get(SCHOOL).text
    assert "Category history" in school and "Agreed at the panel on 12 November" in school
    register = desk.client.get("/register?la_category=Inadequate+(causing+concern)").text
    assert "Ash Tree Primary" in register and "Beech Road Infants" not in register


def test_a_category_without_a_reason_or_at_an_unknown_level_is_refused_and_changes_nothing(desk):
    before = table_dump(desk.url)
    response = desk.post_form("/categories", "/categories/100001", {"level": "inadequate", "reason": " "})
    assert response.status_code == 400
    assert error_summary(response.text) == ("Ash Tree Primary: give the reason for the category; it goes in the "
                                            "school's history.")
    response = desk.post_form("/categories", "/categories/100001", {"level": "purple", "reason": "Because"})
    assert response.status_code == 400 and "level 'purple' is not in Testshire's categorisation scheme" in \
        error_summary(response.text)
    response = desk.post_form("/categories", "/categories/200001", {"level": "good", "reason": "Because"})
    assert response.status_code == 404
    assert table_dump(desk.url) == before


def test_a_role_that_does_not_set_categories_sees_them_but_cannot_set_one(authority, cli):
    add_desk_user(cli, "link@testshire.example", "link_adviser", LA)
    desk = Desk(authority)
    desk.sign_in(email="link@testshire.example")
    page = desk.client.get("/categories").text
    assert "Ash Tree Primary" in page and "Set the category" not in page
    before = table_dump(authority)
    response = desk.post_form("/categories", "/categories/100001", {"level": "good", "reason": "Because"})
    assert response.status_code == 400 and "does not set the authority's categories" in error_summary(response.text)
    assert table_dump(authority) == before
