"""form submissions: the one-time token of each desk form accepted, so a double submit changes nothing

Revision ID: 0010_form_submissions
Revises: 0009_import_digests
Create Date: 2026-12-06
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel  # autogenerate emits sqlmodel types (docs/decisions/0011-aware-datetimes.md)
from alembic import op

revision: str = "0010_form_submissions"
down_revision: Union[str, None] = "0009_import_digests"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('form_submission',
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token')
    )
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_submission_officer_id'), ['officer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_submission_officer_id'))
    op.drop_table('form_submission')
