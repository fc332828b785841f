"""Letters per second: the annual categorisation's letters in one process, in two, and on Prefect workers.

    python bench/letters.py [--letters 200] [--batch-size 25] [--workers] [--engine sqlite|postgresql]
                            [--repeat 1] [--keep DIR]

Builds an application database (a SQLite file in a temporary folder; with `--engine postgresql` a new
database on the local PostgreSQL server, CONCERNS_BENCH_POSTGRES or the unix socket, dropped at the end): the demo authority and as many more schools
as it takes (each with a headteacher and a chair on record) for `--letters` category letters, then records
the year's categories without their letters (concerns.jobs.categorisation.record_categories with
write_letters=False), which leaves one letter order per school. Then it writes those letters three ways,
clearing the letters, their rows and their mails in between, and prints letters per second for each:

1. one process: the batches one after the other in a process started for them;
2. two processes: the same batches over a pool of two (concurrent.futures with "spawn", as Prefect's
   ProcessPoolTaskRunner does), each process paying its own start (imports, fonts) inside the time;
3. with --workers: a Prefect server whose own database is PostgreSQL (a new database on the local server,
   as scripts/check_deploy.sh makes it), the work pool concerns-process, the letter-batch deployment of
   prefect.yaml, and one, then two, `prefect worker start --pool concerns-process --limit 1` (each worker one
   run at a time: one worker is one process writing), the batches sent as deployment runs by the same code
   the annual categorisation flow uses (flows.letter_batches.write_letters with on_workers).

Each run ends by checking every letter is there once (rows, files, two mails each). The ratio printed is the
two-process figure over the one-process figure, measured in the same run on the same machine; with
`--repeat N`, N rounds of one process then two, each round's ratio and their median (a virtual machine's
speed drifts from minute to minute; pairs measured side by side cancel most of it). The target is 1.7 on two
cores. Not a test: the figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: the project importable
    sys.path.insert(0, str(ROOT))

AS_OF = date(2026, 10, 1)
FIRST_URN = 970001


def build(db: str, letters: int) -> list[dict]:
    """The demo authority and enough more schools for `letters` letters; their categories recorded, the
    letters left as orders (the first `letters` of them returned)."""
    from concerns.app.demo import LA, load_demo
    from concerns.casework import cases
    from concerns.casework.people import add_person
    from concerns.jobs.categorisation import record_categories
    from concerns.store.db import session_scope, upgrade

    upgrade(db)
    with session_scope(db) as session:
        load_demo(session)
        for n in range(letters):
            urn = str(FIRST_URN + n)
            name = f"Bench School {n + 1}"
            cases.add_school(session, urn, name=name, la=LA, type_name="Community school")
            session.flush()
            add_person(session, f"Headteacher of {name}", f"head{urn}@schools.demoshire.example",
                       role="headteacher", la=LA, urn=urn)
            add_person(session, f"Chair of governors of {name}", f"chair{urn}@schools.demoshire.example",
                       role="chair_of_governors", la=LA, urn=urn)
    orders = record_categories(db, AS_OF, "the benchmark's service head", write_letters=False)["letter_orders"]
    if len(orders) < letters:
        raise SystemExit(f"bench/letters.py: only {len(orders)} letters to write, {letters} asked for")
    return orders[:letters]


def clear(db: str, letters_dir: Path) -> None:
    """No letter written yet: the letters' rows, their mails and their files removed."""
    from sqlmodel import delete

    from concerns.store.db import session_scope
    from models import Letter, Notification

    with session_scope(db) as session:
        session.exec(delete(Notification).where(Notification.kind == "letter"))
        session.exec(delete(Letter))
    shutil.rmtree(letters_dir, ignore_errors=True)


