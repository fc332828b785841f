"""outbox claims: next_attempt, claimed_by, alarm_raised_at and the sender's index

Revision ID: 0004_outbox_claims
Revises: 0003_letter_files
Create Date: 2026-11-30
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # the models' column types


revision: str = '0004_outbox_claims'
down_revision: Union[str, None] = '0003_letter_files'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('alarm_raised_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # What was queued is due at once; what the old sender had given up on ("failed" after 8 temporary
    # faults) stays failed, for `concerns outbox retry --failed` to put back.
    op.execute("UPDATE notification SET next_attempt = created_at")
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.alter_column('next_attempt', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)
        batch_op.drop_index(batch_op.f('ix_notification_status'))
        batch_op.create_index('ix_notification_status_next_attempt', ['status', 'next_attempt'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_status_next_attempt')
        batch_op.create_index(batch_op.f('ix_notification_status'), ['status'], unique=False)
        batch_op.drop_column('alarm_raised_at')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('next_attempt')
    # The old sender knew only pending, sent and failed.
    op.execute("UPDATE notification SET status = 'pending' WHERE status = 'deferred'")
