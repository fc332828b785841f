"""Hostile input through the command line: each refused in one line on stderr that names the value,
exit 2, nothing changed; and stored text always shown as text, never as markup or terminal codes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from concerns.domain.clock import ImplausibleDate, check_as_of, refuse_far_future
from concerns.domain.untrusted import (
    BadInput,
    check_email,
    check_note,
    check_urn_text,
    printable,
    safe_filename,
)
from tests.conftest import refused

URN = "100001"


@pytest.fixture
def school(cli) -> str:
    cli.ok("school", "add", URN, "--name", "Ash Tree Primary", "--la", "Derbyshire", "--type", "Community school")
    return URN




def test_urns_are_ascii_digits(cli, school):
    refused(cli, "school", "add", "１２３４５６", "--name", "Wide", "--la", "Derbyshire", "--type", "Community school",
            naming="'１２３４５６'")
    refused(cli, "school", "add", "١٢٣٤٥٦", "--name", "Arabic-Indic", "--la", "Derbyshire",
            "--type", "Community school", naming="'١٢٣٤٥٦'")
    refused(cli, "event", "１００００１", "raise_concern", "--on", "2026-09-01", naming="'１００００１'")


@pytest.mark.parametrize("email", ["priya@la.example\n", "priya @la.example", "priya@la.example\r\nBcc: x@y.org",
                                   "priya@@la.example", "priya@la", "<priya@la.example>", "priya@la..example",
                                   "prïya@la.example"])
def test_person_add_refuses_anything_but_a_plain_address(cli, school, email):
    refused(cli, "person", "add", "Priya Shah", email, "--role", "senior_adviser", "--la", "Derbyshire",
            naming=repr(email))


def test_a_plain_address_is_accepted(cli, school):
    assert "<priya.shah+soc@la.derbyshire.example>" in cli.ok(
        "person", "add", "Priya Shah", "priya.shah+soc@la.derbyshire.example", "--role", "senior_adviser",
        "--la", "Derbyshire")


def test_names_and_notes_refuse_control_characters(cli, school):
    refused(cli, "school", "add", "100002", "--name", "Oak\x1b[2J", "--la", "Derbyshire", "--type", "Community school",
            naming=r"'Oak\x1b[2J'")
    refused(cli, "school", "add", "100002", "--name", "Oak", "--la", "Derby\u202eshire", "--type", "Community school",
            naming="U+202E")
    refused(cli, "person", "add", "Priya\x07", "priya@la.example", "--role", "senior_adviser", "--la", "Derbyshire",
            naming=r"'Priya\x07'")
    refused(cli, "event", URN, "raise_concern", "--on", "2026-09-01", "--note", "ok\x1b]0;owned\x07",
            naming=r"\x1b")
    # A note may run to paragraphs: newlines and tabs are kept.
    cli.ok("event", URN, "raise_concern", "--on", "2026-09-01", "--note", "Visit 1:\n\tbehaviour\r\nVisit 2")
    assert cli.json("case", "show", URN)["cases"][0]["events"][0]["note"] == "Visit 1:\n\tbehaviour\nVisit 2"


def test_case_show_prints_markup_and_escape_codes_as_text(cli, school):
    from sqlmodel import select

    from concerns.store.db import session_scope
    from models import CaseEvent

    cli.ok("event", URN, "raise_concern", "--on", "2026-09-01", "--note", "[/bold] [red]not red[/red] [link=x]")
    # A row written before input was checked (or by an import) with a terminal escape in it.
    with session_scope(cli.url) as session:
        first = session.exec(select(CaseEvent)).one()
        session.add(CaseEvent(case_id=first.case_id, urn=URN, event="note", on=date(2026, 9, 2),
                              from_state=first.to_state, to_state=first.to_state, actor="import\x1b[31m",
                              note="\x1b[31mred\x1b[0m \x9b2J"))
    out = cli.ok("case", "show", URN)
    assert "[/bold] [red]not red[/red] [link=x]" in out
    assert r"\x1b[31mred\x1b[0m" in out and r"\x9b2J" in out
    assert "\x1b" not in out and "\x9b" not in out
    # And again: the markup in the note never "breaks case show for good".
    assert cli.ok("case", "show", URN) == out


def test_far_future_event_and_inspection_dates_are_refused(cli, school):
    refused(cli, "inspection", "add", URN, "--published", "2200-01-01", "--outcome", "special_measures",
            naming="2200-01-01")
    refused(cli, "event", URN, "raise_concern", "--on", "2062-11-19", naming="2062-11-19")
    cli.ok("event", URN, "raise_concern", "--on", "2026-09-01")
    refused(cli, "event", URN, "confirm_concern", "--on", "2062-11-19", naming="2062-11-19")
    # The case still takes its next real event.
    cli.ok("event", URN, "confirm_concern", "--on", "2026-09-08")


def test_a_job_far_ahead_of_today_is_refused_unless_it_is_a_simulation(cli, school, tmp_path):
    cli.ok("inspection", "add", URN, "--published", "2026-11-04", "--outcome", "special_measures")
    refused(cli, "run", "deadline-check", "--as-of", "2062-11-19", naming="2062-11-19")
    csv = tmp_path / "ofsted.csv"
    csv.write_text("URN,Inspection number\n", encoding="utf-8")
    refused(cli, "import", "ofsted", str(csv), "--as-of", "2099-01-01", naming="2099-01-01")


def test_the_jobs_check_as_of_themselves(db_url):
    from concerns import jobs

    far = date.today() + timedelta(days=40)
    for job in (jobs.run_deadline_check, jobs.run_termly_review, jobs.run_hmi_reminders,
                jobs.run_annual_categorisation):
        with pytest.raises(ImplausibleDate, match=far.isoformat()):
            job(db_url, far)
    assert jobs.run_deadline_check(db_url, far, simulation=True)["marked_missed"] == 0


def test_check_as_of_allows_a_week_ahead_and_anything_in_a_simulation():
    today = date.today()
    assert check_as_of(None) is None
    assert check_as_of(today + timedelta(days=7)) == today + timedelta(days=7)
    with pytest.raises(ImplausibleDate, match="--simulation"):
        check_as_of(today + timedelta(days=8))
    assert check_as_of(date(2062, 11, 19), simulation=True) == date(2062, 11, 19)
    assert refuse_far_future(today + timedelta(days=365), "--on")
    with pytest.raises(ImplausibleDate, match="--on"):
        refuse_far_future(today + timedelta(days=400), "--on")


def test_workdays_overflow_is_one_line(cli):
    refused(cli, "workdays", "add", "2026-12-18", "99999999", naming="99999999")
    refused(cli, "workdays", "add", "9999-12-18", "99", naming="9999-12-18")


def test_database_failures_are_one_line_without_a_traceback(capsys, tmp_path):
    from concerns.app.cli import main

    cases = [
        (["--db", "not a url", "register"], "'not a url'"),
        (["--db", "nosuchdb+driver://u:s3cret@h/x", "register"], "u:***@h"),
        (["--db", "postgresql+psycopg://officer:s3cret@127.0.0.1:9/concerns", "register"], "127.0.0.1:9"),
        (["--db", f"sqlite:///{tmp_path}/no/such/folder/c.db", "init"], "no/such/folder"),
    ]
    for argv, naming in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and naming in err and "s3cret" not in err, err


def test_termly_report_file_names_are_safe_for_any_authority(cli, tmp_path, monkeypatch):
    from concerns.jobs import run_termly_review

    reports = tmp_path / "reports"
    monkeypatch.setenv("CONCERNS_REPORTS", str(reports))
    cli.ok("school", "add", "100003", "--name", "Elm", "--la", "../../North/South", "--type", "Community school")
    cli.ok("event", "100003", "raise_concern", "--on", "2026-09-01")
    summary = run_termly_review(cli.url, date.today())
    [path] = summary["reports"]
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".md"]
    assert [p.parent for p in files] == [reports], files
    assert files[0].name.startswith("termly-north-south-") and str(files[0]) == path
    assert safe_filename("../../North/South") != "north-south"  # the dots it lost are told by a hash


# --- the helpers themselves ----------------------------------------------------------------------------


def test_untrusted_text_helpers():
    assert check_urn_text(" 123456 ") == "123456"
    for bad in ("12345", "12345678", "１２３４５６", "123456\n7", "12345a"):
        with pytest.raises(BadInput):
            check_urn_text(bad)
    assert check_email("a.b-c@x-y.example.org") == "a.b-c@x-y.example.org"
    assert check_note("a\r\nb\tc") == "a\nb\tc"
    assert printable("ok\nnext\x1b[1m\x00\u202e") == "ok\nnext\\x1b[1m\\x00\\u202e"
    assert safe_filename("Derbyshire") == "derbyshire"
    assert safe_filename("Hammersmith and Fulham") == "hammersmith-and-fulham"
    for hostile in ("../../etc/passwd", "a/b", "..", "/", "\x00", "con", "Bath & N.E. Somerset"):
        name = safe_filename(hostile)
        assert name and "/" not in name and ".." not in name and "\x00" not in name
    assert safe_filename("Spring 2026/27") == "spring-2026-27"
    assert safe_filename("Bath & NES") != safe_filename("Bath NES")
    assert safe_filename("../x") != safe_filename("x")
