"""Plain data the pathway machine works on: a school's facts, a case file, its deadlines.

No database here: the service layer loads these from rows and writes them back, so the machine and
its rules are testable on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from concerns.domain.rules import status_when_past


@dataclass(frozen=True)
class SchoolFacts:
    urn: str
    name: str
    la: str
    type_name: str
    maintained: bool
    diocese: str | None = None
    religious_character: str | None = None
    trust: str | None = None

    @property
    def academy(self) -> bool:
        return not self.maintained


@dataclass
class Deadline:
    kind: str
    due: date
    responsible: str
    rule: str
    source: str
    created_on: date
    status: str = "open"  # open | met | missed | passed (an Ofsted-owned date) | cancelled
    met_on: date | None = None
    cancelled_on: date | None = None
    note: str = ""
    id: int | None = None

    def status_on(self, day: date) -> str:
        """The deadline's status as it stood on `day` (an as-of view of the stored history)."""
        if self.met_on is not None and self.met_on <= day:
            return "met"
        if self.cancelled_on is not None and self.cancelled_on <= day:
            return "cancelled"
        if self.created_on > day:
            return "not_yet_created"
        return status_when_past(self.kind) if self.due < day else "open"

    @property
    def is_open(self) -> bool:
        # A passed Ofsted date is still awaited: the visit or inspection that comes late still meets it.
        return self.status in ("open", "missed", "passed")


@dataclass
class CaseFile:
    pathway: str | None = None
    state: str = "start"
    opened: date | None = None
    closed: date | None = None
    outcome: str | None = None
    origin: str = "la"  # ofsted | la
    facts: dict[str, Any] = field(default_factory=dict)
    deadlines: list[Deadline] = field(default_factory=list)
    last_event_on: date | None = None
    id: int | None = None

    @property
    def is_open(self) -> bool:
        return self.closed is None and self.state not in ("start", "closed")

    def open_deadlines(self, kind: str | None = None) -> list[Deadline]:
        return [d for d in self.deadlines if d.is_open and (kind is None or d.kind == kind)]


@dataclass(frozen=True)
class Transitioned:
    """What one event did: the record the audit trail keeps."""

    event: str
    on: date
    from_state: str
    to_state: str
    pathway: str
    created: tuple[Deadline, ...]
    met: tuple[Deadline, ...]
    cancelled: tuple[Deadline, ...]
    closed: bool
