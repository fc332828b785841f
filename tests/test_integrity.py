"""Nothing lost or corrupted: concurrent officers and jobs, the database's own history guard, secrets.

Every test runs on SQLite and on PostgreSQL (the `db_url` fixture). The officers are threads, each with
its own connection, started in pairs behind a barrier so that both of a pair read the school's state
at the same moment; without the write lock taken before reading, that is when two open cases or two
transitions out of the same state are written.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from concerns.casework import cases
from concerns.store.db import (
    DatabaseSettingRefused,
    dispose_engines,
    engine_for,
    mask_url,
    refuse_password_in_flow_parameter,
    session_scope,
)
from models import Case, CaseEvent, Deadline, DeadlineNotice, School
from tests.conftest import d, table_dump

SCHOOLS = [f"{200001 + i}" for i in range(20)]


def add_schools(url: str, urns=SCHOOLS) -> None:
    with session_scope(url) as session:
        for urn in urns:
            cases.add_school(session, urn, name=f"School {urn}", la="Derbyshire", type_name="Community school")


def officer(url: str, urn: str, event: str, on: str, kwargs: dict, barrier: threading.Barrier) -> str:
    """One officer recording one event, at the same moment as another officer on the same school."""
    barrier.wait(timeout=60)
    try:
        with session_scope(url) as session:
            cases.record_event(session, urn, event, on=d(on), actor=f"officer {threading.get_ident()}", **kwargs)
        return "recorded"
    except cases.Refused:
        return "refused"


def two_at_once(url: str, first: tuple, second: tuple) -> list[tuple[str, str]]:
    """For every school, two officers recording `first` and `second` (event, on, options) at once."""
    barriers = {urn: threading.Barrier(2) for urn in SCHOOLS}
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [(urn, pool.submit(officer, url, urn, *step, barriers[urn]))
                   for urn in SCHOOLS for step in (first, second)]
        return [(urn, future.result(timeout=120)) for urn, future in futures]


def assert_history_matches_state(url: str) -> None:
    """Each case's events form one chain from its opening to its current state: no fork, no gap."""
    with session_scope(url, writes=False) as session:
        for case in session.exec(select(Case)).all():
            events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
            state = "start"
            for event in events:
                assert event.from_state == state, f"case {case.id} of {case.urn}: {event.event} from {event.from_state}, " \
                                                  f"but the case was in {state}"
                state = event.to_state
            assert state == case.state, f"case {case.id} of {case.urn} is in {case.state}, its history ends in {state}"


def test_concurrent_officers_never_open_two_cases_or_fork_the_history(db_url):
    add_schools(db_url)

    outcomes = two_at_once(db_url, ("raise_concern", "2026-09-01", {}), ("raise_concern", "2026-09-01", {}))

    assert sorted(r for _, r in outcomes) == ["recorded"] * 20 + ["refused"] * 20
    with session_scope(db_url, writes=False) as session:
        open_cases = session.exec(select(Case.urn).where(Case.closed.is_(None))).all()
    assert sorted(open_cases) == SCHOOLS  # one each, never two

    for urn in SCHOOLS:
        with session_scope(db_url) as session:
            cases.record_event(session, urn, "confirm_concern", on=d("2026-09-08"), actor="officer")
    outcomes = two_at_once(db_url, ("warning_notice", "2026-09-15", {"until": d("2026-10-15")}),
                           ("remove_concern", "2026-09-15", {}))

    by_school: dict[str, list[str]] = {}
    for urn, result in outcomes:
        by_school.setdefault(urn, []).append(result)
    assert all(sorted(results) == ["recorded", "refused"] for results in by_school.values()), by_school
    assert_history_matches_state(db_url)
    with session_scope(db_url, writes=False) as session:
        for urn in SCHOOLS:
            events = {e.event for e in session.exec(select(CaseEvent).where(CaseEvent.urn == urn))}
            assert not {"warning_notice", "remove_concern"} <= events, f"{urn} got both from the same state"


OFFICER_PROCESS = """
import sys, time
from datetime import date
from concerns.casework import cases
from concerns.store.db import session_scope
url, start_at, urns = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
time.sleep(max(0.0, start_at - time.time()))
recorded = 0
for urn in urns:
    try:
        with session_scope(url) as session:
            cases.record_event(session, urn, "raise_concern", on=date(2026, 9, 1), actor="officer")
        recorded += 1
    except cases.Refused:
        pass
print(recorded)
"""


