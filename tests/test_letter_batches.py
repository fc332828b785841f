"""The annual categorisation's letters in batches: each letter once, each mail queued once, whatever happens.

A batch killed in the middle (a process that ends with os._exit after N letters, its N+1st letter's files
already renamed into place and its transaction not committed) and then retried; a batch failing with an
exception inside a letter's transaction and retried; two batches given the same orders at the same moment.
Each time: one row per letter, one file per letter (the row's, with the bytes its hash says), no temporary
file left, and two mails per letter (head and chair), each queued once. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from concerns.app.demo import load_demo
from concerns.casework.cases import Refused
from concerns.jobs.categorisation import record_categories
from concerns.jobs.letterbatch import check_batch_size, check_orders, in_batches, write_letter_batch
from concerns.store.db import session_scope
from models import Letter, Notification
from tests.conftest import d

AS_OF = d("2026-10-01")
ROOT = Path(__file__).resolve().parents[1]

# A batch in a process of its own, as a pool's process or a worker runs it: `crash_after` letters committed,
# then the next letter's files are renamed into place and the process ends before its commit.
BATCH_SCRIPT = """
import json, os, sys
from datetime import date
from concerns.jobs.letterbatch import write_letter_batch

db, orders_file, as_of, crash_after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
written = 0

def checkpoint(stage):
    global written
    if stage == "written":
        written += 1
    elif stage == "renamed" and crash_after >= 0 and written == crash_after:
        os._exit(1)

