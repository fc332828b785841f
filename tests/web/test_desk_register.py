"""The register paged, sorted and filtered in the database: every page, every sort both ways and every
filter agree with the unpaged register built in Python (the rows `concerns register` gives, with who
answers for each school), on the demo authority and on a generated one of a few hundred schools, on both
engines; the CSV streams the same rows; bad page, size and sort values are refused in one line, in words;
and the number of SQL statements a page takes does not grow with the authority."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import select

from bench.register_page import LA as BENCH_LA
from bench.register_page import OFFICER as BENCH_OFFICER
from bench.register_page import PASSWORD as BENCH_PASSWORD
from bench.register_page import build_authority
from concerns.app.demo_term import TERM
from concerns.app.web import desk as desk_module
from concerns.casework import views
from concerns.domain.policy import policy_for
from concerns.store.db import engine_for, session_scope
from models import Officer
from tests.support.equivalence import twin_database
from tests.web.conftest import Desk, demo_desk_database

AS_OF = date(2026, 11, 24)
SORTS = ("urn", "name", "pathway", "state", "category", "la_category", "officer", "next")
DEMO_EMAIL, DEMO_PASSWORD = "register.reader@demoshire.example", "demo-desk-password"

# What each sort reads in an unpaged row.
SORT_VALUE = {"urn": lambda r: r["urn"], "name": lambda r: r["name"], "pathway": lambda r: r["pathway"],
              "state": lambda r: r["state"], "category": lambda r: str(r["category"] or ""),
              "la_category": lambda r: r["la_category_text"], "officer": lambda r: ", ".join(r["officers"]),
              "next": lambda r: r["next_due"]}


def unpaged(session, la: str, as_of: date) -> list[dict]:
    """The whole register built in Python, as the desk built it before it was paged: the command's rows,
    every live deadline of the authority, and who answers for each school (names in alphabetical order)."""
    who = desk_module.Responsibility(session, la)
    default = policy_for(la).responsible_for("*")
    rows = views.register(session, as_of, la=la)
    live: dict[str, list[dict]] = defaultdict(list)
    for d in views.deadlines_view(session, as_of, la=la):
        live[d["urn"]].append(d)
    for row in rows:
        deadlines = live[row["urn"]]
        roles = list(dict.fromkeys(d["responsible"] for d in deadlines)) or [default]
        row["officers"] = sorted({n for role in roles for n in who.names(role, row["urn"])})
        ahead = [d for d in deadlines if d["due"] >= as_of.isoformat()]
        row["next_due"] = min((d["due"] for d in ahead), default="")
        row["next_deadline"] = {"kind": min(ahead, key=lambda d: d["due"])["kind"]} if ahead else None
        row["missed"] = sum(1 for d in deadlines if d["status"] == "missed")
        row["la_category_text"] = row["la_category"]["label"] if row["la_category"] else ""
    return rows


def ordered(rows: list[dict], sort: str, descending: bool) -> list[dict]:
    """Sorted by the column, empty values last either way, then by URN (ascending) among equals."""
    value = lambda r: str(SORT_VALUE[sort](r) or "")  # noqa: E731
    out = sorted(sorted(rows, key=lambda r: r["urn"]), key=value, reverse=descending)
    return [r for r in out if value(r)] + [r for r in out if not value(r)]


def matching(rows: list[dict], filters: views.RegisterFilters) -> list[dict]:
    return [r for r in rows if (not filters.pathway or r["pathway"] == filters.pathway)
            and (not filters.category or str(r["category"]) == filters.category)
            and (not filters.la_category or r["la_category_text"] == filters.la_category)
            and (not filters.officer or filters.officer in r["officers"])]


def shown(row: dict) -> tuple:
    """What a register row shows (the page and the CSV)."""
    return (row["urn"], row["name"], row["maintained"], row["pathway"], row["state"], row["category"],
            row["la_category"], row["stuck"], row["coasting"], row["academy_order"],
            [(c["pathway"], c["state"]) for c in row["cases"]], list(row["officers"]), row["next_due"],
            row["next_deadline"]["kind"] if row["next_deadline"] else None, row["missed"])


def every_page(session, officer: Officer, as_of: date, ask: desk_module.RegisterAsk) -> list[dict]:
    rows, page = [], 1
    while True:
        part = desk_module.register_page(session, officer, as_of, ask.__class__(
            ask.filters, ask.sort, ask.descending, page, ask.size))
        rows += part["rows"]
        assert part["total"] == part["last"] if page == part["pages"] else part["last"] == page * ask.size
        if page == part["pages"]:
            return rows
        page += 1


def check_agrees(url: str, la: str, email: str, as_of: date, size: int, filters: list[views.RegisterFilters]
                 ) -> list[dict]:
    everything = check_pages_agree(url, la, email, as_of, size, filters, writes=True)
    # Read-only, as the desk's GET reads it: the order and the officers are kept (desk.PAGES) and the pages
    # cut from them, twice over (the second time from what was kept).
    for _ in range(2):
        assert check_pages_agree(url, la, email, as_of, size, filters, writes=False) == everything
    return everything


def check_pages_agree(url: str, la: str, email: str, as_of: date, size: int, filters: list[views.RegisterFilters],
                      writes: bool) -> list[dict]:
    with session_scope(url, writes=writes) as session:
        officer = session.exec(select(Officer).where(Officer.email == email)).one()
        everything = unpaged(session, la, as_of)
        assert everything, "an empty register proves nothing"
        for sort in SORTS:
            for descending in (False, True):
                ask = desk_module.RegisterAsk(views.RegisterFilters(), sort, descending, 1, size)
                got = every_page(session, officer, as_of, ask)
                assert [shown(r) for r in got] == [shown(r) for r in ordered(everything, sort, descending)], \
                    (sort, descending)
        for chosen in filters:
            want = ordered(matching(everything, chosen), "officer", True)
            assert want, chosen
            got = every_page(session, officer, as_of, desk_module.RegisterAsk(chosen, "officer", True, 1, size))
            assert [shown(r) for r in got] == [shown(r) for r in want], chosen
    return everything


# --- a generated authority, on both engines ------------------------------------------------------------


@pytest.fixture
def generated(db_url, tmp_path):
    """About 300 schools on the register: the national data set's schools in one authority, with officers
    (one named for a few schools of their own), live deadlines of five kinds and the authority's categories."""
    count = build_authority(db_url, 1900, work=tmp_path)
    assert 200 < count < 400
    return db_url


