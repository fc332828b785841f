"""Meetings an authority's policy asks for: what they are called, how often, for which schools, who
chairs and attends them, and when in the week they may be held.

Each `[[meetings]]` entry of a policy file is one kind of meeting. A meeting with `scope = "school"` is
held once per school (whatever its number of open cases); one with `scope = "panel"` is held once for the
authority, with an agenda listing the schools it reviews. The keys are documented in
concerns/policies/default.toml; every value is checked when the policy loads, and a refusal names the
file, the key and the value.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from concerns.domain.pathways import PATHWAYS
from concerns.domain.terms import Term


class MeetingsError(ValueError):
    pass


CADENCES = ("term", "half_term")
SCOPES = ("school", "panel")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
OFSTED_CATEGORIES = ("SM", "RSI", "RI", "NA", "LA")
# The school's own people a school meeting can invite (they hold these roles for the school).
SCHOOL_ROLES = ("headteacher", "chair_of_governors", "vice_chair", "governor", "clerk")

KEYS = {"kind", "name", "cadence", "minimum_per_year", "responsible", "min_lead_days", "papers_due_days_before",
        "minutes_due_days_after", "scope", "chair", "attendees", "school_attendees", "pathways",
        "ofsted_categories", "la_categories", "per_day_limit", "days", "times", "length_minutes", "venue"}


@dataclass(frozen=True)
class Period:
    """A stretch of the term that gets one meeting of a kind: the whole term, or one half of it."""

    label: str
    start: date
    end: date


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
    scope: str = "school"  # school | panel
    chair: str | None = None  # a policy role (or a school role, for a school meeting); None: the responsible role
    attendees: tuple[str, ...] | None = None  # policy roles; None: the link adviser (school), nobody more (panel)
    school_attendees: tuple[str, ...] = ("headteacher", "chair_of_governors")
    pathways: tuple[str, ...] = ()  # which schools: any open case on one of these pathways (empty: any)
    ofsted_categories: tuple[str, ...] = ()  # ... and in one of these Ofsted categories (empty: any)
    la_categories: tuple[str, ...] = ()  # ... and in one of the authority's own levels (empty: any)
    per_day_limit: int = 2
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # weekdays allowed, Monday = 0
    times: tuple[time, ...] = (time(10, 0), time(14, 0))
    length_minutes: int = 120
    venue: str | None = None  # None: at the school (school meetings), the authority's offices (panels)

    @property
    def chair_role(self) -> str:
        return self.chair or self.responsible

    @property
    def is_panel(self) -> bool:
        return self.scope == "panel"

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=self.length_minutes)

    @property
    def with_agenda(self) -> bool:
        """A school meeting's agenda needs its papers and minutes dates; a panel always has one (its schools)."""
        return self.is_panel or (self.papers_due_days_before is not None and self.minutes_due_days_after is not None)

    def selects(self, pathways: Collection[str], ofsted_categories: Collection[str],
                la_category: str | None) -> bool:
        """Whether a school with open cases on `pathways`, in `ofsted_categories`, at the authority's level
        `la_category`, is one this meeting is for. An empty filter admits every school."""
        if self.pathways and not set(self.pathways) & set(pathways):
            return False
        if self.ofsted_categories and not set(self.ofsted_categories) & set(ofsted_categories):
            return False
        return not self.la_categories or la_category in self.la_categories

    def selects_case(self, pathway: str, ofsted_category: str | None) -> bool:
        """Whether a case on `pathway` can tell on its own that it is owed this meeting (a school meeting not
        chosen by the authority's own level, which only the termly review knows)."""
        return (not self.is_panel and not self.la_categories
                and self.selects([pathway], [ofsted_category] if ofsted_category else [], None))

    def periods(self, term: Term) -> list[Period]:
        """The term, or its two halves for a half-termly meeting (one stretch when the term has no half term)."""
        if self.cadence == "term":
            return [Period(term.label, term.start, term.end)]
        halves = term.half_term_boundaries()
        if len(halves) == 1:
            return [Period(term.label, term.start, term.end)]
        return [Period(f"{term.label}, {which} half", start, end)
                for which, (start, end) in zip(("first", "second"), halves, strict=True)]


def _where(where: str, index: int, key: str) -> str:
    return f"{where}: meetings[{index}].{key}"


def _int(item: Mapping[str, Any], key: str, where: str, index: int, default: int | None, minimum: int) -> int | None:
    value = item.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise MeetingsError(f"{_where(where, index, key)}: {value!r} is not a whole number of at least {minimum}")
    return value


