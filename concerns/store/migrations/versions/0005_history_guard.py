"""history guard: the database itself keeps the case history and one open case per pathway

Revision ID: 0005_history_guard
Revises: 0004_outbox_claims
Create Date: 2026-11-30

Until now only the application refused to rewrite history (a before_flush hook in `models`), so a
bulk `update()`, raw SQL or a cascade from deleting a school could still change or remove events.
From this revision the database refuses them itself, on SQLite and PostgreSQL alike:

* UPDATE and DELETE on `case_event` are refused by triggers (and TRUNCATE on PostgreSQL). A
  correction is a new event. Deleting a case with events is refused too, because its cascade would
  delete them.
* Deleting a school with case history is refused by a trigger on `school`, with a message that says
  so, before any cascade starts. A school that closes is marked closed; it is never deleted.
* A partial unique index allows one open case per school and pathway, so even a writer that skipped
  the casework's locks could not open a second one. (Every open case of a school is on a different
  pathway: the casework records events on an open case rather than opening another.)

Self-contained: it adds triggers, functions and one index, and changes no table, so it chains after any
other revision that does not touch these objects.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005_history_guard"
down_revision: Union[str, None] = "0004_outbox_claims"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

HISTORY_IS_APPEND_ONLY = "case_event is append-only: history is never changed or deleted; record a new event"
SCHOOL_HAS_HISTORY = "a school with case history cannot be deleted; record that it closed instead"

# SQLite: RAISE(ABORT, ...) undoes the statement and fails it with SQLITE_CONSTRAINT (SQLite docs,
# "CREATE TRIGGER", the RAISE() function). Foreign-key cascades delete rows like a DELETE statement,
# so a cascade into case_event fires the same trigger.
SQLITE_UP = [
    f"""CREATE TRIGGER case_event_refuse_update BEFORE UPDATE ON case_event
        BEGIN SELECT RAISE(ABORT, '{HISTORY_IS_APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER case_event_refuse_delete BEFORE DELETE ON case_event
        BEGIN SELECT RAISE(ABORT, '{HISTORY_IS_APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER school_with_history_is_kept BEFORE DELETE ON school
        WHEN EXISTS (SELECT 1 FROM case_event WHERE case_event.urn = OLD.urn)
        BEGIN SELECT RAISE(ABORT, '{SCHOOL_HAS_HISTORY}'); END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS school_with_history_is_kept",
    "DROP TRIGGER IF EXISTS case_event_refuse_delete",
    "DROP TRIGGER IF EXISTS case_event_refuse_update",
]

# PostgreSQL: the errors carry SQLSTATE class 23 (integrity constraint violation), so drivers and
# SQLAlchemy report them as IntegrityError, like the constraint they stand for. Row-level triggers
# also fire for rows deleted by an ON DELETE CASCADE (PostgreSQL docs, "Overview of Trigger Behavior").
POSTGRESQL_UP = [
    f"""CREATE FUNCTION case_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_LEVEL = 'ROW' THEN
                RAISE EXCEPTION '{HISTORY_IS_APPEND_ONLY} (% of event %)', TG_OP, OLD.id
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RAISE EXCEPTION '{HISTORY_IS_APPEND_ONLY} (%)', TG_OP USING ERRCODE = 'integrity_constraint_violation';
        END $$""",
    """CREATE TRIGGER case_event_refuse_change BEFORE UPDATE OR DELETE ON case_event
        FOR EACH ROW EXECUTE FUNCTION case_event_refuse_change()""",
    """CREATE TRIGGER case_event_refuse_truncate BEFORE TRUNCATE ON case_event
        FOR EACH STATEMENT EXECUTE FUNCTION case_event_refuse_change()""",
    f"""CREATE FUNCTION school_with_history_is_kept() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM case_event WHERE case_event.urn = OLD.urn) THEN
                RAISE EXCEPTION '{SCHOOL_HAS_HISTORY} (URN %)', OLD.urn USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN OLD;
        END $$""",
    """CREATE TRIGGER school_with_history_is_kept BEFORE DELETE ON school
        FOR EACH ROW EXECUTE FUNCTION school_with_history_is_kept()""",
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER IF EXISTS school_with_history_is_kept ON school",
    "DROP FUNCTION IF EXISTS school_with_history_is_kept()",
    "DROP TRIGGER IF EXISTS case_event_refuse_truncate ON case_event",
    "DROP TRIGGER IF EXISTS case_event_refuse_change ON case_event",
    "DROP FUNCTION IF EXISTS case_event_refuse_change()",
]

OPEN_CASE_INDEX = "uq_pathway_case_open_per_pathway"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UP, "postgresql": POSTGRESQL_UP}[dialect]:
        op.execute(statement)
    op.create_index(OPEN_CASE_INDEX, "pathway_case", ["urn", "pathway"], unique=True,
                    sqlite_where=sa.text("closed IS NULL"), postgresql_where=sa.text("closed IS NULL"))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index(OPEN_CASE_INDEX, table_name="pathway_case")
    for statement in {"sqlite": SQLITE_DOWN, "postgresql": POSTGRESQL_DOWN}[dialect]:
        op.execute(statement)
