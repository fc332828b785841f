"""Shared fixtures: a real SQLite file per test, the CLI as users call it, the shared real data."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from concerns.domain.policy import policy_for
from statemachines.case import SchoolFacts
from tests.support.faults import pytest_terminal_summary as outbox_fault_table

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_file(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data file {path} is not present beside the checkout")
    return path


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    # Never touch a developer's concerns.db or outbox, and never send real mail.
    monkeypatch.delenv("CONCERNS_DB", raising=False)
    monkeypatch.delenv("CONCERNS_SMTP_URL", raising=False)
    monkeypatch.setenv("CONCERNS_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("CONCERNS_ACTOR", "test officer")


ENGINES = ["sqlite", "postgresql"]


def _require_postgres() -> None:
    from tests.support.databases import postgres_unavailable

    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL tests must run in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL: {reason}")


@pytest.fixture(params=ENGINES)
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, migrated application database: a SQLite file, then the same test on PostgreSQL."""
    from concerns.store.db import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'concerns.db'}"
        upgrade(url)
        yield url
        return
    _require_postgres()
    from tests.support.databases import drop_postgres_database, fresh_postgres_database

    url, name = fresh_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(name)


@pytest.fixture(params=ENGINES)
def empty_db_url(request, tmp_path) -> Iterator[str]:
    """A database with no schema yet, on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    _require_postgres()
    from tests.support.databases import drop_postgres_database, empty_postgres_database

    url, name = empty_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(name)


@pytest.fixture
def sqlite_db_url(tmp_path) -> str:
    """For what only SQLite has (WAL, the file itself)."""
    from concerns.store.db import upgrade

    url = f"sqlite:///{tmp_path / 'concerns.db'}"
    upgrade(url)
    return url


def table_dump(url: str) -> list:
    """Every row of every application table, in a stable order: to prove a refusal changed nothing."""
    from sqlalchemy import MetaData, select

    from concerns.store.db import engine_for

    metadata = MetaData()
    engine = engine_for(url)
    metadata.reflect(engine)
    with engine.connect() as connection:
        # Sorted in Python: PostgreSQL cannot order by a JSON column.
        return [(name, sorted(tuple(map(str, row)) for row in connection.execute(select(table))))
                for name, table in sorted(metadata.tables.items())]


class Cli:
    def __init__(self, url: str, capsys):
        self.url = url
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        from concerns.app.cli import main

        self.capsys.readouterr()
        rc = main(["--db", self.url, *args])
        captured = self.capsys.readouterr()
        return rc, captured.out, captured.err

    def ok(self, *args: str) -> str:
        rc, out, err = self(*args)
        assert rc == 0, f"concerns {' '.join(args)} failed: {err}"
        return out

    def json(self, *args: str):
        return json.loads(self.ok(*args, "--json"))


def refused(cli, *args: str, naming: str) -> str:
    """Run a command that must be refused: exit 2, one line naming the value, and nothing changed."""
    before = table_dump(cli.url)
    rc, out, err = cli(*args)
    assert rc == 2, f"concerns {' '.join(args)} was accepted: {out}"
    assert err.startswith("concerns: error: ") and err.count("\n") == 1, err
    assert naming in err, f"the refusal does not name {naming!r}: {err}"
    assert "Traceback" not in err and "\x1b" not in err
    assert table_dump(cli.url) == before
    return err


@pytest.fixture
def cli(db_url, capsys) -> Cli:
    return Cli(db_url, capsys)


@pytest.fixture
def derbyshire():
    return policy_for("Derbyshire")


@pytest.fixture
def community() -> SchoolFacts:
    return SchoolFacts("100001", "Ash Tree Primary", "Derbyshire", "Community school", True)


@pytest.fixture
def academy() -> SchoolFacts:
    return SchoolFacts("100002", "Oak Academy", "Derbyshire", "Academy converter", False)


def d(text: str) -> date:
    return date.fromisoformat(text)


os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """Prefect's test server, one for the whole run: the flow, fan-out and letter-batch tests share it. Two
    in one process do not mix: Prefect's events worker stays bound to the first, so the task runs of a flow
    run against a second never reach it."""
    from tests.support.prefect_server import prefect_test_server

    with prefect_test_server(tmp_path_factory.mktemp("prefect-home")):
        yield


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One line saying how many tests ran on each database engine, for the CI log; then the outbox
    fault table, what the wheel test ran, how many page loads the officer tasks took, and what the desk's
    plain-words scan read."""
    outbox_fault_table(terminalreporter, exitstatus, config)
    wheel = sys.modules.get("tests.test_wheel")
    for line in getattr(wheel, "SUMMARY", ()):
        terminalreporter.write_line(line)
    officer_tasks = sys.modules.get("tests.web.test_officer_tasks")
    line = officer_tasks.summary_line() if officer_tasks else None
    if line:
        terminalreporter.write_line(line)
    plain_words = sys.modules.get("tests.web.test_desk_plain_words")
    line = plain_words.summary_line() if plain_words else None
    if line:
        terminalreporter.write_line(line)
    oidc_tests = sys.modules.get("tests.web.test_oidc")
    if getattr(oidc_tests, "SUMMARY", None):
        passed = sum(1 for r in terminalreporter.stats.get("passed", [])
                     if r.when == "call" and r.nodeid.startswith("tests/web/test_oidc.py"))
        terminalreporter.write_line(f"council sign-in (OpenID Connect) against the provider at "
                                    f"{oidc_tests.SUMMARY[0]} -> {passed} tests passed")
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if getattr(report, "when", "call") not in ("call", "setup") or (
                    outcome == "passed" and report.when != "call"):
                continue
            for engine in ENGINES:
                if nodeid.endswith(f"[{engine}]") or f"[{engine}-" in nodeid or f"-{engine}]" in nodeid:
                    counts.setdefault(engine, {}).setdefault(outcome, 0)
                    counts[engine][outcome] += 1
    if counts:
        parts = [f"{engine}: " + ", ".join(f"{n} {o}" for o, n in sorted(c.items()))
                 for engine, c in sorted(counts.items())]
        terminalreporter.write_line("database tests by engine -> " + "; ".join(parts))