def _words(item: Mapping[str, Any], key: str, where: str, index: int, allowed: Sequence[str] | None,
           what: str, one: str) -> tuple[str, ...] | None:
    if key not in item:
        return None
    value = item[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MeetingsError(f"{_where(where, index, key)}: {value!r} is not a list of {what}")
    for v in value:
        if allowed is not None and v not in allowed:
            raise MeetingsError(f"{_where(where, index, key)}: unknown {one} {v!r} (one of: {', '.join(allowed)})")
    return tuple(value)


def _time(value: Any, where: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        if len(hours) != 2 or len(minutes) != 2:
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        raise MeetingsError(f"{where}: {value!r} is not a time of day written HH:MM (e.g. \"10:00\")") from None


def parse_meeting(item: Mapping[str, Any], where: str, index: int, roles: Collection[str] = (),
                  levels: Collection[str] = ()) -> MeetingCadence:
    """One `[[meetings]]` entry. `roles` and `levels` are the policy's role and category level keys (empty:
    the policy has none of its own, and role keys are not checked)."""
    if not isinstance(item, Mapping):
        raise MeetingsError(f"{where}: meetings[{index}]: {item!r} is not a table")
    unknown = sorted(set(item) - KEYS)
    if unknown:
        raise MeetingsError(f"{_where(where, index, unknown[0])}: unknown setting (settings: {', '.join(sorted(KEYS))})")
    for key in ("name", "cadence", "minimum_per_year", "responsible"):
        if key not in item:
            raise MeetingsError(f"{_where(where, index, key)}: missing")
    for key in ("kind", "name", "cadence", "responsible", "scope", "chair", "venue"):
        if key in item and (not isinstance(item[key], str) or not item[key].strip()):
            raise MeetingsError(f"{_where(where, index, key)}: {item[key]!r} is not a piece of text")
    if "kind" in item and not re.fullmatch(r"[a-z][a-z0-9_]*", str(item["kind"])):
        raise MeetingsError(f"{_where(where, index, 'kind')}: {item['kind']!r} is not a key of lower-case letters, "
                            "digits and underscores (e.g. \"progress_meeting\")")
    cadence, scope = item["cadence"], item.get("scope", "school")
    if cadence not in CADENCES:
        raise MeetingsError(f"{_where(where, index, 'cadence')}: {cadence!r} is not term or half_term")
    if scope not in SCOPES:
        raise MeetingsError(f"{_where(where, index, 'scope')}: {scope!r} is not school or panel")

    def role(key: str, value: str) -> str:
        if roles and value not in roles:
            raise MeetingsError(f"{_where(where, index, key)}: unknown role {value!r} (roles: {', '.join(roles)})")
        return value

    responsible = role("responsible", item["responsible"])
    chair = item.get("chair")
    if chair is not None and not (scope == "school" and chair in SCHOOL_ROLES):
        role("chair", chair)  # an officer's role; a school meeting may also be chaired by one of the school's
    attendees = _words(item, "attendees", where, index, None, "role keys", "role")
    if attendees is not None:
        attendees = tuple(role("attendees", a) for a in attendees)
    school_attendees = _words(item, "school_attendees", where, index, SCHOOL_ROLES, "school roles", "school role")
    if scope == "panel" and school_attendees:
        raise MeetingsError(f"{_where(where, index, 'school_attendees')}: {list(school_attendees)!r}: a panel "
                            "reviews many schools and invites none of their staff; leave it out or make it []")
    la_categories = _words(item, "la_categories", where, index, tuple(levels) if levels else None, "level keys", "level")
    if la_categories and not levels:
        raise MeetingsError(f"{_where(where, index, 'la_categories')}: {list(la_categories)!r}: the policy has no "
                            "[[categories.levels]] to choose from")
    days = _words(item, "days", where, index, WEEKDAYS, "weekdays", "weekday")
    if days == ():
        raise MeetingsError(f"{_where(where, index, 'days')}: [] leaves no day to meet on")
    raw_times = item.get("times", ["10:00", "14:00"])
    if not isinstance(raw_times, list) or not raw_times:
        raise MeetingsError(f"{_where(where, index, 'times')}: {raw_times!r} is not a list of times such as [\"10:00\"]")
    times = tuple(sorted({_time(t, _where(where, index, 'times')) for t in raw_times}))
    length = _int(item, "length_minutes", where, index, 120, 15)
    last_end = datetime.combine(date.min, times[-1]) + timedelta(minutes=length)
    if last_end.date() != date.min:
        raise MeetingsError(f"{_where(where, index, 'times')}: a meeting at {times[-1].isoformat('minutes')} lasting {length} "
                            "minutes would run past midnight")
    lead = _int(item, "min_lead_days", where, index, 15, 0)
    papers = _int(item, "papers_due_days_before", where, index, None, 0)
    if papers is not None and papers >= lead:
        raise MeetingsError(f"{_where(where, index, 'papers_due_days_before')}: {papers} is not less than "
                            f"min_lead_days ({lead}): the papers would be due before the invitation is sent")
    meeting = MeetingCadence(
        kind=item.get("kind", "progress_meeting"), name=item["name"].strip(), cadence=cadence,
        minimum_per_year=_int(item, "minimum_per_year", where, index, None, 1), responsible=responsible,
        min_lead_days=lead, papers_due_days_before=papers,
        minutes_due_days_after=_int(item, "minutes_due_days_after", where, index, None, 0),
        scope=scope, chair=chair, attendees=attendees,
        school_attendees=(() if scope == "panel" else school_attendees if school_attendees is not None
                          else MeetingCadence.school_attendees),
        pathways=_words(item, "pathways", where, index, PATHWAYS, "pathways", "pathway") or (),
        ofsted_categories=_words(item, "ofsted_categories", where, index, OFSTED_CATEGORIES,
                                 "Ofsted categories", "Ofsted category") or (),
        la_categories=la_categories or (),
        per_day_limit=_int(item, "per_day_limit", where, index, 2, 1),
        days=tuple(sorted(WEEKDAYS.index(d) for d in set(days))) if days else MeetingCadence.days,
        times=times, length_minutes=length, venue=item.get("venue"))
    return meeting


def parse_meetings(items: Sequence[Any], where: str, roles: Collection[str] = (),
                   levels: Collection[str] = ()) -> tuple[MeetingCadence, ...]:
    if not isinstance(items, list):
        raise MeetingsError(f"{where}: meetings: write each meeting as a [[meetings]] table")
    meetings = tuple(parse_meeting(item, where, i, roles, levels) for i, item in enumerate(items))
    seen: dict[str, int] = {}
    for i, m in enumerate(meetings):
        if m.kind in seen:
            raise MeetingsError(f"{_where(where, i, 'kind')}: {m.kind!r} is also the kind of meetings[{seen[m.kind]}]; "
                                "each meeting needs a kind of its own")
        seen[m.kind] = i
    return meetings
