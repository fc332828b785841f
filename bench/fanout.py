"""The termly review fanned out per authority: 1 process against 2, in the same run (issue 22).

    python bench/fanout.py [--authorities 30] [--engine postgresql|sqlite] [--prefect] [--workers]

Builds `--authorities` copies of the demo authority ("Demoshire 01", ...: each its own 21 schools, officers
and heads, so no two share anybody and each is a child of its own), loads them once, and copies that
database for every timed run (PostgreSQL: CREATE DATABASE ... TEMPLATE; SQLite: a file copy), so each run
starts from the same state. Then times the whole termly review of every authority:

- one process: `run_termly_review(db, as_of)`, the job as the flow's "one-process" way runs it;
- fanned out over a pool of 1 and of 2 spawned processes, one child per authority
  (`run_termly_review(db, as_of, las=group)` for each group of `termly_authorities`), the way the flow's
  "processes" way runs it, less Prefect: pool start-up (a fresh interpreter importing the project) counted;
- with `--prefect`, the flow itself, `termly_review_flow(fan_out="processes", processes=1 and 2)`, against a
  temporary Prefect API server started here (as a worker's runs have one: in Prefect's serverless local mode
  each pool process would start a temporary server of its own, and on a busy machine time out doing so).
  `--prefect-only` leaves out the pool runs without Prefect;
- with `--workers` (PostgreSQL), the flow with fan_out "deployments" on one and then two Prefect workers
  (`prefect worker start --pool concerns-process --limit 1`, each one run at a time) of a Prefect server whose
  own database is PostgreSQL, the termly-review-authority deployment of prefect.yaml taking the children:
  a worker starts a process for each child run, as in production (bench/letters.py's Workers).

Prints each wall-clock time and the ratio of 1 to 2 processes, and checks that every fanned-out run gave the
same summary as the one-process run (meetings, invitations, the report). Not a timed test: the figures
depend on the machine; bench/README.md says what was measured.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import date
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: the project and bench/ importable
    sys.path.insert(0, str(ROOT))

AS_OF = date(2026, 11, 22)  # the demo authority's "today": its cases have a term's meetings to plan
COMPARED = ("term", "meetings_scheduled", "invitations_queued", "table", "moves", "overdue", "markdown",
            "meetings", "meetings_unplaced")


@contextmanager
def _demo_as(index: int):
    """The demo module's authority, schools and officers renamed for copy `index` while it loads."""
    from concerns.app import demo

    saved = demo.LA, demo.OFFICERS, demo.SCHOOLS, demo.HISTORY

    def urn(old: str) -> str:
        return f"{10 + index:02d}{old[2:]}"

    demo.LA = f"Demoshire {index:02d}"
    demo.OFFICERS = [(name, email.replace("@demoshire.", f"@c{index:02d}.demoshire."), role)
                     for name, email, role in saved[1]]
    demo.SCHOOLS = [(urn(u), f"{name} ({index:02d})", kind, extra) for u, name, kind, extra in saved[2]]
    demo.HISTORY = {urn(u): steps for u, steps in saved[3].items()}
    try:
        yield demo
    finally:
        demo.LA, demo.OFFICERS, demo.SCHOOLS, demo.HISTORY = saved


def load_demo_clones(url: str, count: int) -> list[str]:
    """`count` copies of the demo authority in the database at `url` (migrated); returns their names. Each
    copy's heads and chairs get addresses of their own (the demo gives every copy the same ones, which
    would make every authority share its heads with every other)."""
    from sqlalchemy import text

    from concerns.store.db import session_scope

    names = []
    if count > 89:
        raise ValueError(f"--authorities {count}: at most 89 copies (URNs 10xxxx to 98xxxx)")
    for index in range(1, count + 1):
        with _demo_as(index) as demo, session_scope(url) as session:
            demo.load_demo(session)
            session.flush()
            session.execute(text("UPDATE person SET email = replace(email, '@schools.demoshire.', :mine) "
                                 "WHERE email LIKE '%@schools.demoshire.example'"),
                            {"mine": f"@c{index:02d}.schools.demoshire."})
            names.append(demo.LA)
    return names


def _child(url: str, las: list[str]) -> dict:
    from concerns.jobs.termly import run_termly_review

    return run_termly_review(url, AS_OF, True, las)


def fanned_out(url: str, processes: int) -> dict:
    """The review as the flow's "processes" way runs it, less Prefect: a spawned pool, a child per group."""
    from concerns.jobs.termly import merge_termly_summaries, termly_authorities

    groups = termly_authorities(url, AS_OF, True)
    with ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn")) as pool:
        children = list(pool.map(_child, [url] * len(groups), groups))
    return merge_termly_summaries(AS_OF, children)


def one_process(url: str) -> dict:
    from concerns.jobs.termly import run_termly_review

    return run_termly_review(url, AS_OF, True)


def prefect_flow(url: str, processes: int) -> dict:
    import asyncio

    from flows.termly_review import termly_review_flow

    return asyncio.run(termly_review_flow(as_of=AS_OF, db=url, simulation=True, fan_out="processes",
                                          processes=processes))


def on_deployments(url: str) -> dict:
    import asyncio

    from flows.termly_review import termly_review_flow

    return asyncio.run(termly_review_flow(as_of=AS_OF, db=url, simulation=True, fan_out="deployments"))


def timed_on_workers(databases: Databases, work: Path, base: dict) -> dict[str, float]:
    """The review fanned out over deployments, on one Prefect worker and then on two."""
    from bench.letters import Workers

    seconds = {}
    workers = Workers(work, databases.loaded, work / "letters", deployment="termly-review-authority")
    try:
        for count in (1, 2):
            workers.add_worker()
            what = f"Prefect flow, fan_out deployments, {count} worker{'s' if count > 1 else ''}"
            seconds[what], summary = timed(what, on_deployments, databases.fresh())
            different = [key for key in COMPARED if summary[key] != base[key]]
            if different:
                raise SystemExit(f"{what}: not the one-process summary: {', '.join(different)} differ")
    finally:
        workers.stop()
    return seconds


