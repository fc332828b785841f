"""One clock: the desk's today is the demo's (CONCERNS_TODAY), said on every page, and the timeline shows
every event, also one dated after the desk's today, which is what makes a case refuse an earlier date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from concerns.app.demo_term import TERM
from concerns.app.web.app import create_app
from tests.web.conftest import Desk

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["/week", "/register", "/categories", "/letters", "/schools/100001", "/schools/100002",
         "/schools/100002/letters/new?kind=confirmation_of_concern"]


def test_the_desk_reads_its_today_from_concerns_today_and_says_it_on_every_page(authority, monkeypatch):
    monkeypatch.setenv("CONCERNS_TODAY", "2027-04-05")
    desk = Desk(authority, today=None)
    assert desk.sign_in().status_code == 303
    for path in PAGES:
        page = desk.client.get(path)
        assert page.status_code == 200, path
        assert re.search(r"Today, in this demo: <strong>Monday 5 April 2027</strong>", page.text), path
    # The sign-in page says it too.
    assert "Today, in this demo: <strong>Monday 5 April 2027</strong>" in Desk(authority, today=None).client.get(
        "/login").text


def test_an_event_is_recorded_on_the_demos_today_after_the_cases_last_event(authority, cli, monkeypatch):
    # The case's last event is dated after the calendar's today, as the demo's term leaves it.
    cli.ok("event", "100002", "confirm_concern", "--on", "2027-03-01")
    monkeypatch.setenv("CONCERNS_TODAY", "2027-04-05")
    desk = Desk(authority, today=None)
    assert desk.sign_in().status_code == 303
    school = "/schools/100002"
    page = desk.client.get(school).text
    form = re.search(r'<form[^>]*action="/schools/100002/events".*?</form>', page, re.S).group(0)
    event = re.search(r'name="event" value="([a-z_]+)"', form).group(1)
    case = re.search(r'name="case" value="([a-z_]+)"', form).group(1)
    # The form's date is the demo's today, as three fields.
    assert _date_fields(form) == {"on_day": "5", "on_month": "4", "on_year": "2027"}
    response = desk.post_form(school, f"{school}/events", {"case": case, "event": event, "note": "",
                                                           **_date_fields(form)})
    assert response.status_code == 303, response.text


def _date_fields(form: str) -> dict:
    """The date it happened as the form fills it in."""
    return dict(re.findall(r'name="(on_(?:day|month|year))" [^>]*value="([^"]*)"', form))


def test_a_date_that_is_not_a_date_in_concerns_today_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("CONCERNS_TODAY", "5/4/2027")
    with pytest.raises(ValueError, match="CONCERNS_TODAY='5/4/2027' is not a date"):
        create_app("sqlite://")


def test_the_timeline_shows_an_event_dated_after_the_desks_today(authority, cli):
    # The desk's today is 16 November 2026; the LA concern case has an event dated 20 November.
    cli.ok("event", "100002", "confirm_concern", "--on", "2026-11-20")
    desk = Desk(authority)
    assert desk.sign_in().status_code == 303
    page = desk.client.get("/schools/100002").text
    timeline = page.split('id="timeline"', 1)[1]
    assert "Friday 20 November 2026" in timeline and "dated after today" in timeline


def test_the_run_script_starts_the_desk_on_the_demos_last_day():
    run = (ROOT / "run").read_text()
    assert f"CONCERNS_TODAY={TERM[-1][0]} " in run
    demo = (ROOT / "docs" / "demo.md").read_text()
    assert f"CONCERNS_TODAY={TERM[-1][0]} " in demo


@pytest.mark.parametrize("value, said", [
    ("2062-01-01", "CONCERNS_TODAY 2062-01-01 is more than"),  # decades ahead: a typo, not a simulated term
    ("2026-12-0\x07", "CONCERNS_TODAY='2026-12-0\\x07' is not a date"),  # a control character, shown escaped
])
def test_concerns_today_is_refused_in_one_line_at_the_command_that_starts_the_desk(cli, monkeypatch, value, said):
    monkeypatch.setenv("CONCERNS_TODAY", value)
    rc, out, err = cli("web", "--port", "8765")
    assert rc == 2 and out == "" and err.count("\n") == 1 and said in err and "Traceback" not in err
    assert "\x07" not in err
