"""Every door for untrusted input calls the same checks (concerns.domain.untrusted, concerns.domain.clock):
the command line's arguments, a letter's TOML details, the Ofsted and GIAS files, the environment's settings.
Each attack is refused in one line naming the value, changing nothing; an import refuses the bad row alone."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta

import pytest
from sqlmodel import select

from concerns.domain.clock import ImplausibleDate, check_date
from concerns.domain.untrusted import BadInput, BadSetting, parse_id
from concerns.store.db import session_scope
from models import Letter, School
from tests.test_imports import ESTABLISHMENT_HEADER, mi_header, mi_row, write_csv
from tests.test_input import refused
from tests.test_lacategories import OTHER, URN, rutland  # noqa: F401  (the fixture)

AS_OF = date(2026, 11, 22)
WARNING_DETAILS = ('grounds = ["management_breakdown"]\nmatters = ["The governing body has not met."]\n'
                   'actions_required = ["Appoint a chair of governors"]\ncompliance_end = 2026-12-04\n'
                   'minded_to = ["s65"]\n')


# --- ids and dates, named once ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["²", "١", "1" * 23, "9" * 5000, "-1", "+1", " 1", "1\n", "", "0x1", "1_000"])
def test_ids_are_ascii_digits_of_bounded_length(text):
    with pytest.raises(BadInput):
        parse_id(text)


def test_a_plain_id_is_read():
    assert parse_id("42") == 42 and parse_id("9" * 18) == 10**18 - 1


def test_each_kind_of_date_has_its_window():
    today = date.today()
    assert check_date(today + timedelta(days=60), "letter", "date")
    for kind, day in [("letter", date(9999, 12, 31)), ("letter", today + timedelta(days=120)),
                      ("category", date(2062, 1, 1)), ("fact", date(2062, 1, 1)), ("event", date(2062, 1, 1)),
                      ("inspection", date(1800, 1, 1)), ("event", date(1900, 1, 1))]:
        with pytest.raises(ImplausibleDate):
            check_date(day, kind, "date")


# --- the command line --------------------------------------------------------------------------------------


def test_cli_refuses_a_letter_dated_2999(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    cli.ok("init", "--demo")
    details = tmp_path / "wn.toml"
    details.write_text(WARNING_DETAILS)
    refused(cli, "letter", "draft", "990402", "warning_notice", "--on", "2999-01-01", "--details", str(details),
            naming="2999-01-01")
    assert not (tmp_path / "letters").exists() or not any((tmp_path / "letters").rglob("*.html"))


@pytest.mark.parametrize("bad", ["\x00", "\x1b[2J", "\u202e"])
def test_cli_refuses_control_characters_in_letter_details(cli, tmp_path, monkeypatch, bad):
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    cli.ok("init", "--demo")
    details = tmp_path / "wn.toml"
    escaped = bad.encode("unicode_escape").decode().replace("\\x", "\\u00")
    details.write_text(WARNING_DETAILS.replace("has not met.", f"has not met.{escaped}"))
    err = refused(cli, "letter", "draft", "990402", "warning_notice", "--on", "2026-10-20", "--details",
                  str(details), "--send", naming="control character")
    assert bad not in err


def test_cli_refuses_category_and_fact_dates_decades_ahead(cli, rutland):  # noqa: F811
    refused(cli, "category", "set", URN, "B", "--on", "2062-01-01", "--reason", "typo", naming="2062-01-01")
    refused(cli, "category", "set", URN, "B", "--on", "2026-10-01", "--year", "2062/63", "--reason", "typo",
            naming="2062/63")
    refused(cli, "category", "set", URN, "B", "--on", "2026-10-01", "--year", "２０２６/27", "--reason", "typo",
            naming="２０２６/27")
    refused(cli, "fact", "add", URN, "new_head", "--on", "2062-01-01", naming="2062-01-01")
    refused(cli, "fact", "add", URN, "new_head", "--on", "2026-09-01", "--until", "2099-01-01", naming="2099-01-01")


def test_cli_refuses_an_inspection_published_in_1800(cli):
    cli.ok("school", "add", "100001", "--name", "Ash Tree Primary", "--la", "Derbyshire", "--type", "Community school")
    refused(cli, "inspection", "add", "100001", "--published", "1800-01-01", "--outcome", "good",
            naming="1800-01-01")


def test_a_letter_draft_whose_reader_goes_away_is_still_recorded(cli, db_url, tmp_path):
    """`concerns letter draft ... --send | head -1`: the output is printed after the commit, so a reader
    that has gone (every write a broken pipe) cannot leave the letter's files written but unrecorded."""
    letters = tmp_path / "letters"
    os.environ["CONCERNS_LETTERS"] = str(letters)
    try:
        cli.ok("init", "--demo")
    finally:
        del os.environ["CONCERNS_LETTERS"]
    details = tmp_path / "wn.toml"
    details.write_text(WARNING_DETAILS)
    read, write = os.pipe()
    os.close(read)  # the reader has gone before the first line
    env = {**os.environ, "CONCERNS_LETTERS": str(letters), "CONCERNS_OUTBOX": str(tmp_path / "outbox")}
    env.pop("CONCERNS_SMTP_URL", None)
    done = subprocess.run([sys.executable, "-m", "concerns.app.cli", "--db", db_url, "letter", "draft", "990402",
                           "warning_notice", "--on", "2026-10-20", "--details", str(details), "--send"],
                          stdout=write, stderr=subprocess.PIPE, env=env, timeout=120)
    os.close(write)
    assert b"Traceback" not in done.stderr
    written = list(letters.rglob("*warning-notice.html"))
    assert written, done.stderr
    with session_scope(db_url) as session:
        assert session.exec(select(Letter).where(Letter.kind == "warning_notice", Letter.urn == "990402")).all()


