"""Officers who sign in to the desk, their sessions, and sign-in attempts (for rate limiting)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field

from models._base import Table, utcnow


class Officer(Table, table=True):
    """An account on the officers' desk. The password is stored only as a salted scrypt hash."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=254)
    role: str  # a role of the authority's policy, e.g. senior_adviser
    la: str = Field(index=True)
    password_hash: str
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class OfficerSession(Table, table=True):
    """A signed-in browser. Only the SHA-256 of the cookie's token is stored, never the token itself."""

    __tablename__ = "officer_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    officer_id: int = Field(foreign_key="officer.id", ondelete="CASCADE", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class SignInAttempt(Table, table=True):
    """One failed sign-in, by account and by client address: the rate limit counts these."""

    __tablename__ = "sign_in_attempt"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, max_length=254)
    client: str = Field(index=True, max_length=64)
    at: datetime = Field(default_factory=utcnow, index=True)


class FormSubmission(Table, table=True):
    """A desk form accepted once: its one-time token (written into the form when the page was shown), so
    that the same form submitted again (a double click, a resent request) is recognised and changes nothing."""

    __tablename__ = "form_submission"

    token: str = Field(primary_key=True, max_length=64)
    officer_id: int = Field(foreign_key="officer.id", ondelete="CASCADE", index=True)
    result: str = Field(max_length=500)  # where the first submission led
    created_at: datetime = Field(default_factory=utcnow)


class LetterForm(Table, table=True):
    """What an officer typed into the desk's letter form, kept with the letter it produced, so that the
    letter can be sent later exactly as it was drafted (the same details give the same letter key)."""

    __tablename__ = "letter_form"

    letter_id: int = Field(foreign_key="letter.id", ondelete="CASCADE", primary_key=True)
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    drafted_by: str
    created_at: datetime = Field(default_factory=utcnow)