orders = json.loads(open(orders_file).read())
print(json.dumps(write_letter_batch(db, orders, date.fromisoformat(as_of), checkpoint=checkpoint)))
"""


@pytest.fixture
def approved(db_url, tmp_path, monkeypatch) -> tuple[str, list[dict]]:
    """The demo authority with its categories for 2026/27 approved and recorded, the letters still owed."""
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    monkeypatch.setenv("CONCERNS_REPORTS", str(tmp_path / "reports"))
    with session_scope(db_url) as session:
        load_demo(session)
    recorded = record_categories(db_url, AS_OF, "Alex Morgan", write_letters=False)
    orders = recorded["letter_orders"]
    assert recorded["letters"] == 0 and len(orders) >= 12
    assert not list((tmp_path / "letters").rglob("*.html"))  # the decisions are recorded, no letter yet
    return db_url, orders


def run_batch(db: str, orders: list[dict], tmp_path: Path, crash_after: int = -1) -> subprocess.Popen:
    orders_file = tmp_path / f"orders-{os.getpid()}-{len(list(tmp_path.glob('orders-*')))}.json"
    orders_file.write_text(json.dumps(orders), encoding="utf-8")
    return subprocess.Popen([sys.executable, "-c", BATCH_SCRIPT, db, str(orders_file), AS_OF.isoformat(),
                             str(crash_after)], cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def assert_each_letter_once(db: str, letters: Path, expected: int) -> None:
    import hashlib

    with session_scope(db, writes=False) as session:
        rows = session.exec(select(Letter).where(Letter.kind == "categorisation")).all()
        mails = session.exec(select(Notification).where(Notification.kind == "letter")).all()
    assert len(rows) == len({r.key for r in rows}) == expected
    files = sorted(letters.rglob("*.html"))
    assert sorted(Path(r.path) for r in rows) == files  # one file per letter, and no file without its letter
    assert len(list(letters.rglob("*.txt"))) == expected
    assert not [p for p in letters.rglob("*") if p.name.endswith(".tmp")]
    for row in rows:
        assert hashlib.sha256(Path(row.path).read_bytes()).hexdigest() == row.sha256
    per_letter = Counter(m.key.rsplit(":", 1)[0] for m in mails)
    assert set(per_letter) == {f"letter:{r.key}" for r in rows} and set(per_letter.values()) == {2}
    assert len({(m.recipient_email, m.subject) for m in mails}) == len(mails)


def test_a_batch_killed_after_some_letters_then_retried_writes_each_letter_and_mail_once(approved, tmp_path):
    db, orders = approved
    batch = orders[:12]
    crashed = run_batch(db, batch, tmp_path, crash_after=5)
    _, err = crashed.communicate(timeout=300)
    assert crashed.returncode == 1, err
    with session_scope(db, writes=False) as session:
        assert len(session.exec(select(Letter)).all()) == 5
    # The sixth letter's files were renamed into place, its row never committed: a file no row names.
    assert len(list((tmp_path / "letters").rglob("*.html"))) == 6
    retried = run_batch(db, batch, tmp_path)
    out, err = retried.communicate(timeout=300)
    assert retried.returncode == 0, err
    summary = json.loads(out)
    assert (summary["letters"], summary["already_written"]) == (7, 5)
    assert_each_letter_once(db, tmp_path / "letters", 12)
    # A third run of the same batch finds every letter written and renders nothing.
    assert write_letter_batch(db, batch, AS_OF)["letters"] == 0
    assert_each_letter_once(db, tmp_path / "letters", 12)


def test_an_exception_inside_a_letters_transaction_then_the_retry_writes_each_once(approved, tmp_path):
    db, orders = approved
    batch = orders[:10]
    seen = Counter()

    def fail_on_the_fourth(stage: str) -> None:
        seen[stage] += 1
        if stage == "queued" and seen[stage] == 4:
            raise RuntimeError("the database connection dropped")

    with pytest.raises(RuntimeError, match="dropped"):
        write_letter_batch(db, batch, AS_OF, checkpoint=fail_on_the_fourth)
    with session_scope(db, writes=False) as session:
        assert len(session.exec(select(Letter)).all()) == 3
        assert len(session.exec(select(Notification).where(Notification.kind == "letter")).all()) == 6
    summary = write_letter_batch(db, batch, AS_OF)
    assert (summary["letters"], summary["already_written"]) == (7, 3)
    assert_each_letter_once(db, tmp_path / "letters", 10)


def test_two_batches_over_the_same_orders_at_once_write_each_letter_once(approved, tmp_path):
    db, orders = approved
    both = [run_batch(db, orders, tmp_path), run_batch(db, orders, tmp_path)]
    results = []
    for process in both:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        results.append(json.loads(out))
    written = [r["letters"] for r in results]
    expected = len(orders) - len(results[0]["without_letter"])
    assert sum(written) == expected and sum(r["already_written"] for r in results) == expected
    assert_each_letter_once(db, tmp_path / "letters", expected)


def test_the_approval_rerun_after_a_crash_before_the_letters_writes_the_letters_owed(approved, tmp_path):
    db, orders = approved
    write_letter_batch(db, orders[:4], AS_OF)  # the run died after its first batch
    again = record_categories(db, AS_OF, "Alex Morgan", write_letters=False)
    assert again["recorded"] == 0
    owed = again["letter_orders"]
    assert {o["category"] for o in owed} == {o["category"] for o in orders[4:]}
    assert record_categories(db, AS_OF, "Alex Morgan")["letters"] == len(owed)
    assert_each_letter_once(db, tmp_path / "letters", len(orders))
    assert record_categories(db, AS_OF, "Alex Morgan", write_letters=False)["letter_orders"] == []


@pytest.mark.parametrize(("size", "says"), [(5, "letter batch size 5: a batch holds between 10 and 500 letters"),
                                            (501, "letter batch size 501"), (True, "letter batch size True"),
                                            ("50", "letter batch size '50'")])
def test_a_batch_size_outside_its_range_is_refused_in_one_line(size, says):
    with pytest.raises(Refused, match=says) as refused:
        check_batch_size(size)
    assert "\n" not in str(refused.value)


def test_batches_keep_the_orders_in_order_and_the_last_is_shorter():
    orders = [{"category": n, "basis": []} for n in range(1, 24)]
    assert [len(b) for b in in_batches(orders, 10)] == [10, 10, 3]
    assert [o for b in in_batches(orders, 10) for o in b] == orders
    # Evened out over the processes that take them: a multiple of them, none above the size, in order.
    assert [len(b) for b in in_batches(orders, 10, shares=2)] == [6, 6, 6, 5]
    assert [len(b) for b in in_batches(orders, 10, shares=3)] == [8, 8, 7]
    assert [len(b) for b in in_batches(orders, 500, shares=16)] == [2] * 7 + [1] * 9
    assert [o for b in in_batches(orders, 10, shares=2) for o in b] == orders
    many = [{"category": i, "basis": []} for i in range(730)]
    assert sorted({len(b) for b in in_batches(many, 50, shares=2)}) == [45, 46]
    assert len(in_batches(many, 50, shares=2)) == 16 and len(in_batches(many, 50)) == 15
    assert in_batches(orders[:1], 10, shares=2) == [orders[:1]] and in_batches([], 10, shares=2) == []


@pytest.mark.parametrize("order", [{"category": 0, "basis": []}, {"category": "7", "basis": []},
                                   {"category": 3, "basis": "a sentence"}, {"category": 3, "basis": ["x" * 2001]},
                                   ["category", 3]])
def test_an_order_that_is_not_a_decision_and_its_reasons_is_refused(order):
    with pytest.raises(Refused, match="letter order") as refused:
        check_orders([{"category": 1, "basis": ["fine"]}, order])
    assert "\n" not in str(refused.value)


@pytest.mark.prefect
def test_the_annual_flow_writes_the_letters_in_batches_over_two_processes(prefect_server, tmp_path, monkeypatch):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    from concerns.store.db import upgrade
    from flows.annual_categorisation import annual_categorisation_flow

    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    monkeypatch.setenv("CONCERNS_REPORTS", str(tmp_path / "reports"))
    # The pool's processes report to the server named in their environment, as a worker's do in production
    # (docs/production.md): the test server's address, not whatever an earlier test left in this process.
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    db = f"sqlite:///{tmp_path / 'concerns.db'}"
    upgrade(db)
    with session_scope(db) as session:
        load_demo(session)
    summary = asyncio.run(annual_categorisation_flow(as_of=AS_OF, db=db, approved_by="Alex Morgan",
                                                     letter_batch_size=10, letter_processes=2))
    # Batches of at most 10, as many as a multiple of the two processes (evened out: in_batches' shares).
    owed = summary["letters"] + len(summary["without_letter"])
    tens = math.ceil(owed / 10)
    assert summary["letter_batches"] == min(owed, math.ceil(tens / 2) * 2) >= 2
    assert_each_letter_once(db, tmp_path / "letters", summary["letters"])

    async def batch_task_runs():
        async with get_client() as client:
            return await client.read_task_runs(task_run_filter=TaskRunFilter(
                name=TaskRunFilterName(like_="write-letters-2026-10-01-batch-")))

    assert len(asyncio.run(batch_task_runs())) == summary["letter_batches"]
    refused = asyncio.run(annual_categorisation_flow(as_of=AS_OF, db=db, approved_by="Alex Morgan",
                                                     letter_batch_size=9, return_state=True))
    assert refused.is_failed() and refused.message == (
        "Refused: letter batch size 9: a batch holds between 10 and 500 letters")
    refused = asyncio.run(annual_categorisation_flow(as_of=AS_OF, db=db, approved_by="Alex Morgan",
                                                     letter_processes=0, return_state=True))
    assert refused.message == "Refused: letter processes 0: between 1 and 16 processes write the letters"


def test_a_letter_batch_run_with_a_password_in_db_is_refused_before_prefect_stores_it():
    from prefect.utilities.callables import parameter_schema
    from prefect.utilities.schema_tools import validate
    from prefect.utilities.schema_tools.validation import ValidationError

    from flows.letter_batches import letter_batch_flow

    schema = parameter_schema(letter_batch_flow.fn).model_dump_for_openapi()
    given = {"orders": [{"category": 1, "basis": ["A reason."]}], "as_of": "2026-10-01"}
    with pytest.raises(ValidationError, match="db"):
        validate({**given, "db": "postgresql+psycopg://concerns:s3cret@dbhost/concerns"}, schema, raise_on_error=True)
    validate({**given, "db": "postgresql+psycopg://concerns@dbhost/concerns"}, schema, raise_on_error=True)


@pytest.mark.prefect
def test_a_letter_batch_run_given_an_order_that_is_not_one_fails_in_one_line(prefect_server):
    from flows.letter_batches import letter_batch_flow

    state = letter_batch_flow(orders=[{"category": 0, "basis": []}], as_of=AS_OF, return_state=True)
    assert state.is_failed() and state.message == (
        "Refused: letter order {'category': 0, 'basis': []}: no decision's id (a whole number from 1)")
