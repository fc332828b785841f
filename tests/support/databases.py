"""Test databases on both engines the product supports: a SQLite file, and a real PostgreSQL.

Every test that takes the ``db_url`` fixture runs twice, once per engine. PostgreSQL databases are
copied from a template migrated once per test process (``CREATE DATABASE … TEMPLATE``, a file copy
on the server), so a test gets a fresh, fully migrated database in about a tenth of a second.

Which server: ``CONCERNS_TEST_POSTGRES`` (an SQLAlchemy URL of a database the tests may use to
create and drop others, e.g. ``postgresql+psycopg://me:secret@dbhost:5432/postgres``), else the
local server's unix socket as the current user (``postgresql+psycopg://@/postgres?host=/var/run/postgresql``).
Without a reachable server the PostgreSQL tests are skipped with the reason; under CI (``CI=true``)
they fail instead, so a CI run can never pass without having run them.
"""

from __future__ import annotations

import atexit
import os
import uuid
from functools import cache

from sqlalchemy.engine import make_url

ENV_URL = "CONCERNS_TEST_POSTGRES"
LOCAL_SOCKET_URL = "postgresql+psycopg://@/postgres?host=/var/run/postgresql"


def _admin_url() -> str:
    return os.environ.get(ENV_URL) or LOCAL_SOCKET_URL


def _connect(url: str):
    import psycopg

    parsed = make_url(url).set(drivername="postgresql")
    conninfo = parsed.render_as_string(hide_password=False)
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=5)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@cache
def postgres_unavailable() -> str | None:
    """None when a PostgreSQL server can be used; otherwise one line saying why not."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    url = _admin_url()
    try:
        with _connect(url) as conn:
            conn.execute("select 1")
    except Exception as exc:  # any failure to connect means: no server for these tests
        shown = make_url(url).render_as_string(hide_password=True)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (f"no PostgreSQL server at {shown} ({first}); start one, or set {ENV_URL} "
                "to a database URL whose user may create databases")
    return None


_CREATED: list[str] = []


@cache
def _template() -> str:
    """A database migrated to the head revision, copied for each test."""
    from concerns.store.db import dispose_engines, upgrade

    name = f"concerns_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with _connect(_admin_url()) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    _CREATED.append(name)
    upgrade(_with_database(_admin_url(), name))
    dispose_engines()  # a template must have no open connections to be copied
    return name


def fresh_postgres_database() -> tuple[str, str]:
    """(URL, name) of a new, migrated PostgreSQL database."""
    template = _template()
    name = f"concerns_t_{uuid.uuid4().hex[:12]}"
    with _connect(_admin_url()) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return _with_database(_admin_url(), name), name


def empty_postgres_database() -> tuple[str, str]:
    """(URL, name) of a new PostgreSQL database with no schema at all."""
    name = f"concerns_e_{uuid.uuid4().hex[:12]}"
    with _connect(_admin_url()) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_database(_admin_url(), name), name


def drop_postgres_database(name: str) -> None:
    from concerns.store.db import dispose_engines

    dispose_engines()
    with _connect(_admin_url()) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@atexit.register
def _drop_templates() -> None:
    if not _CREATED:
        return
    try:
        from concerns.store.db import dispose_engines

        dispose_engines()
        with _connect(_admin_url()) as conn:
            for name in _CREATED:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception:
        pass
