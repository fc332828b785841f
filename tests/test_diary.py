"""The meetings planner: a term's meetings spread across its working days, nobody double-booked."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest

from concerns.domain.diary import Booking, Request, plan

MONDAY = date(2027, 1, 4)
TERM = [MONDAY + timedelta(days=n) for n in range(0, 60) if (MONDAY + timedelta(days=n)).weekday() < 5]
TWO_HOURS = timedelta(hours=2)


def request(key: str, people: set[str], *, kind: str = "review", earliest: date = MONDAY,
            latest: date = date(2027, 2, 26), times=(time(10), time(14)), limit: int = 2,
            days=(0, 1, 2, 3, 4)) -> Request:
    return Request(key=key, kind=kind, people=frozenset(people), earliest=earliest, latest=latest,
                   times=tuple(times), length=TWO_HOURS, per_day_limit=limit, days=tuple(days))


def overlapping(bookings) -> list[tuple[str, str, str]]:
    clashes = []
    for i, a in enumerate(bookings):
        for b in bookings[i + 1:]:
            shared = a.people & b.people
            if shared and a.start < b.end and b.start < a.end:
                clashes.append((a.key, b.key, sorted(shared)[0]))
    return clashes


def test_twenty_meetings_with_the_same_officers_are_spread_with_nobody_double_booked():
    requests = [request(f"school-{n:02d}", {"senior@la", "link@la", f"head{n}@school"}) for n in range(20)]
    result = plan(requests, TERM)
    assert not result.unplaced and len(result.booked) == 20
    assert overlapping(result.booked) == []
    per_day = Counter(b.day for b in result.booked)
    assert max(per_day.values()) <= 2
    # Spread over the term, not piled at its start: the meetings use at least ten different days,
    # reaching both its first and its last fortnight.
    assert len(per_day) >= 10
    assert min(per_day) < MONDAY + timedelta(days=14) and max(per_day) > date(2027, 2, 12)


def test_per_day_limit_counts_meetings_of_one_kind_even_with_different_officers():
    requests = [request(f"s{n}", {f"officer{n}@la"}, limit=1, latest=date(2027, 1, 8)) for n in range(5)]
    result = plan(requests, TERM)
    assert sorted(Counter(b.day for b in result.booked).values()) == [1, 1, 1, 1, 1]
    sixth = plan([*requests, request("s5", {"officer5@la"}, limit=1, latest=date(2027, 1, 8))], TERM)
    assert [u.request.key for u in sixth.unplaced] == ["s5"]
    assert "full" in sixth.unplaced[0].reason


def test_only_working_days_allowed_weekdays_and_times_within_the_window():
    holidays = {date(2027, 1, 6)}
    days = [d for d in TERM if d not in holidays]
    requests = [request(f"s{n}", {"chair@la"}, earliest=date(2027, 1, 5), latest=date(2027, 1, 15),
                        days=(1, 2), times=(time(9, 30),), limit=3) for n in range(3)]
    result = plan(requests, days)
    assert not result.unplaced
    for booking in result.booked:
        assert booking.day in days and booking.day.weekday() in (1, 2)
        assert date(2027, 1, 5) <= booking.day <= date(2027, 1, 15)
        assert booking.start.time() == time(9, 30) and booking.end - booking.start == TWO_HOURS
    assert date(2027, 1, 6) not in {b.day for b in result.booked}


def test_an_existing_booking_blocks_its_people_but_not_others():
    busy = [Booking("panel", "panel", frozenset({"director@la"}), datetime(2027, 1, 5, 10), datetime(2027, 1, 5, 13))]
    only_day = [date(2027, 1, 5)]
    result = plan([request("a", {"director@la"}, times=(time(10), time(12), time(14))),
                   request("b", {"link@la"}, times=(time(10),))], only_day, busy)
    starts = {b.key: b.start for b in result.booked}
    # 10:00 and 12:00 overlap the panel that runs to 13:00; 14:00 is free. Someone else may meet at 10:00.
    assert starts == {"a": datetime(2027, 1, 5, 14), "b": datetime(2027, 1, 5, 10)}


def test_a_meeting_that_fits_nowhere_is_unplaced_not_double_booked():
    one_day = [date(2027, 1, 5)]
    result = plan([request("a", {"chair@la"}, times=(time(10),)), request("b", {"chair@la"}, times=(time(10),))],
                  one_day)
    assert [b.key for b in result.booked] == ["a"] and [u.request.key for u in result.unplaced] == ["b"]
    nothing = plan([request("c", {"x"}, earliest=date(2027, 1, 9), latest=date(2027, 1, 10))], TERM)
    assert "no working day" in nothing.unplaced[0].reason  # a weekend only


def test_the_same_input_gives_the_same_plan_whatever_the_order_within_a_stretch():
    requests = [request(f"s{n}", {"senior@la", f"head{n}@school"}) for n in range(7)]
    first = plan(requests, TERM)
    again = plan(list(reversed(requests)), TERM)
    assert {(b.key, b.start) for b in first.booked} == {(b.key, b.start) for b in again.booked}
    assert plan(requests, TERM) == first


def test_minimum_lead_time_is_the_earliest_day():
    result = plan([request("s", {"a"}, earliest=date(2027, 1, 19), latest=date(2027, 1, 19))], TERM)
    assert [b.day for b in result.booked] == [date(2027, 1, 19)]


def test_stretches_earlier_in_the_list_are_booked_first():
    day = [date(2027, 1, 5)]
    panel = request("panel", {"director@la", "senior@la"}, kind="panel", times=(time(10),))
    school = request("school", {"senior@la"}, kind="review", times=(time(10), time(14)))
    result = plan([panel, school], day)
    assert {b.key: b.start.hour for b in result.booked} == {"panel": 10, "school": 14}


def test_keys_must_be_unique():
    with pytest.raises(ValueError, match="key of its own"):
        plan([request("a", {"x"}), request("a", {"y"})], TERM)
