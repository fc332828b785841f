"""The `concerns` command against a real SQLite file, as officers and acceptance checks use it."""

from __future__ import annotations

import os
from datetime import date, timedelta

import pytest

from tests.conftest import Cli, table_dump


def dump(cli: Cli) -> list:
    """Every row of every application table: to prove a refusal changed nothing."""
    return table_dump(cli.url)


@pytest.fixture
def school(cli):
    cli.ok("school", "add", "100001", "--name", "Ash Tree Primary", "--la", "Derbyshire", "--type", "Community school")
    return "100001"


@pytest.fixture
def academy(cli):
    cli.ok("school", "add", "100002", "--name", "Oak Academy", "--la", "Derbyshire", "--type", "Academy converter",
           "--trust", "Oak Trust")
    return "100002"


def test_init_twice_is_harmless(cli):
    assert "up to date" in cli.ok("init")
    assert "up to date" in cli.ok("init")


def test_commands_refuse_an_uninitialised_database(empty_db_url, capsys):
    from concerns.app.cli import main

    rc = main(["--db", empty_db_url, "register", "--json"])
    assert rc == 2 and "concerns init" in capsys.readouterr().err


def test_special_measures_worked_example(cli, school):
    cli.ok("inspection", "add", school, "--published", "2026-11-04", "--outcome", "special_measures")
    doc = cli.json("case", "show", school, "--as-of", "2026-11-05")
    assert doc["urn"] == school and doc["maintained"] is True
    (case,) = doc["cases"]
    assert case["pathway"] == "special_measures" and case["opened"] == "2026-11-04" and case["closed"] is None
    soa = next(x for x in case["deadlines"] if x["kind"] == "statement_of_action")
    assert soa == soa | {"due": "2026-11-18", "status": "open", "responsible": "senior_adviser"}
    assert "submit_statement_of_action" in case["allowed_events"]
    assert case["events"][0]["event"] == "judged_special_measures" and case["events"][0]["on"] == "2026-11-04"


def test_academy_converter_gets_academy_of_concern_without_statement_of_action(cli, academy):
    cli.ok("inspection", "add", academy, "--published", "2026-11-04", "--outcome", "special_measures")
    (case,) = cli.json("case", "show", academy, "--as-of", "2026-11-05")["cases"]
    assert case["pathway"] == "academy_of_concern"
    assert "statement_of_action" not in {x["kind"] for x in case["deadlines"]}
    assert "warning_notice" not in case["allowed_events"]
    assert cli.json("case", "show", academy)["maintained"] is False


def test_report_card_form(cli, school):
    cli.ok("inspection", "add", school, "--published", "2026-01-20", "--area", "achievement=needs_attention",
           "--area", "inclusion=expected_standard", "--safeguarding", "met")
    (row,) = cli.json("register", "--as-of", "2026-02-01")
    assert row["category"] == "NA" and row["pathway"] == "requires_improvement"


def test_report_cards_from_10_november_2025_the_day_before_refused(cli, school):
    rc, out, err = cli("inspection", "add", school, "--published", "2025-11-09", "--area", "achievement=needs_attention")
    assert rc == 2 and "report cards began on 10 Nov 2025; --published 2025-11-09 is earlier" in err
    cli.ok("inspection", "add", school, "--published", "2025-11-10", "--area", "achievement=needs_attention")


def test_warning_notice_from_2016_without_until_is_refused_and_changes_nothing(cli, school):
    cli.ok("event", school, "raise_concern", "--on", "2026-09-01")
    cli.ok("event", school, "confirm_concern", "--on", "2026-09-08")
    before = dump(cli)
    rc, out, err = cli("event", school, "warning_notice", "--on", "2026-10-01")
    assert rc != 0 and "--until" in err and err.count("\n") == 1
    assert dump(cli) == before
    cli.ok("event", school, "warning_notice", "--on", "2026-10-01", "--until", "2026-11-13")
    (case,) = cli.json("case", "show", school, "--as-of", "2026-10-02")["cases"]
    assert {"kind": "warning_notice_compliance", "due": "2026-11-13"}.items() <= next(
        x for x in case["deadlines"] if x["kind"] == "warning_notice_compliance").items()


