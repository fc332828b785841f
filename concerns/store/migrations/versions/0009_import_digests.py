"""import digests: what each Ofsted import last took in, so a re-import leaves it alone

Revision ID: 0009_import_digests
Revises: 0008_oidc_sign_in
Create Date: 2026-12-06

`import_file_digest` holds the digest of each file an import took in whole; `import_school_digest` the
digest of each school's rows in the last file that named it (concerns/ingest/load/digests.py). They are
not history (docs/decisions/0014-append-only-history.md): a digest is a promise that importing the same
rows again would change nothing, and the database keeps that promise itself. Triggers delete a school's
digest, and every file digest, when the school's row or one of its inspections is changed or deleted by
anyone (an officer, a GIAS import, raw SQL): an import would then have something to say about the
school again. Inserting an inspection does not: the rows a digest stands for are already held, and an
inspection held is never judged again. No trigger touches the append-only tables.
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel  # autogenerate emits sqlmodel types (docs/decisions/0011-aware-datetimes.md)
from alembic import op

revision: str = "0009_import_digests"
down_revision: Union[str, None] = "0008_oidc_sign_in"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# (table, events) whose rows name a school whose digests then no longer hold.
WATCHED = (("school", ("UPDATE", "DELETE")), ("inspection", ("UPDATE", "DELETE")))


def upgrade() -> None:
    op.create_table(
        "import_file_digest",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("layout", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("schools", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "digest"),
    )
    op.create_table(
        "import_school_digest",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("urn", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("lines", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "urn"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("""CREATE FUNCTION import_digest_forget() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM import_school_digest WHERE urn = OLD.urn;
                DELETE FROM import_file_digest;
                RETURN NULL;
            END $$""")
    for table, events in WATCHED:
        for event in events:
            name = f"{table}_{event.lower()}_forgets_import_digest"
            if dialect == "sqlite":
                op.execute(f"""CREATE TRIGGER {name} AFTER {event} ON {table}
                               BEGIN DELETE FROM import_school_digest WHERE urn = OLD.urn;
                                     DELETE FROM import_file_digest; END""")
            else:
                op.execute(f"""CREATE TRIGGER {name} AFTER {event} ON {table}
                               FOR EACH ROW EXECUTE FUNCTION import_digest_forget()""")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, events in WATCHED:
        for event in events:
            name = f"{table}_{event.lower()}_forgets_import_digest"
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if dialect == "postgresql" else ""))
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS import_digest_forget()")
    op.drop_table("import_school_digest")
    op.drop_table("import_file_digest")
