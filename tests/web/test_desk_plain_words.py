"""Every page of the desk, and every refusal it shows, is read by officers: no internal key, code, ISO
date or command in it (the scan tests/test_plain_words.py runs over the mails, run over the desk).

The demo authority is run through its term (as `./run demo` does, without Prefect) and the desk opened
on the demo's last day, as `./run demo` tells officers to open it."""

from __future__ import annotations

import re

import pytest

from concerns.app.demo_term import TERM
from concerns.casework import views
from concerns.store.db import session_scope
from tests.test_plain_words import findings, visible_text
from tests.web.conftest import Desk, demo_desk_database, error_summary

EMAIL, DIRECTOR, PASSWORD = "priya.shah@demoshire.example", "dana.director@demoshire.example", "demo-desk-password"
DEMO_TODAY = TERM[-1][0]


@pytest.fixture(scope="module")
def demo_desk(tmp_path_factory):
    from datetime import date

    folder = tmp_path_factory.mktemp("desk-demo")
    with pytest.MonkeyPatch.context() as mp:
        url = demo_desk_database(folder, mp, {EMAIL: "senior_adviser", DIRECTOR: "director"}, PASSWORD)
        today = date.fromisoformat(DEMO_TODAY)
        yield url, today, Desk(url, today=today), Desk(url, today=today)


def _signed_in(desk: Desk, email: str) -> Desk:
    if "desk_session" not in str(desk.client.cookies) and not desk.client.cookies:
        assert desk.sign_in(email, PASSWORD).status_code == 303
    return desk


# What the scan read, for the line in the test log (tests/conftest.py): each page, letter, letter form and
# refusal message, so the log says what "no finding" covers.
SCANNED: dict[str, list[str]] = {"pages": [], "letters": [], "letter forms": [], "refusal messages": []}


def _scan(where: str, html: str, kind: str = "pages") -> list[str]:
    SCANNED[kind].append(where)
    body = html.split("<body>", 1)[-1]
    return findings(where, visible_text(body))


def summary_line() -> str | None:
    if not any(SCANNED.values()):
        return None
    pages = SCANNED["pages"]
    schools = [p for p in pages if p.startswith("/schools/")]
    named = ", ".join(p for p in pages if not p.startswith("/schools/"))
    return (f"plain-words scan of the desk read {len(pages)} pages ({named} and {len(schools)} school pages), "
            f"{len(SCANNED['letters'])} letters, {len(SCANNED['letter forms'])} letter forms and "
            f"{len(SCANNED['refusal messages'])} refusal messages")


def _pages(url, today) -> list[str]:
    pages = ["/week", "/register", "/categories", "/letters"]
    with session_scope(url) as session:
        urns = [r["urn"] for r in views.register(session, today, la="Demoshire")]
    for urn in urns:
        pages.append(f"/schools/{urn}")
    return pages


def test_no_desk_page_on_the_demo_carries_an_internal_word_code_iso_date_or_command(demo_desk):
    url, today, officer, director = demo_desk
    problems = _scan("/login", Desk(url, today=today).client.get("/login").text)
    _signed_in(officer, EMAIL)
    seen = set()
    for path in _pages(url, today):
        page = officer.client.get(path)
        assert page.status_code == 200, path
        problems += _scan(path, page.text)
        # Every letter on the school page.
        for link in re.findall(r'href="(/schools/\d+/letters/\d+)"', page.text):
            if link not in seen:
                seen.add(link)
                shown = officer.client.get(link)
                assert shown.status_code == 200, link
                problems += _scan(link, shown.text, "letters")
    _signed_in(director, DIRECTOR)
    problems += _scan("/procedure", director.client.get("/procedure").text)
    assert seen, "the demo's school pages link no letter"
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} in all)"


def test_no_refusal_the_desk_shows_carries_an_internal_word_code_iso_date_or_command(demo_desk):
    url, today, officer, _ = demo_desk
    _signed_in(officer, EMAIL)
    problems, refusals = [], 0
    with session_scope(url) as session:
        docs = [views.case_view(session, r["urn"], today) for r in views.register(session, today, la="Demoshire")]
    for doc in docs:
        school = f"/schools/{doc['urn']}"
        for case in doc["cases"]:
            if case["closed"] or not case["allowed_events"]:
                continue
            not_allowed = next(e for e in ("remove_concern", "appoint_ieb", "compliance_met", "meet_trust",
                                           "submit_statement_of_action") if e not in case["allowed_events"])
            last = max((e["on"] for e in case["events"]), default=case["opened"])
            early = (today.replace(year=today.year - 1)).isoformat() if last > "2026-01-01" else "2020-01-01"
            for data in ({"event": not_allowed, "on": today.isoformat()},
                         {"event": case["allowed_events"][0], "on": early},
                         {"event": "", "on": today.isoformat()},
                         {"event": case["allowed_events"][0], "on": "2027-02-30"}):
                response = officer.post_form(school, f"{school}/events",
                                             {"case": case["pathway"], "note": "", **data})
                assert response.status_code == 400, (school, data)
                refusals += 1
                SCANNED["refusal messages"].append(f"{school} {data}")
                problems += findings(f"{school} {data}", error_summary(response.text))
    assert refusals >= 8
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} in all)"


def test_no_letter_form_carries_an_internal_word_code_iso_date_or_command(demo_desk):
    url, today, officer, _ = demo_desk
    _signed_in(officer, EMAIL)
    problems, seen = [], 0
    for path in _pages(url, today):
        if not path.startswith("/schools/"):
            continue
        page = officer.client.get(path).text
        for link in set(re.findall(r'href="(/schools/\d+/letters/new\?kind=[a-z_]+)"', page)):
            shown = officer.client.get(link)
            seen += 1
            problems += _scan(link, shown.text, "letter forms")
        for kind in re.findall(r'<option value="([a-z_]+)"', page.split('name="kind"', 1)[-1]):
            shown = officer.client.get(f"{path}/letters/new?kind={kind}")
            if shown.status_code == 200:
                seen += 1
                problems += _scan(f"{path}/letters/new?kind={kind}", shown.text, "letter forms")
    assert seen
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} in all)"