def test_legacy_warning_notice_end_is_computed(cli, school):
    cli.ok("event", school, "raise_concern", "--on", "2015-11-02")
    cli.ok("event", school, "confirm_concern", "--on", "2015-11-05")
    cli.ok("event", school, "warning_notice", "--on", "2015-12-18")
    (case,) = cli.json("case", "show", school, "--as-of", "2015-12-19")["cases"]
    assert next(x for x in case["deadlines"] if x["kind"] == "warning_notice_compliance")["due"] == "2016-01-13"


@pytest.mark.parametrize(("args", "says"), [
    (["event", "999999", "raise_concern", "--on", "2026-11-20"], "unknown URN 999999"),
    (["event", "12ab", "raise_concern", "--on", "2026-11-20"], "'12ab' is not a URN"),
    (["event", "100001", "raise_concern", "--on", "2026-02-30"], "bad date '2026-02-30'"),
    (["event", "100001", "compliance_met", "--on", "2026-11-20"], "no open case"),
    (["event", "100001", "frobnicate", "--on", "2026-11-20"], "frobnicate"),
    (["inspection", "add", "100001", "--published", "2026-11-04", "--outcome", "brilliant"], "unknown outcome 'brilliant'"),
    (["inspection", "add", "100001", "--published", "2026-11-04", "--area", "achievement=great"], "unknown grade 'great'"),
    (["inspection", "add", "100001", "--published", "2026-11-04", "--area", "maths=needs_attention"], "unknown area 'maths'"),
    (["inspection", "add", "100001", "--published", "2024-11-04", "--area", "achievement=needs_attention"],
     "report cards began"),
    (["inspection", "add", "100001", "--published", "2026-11-04"], "either --outcome or"),
    (["inspection", "add", "100001", "--published", "2026-11-04", "--inspected", "2026-11-10", "--outcome", "good"],
     "after --published"),
    (["school", "add", "100003", "--name", "X", "--la", "Derbyshire", "--type", "Independent school"],
     "unknown or unsupported school type"),
    (["school", "add", "100001", "--name", "Renamed", "--la", "Derbyshire", "--type", "Community school"],
     "already registered"),
    (["deadlines", "--within", "-3", "--json"], "must not be negative"),
])
def test_refusals_say_what_and_change_nothing(cli, school, args, says):
    before = dump(cli)
    rc, out, err = cli(*args)
    assert rc == 2, out
    assert says in err and err.startswith("concerns: error: ") and err.count("\n") == 1
    assert out == ""
    assert dump(cli) == before


def test_refused_event_lists_the_allowed_ones(cli, school):
    cli.ok("event", school, "raise_concern", "--on", "2026-09-01")
    rc, _, err = cli("event", school, "compliance_failed", "--on", "2026-09-02")
    assert rc == 2 and "allowed now: close_school, confirm_concern, convert_to_academy, minutes_filed" in err


def test_two_open_cases_need_a_pathway_only_when_ambiguous(cli, school):
    cli.ok("inspection", "add", school, "--published", "2024-05-10", "--outcome", "requires_improvement")
    cli.ok("event", school, "raise_concern", "--on", "2026-09-08")
    cli.ok("event", school, "confirm_concern", "--on", "2026-09-15")
    rc, _, err = cli("event", school, "agree_improvement_plan", "--on", "2026-09-20")
    assert rc == 2 and "--pathway" in err
    cli.ok("event", school, "agree_improvement_plan", "--on", "2026-09-20", "--pathway", "requires_improvement")
    (row,) = cli.json("register", "--as-of", "2026-09-21")
    assert row["pathway"] == "requires_improvement" and row["category"] == "RI"
    assert {c["pathway"] for c in row["cases"]} == {"requires_improvement", "la_concern"}


