"""PNG screenshots of each page of the desk, from headless Chromium, for the README.

    .venv/bin/python -m tests.web.make_screenshots docs/screenshots

Builds the demo authority in a temporary folder, runs the deadline check (missed, escalated) on the
demo's dates, signs in as the demo senior adviser, and visits every page as of
Monday 23 November 2026.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import date
from pathlib import Path

AS_OF = date(2026, 11, 23)
EMAIL, PASSWORD = "priya.shah@demoshire.example", "demo-desk-password"


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="desk-shots-"))
    os.environ.update(CONCERNS_LETTERS=str(work / "letters"), CONCERNS_OUTBOX=str(work / "outbox"),
                      CONCERNS_REPORTS=str(work / "reports"))
    os.environ.pop("CONCERNS_SMTP_URL", None)
    db = f"sqlite:///{work / 'concerns.db'}"

    from playwright.sync_api import sync_playwright

    from concerns.app.demo import load_demo
    from concerns.app.web.accounts import add_officer
    from concerns.jobs.deadline_check import run_deadline_check
    from concerns.store.db import session_scope, upgrade
    from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, LiveDesk

    upgrade(db)
    with session_scope(db) as session:
        load_demo(session)
        add_officer(session, EMAIL, role="senior_adviser", la="Demoshire", password=PASSWORD)
    for day in (date(2026, 11, 19), AS_OF):
        run_deadline_check(db, day)

    with LiveDesk(db, today=AS_OF) as live, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--lang=en-GB"], headless=True,
                                    env={**os.environ, "LANG": "en_GB.UTF-8", "LANGUAGE": "en_GB"})
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
        page.set_default_timeout(15000)

        def shot(name: str, full: bool = True) -> None:
            page.screenshot(path=str(out / f"{name}.png"), full_page=full)
            print(out / f"{name}.png")

        page.goto(f"{live.base}/login")
        shot("01-sign-in", full=False)
        page.get_by_label("E-mail address").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live.base}/week")
        shot("02-my-week")
        page.goto(f"{live.base}/register")
        shot("03-register")
        page.goto(f"{live.base}/schools/990301")
        shot("04-school")
        # A refusal: the machine's reason in one line at the top, nothing changed.
        form = page.locator("form.event-form", has=page.locator("input[name=case][value=special_measures]"))
        form.get_by_label("Statement of action submitted").check()
        form.get_by_label("Day").fill("1")
        form.get_by_label("Month").fill("11")
        form.get_by_label("Year").fill("2026")
        form.get_by_role("button", name="Record the event").click()
        page.wait_for_load_state()
        shot("05-school-refusal", full=False)
        page.goto(f"{live.base}/schools/990104/letters/new?kind=warning_letter")
        page.get_by_label("Concerns", exact=True).fill(
            "Attendance has fallen for three terms running\nThe governing body has not acted on the review")
        page.get_by_label("Actions").fill("Agree an attendance plan with the local authority | 2026-12-11\n"
                                          "Appoint a governor to lead on attendance | 2027-01-15")
        page.get_by_label("Complete by").fill("2027-02-12")
        shot("06-letter-form")
        page.get_by_role("button", name="Preview the letter").click()
        page.wait_for_load_state()
        shot("07-letter-preview")
        page.get_by_role("button", name="Save and send by e-mail").click()
        page.wait_for_url("**/letters/*")
        page.wait_for_load_state()
        # Chromium paints a frame only once it has been on screen: show it, then take the whole page.
        page.locator("iframe.letter-frame").scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        shot("08-letter-sent")
        page.goto(f"{live.base}/letters")
        shot("09-letters")
        # The authority's categories: a proposal set differently, with a reason.
        page.goto(f"{live.base}/categories")
        row = page.locator("#school-990102")
        row.get_by_label("Category for").select_option("inadequate")
        row.get_by_label("Reason").fill("Second inspection below good; the head has resigned")
        row.get_by_role("button", name="Set the category").click()
        page.wait_for_load_state()
        shot("10-categories", full=False)
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
