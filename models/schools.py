"""Schools, the people who work on them, and who holds which role."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, UniqueConstraint

from models._base import Table, utcnow


class School(Table, table=True):
    urn: str = Field(primary_key=True, max_length=12)
    name: str
    la: str = Field(index=True)
    type_name: str
    maintained: bool
    laestab: str | None = None
    phase: str | None = None
    diocese: str | None = None
    religious_character: str | None = None
    trust: str | None = None
    predecessor_urn: str | None = Field(default=None, index=True)
    status: str = "open"
    opened_on: date | None = None
    closed_on: date | None = None
    # The postal address GIAS publishes, for letters.
    street: str | None = None
    locality: str | None = None
    address3: str | None = None
    town: str | None = None
    county: str | None = None
    postcode: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Person(Table, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str = Field(index=True)
    la: str | None = None
    school_side: bool = False  # head, chair, governors: never sent confidential notes


class RoleAssignment(Table, table=True):
    """A person holding a role, for one school or (urn None) for the whole authority."""

    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("la", "urn", "role", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE", index=True)
    role: str = Field(index=True)
    la: str
    urn: str | None = Field(default=None, foreign_key="school.urn", ondelete="CASCADE", index=True)
