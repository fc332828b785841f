"""The outbox of mails and the register of letters produced.

Every message has a unique key (what it is about, which step, who to), so a rerun or a retry cannot
queue it twice, and `sent_at` is set only after the SMTP server (or the .eml outbox) has accepted it.
A sender claims a row before sending it (`claimed_by`, with `next_attempt` moved to the end of its
lease), so two senders never hand the same message over; concerns/notify/outbox.py has the protocol.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field

from models._base import Table, utcnow


class Notification(Table, table=True):
    # The sender's question, "which rows are due now?", is status IN (pending, deferred) AND
    # next_attempt <= now, ordered by next_attempt: one range scan of this index.
    __table_args__ = (Index("ix_notification_status_next_attempt", "status", "next_attempt"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=400)
    kind: str  # digest | reminder | escalation | letter | invitation
    recipient_email: str = Field(index=True)
    recipient_name: str = ""
    recipient_role: str = ""
    school_side: bool = False
    cc: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    subject: str
    body_text: str
    body_html: str | None = None
    attachments: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    message_id: str
    urn: str | None = Field(default=None, index=True)
    case_id: int | None = Field(default=None, foreign_key="pathway_case.id", ondelete="SET NULL")
    for_date: date = Field(index=True)
    status: str = "pending"  # pending | deferred | failed | sent (concerns.notify.outbox.STATUSES)
    attempts: int = 0  # hand-overs tried; a message a connection fault kept back is not charged one
    last_error: str | None = None
    # When a sender may next take it: queueing time, then the back-off after a temporary fault; while a
    # sender holds it, the end of that sender's lease.
    next_attempt: datetime = Field(default_factory=utcnow)
    claimed_by: str | None = None  # the sender run that last claimed it
    alarm_raised_at: datetime | None = None  # when the operator was first told it needs a person
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class DeadlineNotice(Table, table=True):
    """Which reminder step of which deadline has been raised, so each is raised once."""

    __tablename__ = "deadline_notice"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)  # deadline:<id>:<step>
    deadline_id: int = Field(foreign_key="deadline.id", ondelete="CASCADE", index=True)
    # e.g. before-10wd, before-3wd, due, missed, escalated. Indexed: an officer's week lists the escalated
    # ones, a handful among every reminder ever raised, and would otherwise read the authority's deadlines.
    step: str = Field(index=True)
    for_date: date
    recipient_role: str
    created_at: datetime = Field(default_factory=utcnow)


class Letter(Table, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    urn: str = Field(foreign_key="school.urn", ondelete="CASCADE", index=True)
    case_id: int | None = Field(default=None, foreign_key="pathway_case.id", ondelete="SET NULL")
    kind: str
    title: str
    on: date
    path: str  # absolute: where the letter was written when it was drafted
    sha256: str | None = Field(default=None, max_length=64)  # of the HTML file as written; None before 0003
    addressees: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    copies: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