def test_register_and_deadlines_as_of(cli, school, academy):
    cli.ok("inspection", "add", school, "--published", "2026-11-04", "--outcome", "special_measures")
    cli.ok("event", academy, "raise_concern", "--on", "2026-11-10")
    rows = {r["urn"]: r for r in cli.json("register", "--as-of", "2026-11-22")}
    assert rows[school] | {} == rows[school] and {k: rows[school][k] for k in
                                                 ("name", "maintained", "pathway", "category", "stuck")} == {
        "name": "Ash Tree Primary", "maintained": True, "pathway": "special_measures", "category": "SM", "stuck": False}
    assert rows[academy]["pathway"] == "academy_of_concern" and rows[academy]["category"] == "LA"
    assert cli.json("register", "--as-of", "2026-11-03") == []
    due = cli.json("deadlines", "--as-of", "2026-11-22", "--within", "30")
    soa = next(x for x in due if x["kind"] == "statement_of_action")
    assert soa["status"] == "missed" and soa["due"] == "2026-11-18" and soa["urn"] == school
    cli.ok("event", school, "submit_statement_of_action", "--on", "2026-11-17")
    assert not [x for x in cli.json("deadlines", "--as-of", "2026-11-22") if x["kind"] == "statement_of_action"]
    # As of a date before it was met, it was still open.
    early = cli.json("deadlines", "--as-of", "2026-11-10", "--within", "10")
    assert next(x for x in early if x["kind"] == "statement_of_action")["status"] == "open"


def test_ofsted_dates_show_as_passed_never_missed(cli, school):
    # Dates Ofsted owns (reinspection, HMI monitoring) are watched, not owed: past their date they are
    # `passed`; the statement of action, owed by the authority, is `missed`.
    cli.ok("inspection", "add", school, "--published", "2026-11-04", "--outcome", "special_measures")
    case = cli.json("case", "show", school, "--as-of", "2026-11-10")["cases"][0]
    hmi = next(x for x in case["deadlines"] if x["kind"] == "hmi_monitoring")
    later = date.fromisoformat(hmi["due"]) + timedelta(days=1)
    shown = cli.json("case", "show", school, "--as-of", later.isoformat())["cases"][0]["deadlines"]
    statuses = {x["kind"]: x["status"] for x in shown}
    assert statuses["hmi_monitoring"] == "passed" and statuses["statement_of_action"] == "missed"
    listed = {x["kind"]: x["status"] for x in cli.json("deadlines", "--as-of", later.isoformat())}
    assert listed["hmi_monitoring"] == "passed" and listed["statement_of_action"] == "missed"
    assert "missed" not in {x["status"] for x in cli.json("deadlines", "--as-of", later.isoformat())
                            if x["kind"] in ("reinspection", "hmi_monitoring")}


def test_state_as_of_a_past_date(cli, school):
    cli.ok("event", school, "raise_concern", "--on", "2026-09-01")
    cli.ok("event", school, "confirm_concern", "--on", "2026-09-08")
    assert cli.json("case", "show", school, "--as-of", "2026-09-05")["cases"][0]["state"] == "concern_raised"
    assert cli.json("case", "show", school, "--as-of", "2026-09-09")["cases"][0]["state"] == "concern_confirmed"


def test_same_inspection_twice_changes_nothing(cli, school):
    cli.ok("inspection", "add", school, "--published", "2026-11-04", "--outcome", "special_measures")
    before = dump(cli)
    assert "already recorded" in cli.ok("inspection", "add", school, "--published", "2026-11-04", "--outcome",
                                        "special_measures")
    assert dump(cli) == before


def test_confidential_note_is_kept_and_flagged(cli, school):
    cli.ok("event", school, "raise_concern", "--on", "2026-09-01", "--note", "Head capability", "--confidential")
    (event,) = cli.json("case", "show", school)["cases"][0]["events"]
    assert event["confidential"] is True and event["note"] == "Head capability" and event["actor"] == "test officer"


@pytest.mark.parametrize(("args", "expected"), [
    (["2026-12-18", "15"], "2027-01-13"),
    (["2026-11-04", "10", "--kind", "inspection"], "2026-11-18"),
    (["2026-12-10", "10", "--kind", "inspection", "--la", "Derbyshire"], "2027-01-07"),
    (["2026-11-23", "-1"], "2026-11-20"),
])
def test_workdays_add(cli, args, expected):
    assert cli.ok("workdays", "add", *args).strip() == expected


