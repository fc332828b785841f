"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.schema import CreateIndex
from sqlmodel import SQLModel

from concerns.store.db import engine_for, head_revision, script_head_revision, stored_revisions, upgrade
from models import Case


def test_migrations_match_the_models(db_url):
    with engine_for(db_url).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_the_one_open_case_index_is_partial_in_the_model_as_in_the_database(db_url):
    # Alembic's comparison does not look at an index's predicate: this does, on each engine (the model
    # gives PostgreSQL its predicate only once a PostgreSQL engine is made, models.use_dialect).
    engine = engine_for(db_url)
    index = next(i for i in Case.__table__.indexes if i.name == "uq_pathway_case_open_per_pathway")
    assert str(CreateIndex(index).compile(dialect=engine.dialect)).endswith(" WHERE closed IS NULL")
    query = ("SELECT sql FROM sqlite_master WHERE name = :name" if engine.dialect.name == "sqlite"
             else "SELECT indexdef FROM pg_indexes WHERE indexname = :name")
    with engine.connect() as connection:
        stored = connection.execute(text(query), {"name": index.name}).scalar_one()
    assert stored.replace("(", "").replace(")", "").endswith("WHERE closed IS NULL"), stored


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


def test_the_triggers_that_forget_a_school_digest_find_it_by_its_urn_through_an_index(db_url):
    # Each update of a school or an inspection deletes the school's digest by URN (migration 0009); the table's
    # key leads with kind, so without an index of its own each update read the whole table, and a national
    # GIAS import (22,000 updates) took ten times as long.
    engine = engine_for(db_url)
    delete = "DELETE FROM import_school_digest WHERE urn = '100000'"
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {delete}")))
            assert "USING INDEX ix_import_school_digest_urn" in plan, plan
        else:
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(row[0] for row in connection.execute(text(f"EXPLAIN {delete}")))
            assert "ix_import_school_digest_urn" in plan, plan
