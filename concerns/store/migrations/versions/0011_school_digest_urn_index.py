"""school digest by URN: an index for the triggers that forget a school's digest

Revision ID: 0011_school_digest_urn_index
Revises: 0010_form_submissions
Create Date: 2026-12-07

The triggers of 0009 delete `import_school_digest` rows `WHERE urn = OLD.urn` on every update of a school or
an inspection. The table's key is (kind, urn), which a search by URN alone cannot use, so each update read
the whole table: a national GIAS import (22,000 school updates against 22,000 digests) went from 1.8 s to
over 20 s of CPU. With this index each trigger finds its row directly.
"""
from typing import Sequence, Union

from alembic import op

revision: str = "0011_school_digest_urn_index"
down_revision: Union[str, None] = "0010_form_submissions"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("import_school_digest", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_school_digest_urn"), ["urn"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("import_school_digest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_school_digest_urn"))
