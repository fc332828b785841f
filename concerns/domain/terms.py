"""School terms and half terms, per authority.

An authority's policy file may list its term dates year by year; any academic year it does not list
falls back to an English default shape (docs/decisions/0019-dated-rules.md): autumn early September to mid December,
spring early January to Easter, summer mid April to late July, each with a one-week half term.
The default rules below are the usual pattern of English LA calendars, not a statute: an authority
with other dates writes them in its policy file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.easter import easter

TERM_NAMES = ("autumn", "spring", "summer")

# A school holiday "longer than one week" (SI 2005/2038 reg 2) is one with more than five weekdays
# of closure: a Monday-to-Friday half term is one week, Christmas, Easter and summer are longer.
ONE_WEEK_OF_WEEKDAYS = 5


@dataclass(frozen=True)
class Term:
    academic_year: int  # the calendar year the academic year starts in (2026 = 2026/27)
    name: str
    start: date
    end: date
    half_term: tuple[date, date] | None = None

    @property
    def label(self) -> str:
        return f"{self.name} {self.academic_year}/{(self.academic_year + 1) % 100:02d}"

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    def teaching_periods(self) -> list[tuple[date, date]]:
        """The term as the one or two stretches of school days either side of its half term."""
        if self.half_term is None:
            return [(self.start, self.end)]
        ht_start, ht_end = self.half_term
        return [(self.start, ht_start - timedelta(days=1)), (ht_end + timedelta(days=1), self.end)]

    def half_term_boundaries(self) -> list[tuple[date, date]]:
        """First and second half of the term (for half-termly meeting cadences)."""
        return self.teaching_periods()


def _first_weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _last_weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _nth_monday(year: int, month: int, n: int) -> date:
    day = date(year, month, 1)
    day += timedelta(days=(0 - day.weekday()) % 7)
    return day + timedelta(weeks=n - 1)


def _last_monday(year: int, month: int) -> date:
    day = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return day - timedelta(days=day.weekday())


def _last_friday_on_or_before(day: date) -> date:
    return day - timedelta(days=(day.weekday() - 4) % 7)


def _week(monday: date) -> tuple[date, date]:
    return monday, monday + timedelta(days=4)


def default_terms(academic_year: int) -> tuple[Term, Term, Term]:
    """The English default shape for the academic year starting in September `academic_year`."""
    y, n = academic_year, academic_year + 1
    good_friday = easter(n) - timedelta(days=2)
    autumn = Term(
        y,
        "autumn",
        _first_weekday_on_or_after(date(y, 9, 2)),
        _last_friday_on_or_before(date(y, 12, 21)),
        _week(_last_monday(y, 10)),
    )
    spring_start = _first_weekday_on_or_after(date(n, 1, 4))
    # Easter holidays: Holy Week and Easter week, so Good Friday and Easter Monday fall inside.
    spring = Term(y, "spring", spring_start, good_friday - timedelta(days=7), _week(_nth_monday(n, 2, 3)))
    summer = Term(
        y,
        "summer",
        good_friday + timedelta(days=10),
        _last_weekday_on_or_before(date(n, 7, 22)),
        _week(_last_monday(n, 5)),
    )
    return autumn, spring, summer


def _parse_span(value: Sequence[str] | None, where: str) -> tuple[date, date] | None:
    if value is None:
        return None
    if len(value) != 2:
        raise ValueError(f"{where}: expected [start, end], got {value!r}")
    try:
        start, end = (date.fromisoformat(str(v)) for v in value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if end < start:
        raise ValueError(f"{where}: ends {end} before it starts {start}")
    return start, end


def terms_from_config(entry: Mapping[str, object], where: str = "terms") -> tuple[Term, ...]:
    """One academic year of a policy file's `[[terms]]` table.

    year = 2026
    autumn = ["2026-09-03", "2026-12-18"]
    autumn_half_term = ["2026-10-26", "2026-10-30"]
    spring = [...]; spring_half_term = [...]; summer = [...]; summer_half_term = [...]
    """
    year = int(entry["year"])  # type: ignore[arg-type]
    terms = []
    for name in TERM_NAMES:
        span = _parse_span(entry.get(name), f"{where} {year} {name}")  # type: ignore[arg-type]
        if span is None:
            raise ValueError(f"{where} {year}: missing {name} = [start, end]")
        half = _parse_span(entry.get(f"{name}_half_term"), f"{where} {year} {name}_half_term")  # type: ignore[arg-type]
        if half and not (span[0] < half[0] <= half[1] < span[1]):
            raise ValueError(f"{where} {year}: {name} half term {half} is not inside the term {span}")
        terms.append(Term(year, name, span[0], span[1], half))
    for earlier, later in zip(terms, terms[1:], strict=False):
        if later.start <= earlier.end:
            raise ValueError(f"{where} {year}: {later.name} starts before {earlier.name} ends")
    return tuple(terms)


class TermCalendar:
    """Terms for every academic year: configured years as given, the rest by the default shape."""

    def __init__(self, configured: Mapping[int, Sequence[Term]] | None = None):
        self._configured = dict(configured or {})
        self._cache: dict[int, tuple[Term, ...]] = {}

    @classmethod
    def from_config(cls, entries: Sequence[Mapping[str, object]]) -> TermCalendar:
        configured = {}
        for entry in entries:
            terms = terms_from_config(entry)
            configured[terms[0].academic_year] = terms
        return cls(configured)

    def year(self, academic_year: int) -> tuple[Term, ...]:
        if academic_year not in self._cache:
            terms = self._configured.get(academic_year) or default_terms(academic_year)
            self._cache[academic_year] = tuple(terms)
        return self._cache[academic_year]

    @staticmethod
    def academic_year_of(day: date) -> int:
        return day.year if day.month >= 9 else day.year - 1

    def terms_around(self, day: date) -> Iterator[Term]:
        year = self.academic_year_of(day)
        for y in (year - 1, year, year + 1):
            yield from self.year(y)

    def term_containing(self, day: date) -> Term | None:
        """The term whose dates include `day` (half terms included), or None in a holiday."""
        return next((t for t in self.terms_around(day) if day in t), None)

    def next_term_starting_after(self, day: date) -> Term:
        """The first term that starts strictly after `day`."""
        year = self.academic_year_of(day)
        for y in (year, year + 1, year + 2):
            for term in self.year(y):
                if term.start > day:
                    return term
        raise AssertionError("unreachable: every academic year has three terms")

    def current_or_next_term(self, day: date) -> Term:
        return self.term_containing(day) or self.next_term_starting_after(day)

    def teaching_periods(self, first_year: int, last_year: int) -> list[tuple[date, date]]:
        periods = [p for y in range(first_year, last_year + 1) for t in self.year(y) for p in t.teaching_periods()]
        return sorted(periods)

    def long_holiday_days(self, academic_year: int) -> list[date]:
        """Every day, 1 Sep to 31 Aug of that academic year, inside a holiday longer than one week."""
        window_start, window_end = date(academic_year, 9, 1), date(academic_year + 1, 8, 31)
        periods = self.teaching_periods(academic_year - 1, academic_year + 1)
        days: list[date] = []
        for (_, prev_end), (next_start, _) in zip(periods, periods[1:], strict=False):
            gap = [prev_end + timedelta(days=i) for i in range(1, (next_start - prev_end).days)]
            weekdays = sum(1 for d in gap if d.weekday() < 5)
            if weekdays > ONE_WEEK_OF_WEEKDAYS:
                days.extend(d for d in gap if window_start <= d <= window_end)
        return days
