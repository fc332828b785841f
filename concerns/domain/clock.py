"""The injected clock: every rule and flow takes an `as_of` date; only the edges ask for today."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from concerns.domain.formatting import LONDON, ukdate
from concerns.domain.rules import OFSTED_BEGAN


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
    """A date too far in the future (or past) to be meant; the message names it as typed (ISO 8601, on the
    command line), `plain` as the desk shows it (31 December 9999)."""

    def __init__(self, message: str, plain: str | None = None):
        super().__init__(message)
        self.plain = plain or message


def refuse_far_future(day: date, what: str, clock: Clock | None = None) -> date:
    now = today(clock)
    if day > now + FAR_FUTURE:
        raise ImplausibleDate(f"{what} {day.isoformat()} is more than a year after today ({now.isoformat()}); "
                              "check the year")
    return day


# The window each kind of date must fall in: (earliest, how far after today). A date outside it is a typo
# (2062 for 2026, 1800 for 2018) or an attack, and several of the tables it would land in refuse later
# change (a category decision, a fact, an event): so every door refuses it before anything is written.
# Ofsted began inspecting in September 1992; nothing this product records is older than that.
DATE_WINDOWS: dict[str, tuple[date, timedelta]] = {
    "letter": (OFSTED_BEGAN, timedelta(days=92)),  # dated today or for a meeting next term, not beyond
    "event": (OFSTED_BEGAN, FAR_FUTURE),
    "inspection": (OFSTED_BEGAN, FAR_FUTURE),  # an inspection's publication or visit
    "category": (OFSTED_BEGAN, FAR_FUTURE),  # an authority's category decision
    "fact": (OFSTED_BEGAN, FAR_FUTURE),  # from when a fact about a school holds
    "fact_end": (OFSTED_BEGAN, timedelta(days=366 * 10)),  # when it stops holding: may be years ahead
    "detail": (OFSTED_BEGAN, timedelta(days=366 * 5)),  # a date inside a letter (a meeting, a deadline)
}
# The academic years a category may be recorded for: from Ofsted's first to the one after next.
YEARS_AHEAD = 1


def check_date(day: date, kind: str, what: str, clock: Clock | None = None) -> date:
    """`day`, if it is plausible for a date of `kind` (a key of DATE_WINDOWS); else ImplausibleDate naming it."""
    earliest, ahead = DATE_WINDOWS[kind]
    if day < earliest:
        raise ImplausibleDate(f"{what} {day.isoformat()} is before {earliest.year}; check the year",
                              f"{what} {_written(day)} is before {earliest.year}: check the year")
    now = today(clock)
    if day > now + ahead:
        span = "a year" if ahead == FAR_FUTURE else f"{ahead.days} days"
        raise ImplausibleDate(f"{what} {day.isoformat()} is more than {span} after today ({now.isoformat()}); "
                              "check the year",
                              f"{what} {_written(day)} is more than {span} after today: check the year")
    return day


def _written(day: date) -> str:
    """'31 December 9999': how a refusal names a date, on the desk as on the command line."""
    return ukdate(day, weekday=False)


def check_academic_year(start: int, what: str, clock: Clock | None = None) -> int:
    """The first calendar year of an academic year (2026 for 2026/27), if it is plausible."""
    now = today(clock)
    if not OFSTED_BEGAN.year <= start <= now.year + YEARS_AHEAD:
        raise ImplausibleDate(f"{what} {start}/{(start + 1) % 100:02d} is not between {OFSTED_BEGAN.year}/"
                              f"{(OFSTED_BEGAN.year + 1) % 100:02d} and next year; check the year")
    return start


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