def check_once(db: str, letters_dir: Path, expected: int) -> None:
    """Every letter written once: a row, its file with the bytes its hash says, two mails."""
    from sqlmodel import select

    from concerns.store.db import session_scope
    from models import Letter, Notification

    with session_scope(db, writes=False) as session:
        rows = session.exec(select(Letter)).all()
        mails = session.exec(select(Notification).where(Notification.kind == "letter")).all()
    files = sorted(letters_dir.rglob("*.html"))
    problems = []
    if len(rows) != expected or len({r.key for r in rows}) != expected:
        problems.append(f"{len(rows)} letter rows, {expected} expected")
    if sorted(Path(r.path) for r in rows) != files:
        problems.append(f"{len(files)} letter files for {len(rows)} rows")
    if any(hashlib.sha256(Path(r.path).read_bytes()).hexdigest() != r.sha256 for r in rows):
        problems.append("a letter file differs from what was recorded")
    if len(mails) != 2 * expected or len({m.key for m in mails}) != len(mails):
        problems.append(f"{len(mails)} letter mails, {2 * expected} expected")
    if problems:
        raise SystemExit("bench/letters.py: " + "; ".join(problems))


def write_batch(db: str, batch: list[dict]) -> int:
    """One batch in a pool's process (what flows.letter_batches.write_letters_task runs)."""
    from concerns.jobs.letterbatch import write_letter_batch

    return write_letter_batch(db, batch, AS_OF)["letters"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def in_processes(db: str, batches: list[list[dict]], processes: int) -> tuple[float, float]:
    """Seconds to write every batch over `processes` processes, each started for the purpose, and the CPU
    seconds they used (counted when they end)."""
    started, cpu = time.perf_counter(), children_cpu()
    with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        written = sum(pool.map(write_batch, [db] * len(batches), batches))
    seconds = time.perf_counter() - started
    if written != sum(len(b) for b in batches):
        raise SystemExit(f"bench/letters.py: {written} letters written by {processes} process(es)")
    return seconds, children_cpu() - cpu


class Workers:
    """A Prefect server (its database on PostgreSQL), the work pool and a deployment of prefect.yaml (the
    letter-batch one here; bench/fanout.py the termly review's child), and workers started on it one by one:
    scripts/check_deploy.py's way of starting them."""

    def __init__(self, work: Path, db: str, letters_dir: Path, deployment: str = "letter-batch"):
        from scripts.check_deploy import free_port, postgres_database

        self.work, self.processes, self.workers = work, [], []
        port = free_port()
        url, self.drop = postgres_database()
        bin_dir = Path(sys.executable).parent
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CONCERNS_"))}
        self.env.update({
            "PATH": f"{bin_dir}{os.pathsep}{self.env.get('PATH', '')}",
            "PREFECT_HOME": str(work / "prefect"), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_DATABASE_CONNECTION_URL": url,
            "PREFECT_WORKER_QUERY_SECONDS": "2", "CONCERNS_HOME": str(ROOT), "CONCERNS_DB": db,
            "CONCERNS_LETTERS": str(letters_dir), "CONCERNS_REPORTS": str(work / "reports"),
            "CONCERNS_OUTBOX": str(work / "outbox")})
        from scripts.check_deploy import start_prefect_server

        os.environ.update(self.env)
        self.processes.append(start_prefect_server(port, self.env, work / "server.log"))
        self.run(["prefect", "work-pool", "create", "concerns-process", "--type", "process"])
        self.run(["prefect", "--no-prompt", "deploy", "--name", deployment], cwd=ROOT)

    def run(self, command: list[str], cwd: Path | None = None) -> None:
        done = subprocess.run(command, env=self.env, cwd=cwd or self.work, capture_output=True, text=True,
                              timeout=600)
        if done.returncode:
            raise SystemExit(f"bench: {' '.join(command)} failed: {done.stderr[-2000:]}")

    def add_worker(self) -> None:
        from scripts.check_deploy import Process

        n = len(self.workers) + 1
        worker = Process(f"worker {n}", ["prefect", "worker", "start", "--pool", "concerns-process", "--limit", "1",
                                         "--name", f"bench-worker-{n}"], self.env, self.work / f"worker-{n}.log",
                         ROOT)
        self.workers.append(worker)
        self.processes.append(worker)
        time.sleep(5)  # polling the pool

    def seconds(self, db: str, orders: list[dict], batch_size: int) -> float:
        from prefect import flow

        from flows.letter_batches import write_letters

        @flow(name="bench-letters-on-workers")
        async def parent() -> dict:
            return await write_letters(db, orders, AS_OF, False, batch_size, 1, on_workers=True)

        started = time.perf_counter()
        result = asyncio.run(parent())
        seconds = time.perf_counter() - started
        if result["failed_batches"] or result["letters"] != len(orders):
            raise SystemExit(f"bench/letters.py: on workers: {json.dumps(result)[:500]}")
        return seconds

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.drop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=200, help="letters to write each time (default 200)")
    parser.add_argument("--batch-size", type=int, default=25, help="letters a batch holds (default 25)")
    parser.add_argument("--workers", action="store_true", help="also on 1 and 2 Prefect workers (PostgreSQL)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of one process then two (default 1)")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite",
                        help="the application database (default sqlite)")
    args = parser.parse_args(argv)
    from concerns.jobs.letterbatch import in_batches

    work = args.keep or Path(tempfile.mkdtemp(prefix="concerns-bench-letters-"))
    work.mkdir(parents=True, exist_ok=True)
    letters_dir = work / "letters"
    os.environ.update({"CONCERNS_LETTERS": str(letters_dir), "CONCERNS_REPORTS": str(work / "reports"),
                       "CONCERNS_OUTBOX": str(work / "outbox")})
    db, databases = f"sqlite:///{work / 'concerns.db'}", None
    if args.engine == "postgresql":
        from bench.run_benchmark import PostgresDatabases, postgres_admin_url

        admin = postgres_admin_url()
        if admin is None:
            raise SystemExit("bench/letters.py: no PostgreSQL server answers (CONCERNS_BENCH_POSTGRES, else the "
                             "local socket)")
        databases = PostgresDatabases(admin)
        db = databases.fresh()
    try:
        orders = build(db, args.letters)
        batches = in_batches(orders, args.batch_size)
        shared = in_batches(orders, args.batch_size, shares=2)  # as the flow evens them out over its pool
        print(f"{len(orders)} categorisation letters (PDF for each mail), {len(batches)} batches of "
              f"{args.batch_size}, on {os.cpu_count()} cores; {'PostgreSQL' if databases else 'SQLite'} "
              "application database")
        print("load average before: {:.1f} {:.1f} {:.1f} (other work on the machine)".format(*os.getloadavg()))
        figures: dict[str, float] = {}
        cpu: dict[str, float] = {}
        rounds: list[float] = []
        for round_ in range(1, args.repeat + 1):
            # One process then two, again and again: on a machine whose speed drifts, each pair is measured
            # minutes apart at most, and the median of the pairs' ratios is the figure to read.
            for processes in (1, 2):
                clear(db, letters_dir)
                how = f"{processes} process{'es' if processes > 1 else ''}"
                if args.repeat > 1:
                    how += f", round {round_}"
                figures[how], cpu[how] = in_processes(db, batches if processes == 1 else shared, processes)
                check_once(db, letters_dir, len(orders))
            one, two = list(figures)[-2:]
            rounds.append(figures[one] / figures[two])
        if args.workers:
            workers = Workers(work, db, letters_dir)
            try:
                for count in (1, 2):
                    workers.add_worker()
                    clear(db, letters_dir)
                    seconds = workers.seconds(db, orders, args.batch_size)
                    check_once(db, letters_dir, len(orders))
                    figures[f"{count} Prefect worker{'s' if count > 1 else ''}"] = seconds
            finally:
                workers.stop()
        print("load average after: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        print(f"{'how':<20} {'seconds':>8} {'letters/s':>10} {'CPU s':>7}")
        for how, seconds in figures.items():
            used = f"{cpu[how]:>7.1f}" if how in cpu else f"{'':>7}"
            print(f"{how:<20} {seconds:>8.1f} {len(orders) / seconds:>10.2f} {used}")
        if args.repeat == 1:
            print(f"2 processes : 1 process = {rounds[0]:.2f} x (target >= 1.7 on two cores)")
        else:
            print(f"2 processes : 1 process, each round: {', '.join(f'{r:.2f}' for r in rounds)} x; median "
                  f"{statistics.median(rounds):.2f} x (target >= 1.7 on two cores)")
        if args.workers:
            print(f"2 workers : 1 worker = {figures['1 Prefect worker'] / figures['2 Prefect workers']:.2f} x")
    finally:
        if databases is not None:
            from concerns.store.db import dispose_engines

            dispose_engines()
            databases.drop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