@contextmanager
def prefect_server(wanted: bool):
    """A temporary Prefect API server for the flow runs, its address in the settings the pool's processes
    inherit; nothing when not wanted."""
    if not wanted:
        yield
        return
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="concerns-bench-prefect-"))
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = SubprocessASGIServer()
    server.start(timeout=120)
    try:
        os.environ["PREFECT_API_URL"] = server.api_url
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield
    finally:
        server.stop()


class Databases:
    """A loaded database and a fresh copy of it for each timed run, on one engine."""

    def __init__(self, engine: str, work: Path) -> None:
        self.engine, self.work, self.copies = engine, work, 0
        from concerns.store.db import upgrade

        if engine == "postgresql":
            from bench.run_benchmark import PostgresDatabases, postgres_admin_url

            admin = postgres_admin_url()
            if admin is None:
                raise SystemExit("no PostgreSQL server answers (CONCERNS_BENCH_POSTGRES, else the local socket)")
            self.pg = PostgresDatabases(admin)
            self.loaded = self.pg.fresh()
            self.loaded_name = self.pg.names[-1]
        else:
            self.loaded = f"sqlite:///{work / 'loaded.db'}"
            upgrade(self.loaded)

    def fresh(self) -> str:
        from concerns.store.db import dispose_engines

        dispose_engines()  # a template or a file being copied must have no open connection
        self.copies += 1
        if self.engine == "postgresql":
            name = self.pg._create(f"{self.pg.prefix}_run{self.copies}", template=self.loaded_name)
            return self.pg._url(name)
        path = self.work / f"run{self.copies}.db"
        shutil.copyfile(self.work / "loaded.db", path)
        return f"sqlite:///{path}"

    def close(self) -> None:
        if self.engine == "postgresql":
            self.pg.drop_all()


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the pool's processes, once it is shut)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def timed(what: str, fn, url: str) -> tuple[float, dict]:
    start, cpu = time.perf_counter(), _cpu()
    summary = fn(url)
    seconds = time.perf_counter() - start
    print(f"{what:<46} {seconds:7.1f} s wall, {_cpu() - cpu:6.1f} s CPU   {summary['meetings_scheduled']:,} meetings, "
          f"{summary['invitations_queued']:,} invitations, {len(summary['reports']):,} reports", flush=True)
    return seconds, summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--authorities", type=int, default=30)
    parser.add_argument("--engine", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--prefect", action="store_true", help="also time the flow itself, 1 and 2 processes")
    parser.add_argument("--prefect-only", action="store_true", help="the flow only, not the bare pool")
    parser.add_argument("--workers", action="store_true",
                        help="only the flow over deployments on 1 and 2 Prefect workers (PostgreSQL)")
    args = parser.parse_args(argv)
    args.prefect = args.prefect or args.prefect_only
    if args.workers and args.engine != "postgresql":
        raise SystemExit("--workers needs --engine postgresql: the workers' processes share one database")

    work = Path(tempfile.mkdtemp(prefix="concerns-bench-fanout-"))
    os.environ.update({"CONCERNS_OUTBOX": str(work / "outbox"), "CONCERNS_REPORTS": str(work / "reports"),
                       "CONCERNS_LETTERS": str(work / "letters")})
    os.environ.pop("CONCERNS_SMTP_URL", None)
    databases = Databases(args.engine, work)
    try:
        start = time.perf_counter()
        names = load_demo_clones(databases.loaded, args.authorities)
        print(f"{len(names)} copies of the demo authority on {args.engine} loaded in "
              f"{time.perf_counter() - start:.0f} s; {os.cpu_count()} cores", flush=True)
        base_seconds, base = timed("one process, the job over every authority", one_process, databases.fresh())
        if args.workers:
            seconds = timed_on_workers(databases, work, base)
            one, two = seconds
            print(f"{one} : {two} = {seconds[one] / seconds[two]:.2f} x (target 1.7 x with two on two cores)")
            print(f"one process, the job : {two} = {base_seconds / seconds[two]:.2f} x")
            print("every fanned-out run gave the one-process run's summary (meetings, invitations, report)")
            return
        runs = [] if args.prefect_only else [("fanned out, a pool of 1 process", lambda url: fanned_out(url, 1)),
                                             ("fanned out, a pool of 2 processes", lambda url: fanned_out(url, 2))]
        if args.prefect:
            runs += [("Prefect flow, fan_out processes, processes 1", lambda url: prefect_flow(url, 1)),
                     ("Prefect flow, fan_out processes, processes 2", lambda url: prefect_flow(url, 2))]
        seconds = {}
        with prefect_server(args.prefect):
            for what, fn in runs:
                seconds[what], summary = timed(what, fn, databases.fresh())
                different = [key for key in COMPARED if summary[key] != base[key]]
                if different:
                    raise SystemExit(f"{what}: not the one-process summary: {', '.join(different)} differ")
        for one, two in zip(runs[::2], runs[1::2], strict=True):
            print(f"{one[0]} : {two[0]} = {seconds[one[0]] / seconds[two[0]]:.2f} x "
                  "(target 1.7 x with two on two cores)")
            print(f"one process, the job : {two[0]} = {base_seconds / seconds[two[0]]:.2f} x")
        print("every fanned-out run gave the one-process run's summary (meetings, invitations, report)")
    finally:
        databases.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
