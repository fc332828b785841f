"""PNG screenshots of every page of the desk, from headless Chromium, at 1280 px and 375 px wide, full page:

    .venv/bin/python -m tests.web.make_screenshots docs/screenshots

Builds the demo authority in a temporary folder, runs the deadline check (missed, escalated) on the
demo's dates, signs in as the demo senior adviser (and, for the page only they see, a director of Leicester,
whose policy quotes its written procedure; and an officer of a council that signs in through its own provider), and visits every page as of Monday 23 November
2026, saving `NN-name-1280.png` and `NN-name-375.png` for each of PAGES. Given docs/screenshots, it also
rewrites the gallery in docs/desk.md. tests/web/test_screenshot_gallery.py checks that every page the desk
serves is in PAGES, in the gallery and on disk.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from datetime import date
from pathlib import Path

AS_OF = date(2026, 11, 23)
EMAIL, PASSWORD = "priya.shah@demoshire.example", "demo-desk-password"
# Demoshire's policy quotes no written procedure, so its director's page is empty: Leicester's says what its
# procedure states, and how far the law has moved since.
DIRECTOR = "director@leicester.example"
COUNCIL_OFFICER = "council.officer@demoshire.example"
WIDTHS = (1280, 375)
HEIGHT = 900

# Every page the desk shows, in the order of the walk: (file name, what the gallery calls it, its route in
# concerns/app/web/app.py create_app, the method that shows it).
PAGES: list[tuple[str, str, str, str]] = [
    ("01-sign-in", "Sign-in", "/login", "GET"),
    ("02-sign-in-refused", "Sign-in refused (wrong password)", "/login", "POST"),
    ("03-my-week", "My week", "/week", "GET"),
    ("04-register", "Register", "/register", "GET"),
    ("05-register-filtered", "Register filtered (special measures)", "/register", "GET"),
    ("06-school", "School", "/schools/{urn}", "GET"),
    ("07-school-refusal", "School with a refusal", "/schools/{urn}/events", "POST"),
    ("08-event-recorded", "Event recorded (confirmation)", "/schools/{urn}", "GET"),
    ("09-letter-form", "Letter form", "/schools/{urn}/letters/new", "GET"),
    ("10-letter-preview", "Letter preview", "/schools/{urn}/letters/preview", "POST"),
    ("11-letter-sent", "Letter page (sent)", "/schools/{urn}/letters/{letter_id}", "GET"),
    ("12-letters", "Letters", "/letters", "GET"),
    ("13-categories", "Categories", "/categories", "GET"),
    ("14-category-set", "Category set (confirmation)", "/categories", "GET"),
    ("15-not-for-your-role", "Our procedure refused to a senior adviser", "/procedure", "GET"),
    ("16-not-found", "Page not found (404)", "/schools/{urn}", "GET"),
    ("17-procedure", "Our procedure (a director at Leicester)", "/procedure", "GET"),
    ("18-council-sign-in", "Sign-in with the council's account", "/login", "GET"),
    ("19-council-sign-in-refused", "Council sign-in refused", "/login/oidc/callback", "GET"),
    ("20-signed-out", "Signed out (council sign-in)", "/logout", "POST"),
]
GALLERY_START, GALLERY_END = "<!-- gallery: made by tests/web/make_screenshots.py -->", "<!-- end of gallery -->"


def shot_files(name: str) -> list[str]:
    return [f"{name}-{width}.png" for width in WIDTHS]


def gallery() -> str:
    lines = [GALLERY_START, "| page | 1280 px | 375 px |", "|---|---|---|"]
    for name, title, _, _ in PAGES:
        wide, narrow = shot_files(name)
        lines.append(f"| {title} | [{wide}](screenshots/{wide}) | [{narrow}](screenshots/{narrow}) |")
    return "\n".join([*lines, GALLERY_END])


def write_gallery(desk_md: Path) -> None:
    text = desk_md.read_text()
    pattern = re.compile(re.escape(GALLERY_START) + ".*?" + re.escape(GALLERY_END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{desk_md} has no gallery between {GALLERY_START} and {GALLERY_END}")
    desk_md.write_text(pattern.sub(lambda _: gallery(), text))


class Shooter:
    """Saves the page at each width; a letter's frame is painted only once on screen, so it is shown first."""

    def __init__(self, out: Path):
        self.out = out
        self.taken: list[str] = []

    def __call__(self, page, name: str) -> None:
        assert name in {p[0] for p in PAGES}, name
        for width, file in zip(WIDTHS, shot_files(name), strict=True):
            page.set_viewport_size({"width": width, "height": HEIGHT})
            frames = page.locator("iframe.letter-frame")
            if frames.count():
                frames.first.scroll_into_view_if_needed()
                page.wait_for_timeout(500)
            page.screenshot(path=str(self.out / file), full_page=True)
            print(self.out / file)
        page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})
        # Back to the top, as the page opened: a click after the frame was scrolled to can miss its button.
        page.evaluate("window.scrollTo(0, 0)")
        self.taken.append(name)


