"""letter files: the SHA-256 of each letter as written

Revision ID: 0003_letter_files
Revises: 0002
Create Date: 2026-11-30
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # autogenerate emits sqlmodel types (docs/decisions/0011-aware-datetimes.md)


revision: str = '0003_letter_files'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Letters drafted before this revision keep NULL: there is no record of what their files held.
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.drop_column('sha256')
