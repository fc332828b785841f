"""Pages kept while the database is unchanged (concerns.store.readcache): the version moves on every commit,
by this process or any other, and a kept value is never shown after one."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from concerns.store.db import data_version, session_scope
from concerns.store.readcache import ReadCache
from models import School


def add_school(session, urn: str) -> None:
    session.add(School(urn=urn, name=f"School {urn}", la="Testshire", type_name="Community school", maintained=True))


def version(url: str):
    with session_scope(url, writes=False) as session:
        return data_version(session)


def commit_elsewhere(url: str, urn: str) -> None:
    """A school added by another connection outside this process's pool (as another process would)."""
    parsed = make_url(url)
    sql = ("INSERT INTO school (urn, name, la, type_name, maintained, status, created_at, updated_at) VALUES "
           f"('{urn}', 'Elsewhere', 'Testshire', 'Community school', true, 'open', CURRENT_TIMESTAMP, "
           "CURRENT_TIMESTAMP)")
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(parsed.database) as other:
            other.execute(sql)
        return
    import psycopg

    with psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False)) as other:
        other.execute(sql)


def test_a_read_only_unit_of_work_has_a_version_and_one_that_may_write_has_none(db_url):
    assert version(db_url) is not None
    with session_scope(db_url) as session:
        assert data_version(session) is None


def test_the_version_holds_while_nothing_is_committed(db_url):
    first = version(db_url)
    assert version(db_url) == first == version(db_url)


def test_a_commit_by_this_process_moves_the_version(db_url):
    before = version(db_url)
    with session_scope(db_url) as session:
        add_school(session, "900001")
    assert version(db_url) != before


def test_a_commit_by_another_connection_moves_the_version(db_url):
    before = version(db_url)
    commit_elsewhere(db_url, "900002")
    after = version(db_url)
    assert after != before
    assert version(db_url) == after


def test_a_unit_that_rolls_back_or_only_reads_leaves_the_version(db_url):
    before = version(db_url)
    with pytest.raises(RuntimeError), session_scope(db_url) as session:
        session.exec(select(School)).all()
        raise RuntimeError("refused")
    # A writing unit that wrote nothing and one rolled back: nothing committed, nothing to recompute (on
    # PostgreSQL neither took a transaction number; on SQLite no row changed).
    with session_scope(db_url) as session:
        session.exec(select(School)).all()
    assert version(db_url) == before


def test_every_connection_of_the_pool_sees_a_commit(db_url):
    # Two read-only units open at once take two connections; a commit between their next looks moves the
    # version for both, whichever connection each gets.
    with session_scope(db_url, writes=False) as one, session_scope(db_url, writes=False) as two:
        seen = {data_version(one), data_version(two)}
    commit_elsewhere(db_url, "900003")
    with session_scope(db_url, writes=False) as one, session_scope(db_url, writes=False) as two:
        now = {data_version(one), data_version(two)}
    assert not seen & now


def test_the_cache_keeps_a_value_until_a_commit(db_url):
    cache = ReadCache(size=8)
    calls = []

    def schools(session):
        calls.append(1)
        return tuple(session.exec(select(School.urn).order_by(School.urn)).all())

    def read() -> tuple:
        with session_scope(db_url, writes=False) as session:
            return cache.get(session, "schools", lambda: schools(session))

    assert read() == () and read() == () and len(calls) == 1
    with session_scope(db_url) as session:
        add_school(session, "900004")
    assert read() == ("900004",) and len(calls) == 2
    commit_elsewhere(db_url, "900005")
    assert read() == ("900004", "900005") and len(calls) == 3
    assert read() == ("900004", "900005") and len(calls) == 3
    with session_scope(db_url) as session:  # a unit that may write always computes
        assert cache.get(session, "schools", lambda: schools(session)) == ("900004", "900005")
    assert len(calls) == 4 and (cache.hits, cache.misses) == (2, 3)


def test_the_cache_keeps_at_most_its_size(db_url):
    cache = ReadCache(size=3)
    with session_scope(db_url, writes=False) as session:
        for key in range(5):
            cache.get(session, key, lambda key=key: key * 10)
        assert cache.get(session, 4, lambda: "again") == 40  # kept
        assert cache.get(session, 0, lambda: "again") == "again"  # dropped, the oldest
    assert len(cache._values) == 3


@pytest.mark.parametrize("read_first", [True, False], ids=["snapshot-before-the-commit", "snapshot-after"])
def test_a_commit_while_a_value_is_computed_is_never_shown_after_it(db_url, read_first):
    # The version is read before the unit's snapshot: a value computed while a commit lands (before or after
    # the snapshot began) is kept under a version that no unit beginning after the commit has.
    cache = ReadCache(size=8)
    calls = []

    def schools(session, commit: bool):
        calls.append(1)
        if commit and read_first:
            session.exec(select(School.urn)).all()  # the snapshot begins before the commit
        if commit:
            commit_elsewhere(db_url, "900006")
        return tuple(session.exec(select(School.urn)).all())

    with session_scope(db_url, writes=False) as session:
        first = cache.get(session, "schools", lambda: schools(session, True))
    # SQLite reads the whole unit from the snapshot its first read took; PostgreSQL (READ COMMITTED) each
    # query from its own, so there the value already has the commit.
    older = read_first and db_url.startswith("sqlite")
    assert first == (() if older else ("900006",))
    with session_scope(db_url, writes=False) as session:
        assert cache.get(session, "schools", lambda: schools(session, False)) == ("900006",)
    assert len(calls) == 2