def test_a_state_change_and_its_deadlines_commit_together_or_not_at_all(cli, school, monkeypatch):
    import concerns.casework.cases as casework

    real_write = casework._write

    def write_then_fail(*args, **kwargs):
        real_write(*args, **kwargs)  # the case, its event and its deadlines are flushed...
        raise RuntimeError("disk full")  # ...then the unit of work fails

    before = dump(cli)
    monkeypatch.setattr(casework, "_write", write_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        cli("inspection", "add", school, "--published", "2026-11-04", "--outcome", "special_measures")
    assert dump(cli) == before


def test_audit_trail_is_append_only(db_url, cli, school):
    from sqlmodel import select

    from concerns.store.db import session_scope
    from models import AuditTrailIsAppendOnly, CaseEvent

    cli.ok("event", school, "raise_concern", "--on", "2026-09-01")
    with pytest.raises(AuditTrailIsAppendOnly), session_scope(db_url) as session:
        event = session.exec(select(CaseEvent)).first()
        event.note = "rewritten"
    with pytest.raises(AuditTrailIsAppendOnly), session_scope(db_url) as session:
        session.delete(session.exec(select(CaseEvent)).first())


def test_demo_covers_all_five_pathways(cli):
    assert "21 schools" in cli.ok("init", "--demo")
    assert "already loaded" in cli.ok("init", "--demo")
    rows = cli.json("register", "--as-of", "2026-11-22")
    assert 15 <= len(rows) <= 25
    pathways = {c["pathway"] for r in rows for c in r["cases"]}
    assert pathways == {"requires_improvement", "serious_weaknesses", "special_measures", "la_concern",
                        "academy_of_concern"}
    assert any(r["stuck"] for r in rows)
    assert {r["category"] for r in rows} >= {"SM", "RSI", "RI", "NA", "LA"}
    assert cli.json("deadlines", "--as-of", "2026-11-22", "--within", "30")


def test_person_roles(cli, school):
    cli.ok("person", "add", "Priya Shah", "priya@la.example", "--role", "senior_adviser", "--la", "Derbyshire")
    cli.ok("person", "add", "Head", "head@school.example", "--role", "headteacher", "--la", "Derbyshire", "--urn", school)
    rc, _, err = cli("person", "add", "X", "not-an-email", "--role", "senior_adviser", "--la", "Derbyshire")
    assert rc == 2 and "not an e-mail" in err
    rc, _, err = cli("person", "add", "X", "x@la.example", "--role", "wizard", "--la", "Derbyshire")
    assert rc == 2 and "role 'wizard'" in err


def test_import_refuses_a_missing_file(cli, tmp_path):
    rc, _, err = cli("import", "ofsted", str(tmp_path / "x.csv"))
    assert rc == 2 and "x.csv" in err


def test_letter_draft_records_it_on_the_case_with_its_recipients(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    cli.ok("init", "--demo")
    details = tmp_path / "wn.toml"
    details.write_text('grounds = ["management_breakdown"]\nmatters = ["The governing body has not met."]\n'
                       'actions_required = ["Appoint a chair of governors"]\ncompliance_end = 2026-12-04\n'
                       'minded_to = ["s65"]\n')
    out = cli.ok("letter", "draft", "990402", "warning_notice", "--on", "2026-10-20", "--details", str(details),
                 "--send")
    assert "Drafted" in out and "e-mail(s) queued" in out
    assert "Already drafted" in cli.ok("letter", "draft", "990402", "warning_notice", "--on", "2026-10-20",
                                       "--details", str(details))
    (case,) = [c for c in cli.json("case", "show", "990402", "--as-of", "2026-10-21")["cases"]
               if c["pathway"] == "la_concern"]
    (letter,) = case["letters"]
    assert letter["kind"] == "warning_notice" and "Diocese of Demoshire" in letter["copies"]
    html = (tmp_path / "letters" / "990402").glob("*warning-notice.html")
    assert "Friday 4 December 2026" in next(html).read_text()
    rc, _, err = cli("letter", "draft", "990501", "warning_notice", "--on", "2026-10-20", "--details", str(details))
    assert rc == 2 and "only to maintained schools" in err
    rc, _, err = cli("letter", "draft", "990402", "warning_notice", "--on", "2026-10-20")
    assert rc == 2 and "warning_notice needs: grounds" in err



def test_letter_draft_refuses_details_nested_too_deep_in_one_line(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    cli.ok("init", "--demo")
    before = table_dump(cli.url)
    details = tmp_path / "deep.toml"
    details.write_text("matters = " + "[" * 5000 + "]" * 5000 + "\n")  # past Python's own recursion limit
    rc, out, err = cli("letter", "draft", "990402", "warning_notice", "--on", "2026-10-20", "--details",
                       str(details))
    assert rc == 2 and out == "" and "RecursionError" not in err and "Traceback" not in err
    assert f"--details {details}: a value is nested more than 24 tables or lists deep" in err
    assert len(err.strip().splitlines()) == 1
    assert table_dump(cli.url) == before

def test_diagram_table_prints_the_review_table(cli):
    out = cli.ok("diagram", "--table")
    assert "| from | event | guard | to | creates | meets | cancels | law |" in out
    assert "EIA 2006 s60(4A)-(4B)" in out


def test_outbox_statuses_spelt_out_in_the_cli_are_the_outbox_s():
    from concerns.app.cli import OUTBOX_STATUSES
    from concerns.notify.outbox import STATUSES

    assert OUTBOX_STATUSES == STATUSES


def test_a_read_command_does_not_import_what_only_other_commands_need():
    # Start-up is most of a read command's time (bench/read_commands.py): Alembic, Prefect, Jinja, the
    # outbox, the bank holidays and pendulum are imported by the code that uses them, not by
    # `import concerns.app.cli`.
    import subprocess
    import sys

    heavy = ("alembic", "prefect", "jinja2", "concerns.notify.outbox", "holidays", "pendulum")
    code = f"import sys, concerns.app.cli; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []


def test_letter_draft_help_lists_every_letter_kind(capsys):
    import re

    from concerns.app.cli import main
    from concerns.domain.letterspecs import LETTER_KINDS

    with pytest.raises(SystemExit) as exited:
        main(["letter", "draft", "--help"])
    assert exited.value.code == 0
    words = set(re.split(r"[\s|]+", capsys.readouterr().out))
    assert len(LETTER_KINDS) >= 11 and set(LETTER_KINDS) <= words


@pytest.fixture
def served(monkeypatch):
    """`concerns web` up to the point where uvicorn would start serving: what it was asked to listen on."""
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append({**options, "app": app}))
    return calls


@pytest.mark.parametrize(("args", "host", "port"), [
    ([], "127.0.0.1", 8000),
    (["--port", "8765"], "127.0.0.1", 8765),
    (["--port", "8000"], "127.0.0.1", 8000),
    (["--host", "0.0.0.0", "--port", "1"], "0.0.0.0", 1),
    (["--port", "65535"], "127.0.0.1", 65535),
])
def test_web_listens_where_it_is_told(cli, served, args, host, port):
    out = cli.ok("web", *args)
    assert f"http://{host}:{port}/login" in out
    assert [(o["host"], o["port"]) for o in served] == [(host, port)]


@pytest.mark.parametrize(("port", "says"), [
    ("0", "'0' is not a port (1-65535)"),
    ("65536", "'65536' is not a port (1-65535)"),
    ("-80", "'-80' is not a port (1-65535)"),
    ("http", "'http' is not a whole number"),
])
def test_web_refuses_a_port_that_is_not_one(cli, served, port, says):
    rc, out, err = cli("web", "--port", port)
    assert rc == 2 and out == "" and served == []
    assert err == f"concerns: error: argument --port: {says} (see `concerns web --help`)\n"


def test_web_in_several_processes_builds_each_desk_from_the_environment(cli, served, monkeypatch, tmp_path):
    monkeypatch.setenv("CONCERNS_DB", f"sqlite:///{tmp_path / 'elsewhere.db'}")  # put back after the test
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    assert cli("--db", url, "init")[0] == 0
    out = cli.ok("--db", url, "web", "--port", "8765", "--workers", "3")
    assert "http://127.0.0.1:8765/login" in out
    [options] = served
    assert (options["app"], options["factory"], options["workers"], options["port"]) == \
        ("concerns.app.web.app:desk_from_environment", True, 3, 8765)
    # The database reaches each process in the environment, never on a command line.
    assert os.environ["CONCERNS_DB"] == url and url not in " ".join(map(str, options.values()))
    from concerns.app.web.app import desk_from_environment
    assert desk_from_environment().routes


@pytest.mark.parametrize(("workers", "says"), [
    ("0", "'0' is not a number of desk processes (1-16)"),
    ("17", "'17' is not a number of desk processes (1-16)"),
    ("two", "'two' is not a whole number"),
])
def test_web_refuses_a_number_of_processes_that_is_not_one(cli, served, workers, says):
    rc, out, err = cli("web", "--workers", workers)
    assert rc == 2 and out == "" and served == []
    assert err == f"concerns: error: argument --workers: {says} (see `concerns web --help`)\n"


# Every option with a type or a default, given a value other than its default, as the command receives it.
@pytest.mark.parametrize(("argv", "expected"), [
    (["web", "--host", "::1", "--port", "8765"], {"host": "::1", "port": 8765}),
    (["web", "--workers", "2"], {"workers": 2}),
    (["deadlines", "--within", "0", "--as-of", "2026-11-22"], {"within": 0, "as_of": date(2026, 11, 22)}),
    (["deadlines", "--within", "3660"], {"within": 3660}),
    (["workdays", "add", "2026-11-04", "-10000", "--kind", "inspection"],
     {"date": date(2026, 11, 4), "n": -10000, "kind": "inspection"}),
    (["event", "100001", "progress_meeting", "--on", "2026-10-07", "--until", "2026-12-01", "--note", "n",
      "--meeting", "task_group"],
     {"on": date(2026, 10, 7), "until": date(2026, 12, 1), "note": "n", "meeting": "task_group"}),
    (["inspection", "add", "100001", "--published", "2026-11-04", "--inspected", "2026-10-01", "--area",
      "achievement=needs_attention", "--area", "inclusion=strong_standard"],
     {"published": date(2026, 11, 4), "inspected": date(2026, 10, 1),
      "area": ["achievement=needs_attention", "inclusion=strong_standard"]}),
    (["case", "show", "100001", "--as-of", "2026-01-02"], {"as_of": date(2026, 1, 2)}),
    (["register", "--as-of", "2026-01-02"], {"as_of": date(2026, 1, 2)}),
    (["import", "gias", "f.csv", "--as-of", "2026-01-02"], {"as_of": date(2026, 1, 2)}),
    (["run", "termly-review", "--as-of", "2026-01-02"], {"as_of": date(2026, 1, 2), "flow": "termly-review"}),
    (["rules", "--on", "2026-01-02"], {"on": date(2026, 1, 2)}),
    (["letter", "draft", "100001", "ieb_notice", "--on", "2026-01-02"], {"on": date(2026, 1, 2), "kind": "ieb_notice"}),
    (["category", "propose", "--la", "Luton", "--as-of", "2026-01-02"], {"as_of": date(2026, 1, 2)}),
    (["category", "set", "100001", "A", "--on", "2026-01-02", "--reason", "r"], {"on": date(2026, 1, 2)}),
    (["fact", "add", "100001", "new_head", "--on", "2026-01-02", "--until", "2026-07-31", "--note", "n"],
     {"on": date(2026, 1, 2), "until": date(2026, 7, 31), "note": "n"}),
    (["outbox", "list", "--status", "failed"], {"status": "failed"}),
])
def test_options_given_other_values_than_their_defaults(argv, expected):
    from concerns.app.cli import build_parser

    args = vars(build_parser().parse_args(argv))
    assert args == args | expected


def commands(parser, path=()):
    """Every runnable command of the parser: (its words, its parser)."""
    import argparse

    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield path, parser
    for action in groups:
        for name, child in action.choices.items():
            yield from commands(child, (*path, name))


def test_every_command_carries_what_runs_it_and_what_it_needs():
    from concerns.app.cli import build_parser
    from concerns.app.cli.arguments import Needs

    found = {" ".join(words): (p.get_default("handler"), p.get_default("needs"))
             for words, p in commands(build_parser())}
    assert len(found) == 31 and all(callable(h) and isinstance(n, Needs) for h, n in found.values())
    # The read-only views need the database but not the policies checked; init makes the database, and
    # the law, the diagram, Prefect's setup and the policy files themselves need neither.
    by_need = {need: sorted(c for c, (_, n) in found.items() if n is need) for need in Needs}
    assert by_need[Needs.SCHEMA] == ["case show", "deadlines", "outbox list", "outbox retry", "outbox send",
                                     "register"]
    assert by_need[Needs.NOTHING] == ["diagram", "init", "policy check", "policy drift", "policy list", "prefect setup",
                                      "rules", "workdays add"]


def test_python_m_runs_the_command():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "concerns.app.cli", "workdays", "add", "2026-11-23", "-1"],
                          capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "2026-11-20\n", "")
