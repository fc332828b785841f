"""Meetings an authority's policy asks for: what they are called, how often, who answers for them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class MeetingsError(ValueError):
    pass


@dataclass(frozen=True)
class MeetingCadence:
    kind: str  # the deadline kind it creates, e.g. progress_meeting
    name: str
    cadence: str  # term | half_term
    minimum_per_year: int
    responsible: str
    min_lead_days: int = 15
    papers_due_days_before: int | None = None
    minutes_due_days_after: int | None = None


def parse_meetings(items: Sequence[Any], where: str) -> tuple[MeetingCadence, ...]:
    meetings = tuple(
        MeetingCadence(kind=m.get("kind", "progress_meeting"), name=m["name"], cadence=m["cadence"],
                       minimum_per_year=int(m["minimum_per_year"]), responsible=m["responsible"],
                       min_lead_days=int(m.get("min_lead_days", 15)),
                       papers_due_days_before=m.get("papers_due_days_before"),
                       minutes_due_days_after=m.get("minutes_due_days_after"))
        for m in items
    )
    for m in meetings:
        if m.cadence not in ("term", "half_term"):
            raise MeetingsError(f"{where}: meeting {m.name!r} cadence must be term or half_term, not {m.cadence!r}")
    return meetings
