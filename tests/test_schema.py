"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from concerns.db import engine_for, head_revision, script_head_revision, stored_revisions, upgrade


def test_migrations_match_the_models(db_url):
    with engine_for(db_url).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_upgrade_is_idempotent(db_url):
    assert upgrade(db_url) == (head_revision(), head_revision())


def test_the_cheap_head_revision_is_alembics():
    # The commands check the schema against head_revision(), read from the migration files' own lines
    # without building Alembic's ScriptDirectory; it must be the head Alembic upgrades to.
    assert head_revision() == script_head_revision()


def test_stored_revisions_read_the_version_table(db_url, tmp_path):
    assert stored_revisions(engine_for(db_url)) == {head_revision()}
    assert stored_revisions(engine_for(f"sqlite:///{tmp_path}/empty.db")) == set()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_db_url):
    with engine_for(sqlite_db_url).connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    tables = set(inspect(engine_for(sqlite_db_url)).get_table_names())
    assert {"school", "pathway_case", "case_event", "deadline", "inspection", "authority_policy"} <= tables
