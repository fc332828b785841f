"""On a phone (375 px wide) no page of the desk scrolls sideways, and axe-core finds no accessibility
violation on any page: the demo authority, every page, in headless Chromium. Deselect with -m "not browser"."""

from __future__ import annotations

import re
from datetime import date

import pytest

from concerns.app.demo_term import TERM
from concerns.casework import views
from concerns.store.db import session_scope
from tests.web.conftest import LiveDesk, demo_desk_database

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "priya.shah@demoshire.example", "demo-desk-password"
PHONE = 375


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phone-demo")
    with pytest.MonkeyPatch.context() as mp:
        url = demo_desk_database(folder, mp, {EMAIL: "director"}, PASSWORD)
        yield url, mp


def desk_pages(url: str, today: date) -> list[str]:
    pages = ["/week", "/register", "/categories", "/letters", "/procedure"]
    with session_scope(url) as session:
        pages += [f"/schools/{r['urn']}" for r in views.register(session, today, la="Demoshire")]
    return pages


def _walk(live, page, url: str, today: date, check) -> set[str]:
    """Sign in, then `check(path)` on the sign-in page, every desk page, and letter pages and forms."""
    page.goto(f"{live.base}/login")
    check("/login")
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live.base}/week")
    seen = set()
    for path in desk_pages(url, today):
        page.goto(f"{live.base}{path}")
        check(path)
        links = re.findall(r'href="(/schools/\d+/letters/\d+)"', page.content())[:2]
        kinds = re.findall(r'<option value="([a-z_]+)"', page.content().split('name="kind"', 1)[-1])[:1]
        links += [f"{path}/letters/new?kind={k}" for k in kinds if path.startswith("/schools/")]
        for link in links:
            if link not in seen:
                seen.add(link)
                page.goto(f"{live.base}{link}")
                check(link)
    return seen


def test_no_desk_page_has_an_accessibility_violation_axe_finds(demo_db, chromium):
    from axe_playwright_python.sync_playwright import Axe

    url, _ = demo_db
    today = date.fromisoformat(TERM[-1][0])
    axe = Axe()
    with LiveDesk(url, today=today) as live:
        page = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(15000)
        problems = []

        def check(path: str) -> None:
            results = axe.run(page)
            for v in results.response["violations"]:
                targets = [", ".join(map(str, n["target"])) for n in v["nodes"]][:3]
                problems.append(f"{path}: {v['id']} ({v['impact']}): {v['help']} at {targets}")

        seen = _walk(live, page, url, today, check)
        assert any("/letters/new" in s for s in seen) and any(re.search(r"/letters/\d+$", s) for s in seen)
        assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} in all)"


def test_no_page_scrolls_sideways_on_a_phone(demo_db, chromium):
    url, _ = demo_db
    today = date.fromisoformat(TERM[-1][0])
    with LiveDesk(url, today=today) as live:
        context = chromium.new_context(viewport={"width": PHONE, "height": 800})
        page = context.new_page()
        page.set_default_timeout(15000)
        wide = []

        def measure(path: str) -> None:
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE:
                wide.append(f"{path}: {width} px")

        seen = _walk(live, page, url, today, measure)
        assert seen, "no letter page was measured"
        assert not wide, "pages wider than a phone:\n" + "\n".join(wide)
