"""What each import last took in, as digests: a file, and each school's rows in it (migration 0008).

A re-import reads these to leave alone what it already took: an unchanged file is not parsed, and in a
changed one only the schools whose rows changed are (concerns/ingest/load/digests.py says what a digest
covers and why a stored one can be trusted). Not history: the database's own triggers delete a school's
digest, and every file digest, whenever the school's row or one of its inspections is changed or
deleted, so that a digest is only ever held for a school as the import that recorded it left it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from models._base import Table, utcnow


class ImportedFile(Table, table=True):
    """A file taken in whole: every school of it went in with nothing refused or skipped."""

    __tablename__ = "import_file_digest"

    kind: str = Field(primary_key=True)  # "ofsted"
    digest: str = Field(primary_key=True)  # SHA-256 of the import's context and the file's bytes, hex
    layout: str
    rows: int  # the data rows read when it was imported
    schools: str  # "URN LINE" of each school of the file, one a line (settling needs them, not the rows)
    recorded_at: datetime = Field(default_factory=utcnow)


class ImportedSchool(Table, table=True):
    """One school's rows of the last file that named it, taken in with nothing refused or skipped."""

    __tablename__ = "import_school_digest"

    kind: str = Field(primary_key=True)  # "ofsted"
    # Indexed on its own: the triggers that forget a school's digest when its row changes find it by URN alone
    # (the key leads with kind), and without the index each of a GIAS import's 22,000 updates read the table.
    urn: str = Field(primary_key=True, max_length=12, index=True)
    digest: str  # SHA-256 of the context (file header included) and the rows' line digests, hex
    lines: str  # the digest of each of its rows (one physical line each), space-separated
    recorded_at: datetime = Field(default_factory=utcnow)