def signed_in(url: str, email: str, password: str, today: date) -> Desk:
    d = Desk(url, today=today)
    assert d.sign_in(email=email, password=password).status_code == 303
    return d


def test_pages_sorts_and_filters_agree_with_the_unpaged_register(generated):
    filters = [views.RegisterFilters(pathway="requires_improvement"), views.RegisterFilters(category="SM"),
               views.RegisterFilters(la_category="Good"), views.RegisterFilters(officer="Pat Own"),
               views.RegisterFilters(officer="Lee Link", pathway="academy_of_concern")]
    everything = check_agrees(generated, BENCH_LA, BENCH_OFFICER, AS_OF, 37, filters)
    # The generated authority exercises every kind of value: empty and set categories, schools with no
    # deadline ahead, missed deadlines, and a school whose own link adviser answers for it.
    assert {bool(r["la_category"]) for r in everything} == {True, False}
    assert {bool(r["next_due"]) for r in everything} == {True, False}
    assert any(r["missed"] for r in everything) and any("Pat Own" in r["officers"] for r in everything)


def test_the_page_says_where_it_is_and_links_the_others(generated):
    d = signed_in(generated, BENCH_OFFICER, BENCH_PASSWORD, AS_OF)
    with session_scope(generated) as session:
        total = len(views.register(session, AS_OF, la=BENCH_LA))
    page = d.client.get("/register?sort=name&order=desc&size=40&page=2").text
    assert f"Showing 41 to 80 of {total:,} schools" in page
    nav = page[page.index('<nav class="pagination"'):]
    assert 'rel="prev"' in nav and 'rel="next"' in nav and 'aria-current="page" aria-label="Page 2"' in nav
    # Each link keeps the sort, order and page size.
    assert "/register?sort=name&amp;order=desc&amp;size=40&amp;page=3" in nav
    last = -(-total // 40)
    page = d.client.get(f"/register?size=40&page={last}").text
    assert f"Showing {(last - 1) * 40 + 1:,} to {total:,} of {total:,} schools" in page and 'rel="next"' not in page


def test_a_page_past_the_end_is_refused_in_words(generated):
    d = signed_in(generated, BENCH_OFFICER, BENCH_PASSWORD, AS_OF)
    with session_scope(generated) as session:
        pages = -(-len(views.register(session, AS_OF, la=BENCH_LA)) // 50)
    response = d.client.get(f"/register?page={pages + 1}")
    assert response.status_code == 400
    assert lead(response.text) == f"There is no page {pages + 1}: this list has {pages} pages of 50 schools."
    # A filter that leaves nothing has one (empty) page, not a refusal.
    page = d.client.get("/register?officer=Nobody+At+All").text
    assert "No school matches these filters." in page


def test_the_csv_streams_the_unpaged_rows_in_chunks(generated, monkeypatch):
    monkeypatch.setattr(desk_module, "CSV_CHUNK", 40)  # several chunks from a few hundred schools
    d = signed_in(generated, BENCH_OFFICER, BENCH_PASSWORD, AS_OF)
    with session_scope(generated) as session:
        everything = unpaged(session, BENCH_LA, AS_OF)
    for query, rows in (("sort=officer&order=desc", ordered(everything, "officer", True)),
                        ("sort=next&pathway=requires_improvement",
                         ordered(matching(everything, views.RegisterFilters(pathway="requires_improvement")),
                                 "next", False))):
        with d.client.stream("GET", f"/register.csv?{query}") as response:
            assert response.headers["content-type"].startswith("text/csv")
            assert "content-length" not in response.headers  # streamed, not built whole
            text = "".join(response.iter_text())
        expected = "".join([desk_module._csv_line(desk_module.CSV_HEADER),
                            *(desk_module.register_csv_line(r) for r in rows)])
        assert text == expected
        got = list(csv.DictReader(io.StringIO(text)))
        assert [r["URN"] for r in got] == [r["urn"] for r in rows] and len(got) > 40
        assert not re.search(r"\b[a-z]+_[a-z_]+\b|\b20\d\d-\d\d-\d\d\b", text)


# --- the demo authority (SQLite) -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("register-demo")
    with pytest.MonkeyPatch.context() as mp:
        yield demo_desk_database(folder, mp, {DEMO_EMAIL: "senior_adviser"}, DEMO_PASSWORD)


@pytest.mark.parametrize("today", [TERM[0][0], TERM[len(TERM) // 2][0], TERM[-1][0]])
def test_the_demo_register_agrees_with_the_unpaged_register(demo_url, today):
    as_of = date.fromisoformat(today)
    with session_scope(demo_url) as session:
        rows = unpaged(session, "Demoshire", as_of)
    people = sorted({n for r in rows for n in r["officers"]})
    pathway = rows[0]["pathway"]
    check_agrees(demo_url, "Demoshire", DEMO_EMAIL, as_of, 4,
                 [views.RegisterFilters(pathway=pathway), views.RegisterFilters(officer=people[0])])


# --- refusals ------------------------------------------------------------------------------------------


def lead(html: str) -> str:
    found = re.search(r'<p class="lead">(.*?)</p>', html, re.S)
    assert found, "no message on the page"
    import html as html_module

    return html_module.unescape(found.group(1)).strip()


@pytest.mark.parametrize(("query", "message"), [
    ("sort=colour", "The register cannot be sorted by 'colour': choose a column heading to sort by."),
    ("sort=name&order=sideways",
     "The order 'sideways' is neither ascending nor descending: choose a column heading to sort by."),
    ("page=two", "The page number 'two' is not a whole number."),
    ("page=-1", "The page number '-1' is not a whole number."),
    ("page=0", "There is no page 0: pages are counted from 1."),
    ("page=%D9%A3", "The page number '٣' is not a whole number."),
    ("size=5000", "A page of 5000 schools is not offered: choose from 10 to 500 schools a page."),
    ("size=1", "A page of 1 schools is not offered: choose from 10 to 500 schools a page."),
    ("size=1e3", "The page size '1e3' is not a whole number."),
    ("officer=%1B%5B31m", "The officer '\\x1b[31m' contains a control character"),
])
def test_bad_register_values_are_refused_in_one_line(desk, query, message):
    for path in ("/register", "/register.csv"):
        response = desk.client.get(f"{path}?{query}")
        assert response.status_code == 400 and response.headers["content-type"].startswith("text/html")
        said = lead(response.text)
        assert said.startswith(message) and "\n" not in said, said
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", said)


# --- the work a page does ------------------------------------------------------------------------------


@pytest.fixture
def second_db_url(db_url, tmp_path):
    """Another fresh database on the same engine as db_url."""
    with twin_database(db_url, tmp_path) as url:
        yield url


def statements_for(url: str, paths: list[str]) -> list[int]:
    """The statements each page runs when it computes everything (nothing kept: desk.PAGES emptied first).
    Asked again at once, a page may read what was kept, and so runs at most as many (on PostgreSQL a commit
    anywhere on the server, another database's included, moves the version, so whether it does is timing)."""
    d = signed_in(url, BENCH_OFFICER, BENCH_PASSWORD, AS_OF)
    d.client.get("/register")
    counts = []
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = engine_for(url)
    event.listen(engine, "before_cursor_execute", count)
    try:
        for path in paths:
            desk_module.PAGES.clear()
            seen.clear()
            assert d.client.get(path).status_code == 200, path
            counts.append(len(seen))
            seen.clear()
            assert d.client.get(path).status_code == 200, path
            assert len(seen) <= counts[-1], (path, len(seen), counts[-1])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return counts


def test_a_pages_statements_do_not_grow_with_the_authority(db_url, second_db_url, tmp_path):
    small = build_authority(db_url, 700, work=tmp_path)
    large = build_authority(second_db_url, 7000, work=tmp_path)
    assert 80 < small < 150 and large > 950
    paths = ["/register", "/register?sort=officer&order=desc&page=2", "/register?sort=next&size=100",
             "/register?pathway=requires_improvement&sort=state", "/register?officer=Pat+Own&sort=la_category",
             "/week"]
    at_small, at_large = statements_for(db_url, paths), statements_for(second_db_url, paths)
    assert at_small == at_large, (at_small, at_large)
    assert max(at_large) < 30


def _overdue_rows(page: str) -> int:
    """The rows of My week's Overdue table (its section, up to the next section)."""
    section = page[page.index('<h2 id="overdue">'):page.index('<h2 id="due">')]
    return section.count("<tr>") - 1  # less the heading row


def test_my_week_shows_fifty_rows_a_section_and_all_of_one_on_request(generated):
    d = signed_in(generated, BENCH_OFFICER, BENCH_PASSWORD, AS_OF)
    with session_scope(generated) as session:
        officer = session.exec(select(Officer).where(Officer.email == BENCH_OFFICER)).one()
        whole = desk_module.my_week(session, officer, AS_OF, show_all="overdue")
    total = whole["counts"]["overdue"]
    assert total == len(whole["overdue"]) > desk_module.WEEK_ROWS  # the generated authority gives more than a page
    page = d.client.get("/week").text
    assert f"<strong>{total}</strong> overdue" in page  # the count is whole
    assert _overdue_rows(page) == desk_module.WEEK_ROWS
    assert f"Showing the first {desk_module.WEEK_ROWS} of {total}." in page
    assert f'href="/week?all=overdue#overdue">Show all {total} overdue</a>' in page
    every = d.client.get("/week?all=overdue").text
    assert _overdue_rows(every) == total and "Showing the first" not in every.split('<h2 id="due">')[0]
    # Any other value is ignored: the week as usual, the value never shown back.
    other = d.client.get("/week?all=%3Cscript%3E").text
    assert _overdue_rows(other) == desk_module.WEEK_ROWS and "<script>" not in other


def test_a_change_made_by_another_process_shows_on_the_next_page(generated):
    # The register's order is kept while the database is unchanged (desk.PAGES, D24): a category set on the
    # command line (another process, another connection) moves the school on the very next GET.
    d = signed_in(generated, BENCH_OFFICER, BENCH_PASSWORD, AS_OF)
    with session_scope(generated) as session:
        bare = next(r for r in views.register(session, AS_OF, la=BENCH_LA) if not r["la_category"])["urn"]

    def order() -> list[str]:  # sorted by our category: schools without one last
        page = d.client.get("/register?sort=la_category&order=asc&size=500").text
        return re.findall(r'<a href="/schools/(\d+)">', page[page.index("<tbody"):])

    before = order()
    assert before == order() and desk_module.PAGES.hits  # the second from what was kept
    done = subprocess.run([sys.executable, "-c", "import sys; from concerns.app.cli import main; sys.exit(main())",
                           "--db", generated, "category", "set", bare, "inadequate",
                           "--on", (AS_OF - timedelta(days=1)).isoformat(), "--reason", "Agreed at the review"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    after = order()
    assert sorted(after) == sorted(before) and after.index(bare) < before.index(bare)
