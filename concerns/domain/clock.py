"""The injected clock: every rule and flow takes an `as_of` date; only the edges ask for today."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol

LONDON = "Europe/London"


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        # Always name the zone: the machine's local zone is not the authority's (docs/decisions/0009-time-zone-and-clock.md).
        import pendulum  # here, not at the top: a command given its date need not load it

        return pendulum.now(LONDON)


class FixedClock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def today(clock: Clock | None = None) -> date:
    return (clock or SystemClock()).now().date()


def as_utc(moment: datetime) -> datetime:
    """A stored moment, aware and in UTC.

    The store gives datetimes back aware, in UTC, on SQLite too: sqlmodel's UTCDateTime refuses a naive
    value on write and adds UTC to an offset-less one on read (docs/decisions/0011-aware-datetimes.md). A naive value
    here therefore never came from the store but from a row built in memory; it is read as UTC, the
    same rule UTCDateTime applies."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- dates that cannot be meant ----------------------------------------------------------------------

# An event or inspection more than this far ahead is a typo (2062 for 2026): a case cannot accept an
# event dated before its last one, so one such date would make it refuse every real event after it.
FAR_FUTURE = timedelta(days=366)
# A scheduled job may run a few days ahead (a Friday run covering the weekend); further ahead it would
# mark deadlines missed, and escalate them, before they are due.
AS_OF_LEEWAY = timedelta(days=7)


class ImplausibleDate(ValueError):
    """A date too far in the future to be meant; the message names it."""


def refuse_far_future(day: date, what: str, clock: Clock | None = None) -> date:
    now = today(clock)
    if day > now + FAR_FUTURE:
        raise ImplausibleDate(f"{what} {day.isoformat()} is more than a year after today ({now.isoformat()}); "
                              "check the year")
    return day


def check_as_of(as_of: date | None, simulation: bool = False, clock: Clock | None = None,
                what: str = "--as-of") -> date | None:
    """Refuse a job's `as_of` more than AS_OF_LEEWAY after today, unless the run is a simulation (the
    demo, a what-if on a copy of the data) and says so."""
    if as_of is None or simulation:
        return as_of
    now = today(clock)
    if as_of > now + AS_OF_LEEWAY:
        raise ImplausibleDate(
            f"{what} {as_of.isoformat()} is more than {AS_OF_LEEWAY.days} days after today ({now.isoformat()}): "
            "a run that far ahead would mark deadlines missed and escalate them before they are due; "
            "pass --simulation if this is a simulation")
    return as_of
