"""Ofsted inspections in every regime: 1-4 outcomes, key judgements, report cards."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, UniqueConstraint

from models._base import Table, utcnow


class Inspection(Table, table=True):
    __table_args__ = (UniqueConstraint("urn", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    urn: str = Field(foreign_key="school.urn", ondelete="CASCADE", index=True)
    key: str  # identity within the school: Ofsted's inspection number, else the dates
    number: str | None = None
    inspected: date | None = None
    inspected_end: date | None = None
    published: date = Field(index=True)
    regime: str  # graded | key_judgements | report_card
    outcome: str | None = None  # outstanding .. special_measures (single-word form)
    category: str | None = None  # SM | RSI | NTI
    level: str  # good | ri | rsi | sm: what the pathway machine acts on
    safeguarding: str | None = None  # met | not_met
    graded: bool = True
    inspection_type: str | None = None
    source: str = "cli"
    created_at: datetime = Field(default_factory=utcnow)


class InspectionGrade(Table, table=True):
    """One area grade of a report card, or one key / sub-judgement of the older regimes."""

    __tablename__ = "inspection_grade"
    __table_args__ = (UniqueConstraint("inspection_id", "area"),)

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", ondelete="CASCADE", index=True)
    area: str
    grade: str
