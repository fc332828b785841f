"""council sign-in over OpenID Connect: sign-ins under way, and the ID token behind a desk session

Revision ID: 0008_oidc_sign_in
Revises: 0007_authority_judgements
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # autogenerate emits sqlmodel types (docs/decisions/0011-aware-datetimes.md)
from alembic import op

revision: str = "0008_oidc_sign_in"
down_revision: str | None = "0007_authority_judgements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oidc_sign_in",
        sa.Column("browser_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("code_verifier", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("next_path", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("browser_hash"),
    )
    with op.batch_alter_table("oidc_sign_in", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oidc_sign_in_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "oidc_session",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("id_token", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["token_hash"], ["officer_session.token_hash"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("oidc_session")
    with op.batch_alter_table("oidc_sign_in", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_sign_in_expires_at"))
    op.drop_table("oidc_sign_in")