def test_two_officer_processes_never_open_two_cases(db_url):
    """As two officers at two desks: separate processes, each raising a concern on every school."""
    import subprocess
    import sys

    add_schools(db_url)
    dispose_engines()  # the PostgreSQL database is dropped at the end: no idle connection from here
    start_at = str(time.time() + 4)  # both past their imports, then at the same moment
    officers = [subprocess.Popen([sys.executable, "-c", OFFICER_PROCESS, db_url, start_at, *SCHOOLS],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [officer.communicate(timeout=120) for officer in officers]
    assert all(officer.returncode == 0 for officer in officers), [err for _, err in results]
    assert sum(int(out) for out, _ in results) == 20
    with session_scope(db_url, writes=False) as session:
        assert sorted(session.exec(select(Case.urn)).all()) == SCHOOLS
    assert_history_matches_state(db_url)


def two_officers_setup(url: str, cli) -> str:
    add_schools(url, ["200001"])
    cli.ok("event", "200001", "raise_concern", "--on", "2026-09-01")
    return "200001"


def hold_write_lock(url: str, urn: str, seconds: float, taken: threading.Event) -> None:
    """A long job: the write lock on the school (the whole file on SQLite) for `seconds`."""
    with session_scope(url) as session:
        cases.get_school(session, urn, for_update=True)
        taken.set()
        time.sleep(seconds)


def test_an_event_during_a_long_job_waits_for_it_then_is_recorded(db_url, cli):
    urn = two_officers_setup(db_url, cli)
    taken = threading.Event()
    job = threading.Thread(target=hold_write_lock, args=(db_url, urn, 1.5, taken))
    job.start()
    assert taken.wait(30)
    started = time.monotonic()
    out = cli.ok("event", urn, "confirm_concern", "--on", "2026-09-08")
    waited = time.monotonic() - started
    job.join()
    assert "concern_confirmed" in out
    assert waited >= 1.0, f"the event did not wait for the job's lock ({waited:.2f} s)"
    assert_history_matches_state(db_url)


def test_an_event_that_waits_too_long_is_refused_in_one_line_and_changes_nothing(db_url, cli, monkeypatch):
    urn = two_officers_setup(db_url, cli)
    monkeypatch.setenv("CONCERNS_DB_WAIT_SECONDS", "0.5")
    dispose_engines()  # engines read the wait when they are made
    before = table_dump(db_url)
    taken = threading.Event()
    job = threading.Thread(target=hold_write_lock, args=(db_url, urn, 3, taken))
    job.start()
    assert taken.wait(30)
    rc, out, err = cli("event", urn, "confirm_concern", "--on", "2026-09-08")
    job.join()
    assert rc == 2
    assert err.count("\n") == 1 and "the database is busy" in err and "try again" in err, err
    assert "Traceback" not in err
    assert table_dump(db_url) == before


def test_the_deadline_check_never_marks_missed_a_deadline_met_while_it_waited(db_url, cli, monkeypatch):
    from concerns.jobs import run_deadline_check

    add_schools(db_url, ["200001"])
    cli.ok("inspection", "add", "200001", "--published", "2026-11-04", "--outcome", "special_measures")
    with session_scope(db_url, writes=False) as session:
        soa = session.exec(select(Deadline).where(Deadline.kind == "statement_of_action")).one()
    assert soa.due < date(2026, 11, 20)

    # The officer's event takes the lock and is still writing when the daily check starts.
    writing, original = threading.Event(), cases._write

    def slow_write(*args, **kwargs):
        writing.set()
        time.sleep(1.5)
        return original(*args, **kwargs)

    monkeypatch.setattr(cases, "_write", slow_write)
    event = threading.Thread(target=cli.ok, args=("event", "200001", "submit_statement_of_action",
                                                  "--on", "2026-11-19"))
    event.start()
    assert writing.wait(30)
    summary = run_deadline_check(db_url, date(2026, 11, 23))
    event.join()

    with session_scope(db_url, writes=False) as session:
        soa = session.get(Deadline, soa.id)
        notices = session.exec(select(DeadlineNotice.step).where(DeadlineNotice.deadline_id == soa.id)).all()
        missed = session.exec(select(Deadline.kind).where(Deadline.status == "missed")).all()
    assert (soa.status, soa.met_on) == ("met", date(2026, 11, 19))
    # Only what nobody met: Derbyshire's own Plan of Action, due ten working days after publication.
    assert missed == ["plan_of_action"] and summary["marked_missed"] == 1
    assert not {"missed", "escalated"} & set(notices), notices


# --- the history, guarded by the database ------------------------------------------------------------


@pytest.fixture
def history(db_url, cli) -> str:
    add_schools(db_url, ["200001", "200002"])
    cli.ok("event", "200001", "raise_concern", "--on", "2026-09-01", "--note", "first visit")
    return db_url


@pytest.mark.parametrize("statement", [
    "UPDATE case_event SET note = 'rewritten'",
    """UPDATE case_event SET "on" = '2020-01-01'""",
    "DELETE FROM case_event",
    "DELETE FROM pathway_case",  # its cascade would delete the events
    "DELETE FROM school WHERE urn = '200001'",  # likewise, two cascades away
])
def test_the_database_refuses_raw_sql_that_rewrites_history(history, statement):
    before = table_dump(history)
    with pytest.raises(IntegrityError, match="append-only|case history"), engine_for(history).begin() as connection:
        connection.execute(text(statement))
    assert table_dump(history) == before


def test_the_database_refuses_bulk_orm_updates_and_deletes_of_events(history):
    before = table_dump(history)
    with pytest.raises(IntegrityError), session_scope(history) as session:
        session.execute(update(CaseEvent).values(note="rewritten"))
    with pytest.raises(IntegrityError), session_scope(history) as session:
        session.execute(delete(CaseEvent).where(CaseEvent.urn == "200001"))
    with pytest.raises(IntegrityError), session_scope(history) as session:
        session.delete(session.get(School, "200001"))
    assert table_dump(history) == before


def test_a_school_without_history_can_still_be_removed(history):
    with session_scope(history) as session:
        session.delete(session.get(School, "200002"))
    with session_scope(history, writes=False) as session:
        assert session.get(School, "200002") is None


def test_the_database_allows_one_open_case_per_school_and_pathway(history):
    with pytest.raises(IntegrityError), session_scope(history) as session:
        session.add(Case(urn="200001", pathway="la_concern", state="concern_raised", origin="la",
                         opened=date(2026, 9, 2)))


# --- secrets -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://officer:s3cret@db.example/concerns", "postgresql+psycopg://officer:***@db.example/concerns"),
    ("postgresql+psycopg://officer@/concerns?host=/var/run/postgresql",
     "postgresql+psycopg://officer@/concerns?host=%2Fvar%2Frun%2Fpostgresql"),
    ("sqlite:///concerns.db", "sqlite:///concerns.db"),
    ("not a url://officer:s3cret@x", "not a url://officer:***@x"),
])
def test_mask_url_never_shows_a_password(url, shown):
    assert mask_url(url) == shown
    assert "s3cret" not in mask_url(url)


