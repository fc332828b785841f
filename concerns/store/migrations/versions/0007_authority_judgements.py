"""authority judgements: the LA's own category per school and year, dated facts, school postal addresses

Revision ID: 0007_authority_judgements
Revises: 0006_officer_accounts
Create Date: 2026-11-30

`la_category` and `school_fact` are history, append-only like `case_event`: the database refuses
UPDATE and DELETE on them (and TRUNCATE on PostgreSQL). A school's postal address, as GIAS publishes
it, is added to `school` for the letters.
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel  # autogenerate emits sqlmodel types (docs/decisions/0011-aware-datetimes.md)
from alembic import op

revision: str = "0007_authority_judgements"
down_revision: Union[str, None] = "0006_officer_accounts"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

APPEND_ONLY = ("la_category", "school_fact")
ADDRESS = ("street", "locality", "address3", "town", "county", "postcode")


def _message(table: str) -> str:
    return f"{table} is append-only: history is never changed or deleted; record a new decision"


def upgrade() -> None:
    with op.batch_alter_table("school") as batch:
        for column in ADDRESS:
            batch.add_column(sa.Column(column, sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.create_table(
        "la_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("urn", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("year", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["urn"], ["school.urn"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_la_category_urn", "la_category", ["urn"])
    op.create_table(
        "school_fact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("urn", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("fact", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["urn"], ["school.urn"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_school_fact_urn", "school_fact", ["urn"])
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "sqlite":
            for action in ("UPDATE", "DELETE"):
                op.execute(f"""CREATE TRIGGER {table}_refuse_{action.lower()} BEFORE {action} ON {table}
                               BEGIN SELECT RAISE(ABORT, '{_message(table)}'); END""")
        else:
            op.execute(f"""CREATE FUNCTION {table}_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION '{_message(table)} (%)', TG_OP USING ERRCODE = 'integrity_constraint_violation';
                END $$""")
            op.execute(f"""CREATE TRIGGER {table}_refuse_change BEFORE UPDATE OR DELETE ON {table}
                           FOR EACH ROW EXECUTE FUNCTION {table}_refuse_change()""")
            op.execute(f"""CREATE TRIGGER {table}_refuse_truncate BEFORE TRUNCATE ON {table}
                           FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_change()""")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_change ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_refuse_change()")
    op.drop_index("ix_school_fact_urn", table_name="school_fact")
    op.drop_table("school_fact")
    op.drop_index("ix_la_category_urn", table_name="la_category")
    op.drop_table("la_category")
    with op.batch_alter_table("school") as batch:
        for column in reversed(ADDRESS):
            batch.drop_column(column)
