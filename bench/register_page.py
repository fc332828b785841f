"""The desk's register at scale: one page of a 2,600-case authority, through the desk app in-process.

    python bench/register_page.py [--schools 19450] [--requests 60] [--seed 2026]

Issue 22's stress case is one authority with 2,661 open cases on its register. This builds one: the
synthetic national Ofsted file (bench/make_national.py) with every school moved into one authority
("Benchshire"), imported as the product imports it (about one school in six has an open case), then
given what an authority's register holds besides: officers in four roles (one of them named for a few
schools of its own), live deadlines of several kinds (some missed, some ahead) and the authority's own
categories for a third of its schools. `build_authority` is shared with tests/web/test_desk_register.py
and bench/desk_load.py.

Then, on SQLite and on PostgreSQL (CONCERNS_BENCH_POSTGRES, else the local unix socket), a signed-in
Starlette TestClient GETs register pages (pages spread over the whole register, every sort, both ways,
and filtered), and prints p50, p95 and max in milliseconds beside the floor measured in the same run: a
signed-in GET of the desk's cheapest page (a school that is not there: the session, the sign-in check and
one template, no register), and the ratio of the two. Target (issue 22): at most 300 ms a page.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere: the project and bench/ importable
    sys.path.insert(0, str(ROOT))

from bench.make_national import write  # noqa: E402

LA = "Benchshire"
AS_OF = date(2026, 11, 24)
OFFICER = "sam.senior@benchshire.example"
PASSWORD = "correct horse battery staple"
# Who holds which role (the default policy's roles): two senior advisers share the role; the admin officer's
# role is held by nobody, so its deadlines climb to the senior advisers; one link adviser for the authority
# and one named for a few schools of their own.
PEOPLE = (("Sam Senior", OFFICER, "senior_adviser"), ("Alex Senior", "alex.senior@benchshire.example", "senior_adviser"),
          ("Lee Link", "lee.link@benchshire.example", "link_adviser"),
          ("Dee Director", "dee.director@benchshire.example", "director"))
OWN_LINK = ("Pat Own", "pat.own@benchshire.example", "link_adviser")
DEADLINES = (("statement_of_action", "senior_adviser"), ("progress_meeting", "senior_adviser"),
             ("safeguarding_return", "admin_officer"), ("school_review", "link_adviser"),
             ("hmi_monitoring", "link_adviser"))
LEVELS = ("good", "requires_improvement", "inadequate")
TARGET_MS = 300


def one_authority_file(out: Path, schools: int, seed: int, la: str = LA, urn_offset: int = 0) -> Path:
    """The national Ofsted file with every school in `la` (its URNs moved up by `urn_offset`, so that the
    national file itself can be imported beside it)."""
    national = write(out, schools, seed)["ofsted"]
    moved = out / "one_authority.csv"
    with national.open(encoding="utf-8", newline="") as fi, moved.open("w", encoding="utf-8", newline="") as fo:
        reader, writer = csv.reader(fi), csv.writer(fo)
        header = next(reader)
        writer.writerow(header)
        column, urn = header.index("Local authority"), header.index("URN")
        for row in reader:
            row[column] = la
            row[urn] = str(int(row[urn]) + urn_offset)
            writer.writerow(row)
    return moved


def build_authority(url: str, schools: int, seed: int = 2026, la: str = LA, as_of: date = AS_OF,
                    work: Path | None = None, urn_offset: int = 0) -> int:
    """One authority of `schools` schools in the (migrated, empty) database at `url`, with people, live
    deadlines, categories and a desk account for OFFICER; returns the number of schools on its register."""
    from sqlalchemy import insert, select

    from concerns.app.web.accounts import add_officer
    from concerns.casework.lacategories import set_category
    from concerns.casework.people import add_person
    from concerns.ingest.load import import_ofsted
    from concerns.store.db import session_scope
    from models import Case
    from models._base import utcnow

    with tempfile.TemporaryDirectory(dir=work) as folder:
        summary = import_ofsted(url, one_authority_file(Path(folder), schools, seed, la, urn_offset), as_of=as_of)
        assert summary.rows_refused == 0, summary.lines()
    rng = random.Random(seed)
    with session_scope(url) as session:
        cases = session.execute(select(Case.id, Case.urn).where(Case.closed.is_(None))
                                .order_by(Case.urn, Case.id)).all()
        urns = sorted({urn for _, urn in cases})
        for name, email, role in PEOPLE:
            add_person(session, name, email, role=role, la=la)
        for urn in urns[::97]:
            add_person(session, *OWN_LINK[:2], role=OWN_LINK[2], la=la, urn=urn)
        add_officer(session, OFFICER, role="senior_adviser", la=la, password=PASSWORD)
        now = utcnow()
        rows = []
        for case_id, urn in cases:
            for kind, role in rng.sample(DEADLINES, rng.randrange(len(DEADLINES))):
                due = as_of + timedelta(days=rng.randrange(-40, 120))
                rows.append({"case_id": case_id, "urn": urn, "kind": kind, "due": due, "status": "open",
                             "responsible": role, "rule": "bench", "source": "bench/register_page.py", "note": "",
                             "created_on": as_of - timedelta(days=60), "historical": False, "updated_at": now,
                             "next_notice_on": None})
        if rows:
            session.execute(insert(Case.metadata.tables["deadline"]), rows)
        for i, urn in enumerate(urns[::3]):
            set_category(session, urn, LEVELS[i % len(LEVELS)], as_of - timedelta(days=30 + i % 7),
                         "Agreed at the autumn review", "bench")
    return len(urns)


def signed_in_client(url: str, today: date = AS_OF):
    with warnings.catch_warnings():  # Starlette asks for httpx2, which is not installed
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from concerns.app.web.app import create_app

    client = TestClient(create_app(url, today=lambda: today), base_url="https://testserver", follow_redirects=False)
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"email": OFFICER, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text[:300]
    return client


def register_paths(total: int, count: int, rng: random.Random) -> list[str]:
    """`count` register addresses: pages across the whole register, every sort both ways, some filtered."""
    sorts = ("urn", "name", "pathway", "state", "category", "la_category", "officer", "next")
    pages = max(1, -(-total // 50))
    paths = []
    for i in range(count):
        sort, order = sorts[i % len(sorts)], ("asc", "desc")[i // len(sorts) % 2]
        if i % 5 == 4:
            paths.append(f"/register?pathway=requires_improvement&sort={sort}&order={order}")
        else:
            paths.append(f"/register?sort={sort}&order={order}&page={rng.randrange(1, pages + 1)}")
    return paths


def percentiles(ms: list[float]) -> tuple[float, float, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95, ordered[-1]


def timed_gets(client, paths: list[str], status: int = 200) -> list[float]:
    out = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == status, (path, response.status_code, response.text[:300])
    return out


def measure(engine: str, url: str, schools: int, requests: int, seed: int) -> None:
    started = time.perf_counter()
    total = build_authority(url, schools, seed)
    built = time.perf_counter() - started
    client = signed_in_client(url)
    rng = random.Random(seed)
    client.get("/register")  # warm: templates compiled, connections pooled
    floor = timed_gets(client, ["/schools/999999999"] * requests, status=404)
    pages = timed_gets(client, register_paths(total, requests, rng))
    p50, p95, worst = percentiles(pages)
    f50, f95, fmax = percentiles(floor)
    verdict = "target met" if p95 <= TARGET_MS else "TARGET MISSED"
    print(f"{engine:<10} {total:>6,} schools on the register (built in {built:.0f} s), {requests} GETs each")
    print(f"{'':<10} register page  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  max {worst:7.1f} ms  "
          f"({verdict}: at most {TARGET_MS} ms)")
    print(f"{'':<10} floor          p50 {f50:7.1f} ms  p95 {f95:7.1f} ms  max {fmax:7.1f} ms  "
          f"(a signed-in page with no register)")
    print(f"{'':<10} ratio          p50 {p50 / f50:7.1f} x   p95 {p95 / f95:7.1f} x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=19450, help="schools in the authority (about 1 in 6 on the register)")
    parser.add_argument("--requests", type=int, default=60, help="register GETs timed on each engine")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args(argv)

    from bench.run_benchmark import PostgresDatabases, fresh_sqlite, postgres_admin_url
    from concerns.store.db import dispose_engines

    with tempfile.TemporaryDirectory() as folder:
        if "sqlite" in args.engines:
            measure("SQLite", fresh_sqlite(Path(folder) / "register.db"), args.schools, args.requests, args.seed)
            dispose_engines()
        if "postgresql" in args.engines:
            admin = postgres_admin_url()
            if admin is None:
                print("PostgreSQL   no server answers (CONCERNS_BENCH_POSTGRES or the local socket): left out")
                return
            databases = PostgresDatabases(admin)
            try:
                measure("PostgreSQL", databases.fresh(), args.schools, args.requests, args.seed)
            finally:
                databases.drop_all()


if __name__ == "__main__":
    main()
