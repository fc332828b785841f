"""Cases on a pathway, their append-only event history, and the deadlines they create."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, text
from sqlmodel import Field

from models._base import Table, utcnow

OPEN_CASES_ONLY = "closed IS NULL"


class Case(Table, table=True):
    # "case" is an SQL keyword: a plain name keeps operators' ad-hoc queries simple.
    __tablename__ = "pathway_case"
    # One open case per school and pathway, enforced by the database (migration 0005_history_guard). The
    # predicate in PostgreSQL's terms is added by use_dialect below, when PostgreSQL is used.
    __table_args__ = (Index("uq_pathway_case_open_per_pathway", "urn", "pathway", unique=True,
                            sqlite_where=text(OPEN_CASES_ONLY)),)

    id: int | None = Field(default=None, primary_key=True)
    urn: str = Field(foreign_key="school.urn", ondelete="CASCADE", index=True)
    pathway: str = Field(index=True)
    state: str
    origin: str  # ofsted | la
    opened: date
    closed: date | None = Field(default=None, index=True)
    outcome: str | None = None
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    inspection_id: int | None = Field(default=None, foreign_key="inspection.id", ondelete="SET NULL")
    last_event_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CaseEvent(Table, table=True):
    """The audit trail: who did what, when, with what note. Never updated or deleted: the application
    refuses it (models.AuditTrailIsAppendOnly) and so does the database (triggers, 0005_history_guard)."""

    __tablename__ = "case_event"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="pathway_case.id", ondelete="CASCADE", index=True)
    urn: str = Field(index=True)
    event: str
    on: date
    until: date | None = None
    from_state: str
    to_state: str
    actor: str
    note: str = ""
    confidential: bool = False
    recorded_at: datetime = Field(default_factory=utcnow)


class Deadline(Table, table=True):
    # The daily check reads open deadlines whose next notice date has come: this index serves it.
    __table_args__ = (Index("ix_deadline_status_next_notice", "status", "next_notice_on"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="pathway_case.id", ondelete="CASCADE", index=True)
    urn: str = Field(index=True)
    kind: str
    due: date
    status: str = "open"  # open | met | missed | passed (an Ofsted-owned date) | cancelled
    responsible: str
    rule: str
    source: str
    note: str = ""
    created_on: date
    met_on: date | None = None
    cancelled_on: date | None = None
    missed_on: date | None = None
    created_by_event_id: int | None = Field(default=None, foreign_key="case_event.id")
    historical: bool = False  # already past when imported: no reminder, no escalation
    # When the daily check next needs to look at this deadline (its next reminder step); None once it
    # is met, cancelled or missed. Indexed so that the check reads the deadlines due, not the table.
    next_notice_on: date | None = None
    updated_at: datetime = Field(default_factory=utcnow)


def use_dialect(name: str) -> None:
    """Give the partial indexes their predicate in the terms of the database in use (idempotent).

    Called by concerns.store.db when it makes a PostgreSQL engine, and by the migrations' environment, rather
    than written in the table: a dialect named in a model is imported with the model, and PostgreSQL's
    costs every command run on SQLite some 50 ms (a tenth of a read command, measured).
    """
    if name == "postgresql":
        index = next(i for i in Case.__table__.indexes if i.name == "uq_pathway_case_open_per_pathway")
        index.dialect_options["postgresql"]["where"] = text(OPEN_CASES_ONLY)
