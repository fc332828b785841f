"""The officers' desk under an open-loop load, quiet and during a national Ofsted import.

    python bench/desk_load.py [--rate 10] [--seconds 20] [--sessions 20] [--schools 19450]
                              [--engines sqlite,postgresql] [--desk-workers 1]

For each engine (SQLite; PostgreSQL when a server answers: CONCERNS_BENCH_POSTGRES, else the local unix
socket): the 2,600-case authority of bench/register_page.py (its URNs moved out of the national file's
way), `--sessions` officers each signed in once, and the desk served by uvicorn in a separate process.
Then three open-loop runs, each `--rate` GETs a second for `--seconds` seconds, every request sent on its
schedule whether or not the earlier ones have answered (asyncio + httpx), each from one of the sessions
in turn:

- floor: a signed-in GET of a school that is not there (the session, the sign-in check, one template);
- quiet: the week (3 in 10), register pages across every sort and page (4 in 10) and school pages (3 in 10);
- import: the same mix while another process imports the national Ofsted file (bench/make_national.py,
  22,000 schools in 152 authorities) into the same database, as the weekly import does, and again, back to
  back, for as long as the run lasts: each time a copy with its URNs moved up by another million, so that
  each is a whole national import of new schools (an unchanged file would be skipped in a fraction of a
  second). Only the requests sent while an import was writing are counted in this run's figures.

A request's time runs from when it was due to be sent to its answer, so a server that falls behind
shows it (no coordinated omission). Prints p50, p95 and max in milliseconds for each run, and each run's
p95 as a ratio of the floor's. Targets (issue 22): p95 at most 150 ms quiet and 400 ms during an import.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: the project and bench/ importable
    sys.path.insert(0, str(ROOT))

from bench.register_page import AS_OF, PASSWORD, build_authority, percentiles  # noqa: E402

URN_OFFSET = 800_000  # the authority's URNs, clear of the national file's
TARGETS = {"quiet": 150, "import": 400}


def serve(url: str, port: int, workers: int = 1) -> None:
    """The desk as an officer's browser reaches it (plain HTTP on the loopback: cookies not marked secure),
    in `workers` processes as `concerns web --workers` runs it (each from the environment)."""
    import uvicorn

    from concerns.app.web.app import create_app

    if workers == 1:
        uvicorn.run(create_app(url, today=lambda: AS_OF, secure_cookies=False), host="127.0.0.1", port=port,
                    log_level="warning", access_log=False)
        return
    os.environ.update({"CONCERNS_DB": url, "CONCERNS_TODAY": AS_OF.isoformat(), "CONCERNS_WEB_INSECURE_COOKIES": "1"})
    uvicorn.run("concerns.app.web.app:desk_from_environment", factory=True, workers=workers, host="127.0.0.1",
                port=port, log_level="warning", access_log=False)


def run_imports(url: str, paths: list[str]) -> None:
    """The national files imported one after another until they run out or a line on stdin says stop (checked
    between imports); then one line: how many imports, of how many rows, in how long."""
    import select

    from concerns.ingest.load import import_ofsted

    print("importing", flush=True)
    started, rows, done = time.perf_counter(), 0, 0
    for path in paths:
        summary = import_ofsted(url, Path(path), as_of=AS_OF)
        assert not summary.refused, summary.lines()
        rows, done = rows + summary.rows_read, done + 1
        if select.select([sys.stdin], [], [], 0)[0]:
            break
    print(f"{done} national import{'s' if done > 1 else ''} ({rows:,} rows) in {time.perf_counter() - started:.1f} s",
          flush=True)


# Each copy of the national file: its URNs (and predecessors') moved up by this much more. URNs have six digits
# and the national file's run from 100,000 to about 171,000, so seven copies fit below the authority's (URN_OFFSET).
URN_STEP = 100_000
MAX_COPIES = 7


def national_copies(national: Path, folder: Path, count: int) -> list[Path]:
    """`count` copies (at most MAX_COPIES) of the national file, the k-th with every URN moved up by k times
    URN_STEP: new schools, clear of each other and of the authority's."""
    import csv

    copies = []
    for k in range(1, min(count, MAX_COPIES) + 1):
        out = folder / f"national-{k}.csv"
        with national.open(encoding="utf-8", newline="") as fi, out.open("w", encoding="utf-8", newline="") as fo:
            reader, writer = csv.reader(fi), csv.writer(fo)
            header = next(reader)
            writer.writerow(header)
            columns = [header.index("URN"), header.index("Predecessor URN")]
            for row in reader:
                for c in columns:
                    if row[c].strip().isdigit():  # "NULL" and blanks stay as they are
                        row[c] = str(int(row[c]) + k * URN_STEP)
                        assert int(row[c]) < URN_OFFSET + 100_000, "the national file is too large to copy"
                writer.writerow(row)
        copies.append(out)
    return copies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_officers(url: str, count: int) -> list[str]:
    from concerns.app.web.accounts import add_officer
    from concerns.store.db import session_scope

    emails = [f"officer{i:02d}@benchshire.example" for i in range(count)]
    with session_scope(url) as session:
        for i, email in enumerate(emails):
            add_officer(session, email, role=("senior_adviser", "link_adviser")[i % 2], la="Benchshire",
                        password=PASSWORD)
    return emails


