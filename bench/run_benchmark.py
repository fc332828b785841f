"""The national-scale benchmark: import speed, the daily deadline check, the termly review, memory.

    python bench/run_benchmark.py [--schools 22000] [--seed 2026] [--keep DIR]

Builds the synthetic national data set (bench/make_national.py) in a temporary folder, creates a
temporary SQLite database (concerns.db.upgrade), and prints one table:

- import: Ofsted MI rows per second through `concerns.imports.import_ofsted`, against a bare
  `csv.reader` pass over the same file (the ratio is how many times slower the real import is than just
  reading the CSV); the same file imported again (nothing to change); the GIAS establishments and links
  files for the same schools.
- deadline_check: the core function `concerns.notify.reminders.deadline_check(session, as_of)` timed on
  its own (no mail rendering), on a typical day: the day before is checked and committed first, so the
  reminders already sent are in the ledger, as in production; the measured run is rolled back, and the
  best of three is taken. With 1,000 and with 100,000 open deadlines (bulk SQL inserts on the imported
  open cases, due dates spread evenly over the next two years), and a third time with 100,000 open of
  which only as many fall in the reminder horizon as in the 1,000 case, which isolates the cost of the
  table's size from the cost of the work due.
- termly review: `concerns.jobs.run_termly_review(db, as_of)` over every open case in the country.
- peak memory: the process's maximum resident set size (resource.getrusage), whole run.

Targets (from the issue, printed beside the figures, not asserted): import under 30 s for 22,000 rows;
deadline_check under 5 s, 100,000 : 1,000 ratio under 3; peak memory under 1 GB.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: the project and bench/ importable
    sys.path.insert(0, str(ROOT))

from bench.make_national import write  # noqa: E402

AS_OF = date(2026, 11, 24)  # a Tuesday: reminder steps fall on working days
SPREAD_DAYS = 730  # synthetic deadlines fall due evenly over the two years from AS_OF
KINDS = ("reinspection", "hmi_monitoring", "progress_meeting", "school_review", "statement_of_action")


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def bare_csv_rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        return sum(1 for _ in reader)


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def add(self, what: str, figure: str, note: str = "") -> None:
        self.rows.append((what, figure, note))
        print(f"  {what}: {figure} {note}".rstrip(), flush=True)

    def print(self) -> None:
        widths = [max(len(r[i]) for r in self.rows) for i in range(3)]
        line = "+-" + "-+-".join("-" * w for w in widths) + "-+"
        print("\n" + line)
        for row in self.rows:
            print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")
        print(line)


def verdict(ok: bool) -> str:
    return "(target met)" if ok else "(TARGET MISSED)"


# --- deadlines ------------------------------------------------------------------------------------------------


def live_open_deadlines(url: str) -> int:
    from sqlalchemy import func, select

    from concerns.db import session_scope
    from models import Deadline

    with session_scope(url) as session:
        return session.execute(select(func.count()).select_from(Deadline).where(
            Deadline.status == "open", Deadline.historical.is_(False))).scalar_one()


def add_deadlines(url: str, count: int, rng: random.Random, *, first_day: date, last_day: date) -> None:
    """`count` open deadlines on the open cases, due evenly between the two days, in bulk."""
    from sqlalchemy import insert, select

    from concerns.db import session_scope
    from concerns.notify.reminders import first_notice_on
    from concerns.policy import policy_for
    from models import Case, Deadline
    from models._base import utcnow

    if count <= 0:
        return
    # As the casework does for every deadline it creates: the day the daily check first looks at it.
    policy = policy_for(None)
    calendar = policy.calendar("statutory")
    notice_on: dict[date, date] = {}
    with session_scope(url) as session:
        cases = session.execute(select(Case.id, Case.urn).where(Case.closed.is_(None))).all()
        span = (last_day - first_day).days
        now = utcnow()
        dues = [first_day + timedelta(days=rng.randrange(span + 1)) for _ in range(count)]
        for due in set(dues) - set(notice_on):
            notice_on[due] = first_notice_on(due, calendar, policy.reminder_offsets)
        rows = [{"case_id": case_id, "urn": urn, "kind": rng.choice(KINDS), "due": due,
                 "next_notice_on": notice_on[due], "status": "open",
                 "responsible": "senior_adviser", "rule": "bench", "source": "bench/run_benchmark.py", "note": "",
                 "created_on": AS_OF - timedelta(days=60), "historical": False, "updated_at": now}
                for due, (case_id, urn) in zip(dues, (rng.choice(cases) for _ in range(count)), strict=True)]
        for start in range(0, len(rows), 10_000):
            session.execute(insert(Deadline.__table__), rows[start:start + 10_000])


def remove_bench_deadlines(url: str) -> None:
    from sqlalchemy import delete

    from concerns.db import session_scope
    from models import Deadline, DeadlineNotice

    with session_scope(url) as session:
        ids = Deadline.__table__.c.id
        bench = Deadline.__table__.select().with_only_columns(ids).where(Deadline.__table__.c.rule == "bench")
        session.execute(delete(DeadlineNotice.__table__).where(DeadlineNotice.__table__.c.deadline_id.in_(bench)))
        session.execute(delete(Deadline.__table__).where(Deadline.__table__.c.rule == "bench"))


def check_a_typical_day(url: str) -> tuple[float, int, int]:
    """deadline_check on AS_OF after AS_OF - 1 was run (and committed): best of 3, each rolled back.

    Returns (seconds, deadlines examined, reminders raised).
    """
    from sqlmodel import Session

    from concerns.db import engine_for, session_scope
    from concerns.notify.reminders import deadline_check

    with session_scope(url) as session:
        deadline_check(session, AS_OF - timedelta(days=1))
    times, result = [], None
    for _ in range(3):
        with Session(engine_for(url), expire_on_commit=False) as session:
            seconds, result = timed(lambda session=session: deadline_check(session, AS_OF))
            session.rollback()
        times.append(seconds)
    return min(times), result.examined, len(result.items)


# --- the run ------------------------------------------------------------------------------------------------


def run(schools: int, seed: int, work: Path) -> Table:
    table = Table()
    os.environ.update({"CONCERNS_OUTBOX": str(work / "outbox"), "CONCERNS_REPORTS": str(work / "reports"),
                       "CONCERNS_LETTERS": str(work / "letters")})
    os.environ.pop("CONCERNS_SMTP_URL", None)
    from concerns.db import dispose_engines, upgrade
    from concerns.imports import import_gias, import_ofsted

    print(f"Building the national data set ({schools:,} schools, seed {seed}) in {work} ...", flush=True)
    seconds, paths = timed(lambda: write(work / "data", schools, seed))
    table.add("data set generated", f"{seconds:.1f} s", f"{paths['ofsted'].stat().st_size / 1e6:.1f} MB Ofsted CSV")
    url = f"sqlite:///{work / 'national.db'}"
    upgrade(url)

    # 1. import against the bare csv parse
    csv_seconds, csv_rows = timed(lambda: bare_csv_rows(paths["ofsted"]))
    import_seconds, summary = timed(lambda: import_ofsted(url, paths["ofsted"], as_of=AS_OF))
    assert summary.rows_read == csv_rows and summary.rows_refused == 0, summary.lines()
    table.add("bare csv.reader parse", f"{csv_rows / csv_seconds:,.0f} rows/s", f"{csv_seconds:.2f} s")
    table.add("Ofsted import (import_ofsted)", f"{csv_rows / import_seconds:,.0f} rows/s",
              f"{import_seconds:.1f} s for {csv_rows:,} rows {verdict(import_seconds < 30)}")
    table.add("  import : bare parse", f"{import_seconds / csv_seconds:,.0f} x slower",
              f"{summary.inspections_recorded:,} inspections, {summary.cases_opened:,} cases opened, "
              f"{summary.cases_closed:,} closed, {summary.deadlines_historical:,} deadlines marked history")
    again_seconds, again = timed(lambda: import_ofsted(url, paths["ofsted"], as_of=AS_OF))
    assert not again.changed_anything
    table.add("  same file again (no change)", f"{csv_rows / again_seconds:,.0f} rows/s", f"{again_seconds:.1f} s")
    gias_seconds, gias = timed(lambda: import_gias(url, paths["establishments"], as_of=AS_OF))
    table.add("GIAS establishments import", f"{gias.rows_read / gias_seconds:,.0f} rows/s",
              f"{gias.rows_read:,} rows in {gias_seconds:.1f} s")
    links_seconds, links = timed(lambda: import_gias(url, paths["links"], as_of=AS_OF))
    table.add("GIAS links import", f"{links.rows_read / links_seconds:,.0f} rows/s",
              f"{links.rows_read:,} rows in {links_seconds:.1f} s; {links.predecessors_linked:,} academies linked")

    # 2. deadline_check with 1,000 and 100,000 open deadlines
    rng = random.Random(seed)
    live = live_open_deadlines(url)
    add_deadlines(url, 1_000 - live, rng, first_day=AS_OF, last_day=AS_OF + timedelta(days=SPREAD_DAYS))
    small_open = live_open_deadlines(url)
    small, small_examined, small_items = check_a_typical_day(url)
    table.add(f"deadline_check, {small_open:,} open", f"{small * 1000:.0f} ms",
              f"{small_examined} with a notice due, {small_items} reminders raised")
    add_deadlines(url, 100_000 - live_open_deadlines(url), rng, first_day=AS_OF,
                  last_day=AS_OF + timedelta(days=SPREAD_DAYS))
    large_open = live_open_deadlines(url)
    large, large_examined, large_items = check_a_typical_day(url)
    table.add(f"deadline_check, {large_open:,} open", f"{large * 1000:.0f} ms",
              f"{large_examined} with a notice due, {large_items} reminders {verdict(large < 5)}")
    table.add(f"  {large_open:,} : {small_open:,}", f"{large / small:.1f}", f"{verdict(large / small < 3)} (due dates spread evenly: the reminders due grow too)")
    # The same 100,000, but no more of them due soon than in the 1,000 case: what the size alone costs.
    remove_bench_deadlines(url)
    rng = random.Random(seed)
    add_deadlines(url, 1_000 - live_open_deadlines(url), rng, first_day=AS_OF,
                  last_day=AS_OF + timedelta(days=SPREAD_DAYS))
    add_deadlines(url, 100_000 - live_open_deadlines(url), rng, first_day=AS_OF + timedelta(days=60),
                  last_day=AS_OF + timedelta(days=SPREAD_DAYS))
    sized, sized_examined, _ = check_a_typical_day(url)
    table.add("deadline_check, 100,000 open, same due soon", f"{sized * 1000:.0f} ms",
              f"{sized_examined} with a notice due; ratio to 1,000: {sized / small:.1f} {verdict(sized / small < 3)}")
    remove_bench_deadlines(url)

    # 3. the termly review, whole country (on the imported state, without the synthetic deadlines)
    from concerns.jobs import run_termly_review

    open_cases = _open_cases(url)
    termly_seconds, termly = timed(lambda: run_termly_review(url, AS_OF))
    table.add("termly review, whole country", f"{termly_seconds:.1f} s",
              f"{termly['meetings_scheduled']:,} meetings scheduled for {open_cases:,} open cases, "
              f"{len(termly['reports']):,} authority reports")

    # 4. memory
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    table.add("peak memory (max RSS)", f"{peak_mb:,.0f} MB", verdict(peak_mb < 1024))
    dispose_engines()
    return table


def _open_cases(url: str) -> int:
    from sqlalchemy import func, select

    from concerns.db import session_scope
    from models import Case

    with session_scope(url) as session:
        return session.execute(select(func.count()).select_from(Case).where(Case.closed.is_(None))).scalar_one()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=22000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (data set, database, reports)")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="concerns-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        table = run(args.schools, args.seed, work)
        table.add("whole benchmark", f"{time.perf_counter() - started:.0f} s", f"python {sys.version.split()[0]}, "
                  f"{os.cpu_count()} CPUs, SQLite, as of {AS_OF.isoformat()}")
        table.print()
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
