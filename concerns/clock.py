"""The injected clock: every rule and flow takes an `as_of` date; only the edges ask for today."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

import pendulum

LONDON = "Europe/London"


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        # Always name the zone: the machine's local zone is not the authority's (TECH-NOTES §3).
        return pendulum.now(LONDON)


class FixedClock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def today(clock: Clock | None = None) -> date:
    return (clock or SystemClock()).now().date()
