"""Working-day calendars: the kinds of day that statutory periods are counted in.

Two kinds matter to the law this product encodes:

* statutory working days: not a Saturday or Sunday, not an England and Wales bank holiday
  (Christmas Day and Good Friday included), not an extra closure date the authority configures;
* inspection working days (SI 2005/2038 reg 2): as above, and also not any day of a school holiday
  longer than one week, taken from the authority's term calendar.

Counting follows SI 2005/2038 reg 2(2): "N working days after D" starts counting the day after D,
so the answer is the N-th working day following D.
"""

from __future__ import annotations

import calendar as _stdcal
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cache

from concerns.domain.terms import TermCalendar


class DayKind(StrEnum):
    statutory = "statutory"
    inspection = "inspection"


# The holidays package expands lazily to any year asked about; naming a generous range up front keeps
# lookups in hot loops from re-expanding one year at a time.
_BANK_HOLIDAY_YEARS = range(1995, 2041)


def england_bank_holidays(extra: Iterable[date] = ()) -> dict[date, str]:
    """England and Wales bank holidays (incl. Christmas Day and Good Friday), plus extra dates.

    `holidays` learns of one-off proclamations (a jubilee, a state funeral) only in new releases,
    hence the configurable extra list.
    """
    table = dict(_statutory_bank_holidays())
    for day in extra:
        table.setdefault(day, "Extra closure (authority configuration)")
    return table


@cache
def _statutory_bank_holidays() -> dict[date, str]:
    # Worked out once per process (the package's table for 46 years takes 10 ms, and every authority's
    # calendars start from it); each caller gets its own copy to add its closures to.
    import holidays  # here, not at the top: a read command that counts no working days need not load it

    return dict(holidays.country_holidays("GB", subdiv="ENG", years=_BANK_HOLIDAY_YEARS))


@dataclass
class WorkingDayCalendar:
    """Answers "is this a working day?" and "N working days after D" for one kind of day."""

    kind: DayKind = DayKind.statutory
    extra_closures: tuple[date, ...] = ()
    terms: TermCalendar | None = None
    _bank_holidays: dict[date, str] = field(init=False, repr=False)
    _long_holidays: dict[int, frozenset[date]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.kind = DayKind(self.kind)
        if self.kind is DayKind.inspection and self.terms is None:
            raise ValueError("inspection working days need the authority's term calendar")
        self._bank_holidays = england_bank_holidays(self.extra_closures)

    def _in_long_school_holiday(self, day: date) -> bool:
        # Long holidays are computed per academic year and memoised: the hot path is a set lookup.
        year = day.year if day.month >= 9 else day.year - 1
        cache = self._long_holidays
        if year not in cache:
            cache[year] = frozenset(self.terms.long_holiday_days(year))  # type: ignore[union-attr]
        return day in cache[year]

    def why_not_working(self, day: date) -> str | None:
        """None for a working day, else the reason it is not one (for explanations in the UI)."""
        if day.weekday() >= 5:
            return _stdcal.day_name[day.weekday()]
        if day in self._bank_holidays:
            return self._bank_holidays[day]
        if self.kind is DayKind.inspection and self._in_long_school_holiday(day):
            return "school holiday longer than one week"
        return None

    def is_working_day(self, day: date) -> bool:
        if day.weekday() >= 5 or day in self._bank_holidays:
            return False
        return not (self.kind is DayKind.inspection and self._in_long_school_holiday(day))

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (counting begins the day after; n=0 gives `start`).

        Negative n counts backwards: the n-th working day before `start`.
        """
        if n == 0:
            return start
        step = timedelta(days=1 if n > 0 else -1)
        remaining = abs(n)
        day = start
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many of "N working days after start" have passed by end."""
        if end <= start:
            return 0
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the next one."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