def test_a_password_in_a_flow_parameter_is_refused_in_one_line():
    assert refuse_password_in_flow_parameter(None) is None
    safe = "postgresql+psycopg://officer@db.example/concerns"
    assert refuse_password_in_flow_parameter(safe) == safe
    for leaky in ("postgresql+psycopg://officer:s3cret@db.example/concerns",
                  "postgresql+psycopg://officer@db.example/concerns?password=s3cret"):
        with pytest.raises(DatabaseSettingRefused) as refused:
            refuse_password_in_flow_parameter(leaky)
        message = str(refused.value)
        assert "s3cret" not in message and "\n" not in message
        assert "never in a flow parameter" in message and "~/.pgpass" in message
    assert issubclass(DatabaseSettingRefused, ValueError)


def test_concerns_run_never_passes_a_password_as_a_flow_parameter(monkeypatch, tmp_path):
    import flows
    from concerns.app.cli import main

    monkeypatch.setenv("CONCERNS_DB", "")  # so that the CLI's change is undone after the test
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert main(["--db", url, "init"]) == 0
    passed = []
    monkeypatch.setattr(flows, "run_local",
                        lambda name, as_of, db, log_file=None, **kw: passed.append((db, kw)) or {})
    leaky = "postgresql+psycopg://officer:s3cret@127.0.0.1:9/concerns"
    monkeypatch.setattr("concerns.app.cli.require_schema", lambda db: None)
    assert main(["--db", leaky, "run", "deadline-check"]) == 0
    assert main(["--db", url, "run", "deadline-check"]) == 0
    assert passed == [(None, {}), (url, {})]
    assert os.environ["CONCERNS_DB"] == leaky  # where the flow's default finds it


def test_init_and_errors_never_print_the_password(capsys, tmp_path):
    from concerns.app.cli import main

    unreachable = "postgresql+psycopg://officer:s3cret@127.0.0.1:9/concerns"
    assert main(["--db", unreachable, "init"]) == 2
    out, err = capsys.readouterr()
    assert "s3cret" not in out + err and "officer:***@127.0.0.1:9" in err and err.count("\n") == 1, err

    assert main(["--db", f"sqlite:///{tmp_path / 'c.db'}", "init"]) == 0
    assert f"sqlite:///{tmp_path / 'c.db'}" in capsys.readouterr().out