def register_urns(url: str) -> list[str]:
    from concerns.casework import views
    from concerns.store.db import session_scope

    with session_scope(url, writes=False) as session:
        return [r["urn"] for r in views.register(session, AS_OF, la="Benchshire")]


def sign_in(base: str, email: str) -> str:
    """An officer signed in as a browser does it; the session cookie's header value."""
    import httpx

    with httpx.Client(base_url=base, follow_redirects=False, timeout=60) as client:
        page = client.get("/login").text
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 303, response.text[:300]
        return "desk_session=" + client.cookies["desk_session"]


def mix(urns: list[str], count: int, rng: random.Random) -> list[str]:
    sorts = ("urn", "name", "pathway", "state", "category", "la_category", "officer", "next")
    pages = -(-len(urns) // 50)
    out = []
    for i in range(count):
        pick = rng.random()
        if pick < 0.3:
            out.append("/week")
        elif pick < 0.7:
            out.append(f"/register?sort={sorts[i % len(sorts)]}&order={rng.choice(('asc', 'desc'))}"
                       f"&page={rng.randrange(1, pages + 1)}")
        else:
            out.append(f"/schools/{rng.choice(urns)}")
    return out


async def open_loop(base: str, cookies: list[str], paths: list[str], rate: float
                    ) -> list[tuple[float, int, str, float]]:
    """Each path sent at its time (i / rate seconds after the start), whatever the earlier ones are doing."""
    import httpx

    loop = asyncio.get_running_loop()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120, follow_redirects=False) as client:
        async def one(i: int, path: str, due: float) -> tuple[float, int, str, float]:
            await asyncio.sleep(max(0.0, due - loop.time()))
            response = await client.get(path, headers={"Cookie": cookies[i % len(cookies)]})
            return (loop.time() - due) * 1000, response.status_code, path.split("?")[0].split("/")[1], due

        start = loop.time() + 0.2
        return await asyncio.gather(*(one(i, p, start + i / rate) for i, p in enumerate(paths)))


def report(name: str, results: list[tuple[float, int, str, float]], floor_p95: float | None,
           expected: int = 200) -> float:
    ms = [t for t, _, _, _ in results]
    wrong = sum(1 for _, status, _, _ in results if status != expected)
    p50, p95, worst = percentiles(ms)
    target = TARGETS.get(name)
    verdict = "" if target is None else ("  target met" if p95 <= target else "  TARGET MISSED") + \
        f" (p95 at most {target} ms)"
    ratio = f"  p95 {p95 / floor_p95:5.1f} x floor" if floor_p95 else ""
    print(f"  {name:<7} {len(ms):4d} GETs  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  max {worst:7.1f} ms{ratio}"
          f"{verdict}{f'  ({wrong} not answered {expected})' if wrong else ''}", flush=True)
    if floor_p95:  # each page's share: which one holds the tail
        for page in sorted({p for _, _, p, _ in results}):
            part = [t for t, _, p, _ in results if p == page]
            p50, p95, worst = percentiles(part)
            print(f"          {page:<9} {len(part):4d} GETs  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  max {worst:7.1f} ms",
                  flush=True)
    return p95


