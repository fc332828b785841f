"""deadline notice by step: an index for the escalations on an officer's week

Revision ID: 0012_deadline_notice_step_index
Revises: 0011_school_digest_urn_index
Create Date: 2026-12-07

An officer's week lists the missed deadlines escalated to them: the notices whose step is "escalated", a
handful among every reminder ever raised. Without an index on the step, both engines found them by reading
every school of the authority and each school's deadlines (19,450 schools: 13 ms a week page on SQLite,
with no escalation at all). With it they start from the escalated notices.
"""
from typing import Sequence, Union

from alembic import op

revision: str = "0012_deadline_notice_step_index"
down_revision: Union[str, None] = "0011_school_digest_urn_index"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("deadline_notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadline_notice_step"), ["step"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deadline_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadline_notice_step"))
