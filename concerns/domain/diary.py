"""Meetings planned like a diary: a term's meetings spread across its working days.

Plain Python, no database. The caller says which meetings are wanted (`Request`: who must be there, the
first and last day it may be held, the weekdays and start times allowed, how long it lasts, how many of
its kind a day), which days are working days, and what is already in the diary (`Booking`). `plan`
books each request on a day and time such that

- nobody is in two meetings at once (the people are whoever the meeting invites, by e-mail address);
- no day holds more meetings of a kind than that kind's per-day limit;
- each meeting falls on a working day between its earliest day (the minimum lead time) and its latest;
- the meetings of a stretch are spread across it, not piled on its first day.

The same requests, days and diary always give the same plan. A request that fits nowhere is returned
as unplaced, with the reason, never booked on top of another meeting.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta


@dataclass(frozen=True)
class Request:
    key: str  # unique; orders the requests of a stretch
    kind: str  # the per-day limit counts meetings of one kind
    people: frozenset[str]
    earliest: date
    latest: date
    times: tuple[time, ...]
    length: timedelta
    per_day_limit: int
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # weekdays allowed, Monday = 0


@dataclass(frozen=True)
class Booking:
    key: str
    kind: str
    people: frozenset[str]
    start: datetime  # local wall-clock time, no zone: the diary is one authority's
    end: datetime

    @property
    def day(self) -> date:
        return self.start.date()


@dataclass(frozen=True)
class Unplaced:
    """A meeting the diary could not book, and why: `no_day` (no working day of the stretch falls on the
    weekdays allowed) or `full` (every allowed time is taken, or someone invited is busy), first to last."""

    request: Request
    why: str  # no_day | full
    first: date
    last: date

    @property
    def reason(self) -> str:
        if self.why == "no_day":
            return f"no working day between {self.first.isoformat()} and {self.last.isoformat()} on the weekdays allowed"
        return f"every allowed time between {self.first.isoformat()} and {self.last.isoformat()} is full or someone invited is busy"


@dataclass(frozen=True)
class Plan:
    booked: tuple[Booking, ...]
    unplaced: tuple[Unplaced, ...]


class _Diary:
    def __init__(self, busy: Sequence[Booking]):
        self.by_person: dict[str, list[Booking]] = defaultdict(list)
        self.per_day: dict[tuple[str, date], int] = defaultdict(int)
        for booking in busy:
            self.add(booking)

    def add(self, booking: Booking) -> None:
        for person in booking.people:
            self.by_person[person].append(booking)
        self.per_day[(booking.kind, booking.day)] += 1

    def free(self, people: Collection[str], start: datetime, end: datetime) -> bool:
        return not any(b.start < end and start < b.end for p in people for b in self.by_person.get(p, ()))


def _stretch(request: Request) -> tuple:
    return (request.kind, request.earliest, request.latest, request.days)


def _search_order(count: int, target: int) -> list[int]:
    """Day indexes from the target to the end of the stretch, then back from the target to its start."""
    return [*range(target, count), *range(target - 1, -1, -1)]


def plan(requests: Sequence[Request], working_days: Collection[date], busy: Sequence[Booking] = ()) -> Plan:
    """Book `requests` around the `busy` diary on `working_days`.

    Requests for the same kind, stretch and weekdays are spread together: the i-th of n (by key) aims at
    the middle of the i-th n-th of the stretch's days and takes the first free slot from there on (then,
    if the rest of the stretch is full, the nearest earlier one). Stretches are planned in the order their
    first request comes in `requests`, so the caller puts first the meetings hardest to place (panels).
    """
    keys = [r.key for r in requests]
    if len(set(keys)) != len(keys):
        raise ValueError("each meeting request needs a key of its own")
    diary = _Diary(busy)
    workdays = set(working_days)
    stretches: dict[tuple, list[Request]] = {}
    for request in requests:
        stretches.setdefault(_stretch(request), []).append(request)
    booked: list[Booking] = []
    unplaced: list[Unplaced] = []
    for group in stretches.values():
        group = sorted(group, key=lambda r: r.key)
        first = group[0]
        days = [first.earliest + timedelta(days=n) for n in range((first.latest - first.earliest).days + 1)]
        days = [d for d in days if d in workdays and d.weekday() in first.days]
        if not days:
            unplaced.extend(Unplaced(r, "no_day", r.earliest, r.latest) for r in group)
            continue
        for index, request in enumerate(group):
            target = (2 * index + 1) * len(days) // (2 * len(group))
            booking = _first_free(request, days, target, diary)
            if booking is None:
                unplaced.append(Unplaced(request, "full", days[0], days[-1]))
                continue
            diary.add(booking)
            booked.append(booking)
    return Plan(tuple(booked), tuple(unplaced))


def _first_free(request: Request, days: list[date], target: int, diary: _Diary) -> Booking | None:
    for index in _search_order(len(days), target):
        day = days[index]
        if diary.per_day[(request.kind, day)] >= request.per_day_limit:
            continue
        for at in request.times:
            start = datetime.combine(day, at)
            end = start + request.length
            if diary.free(request.people, start, end):
                return Booking(request.key, request.kind, request.people, start, end)
    return None
