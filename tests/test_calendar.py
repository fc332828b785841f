"""Working days, inspection working days, terms and months: worked examples, real data, properties."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from concerns.domain.calendar import DayKind, WorkingDayCalendar, england_bank_holidays
from concerns.domain.terms import TermCalendar, default_terms, terms_from_config
from tests.conftest import d, shared_file

STATUTORY = WorkingDayCalendar(DayKind.statutory)
INSPECTION = WorkingDayCalendar(DayKind.inspection, terms=TermCalendar())


def test_legacy_warning_notice_worked_example():
    # EIA 2006 s60 as enacted (15th working day following the day given): given Fri 18 Dec 2026, ends Wed 13 Jan 2027 (25 Dec, 28 Dec substitute and 1 Jan excluded).
    assert STATUTORY.add_working_days(d("2026-12-18"), 15) == d("2027-01-13")
    assert d("2027-01-13").weekday() == 2


def test_statement_of_action_worked_example():
    # Published Wed 4 Nov 2026: 10 inspection working days later is Wed 18 Nov 2026.
    assert INSPECTION.add_working_days(d("2026-11-04"), 10) == d("2026-11-18")


def test_counting_starts_the_day_after():
    assert STATUTORY.add_working_days(d("2026-11-20"), 1) == d("2026-11-23")  # Fri -> Mon
    assert STATUTORY.add_working_days(d("2026-11-21"), 1) == d("2026-11-23")  # Sat -> Mon
    assert STATUTORY.add_working_days(d("2026-11-23"), 0) == d("2026-11-23")


def test_inspection_days_skip_holidays_longer_than_a_week_but_not_half_terms():
    # Christmas 2026 (19 Dec to 3 Jan) is skipped entirely by inspection working days...
    assert INSPECTION.add_working_days(d("2026-12-10"), 10) == d("2027-01-07")
    assert STATUTORY.add_working_days(d("2026-12-10"), 10) == d("2026-12-24")
    assert INSPECTION.why_not_working(d("2026-12-21")) == "school holiday longer than one week"
    # ...but a one-week half term (26-30 Oct 2026) is not longer than a week, so it still counts.
    assert INSPECTION.is_working_day(d("2026-10-27"))
    assert INSPECTION.add_working_days(d("2026-10-22"), 3) == d("2026-10-27")


def test_summer_holiday_spans_the_academic_year_boundary():
    assert not INSPECTION.is_working_day(d("2026-08-03"))
    assert not INSPECTION.is_working_day(d("2026-09-01"))
    assert INSPECTION.is_working_day(d("2026-09-02"))  # autumn term 2026 starts


def test_a_two_week_half_term_is_a_long_holiday():
    configured = terms_from_config({
        "year": 2026,
        "autumn": ["2026-09-03", "2026-12-18"], "autumn_half_term": ["2026-10-19", "2026-10-30"],
        "spring": ["2027-01-05", "2027-03-26"], "summer": ["2027-04-12", "2027-07-21"],
    })
    calendar = WorkingDayCalendar(DayKind.inspection, terms=TermCalendar({2026: configured}))
    assert not calendar.is_working_day(d("2026-10-21"))
    assert INSPECTION.is_working_day(d("2026-10-21"))


def test_extra_closure_dates_are_not_working_days():
    closures = (d("2027-06-14"),)
    calendar = WorkingDayCalendar(DayKind.statutory, extra_closures=closures)
    assert not calendar.is_working_day(d("2027-06-14"))
    assert calendar.add_working_days(d("2027-06-11"), 1) == d("2027-06-15")


def test_inspection_days_need_a_term_calendar():
    with pytest.raises(ValueError, match="term calendar"):
        WorkingDayCalendar(DayKind.inspection)


@pytest.mark.parametrize("source", ["Fishbowler-workingday-uk", "dmossop-bank-holidays-data"])
def test_bank_holidays_match_the_gov_uk_feed(source):
    feed = json.loads(shared_file("data", "bank-holidays", source, "bank-holidays.json").read_text())
    events = feed["england-and-wales"]["events"]
    official = {date.fromisoformat(e["date"]) for e in events}
    years = {day.year for day in official}
    # `holidays` also lists the weekend date of a holiday that moved to a substitute weekday; the feed
    # lists only the substitute. Weekends are not working days either way, so compare weekdays.
    ours = {day for day in england_bank_holidays() if day.year in years and day.weekday() < 5}
    assert ours == official, f"differences: {sorted(ours ^ official)}"


def test_bank_holiday_feeds_cover_2012_to_2027():
    covered = set()
    for source in ("Fishbowler-workingday-uk", "dmossop-bank-holidays-data"):
        feed = json.loads(shared_file("data", "bank-holidays", source, "bank-holidays.json").read_text())
        covered |= {int(e["date"][:4]) for e in feed["england-and-wales"]["events"]}
    assert set(range(2012, 2028)) <= covered


@pytest.mark.parametrize(("start", "months", "expected"), [
    ("2026-11-04", 3, "2027-02-04"),
    ("2026-11-30", 3, "2027-02-28"),
    ("2027-11-30", 3, "2028-02-29"),
    ("2026-08-31", 30, "2029-02-28"),
    ("2026-01-31", 1, "2026-02-28"),
])
def test_calendar_months(start, months, expected):
    # "Within N months" is dateutil's relativedelta: the same day number, clipped to the month's last day.
    assert d(start) + relativedelta(months=months) == d(expected)


def test_default_terms_have_the_english_shape():
    autumn, spring, summer = default_terms(2026)
    assert autumn.start == d("2026-09-02") and autumn.end == d("2026-12-18")
    assert autumn.half_term == (d("2026-10-26"), d("2026-10-30"))
    assert spring.start == d("2027-01-04")
    # Easter 2027 is 28 March: Good Friday 26 March and Easter Monday 29 March fall in the holiday.
    assert spring.end < d("2027-03-26") and summer.start > d("2027-03-29")
    assert summer.end == d("2027-07-22")
    for term in (autumn, spring, summer):
        assert term.start.weekday() < 5 and term.end.weekday() < 5


@pytest.mark.parametrize("bad", [
    {"year": 2026, "autumn": ["2026-09-03"], "spring": ["2027-01-05", "2027-03-26"], "summer": ["2027-04-12", "2027-07-21"]},
    {"year": 2026, "autumn": ["2026-09-03", "2026-12-18"], "spring": ["2026-12-01", "2027-03-26"],
     "summer": ["2027-04-12", "2027-07-21"]},
    {"year": 2026, "autumn": ["2026-09-03", "2026-12-18"], "autumn_half_term": ["2027-01-01", "2027-01-02"],
     "spring": ["2027-01-05", "2027-03-26"], "summer": ["2027-04-12", "2027-07-21"]},
    {"year": 2026, "autumn": ["2026-09-03", "2026-13-18"], "spring": ["2027-01-05", "2027-03-26"],
     "summer": ["2027-04-12", "2027-07-21"]},
])
def test_bad_term_configuration_is_refused_with_where(bad):
    with pytest.raises(ValueError, match="2026"):
        terms_from_config(bad)


# --- properties ----------------------------------------------------------------------------------------

days = st.dates(min_value=date(2012, 1, 1), max_value=date(2035, 12, 31))
counts = st.integers(min_value=0, max_value=80)
kinds = st.sampled_from([STATUTORY, INSPECTION])


@settings(max_examples=300, deadline=None)
@given(kinds, days, counts, counts)
def test_adding_m_then_n_equals_adding_m_plus_n(calendar, start, m, n):
    assert calendar.add_working_days(calendar.add_working_days(start, m), n) == calendar.add_working_days(start, m + n)


@settings(max_examples=300, deadline=None)
@given(kinds, days, st.integers(min_value=1, max_value=80))
def test_result_is_a_working_day_after_the_start(calendar, start, n):
    result = calendar.add_working_days(start, n)
    assert result > start
    assert calendar.is_working_day(result)
    assert calendar.working_days_between(start, result) == n


@settings(max_examples=300, deadline=None)
@given(kinds, days, days, counts)
def test_monotone_in_the_start_date(calendar, a, b, n):
    early, late = min(a, b), max(a, b)
    assert calendar.add_working_days(early, n) <= calendar.add_working_days(late, n)


@settings(max_examples=200, deadline=None)
@given(kinds, days, counts)
def test_monotone_in_the_count(calendar, start, n):
    assert calendar.add_working_days(start, n) < calendar.add_working_days(start, n + 1)


@settings(max_examples=200, deadline=None)
@given(days, counts)
def test_inspection_days_are_never_earlier_than_statutory_days(start, n):
    # Inspection working days are statutory working days minus long holidays: never fewer calendar days.
    assert INSPECTION.add_working_days(start, n) >= STATUTORY.add_working_days(start, n)


@settings(max_examples=200, deadline=None)
@given(days)
def test_never_lands_on_a_bank_holiday_or_weekend(start):
    result = STATUTORY.add_working_days(start, 1)
    assert result.weekday() < 5 and result not in england_bank_holidays()
    assert (result - start) <= timedelta(days=7)
