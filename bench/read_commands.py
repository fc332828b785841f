"""How long the officer's read commands take, against floors measured in the same run.

    python bench/read_commands.py [--db sqlite:///demo.db] [--repeat 7]

Without --db a demo database is made in a temporary folder (`concerns init --demo`). Each read command
(`concerns register`, `concerns case show URN`, `concerns deadlines`) is run as a fresh process, as an
officer runs it, --repeat times; the best and the median wall-clock time are printed. The floors:

- process start: `python -c pass` with the same interpreter, the least any command can cost;
- the ORM: `python -c "import models"`, a process that imports SQLAlchemy, SQLModel and the tables and
  does nothing else: the least any command that reads through the models can cost;
- bare SQL: the SQL statements the command's view issues (recorded once in this process, with their
  parameters) replayed through the sqlite3 module on a fresh connection: what reading the rows costs;
- floor = process start + bare SQL; the ratio is the command's best against that floor.

Each figure also gives the least CPU time (user + system) of its runs: on the shared machine the wall
clock follows the load, the CPU time much less, so "CPU x the ORM's" is the steadier comparison.

Target (from the "shape and speed" issue): each command within 0.6 s.

Every process runs with bytecode caching on (PYTHONDONTWRITEBYTECODE unset, whatever the caller's
environment says), as an installed command does: otherwise each run compiles the project's sources again.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 0.6
AS_OF = date(2026, 11, 24)


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_times(argv: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds (the child's user + system time) of `repeat` runs, after one to warm."""
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=ENV)  # warm
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=ENV)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def recorded_sql(url: str, view) -> list[tuple[str, object]]:
    """The statements (and parameters) a view issues, captured with a cursor event."""
    from sqlalchemy import event

    from concerns.store.db import engine_for, session_scope

    statements: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        statements.append((statement, parameters))

    engine = engine_for(url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_scope(url, writes=False) as session:
            view(session)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


def bare_sql_seconds(path: str, statements: list[tuple[str, object]], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        connection = sqlite3.connect(path)
        for statement, parameters in statements:
            connection.execute(statement, parameters).fetchall()
        connection.close()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an SQLite URL (default: a fresh demo database)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    script = Path(sys.executable).parent / "concerns"  # the console script an officer runs
    concerns = [str(script)] if script.exists() else [sys.executable, "-m", "concerns.app.cli"]
    with tempfile.TemporaryDirectory(prefix="concerns-read-") as tmp:
        url = args.db or f"sqlite:///{tmp}/demo.db"
        if not args.db:
            subprocess.run([*concerns, "--db", url, "init", "--demo"], check=True, stdout=subprocess.DEVNULL, cwd=ROOT,
                           env=ENV)
        path = url.removeprefix("sqlite:///")

        from concerns.casework import views

        with sqlite3.connect(path) as connection:
            urn = connection.execute(
                "SELECT urn FROM pathway_case ORDER BY id LIMIT 1").fetchone()[0]
        commands = {
            "register": (["register", "--as-of", AS_OF.isoformat()],
                         lambda s: views.register(s, AS_OF)),
            f"case show {urn}": (["case", "show", str(urn), "--as-of", AS_OF.isoformat()],
                                 lambda s: views.case_view(s, str(urn), AS_OF)),
            "deadlines": (["deadlines", "--as-of", AS_OF.isoformat()],
                          lambda s: views.deadlines_view(s, AS_OF, within=None)),
        }

        start, start_cpu = run_times([sys.executable, "-c", "pass"], args.repeat)
        start_best = min(start)
        print(f"read commands on {url}, best and median of {args.repeat} runs each (CPU: the least user + "
              f"system time of the runs); target {TARGET_SECONDS} s")
        print(f"{'figure':<28} {'best':>8} {'median':>8} {'CPU':>8}  note")
        print(f"{'process start (floor)':<28} {start_best:>7.3f}s {statistics.median(start):>7.3f}s "
              f"{min(start_cpu):>7.3f}s  python -c pass")
        orm, orm_cpu = run_times([sys.executable, "-c", "import models"], args.repeat)
        print(f"{'import the ORM (floor)':<28} {min(orm):>7.3f}s {statistics.median(orm):>7.3f}s {min(orm_cpu):>7.3f}s  "
              f"python -c 'import models' (SQLAlchemy, SQLModel, the tables)")
        env_ok = True
        for name, (cli_args, view) in commands.items():
            sql = recorded_sql(url, view)
            sql_best = bare_sql_seconds(path, sql, args.repeat)
            times, cpus = run_times([*concerns, "--db", url, *cli_args], args.repeat)
            best, floor = min(times), start_best + sql_best
            met = best <= TARGET_SECONDS
            env_ok &= met
            print(f"{'  bare SQL (floor)':<28} {sql_best:>7.3f}s {'':>8} {'':>8}  {len(sql)} statements of `{name}`")
            print(f"{'concerns ' + name:<28} {best:>7.3f}s {statistics.median(times):>7.3f}s {min(cpus):>7.3f}s  "
                  f"{best / floor:.1f} x (start + SQL), {best / (min(orm) + sql_best):.1f} x (ORM + SQL), "
                  f"CPU {min(cpus) / min(orm_cpu):.2f} x the ORM's; {'target met' if met else 'TARGET MISSED'}")
    sys.exit(0 if env_ok else 1)


if __name__ == "__main__":
    main()
