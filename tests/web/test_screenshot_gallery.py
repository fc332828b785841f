"""Every page the desk serves has a screenshot at 1280 px and at 375 px, on disk and in docs/desk.md's gallery:
a new page without one fails here (remake them with tests/web/make_screenshots.py). No browser."""

from __future__ import annotations

import re
from pathlib import Path

from concerns.app.web import oidc
from concerns.app.web.app import create_app
from tests.web.make_screenshots import GALLERY_END, GALLERY_START, PAGES, WIDTHS, gallery, shot_files

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
DESK_MD = ROOT / "docs" / "desk.md"
README = ROOT / "README.md"

# The routes that show no page of their own, and why.
NOT_PAGES = {
    "/": "a redirect to My week",
    "/register.csv": "the register as a CSV file",
    "/schools/{urn}/letters/{letter_id}/file": "the letter's own file, as written",
    oidc.START_PATH: "a redirect to the council's sign-in",
    "/categories/{urn}": "a form's post: back to Categories (shot), or Categories with the refusal",
    "/schools/{urn}/letters": "a form's post: on to the letter page (shot), or the letter form with the refusal",
    "/schools/{urn}/letters/{letter_id}/send": "a form's post: back to the letter page (shot) or it with the refusal",
    "/desk.css": "the style sheet",
    "/favicon.ico": "no icon",
}


def _routes() -> dict[str, set[str]]:
    app = create_app("sqlite://", today=None)
    return {route.path: set(route.methods or ()) for route in app.routes}


def _gallery_text() -> str:
    text = DESK_MD.read_text()
    start, end = text.index(GALLERY_START), text.index(GALLERY_END)
    return text[start:end + len(GALLERY_END)]


def test_every_page_route_of_the_desk_has_a_screenshot_entry():
    routes = _routes()
    shown = {(route, method) for _, _, route, method in PAGES}
    missing = [path for path, methods in routes.items() if path not in NOT_PAGES
               and not any((path, method) in shown for method in methods)]
    assert not missing, f"pages with no screenshot in tests/web/make_screenshots.py PAGES: {missing}"
    stale = [(route, method) for route, method in shown if method not in routes.get(route, set())]
    assert not stale, f"PAGES names routes the desk does not serve: {stale}"
    assert not set(NOT_PAGES) - set(routes), f"NOT_PAGES names routes the desk does not serve: " \
                                              f"{set(NOT_PAGES) - set(routes)}"


def test_every_screenshot_is_on_disk_at_both_widths_and_in_the_gallery():
    assert WIDTHS == (1280, 375)
    names = [name for name, *_ in PAGES]
    assert len(set(names)) == len(names) and all(re.fullmatch(r"\d\d-[a-z0-9-]+", n) for n in names), names
    table = _gallery_text()
    for name in names:
        for file in shot_files(name):
            assert (SHOTS / file).is_file(), f"docs/screenshots/{file} is missing: run tests/web/make_screenshots.py"
            assert (SHOTS / file).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", file
            assert f"(screenshots/{file})" in table, f"docs/desk.md's gallery does not link {file}"
    assert table == gallery(), "docs/desk.md's gallery is not the one make_screenshots.py writes"


def test_no_desk_screenshot_is_left_over_from_an_earlier_page():
    numbered = {p.name for p in SHOTS.glob("[0-9][0-9]-*.png")}
    expected = {file for name, *_ in PAGES for file in shot_files(name)}
    assert numbered == expected, f"left over: {sorted(numbered - expected)}"


def test_the_readme_links_the_gallery():
    assert "(docs/desk.md#screenshots)" in README.read_text()