def measure(engine: str, url: str, national: Path, args) -> None:
    copies = args.copies
    started = time.perf_counter()
    total = build_authority(url, args.schools, urn_offset=URN_OFFSET)
    emails = add_officers(url, args.sessions)
    urns = register_urns(url)
    from concerns.store.db import dispose_engines

    dispose_engines()
    print(f"{engine}: {total:,} schools on the register, {len(emails)} sessions, "
          f"{args.desk_workers} desk process{'es' if args.desk_workers > 1 else ''}, "
          f"{args.rate:g} GETs a second for {args.seconds} s (built in {time.perf_counter() - started:.0f} s)",
          flush=True)
    port = free_port()
    here = str(Path(__file__).resolve())
    server = subprocess.Popen([sys.executable, here, "--serve", url, str(port), str(args.desk_workers)],
                              env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        cookies = [sign_in(base, email) for email in emails]
        rng = random.Random(2026)
        count = int(args.rate * args.seconds)
        asyncio.run(open_loop(base, cookies, mix(urns, 20, rng), 20))  # warm: templates, connections
        floor = report("floor", asyncio.run(open_loop(base, cookies, ["/schools/999999"] * count, args.rate)),
                       None, expected=404)
        report("quiet", asyncio.run(open_loop(base, cookies, mix(urns, count, rng), args.rate)), floor)
        importer = subprocess.Popen([sys.executable, here, "--import", url, *map(str, copies)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert importer.stdout.readline().strip() == "importing"
        ended: list[float] = []
        watcher = threading.Thread(target=lambda: (importer.wait(), ended.append(time.monotonic())), daemon=True)
        watcher.start()
        loaded = asyncio.run(open_loop(base, cookies, mix(urns, count, rng), args.rate))
        importer.stdin.write("stop\n")  # finish the import under way, start no other
        importer.stdin.flush()
        out = importer.stdout.read()
        watcher.join(timeout=1800)
        # asyncio's clock is time.monotonic: a request counts as during the import if it was due before it ended.
        during = [r for r in loaded if r[3] < ended[0]]
        report("import", during, floor)
        print(f"          the imports: {out.strip()}; {len(during)} of the {len(loaded)} GETs were due while one "
              f"was writing{'' if len(during) == len(loaded) else ' (only those are counted above)'}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        return serve(argv[1], int(argv[2]), int(argv[3]))
    if argv[:1] == ["--import"]:
        return run_imports(argv[1], argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=10, help="GETs a second, sent on schedule")
    parser.add_argument("--seconds", type=int, default=20, help="length of each run")
    parser.add_argument("--sessions", type=int, default=20, help="officers signed in, each with a session")
    parser.add_argument("--schools", type=int, default=19450, help="schools in the authority (about 1 in 6 on the register)")
    parser.add_argument("--national", type=int, default=22000, help="schools in the national file imported under load")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--desk-workers", type=int, default=1,
                        help="processes answering the desk (concerns web --workers)")
    args = parser.parse_args(argv)

    from bench.make_national import write
    from bench.run_benchmark import PostgresDatabases, fresh_sqlite, postgres_admin_url

    with tempfile.TemporaryDirectory() as folder:
        national = write(Path(folder) / "national", args.national, 2026)["ofsted"]
        # More copies than the run can use (an import takes 3 s or more here): the last never waits for one.
        args.copies = national_copies(national, Path(folder), max(2, args.seconds // 2))
        if "sqlite" in args.engines:
            measure("SQLite", fresh_sqlite(Path(folder) / "desk.db"), national, args)
        if "postgresql" in args.engines:
            admin = postgres_admin_url()
            if admin is None:
                print("PostgreSQL: no server answers (CONCERNS_BENCH_POSTGRES or the local socket): left out")
                return
            databases = PostgresDatabases(admin)
            try:
                measure("PostgreSQL", databases.fresh(), national, args)
            finally:
                databases.drop_all()


if __name__ == "__main__":
    main()
