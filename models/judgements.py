"""The authority's own judgements about a school, kept as history: its category each year, and the
facts officers record with a date (a new head, safeguarding not compliant ...) that the categorisation
scheme reads. Both tables are append-only, like the case history: a correction is a new row."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field

from models._base import Table, utcnow


class LaCategory(Table, table=True):
    """One decision on a school's category for an academic year. The latest row of a year (by decided_on,
    then id) is the category in force; earlier rows are its history."""

    __tablename__ = "la_category"

    id: int | None = Field(default=None, primary_key=True)
    urn: str = Field(foreign_key="school.urn", ondelete="RESTRICT", index=True)
    year: str = Field(max_length=7)  # the academic year it is for, "2026/27"
    level: str  # the policy's level key, e.g. "medium", "C", "3"
    label: str  # the level's name in the policy when decided
    decided_on: date
    reason: str
    decided_by: str  # the officer, or "annual categorisation" for a proposal approved as a whole
    source: str  # officer | approved_proposal
    recorded_at: datetime = Field(default_factory=utcnow)


class SchoolFact(Table, table=True):
    """A fact about a school an officer records with its date, for the categorisation scheme to read."""

    __tablename__ = "school_fact"

    id: int | None = Field(default=None, primary_key=True)
    urn: str = Field(foreign_key="school.urn", ondelete="RESTRICT", index=True)
    fact: str  # a key of the policy's [facts] table
    starts_on: date
    ends_on: date | None = None
    note: str = ""
    recorded_by: str
    recorded_at: datetime = Field(default_factory=utcnow)