def follow(page, target) -> None:
    """Click a link or a form's button and wait for the document it leads to (a click does not wait for it)."""
    with page.expect_navigation():
        target.click()


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/week")


def officer_pages(browser, live, shot) -> None:
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": HEIGHT}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(60000)  # the machine may be busy: saving a letter writes it and its mails
    base = live.base
    page.goto(f"{base}/login")
    shot(page, "01-sign-in")
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password").fill("not the password")
    follow(page, page.get_by_role("button", name="Sign in"))
    shot(page, "02-sign-in-refused")
    sign_in(page, base, EMAIL)
    shot(page, "03-my-week")
    follow(page, page.get_by_role("link", name="Register", exact=True).first)
    shot(page, "04-register")
    page.get_by_label("Pathway").select_option(label="Special measures")
    follow(page, page.get_by_role("button", name="Apply filters"))
    shot(page, "05-register-filtered")
    page.goto(f"{base}/schools/990301")
    shot(page, "06-school")
    # A refusal: the machine's reason in one line at the top, nothing changed.
    form = page.locator("form").filter(has=page.get_by_role("radio", name="Statement of action submitted"))
    form.get_by_role("radio", name="Statement of action submitted").check()
    form.get_by_label("Day").first.fill("1")
    form.get_by_label("Month").first.fill("11")
    form.get_by_label("Year").first.fill("2026")
    follow(page, form.get_by_role("button", name="Record the event"))
    shot(page, "07-school-refusal")
    form = page.locator("form").filter(has=page.get_by_role("radio", name="Statement of action submitted"))
    form.get_by_role("radio", name="Statement of action submitted").check()
    form.get_by_label("Day").first.fill("23")
    form.get_by_label("Month").first.fill("11")
    form.get_by_label("Year").first.fill("2026")
    form.get_by_label("Note (optional)").fill("Sent to HMCI by secure e-mail")
    follow(page, form.get_by_role("button", name="Record the event"))
    shot(page, "08-event-recorded")
    page.goto(f"{base}/schools/990104/letters/new?kind=warning_letter")
    page.get_by_label("Concerns", exact=True).fill(
        "Attendance has fallen for three terms running\nThe governing body has not acted on the review")
    # The actions are rows of fields (Item 1, Item 2, ...): what, and the date it is due by.
    for number, (what, due) in enumerate((("Agree an attendance plan with the local authority", ("11", "12", "2026")),
                                          ("Appoint a governor to lead on attendance", ("15", "1", "2027"))), 1):
        item = page.get_by_role("group", name=f"Item {number}", exact=True)
        item.get_by_label("What", exact=True).fill(what)
        due_by = item.get_by_role("group", name="Due by (optional)")
        for part, value in zip(("Day", "Month", "Year"), due, strict=True):
            due_by.get_by_label(part, exact=True).fill(value)
    complete_by = page.get_by_label("Complete by")
    if complete_by.count() and complete_by.first.get_attribute("type") == "date":
        complete_by.first.fill("2027-02-12")
    else:  # Day, Month and Year fields under the legend
        group = page.get_by_role("group", name="Complete by")
        for part, value in (("Day", "12"), ("Month", "2"), ("Year", "2027")):
            group.get_by_label(part).fill(value)
    shot(page, "09-letter-form")
    follow(page, page.get_by_role("button", name="Preview the letter"))
    shot(page, "10-letter-preview")
    follow(page, page.get_by_role("button", name="Save and send by e-mail"))
    page.wait_for_url(re.compile(r"/letters/\d+\?done=sent"))
    shot(page, "11-letter-sent")
    follow(page, page.get_by_role("link", name="Letters", exact=True).first)
    shot(page, "12-letters")
    follow(page, page.get_by_role("link", name="Categories", exact=True).first)
    shot(page, "13-categories")
    # The authority's categories: a proposal set differently, with a reason.
    choice = page.get_by_label("Category for St Mary's CE Primary School")
    row = page.get_by_role("row").filter(has=choice)
    choice.select_option(label="Inadequate (causing concern)")
    row.get_by_label("Reason").fill("Second inspection below good; the head has resigned")
    follow(page, row.get_by_role("button", name="Set the category"))
    shot(page, "14-category-set")
    page.goto(f"{base}/procedure")
    shot(page, "15-not-for-your-role")
    page.goto(f"{base}/schools/999999")
    shot(page, "16-not-found")
    context.close()

    context = browser.new_context(viewport={"width": WIDTHS[0], "height": HEIGHT}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(60000)  # the machine may be busy: saving a letter writes it and its mails
    sign_in(page, base, DIRECTOR)
    follow(page, page.get_by_role("link", name="Our procedure").first)
    shot(page, "17-procedure")
    context.close()


def council_pages(browser, db: str, shot) -> None:
    """A desk whose council signs officers in (a real OpenID provider on loopback, as tests/web/test_oidc.py
    runs it): its sign-in page, a refused sign-in, and the page that signs out of the provider too."""
    import logging

    import httpx
    import oidc_provider_mock
    import werkzeug.serving

    from concerns.app.web import oidc
    from concerns.app.web.app import create_app
    from tests.web.conftest import LiveDesk

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not every request the provider answers
    server = werkzeug.serving.make_server("127.0.0.1", 0, oidc_provider_mock.app(require_nonce=True), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    provider = f"http://127.0.0.1:{server.server_port}"
    live = LiveDesk(db, today=AS_OF)
    # The provider sends officers back to this desk's own address, known only once its port is.
    live.server.config.app = create_app(db, today=lambda: AS_OF, oidc_settings=oidc.OidcSettings(
        issuer=provider, client_id="concerns-desk", client_secret="screenshot-secret",
        redirect_url=f"{live.base}{oidc.CALLBACK_PATH}", provider_name="Demoshire County Council",
        admin_contact="the schools team's systems officer"))
    try:
        with live:
            for sub, claims in ((COUNCIL_OFFICER, {"email": COUNCIL_OFFICER, "email_verified": True}),
                                ("stranger@demoshire.example", {"email": "stranger@demoshire.example",
                                                                "email_verified": True})):
                response = httpx.put(f"{provider}/users/{sub}", json={"sub": sub, **claims})
                response.raise_for_status()
            context = browser.new_context(viewport={"width": WIDTHS[0], "height": HEIGHT}, locale="en-GB")
            page = context.new_page()
            page.set_default_timeout(60000)  # the machine may be busy: saving a letter writes it and its mails

            def through_provider(sub: str) -> None:
                page.goto(f"{live.base}/login")
                follow(page, page.get_by_role("link", name="Sign in with Demoshire County Council"))
                page.get_by_role("textbox").first.fill(sub)
                follow(page, page.get_by_role("button").first)

            page.goto(f"{live.base}/login")
            shot(page, "18-council-sign-in")
            through_provider("stranger@demoshire.example")
            shot(page, "19-council-sign-in-refused")
            through_provider(COUNCIL_OFFICER)
            page.wait_for_url(f"{live.base}/week")
            # The signed-out page goes on to the provider's sign-out by itself; answered "no content" here, the
            # browser stays on the desk's page long enough to be seen.
            page.route(re.compile(re.escape(provider) + r"/.*(logout|end_session).*"),
                       lambda route: route.fulfill(status=204))
            follow(page, page.get_by_role("button", name="Sign out"))
            page.get_by_role("heading", name="You have signed out of the desk").wait_for()
            shot(page, "20-signed-out")
            context.close()
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


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
        add_officer(session, DIRECTOR, role="corporate_director", la="Leicester", password=PASSWORD)
        add_officer(session, COUNCIL_OFFICER, role="senior_adviser", la="Demoshire", password=PASSWORD)
    for day in (date(2026, 11, 19), AS_OF):
        run_deadline_check(db, day)

    shot = Shooter(out)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--lang=en-GB"], headless=True,
                                    env={**os.environ, "LANG": "en_GB.UTF-8", "LANGUAGE": "en_GB"})
        with LiveDesk(db, today=AS_OF) as live:
            officer_pages(browser, live, shot)
        council_pages(browser, db, shot)
        browser.close()
    missing = [name for name, *_ in PAGES if name not in shot.taken]
    if missing:
        raise SystemExit(f"pages not taken: {', '.join(missing)}")
    desk_md = out.parent / "desk.md"
    if desk_md.exists():
        write_gallery(desk_md)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