# --- the imports -------------------------------------------------------------------------------------------

BAD_NAMES = {"900021": "Evil\x1b]8;;http://x.example\x1b\\ School", "900022": "Right\u202eloohcS",
             "900023": "Two\r\nLines School", "900024": "Long " * 60}


def test_an_ofsted_file_refuses_bad_school_names_row_by_row(tmp_path, db_url):
    from concerns.ingest.load import import_ofsted

    rows = [mi_row("900020", number="N20", start="01/03/2024", published="20/03/2024", overall="2")]
    rows += [mi_row(urn, name=name, number=f"N{urn}", start="01/03/2024", published="20/03/2024", overall="2")
             for urn, name in BAD_NAMES.items()]
    rows.append(mi_row("900025", number="N25", start="01/03/2024", published="20/03/1800", overall="2"))
    summary = import_ofsted(db_url, write_csv(tmp_path / "mi.csv", mi_header(), rows), as_of=AS_OF)
    refused_urns = {r.urn: r.reason for r in summary.refused}
    assert set(refused_urns) == {*BAD_NAMES, "900025"}, refused_urns
    assert "control character" in refused_urns["900021"] and "\x1b" not in refused_urns["900021"]
    assert "longer than 200" in refused_urns["900024"]
    assert "1800" in refused_urns["900025"]
    with session_scope(db_url) as session:
        assert [s.urn for s in session.exec(select(School))] == ["900020"]


def test_a_gias_file_refuses_bad_names_row_by_row(tmp_path, db_url):
    from concerns.ingest.load import import_gias

    def row(urn: str, name: str, trust: str = "") -> list[str]:
        return [urn, "931", "Oxfordshire", "2001", name, "Community school", "Open", "Primary", "01-09-2000", "",
                "Does not apply", "Not applicable", trust]

    rows = [row("900030", "Good School"), *(row(urn, name) for urn, name in BAD_NAMES.items()),
            row("900031", "Trust Bidi School", trust="Trust\u2066x")]
    summary = import_gias(db_url, write_csv(tmp_path / "gias.csv", ESTABLISHMENT_HEADER, rows), as_of=AS_OF)
    assert {r.urn for r in summary.refused} == {*BAD_NAMES, "900031"}, summary.refused
    with session_scope(db_url) as session:
        assert [s.urn for s in session.exec(select(School))] == ["900030"]


# --- the environment ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "-5", "0", "nan", "inf", "1e400"])
def test_a_bad_outbox_lease_is_one_line_naming_it(cli, monkeypatch, value):
    monkeypatch.setenv("CONCERNS_OUTBOX_LEASE", value)
    rc, out, err = cli("outbox", "send")
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "CONCERNS_OUTBOX_LEASE" in err and repr(value) in err


def test_a_bad_smtp_url_is_one_line_with_the_password_masked(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    cli.ok("init", "--demo")
    details = tmp_path / "wn.toml"
    details.write_text(WARNING_DETAILS)
    monkeypatch.setenv("CONCERNS_SMTP_URL", "smtpx://mailer:s3cret@mail.example:25")
    err = refused(cli, "letter", "draft", "990402", "warning_notice", "--on", "2026-10-20", "--details",
                  str(details), "--send", naming="CONCERNS_SMTP_URL")
    assert "smtpx://mailer:***@mail.example:25" in err and "s3cret" not in err
    with pytest.raises(BadSetting):
        from concerns.output.mail import MailSettings

        MailSettings.from_env({"CONCERNS_SMTP_URL": "smtp://host:99999"})


def test_a_date_and_time_in_letter_details_is_checked_by_its_day():
    # A meeting's start (TOML's date-time) is a datetime: checked by its day, neither refused nor a crash.
    from datetime import date, datetime

    from concerns.domain.untrusted import BadInput, check_details

    seen = []
    check_details({"first_review": datetime(2026, 11, 20, 10, 0)}, "letter details",
                  lambda day, what: seen.append((type(day), day)))
    assert seen == [(date, date(2026, 11, 20))]
    with pytest.raises(BadInput):
        check_details({"first_review": datetime(2026, 11, 20, 10, 0)}, "letter details",
                      lambda day, what: (_ for _ in ()).throw(BadInput(f"{what} is out of range")))
