"""Feedback in sight: the message after an action sits where the officer is and says what happened."""

from __future__ import annotations

import re
from datetime import date

from sqlmodel import select

from concerns.store.db import session_scope
from models import Deadline
from tests.web.conftest import Desk

SCHOOL = "/schools/100001"


def _record(desk: Desk, day: date):
    return desk.post_form(SCHOOL, f"{SCHOOL}/events", {
        "case": "special_measures", "event": "submit_statement_of_action", "note": "",
        "on_day": str(day.day), "on_month": str(day.month), "on_year": str(day.year)})


def test_after_recording_the_message_is_beside_the_timeline_the_officer_lands_on(desk):
    response = _record(desk, date(2026, 11, 16))
    assert response.status_code == 303 and response.headers["location"].endswith("#recorded")
    page = desk.client.get(response.headers["location"]).text
    assert page.count("The event was recorded.") == 1
    # Under the timeline's heading, where the browser scrolls to, not at the top of the page.
    assert page.index('id="timeline"') < page.index('id="recorded"') < page.index("The event was recorded.")


def test_a_deadline_met_late_says_how_many_days_late(authority):
    with session_scope(authority) as session:
        due = session.exec(select(Deadline).where(Deadline.urn == "100001",
                                                  Deadline.kind == "statement_of_action")).one().due
    late = date.fromordinal(due.toordinal() + 4)
    desk = Desk(authority, today=late)
    assert desk.sign_in().status_code == 303
    assert _record(desk, late).status_code == 303
    page = desk.client.get(SCHOOL).text
    assert re.search(r"met 4 days late", page)
    on_time = Desk(authority, today=due)
    assert on_time.sign_in().status_code == 303
    assert "days late" not in on_time.client.get("/schools/100002").text


def test_setting_a_category_names_the_school_and_says_whether_a_letter_was_written(desk):
    response = desk.post_form("/categories", "/categories/100001",
                              {"level": "inadequate", "reason": "Agreed at the panel on 12 November"})
    assert response.status_code == 303
    page = desk.client.get(response.headers["location"]).text
    row = page.split('id="school-100001"', 1)[1].split("</tr>", 1)[0]
    assert "The category of Ash Tree Primary was recorded." in row
    assert ("A letter to the headteacher and chair was written" in row
            or "No letter was written: the level is the same as before." in row)
    assert "URN 100001 was recorded" not in page
    # The same level again: no letter, and it says so.
    again = desk.post_form("/categories", "/categories/100001", {"level": "inadequate", "reason": "Confirmed"})
    row = desk.client.get(again.headers["location"]).text.split('id="school-100001"', 1)[1].split("</tr>", 1)[0]
    assert "No letter was written: the level is the same as before." in row


def test_each_deadline_on_my_week_is_one_click_from_the_form_that_closes_it(desk):
    week = desk.client.get("/week").text
    links = set(re.findall(r'href="(/schools/\d+\?[^"#]*)#([a-z_]+-event)"', week))
    assert ("/schools/100001?event=submit_statement_of_action&amp;case=special_measures",
            "special_measures-event") in links
    for school, anchor in links:
        page = desk.client.get(school.replace("&amp;", "&")).text
        assert f'id="{anchor}"' in page and "Record the event" in page.split(f'id="{anchor}"', 1)[1]
