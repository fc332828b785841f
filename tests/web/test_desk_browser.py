"""End to end in headless Chromium: an officer signs in, sees the week, records the statement of action,
sees the deadline met, then drafts, previews and sends a letter. Deselect with -m "not browser"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import select

from concerns.store.db import session_scope
from models import CaseEvent, Letter, LetterForm, Notification
from tests.web.conftest import OFFICER, PASSWORD, LiveDesk

pytestmark = pytest.mark.browser


def test_an_officer_records_the_statement_of_action_and_sends_a_letter(authority, chromium):
    with LiveDesk(authority) as live:
        context = chromium.new_context()
        page = context.new_page()
        page.set_default_timeout(15000)

        # Sign in: any page sends a stranger to the sign-in form first.
        page.goto(f"{live.base}/week")
        assert page.url.startswith(f"{live.base}/login")
        page.get_by_label("E-mail address").fill(OFFICER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live.base}/week")
        cookie = next(c for c in context.cookies() if c["name"] == "desk_session")
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"

        # My week: the statement of action is due this week.
        assert page.get_by_role("heading", level=1).inner_text() == "My week"
        this_week = page.locator("section", has=page.locator("#due"))
        assert "Ash Tree Primary" in this_week.inner_text()
        assert "Statement of action" in this_week.inner_text()

        # The school: record the statement of action as submitted.
        this_week.get_by_role("link", name="Ash Tree Primary", exact=True).click()
        page.wait_for_url(f"{live.base}/schools/100001")
        form = page.locator("form.event-form", has=page.locator("input[name=case][value=special_measures]"))
        form.get_by_label("Statement of action submitted").check()
        form.get_by_label("Day").fill("16")
        form.get_by_label("Month").fill("11")
        form.get_by_label("Year").fill("2026")
        form.get_by_label("Note (optional)").fill("Sent to HMCI by secure e-mail")
        form.get_by_role("button", name="Record the event").click()
        page.wait_for_url(f"{live.base}/schools/100001?done=recorded#recorded")
        assert page.get_by_role("status").inner_text() == "The event was recorded."
        row = page.locator("tr", has_text="Statement of action").first
        assert "met on monday 16 november 2026" in row.inner_text().lower()
        assert f"Recorded by {OFFICER}" in page.locator("#timeline ~ ol").inner_text()

        # My week no longer lists it.
        page.get_by_role("link", name="My week").click()
        assert "Ash Tree Primary" not in page.locator("section", has=page.locator("#due")).inner_text()

        # A letter from the LA-concern case: the date of the discussion comes from the case.
        page.goto(f"{live.base}/schools/100002")
        page.get_by_label("Draft a letter").select_option("confirmation_of_concern")
        page.get_by_role("button", name="Start the letter").click()
        discussed = page.locator("fieldset", has=page.locator("legend", has_text="Discussed on"))
        assert [discussed.get_by_label(p).input_value() for p in ("Day", "Month", "Year")] == ["2", "11", "2026"]
        page.get_by_label("Concerns", exact=True).fill("Attendance has fallen for three terms\nGovernors lack data")
        # Next steps as rows, each with its own date; "Add another item" brings one more row, without scripts.
        page.locator("#f-next_steps-0-text").fill("Agree an attendance plan")
        for field, value in (("", "4"), ("-month", "12"), ("-year", "2026")):
            page.locator(f"#f-next_steps-0-by{field}").fill(value)
        page.get_by_role("button", name="Add another item").click()
        page.locator("#f-next_steps-3-text").fill("Termly review meetings")
        assert page.locator("#f-next_steps-0-text").input_value() == "Agree an attendance plan"
        page.get_by_label("Review cadence").fill("each term")
        page.get_by_role("button", name="Preview the letter").click()
        assert page.get_by_role("heading", level=1).inner_text().startswith("Preview:")
        frame = page.frame_locator("iframe.letter-frame")
        assert "Attendance has fallen for three terms" in frame.locator("body").inner_text()
        assert "4 December 2026" in frame.locator("body").inner_text()
        page.get_by_role("button", name="Save and send by e-mail").click()
        page.wait_for_url(re.compile(r"/schools/100002/letters/\d+\?done=sent"))
        assert "e-mail(s) were queued" in page.get_by_role("status").inner_text()
        assert "head@beech.sch.example" in page.locator("table").inner_text()
        context.close()

    with session_scope(authority) as session:
        letter = session.exec(select(Letter).where(Letter.urn == "100002")).one()
        assert letter.kind == "confirmation_of_concern"
        form = session.get(LetterForm, letter.id)
        assert form.drafted_by == OFFICER
        # Newlines survive the preview's hidden fields (browsers send a textarea's lines as CRLF).
        assert form.fields["concerns"][0].splitlines() == ["Attendance has fallen for three terms",
                                                           "Governors lack data"]
        assert "Attendance has fallen for three terms" in Path(letter.path).read_text()
        mails = session.exec(select(Notification).where(Notification.key.like(f"letter:{letter.key}:%"))).all()
        assert {m.recipient_email for m in mails} >= {"head@beech.sch.example", "chair@beech.sch.example"}
        event = session.exec(select(CaseEvent).where(CaseEvent.event == "submit_statement_of_action")).one()
        assert event.actor == OFFICER
