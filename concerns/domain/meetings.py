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
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from concerns.domain import tomlcheck
from concerns.domain.pathways import PATHWAYS
from concerns.domain.terms import Term
from concerns.domain.tomlcheck import Problem, Refusal, Strict, Text, keys_of, said, shown


class MeetingsError(ValueError):
    pass


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
OFSTED_CATEGORIES = ("SM", "RSI", "RI", "NA", "LA")
# The school's own people a school meeting can invite (they hold these roles for the school).
SCHOOL_ROLES = ("headteacher", "chair_of_governors", "vice_chair", "governor", "clerk")


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


# --- a `[[meetings]]` table, checked by a model (concerns.domain.tomlcheck) ------------------------------


def _whole(minimum: int) -> Any:
    return Annotated[int, Field(ge=minimum), said(f"is not a whole number of at least {minimum}")]


def _words(what: str) -> Any:
    return Annotated[list[str], said(f"is not a list of {what}")]


def _choose(values: Sequence[str], allowed: Collection[str], one: str, key: str = "") -> list[str]:
    listed = "roles" if one == "role" else "one of"
    for value in values:
        if value not in allowed:
            raise Refusal(key, value, f"unknown {one} {{value}} ({listed}: {', '.join(allowed)})")
    return list(values)


def _time(value: str) -> time:
    hours, sep, minutes = value.partition(":")
    try:
        if not sep or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        raise Refusal("", value, 'is not a time of day written HH:MM (e.g. "10:00")') from None


def _context(info: ValidationInfo, key: str) -> tuple[str, ...]:
    return tuple((info.context or {}).get(key, ()))


class MeetingTable(Strict):
    """One `[[meetings]]` table. Validated with the policy's role and level keys as context (`roles`,
    `levels`: empty when the policy has none of its own, and role keys are then not checked)."""

    kind: Annotated[str, said("is not a piece of text")] = "progress_meeting"
    name: Annotated[Text, said("is not a piece of text")]
    cadence: Annotated[Literal["term", "half_term"], said("is not term or half_term")]
    minimum_per_year: _whole(1)
    responsible: Annotated[Text, said("is not a piece of text")]
    min_lead_days: _whole(0) = 15
    papers_due_days_before: _whole(0) | None = None
    minutes_due_days_after: _whole(0) | None = None
    scope: Annotated[Literal["school", "panel"], said("is not school or panel")] = "school"
    chair: Annotated[Text, said("is not a piece of text")] | None = None
    attendees: _words("role keys") | None = None
    school_attendees: _words("school roles") | None = None
    pathways: _words("pathways") = []
    ofsted_categories: _words("Ofsted categories") = []
    la_categories: _words("level keys") | None = None
    per_day_limit: _whole(1) = 2
    days: _words("weekdays") | None = None
    times: Annotated[list[str], said('is not a list of times such as ["10:00"]')] = ["10:00", "14:00"]
    length_minutes: _whole(15) = 120
    venue: Annotated[Text, said("is not a piece of text")] | None = None

    @field_validator("kind")
    @classmethod
    def _kind(cls, kind: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
            raise Refusal("", kind, 'is not a key of lower-case letters, digits and underscores '
                                    '(e.g. "progress_meeting")')
        return kind

    @field_validator("responsible", "attendees")
    @classmethod
    def _roles(cls, value: str | list[str] | None, info: ValidationInfo) -> str | list[str] | None:
        roles = _context(info, "roles")
        if roles and value is not None:
            _choose([value] if isinstance(value, str) else value, roles, "role")
        return value

    @field_validator("school_attendees")
    @classmethod
    def _school_roles(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _choose(value, SCHOOL_ROLES, "school role")

    @field_validator("pathways")
    @classmethod
    def _pathways(cls, value: list[str]) -> list[str]:
        return _choose(value, PATHWAYS, "pathway")

    @field_validator("ofsted_categories")
    @classmethod
    def _ofsted(cls, value: list[str]) -> list[str]:
        return _choose(value, OFSTED_CATEGORIES, "Ofsted category")

    @field_validator("la_categories")
    @classmethod
    def _levels(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        levels = _context(info, "levels")
        if value and not levels:
            raise Refusal("", value, "{value}: the policy has no [[categories.levels]] to choose from")
        return None if value is None else _choose(value, levels, "level") if levels else value

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str] | None) -> list[str] | None:
        if value == []:
            raise Refusal("", value, "leaves no day to meet on")
        return None if value is None else _choose(value, WEEKDAYS, "weekday")

    @field_validator("times")
    @classmethod
    def _times(cls, value: list[str]) -> list[str]:
        if not value:
            raise Refusal("", value, 'is not a list of times such as ["10:00"]')
        for text in value:
            _time(text)
        return value

    @model_validator(mode="after")
    def _together(self, info: ValidationInfo) -> MeetingTable:
        roles = _context(info, "roles")
        # An officer's role chairs; a school meeting may also be chaired by one of the school's people.
        if self.chair is not None and roles and not (self.scope == "school" and self.chair in SCHOOL_ROLES):
            _choose([self.chair], roles, "role", key="chair")
        if self.scope == "panel" and self.school_attendees:
            raise Refusal("school_attendees", self.school_attendees, "{value}: a panel reviews many schools and "
                          "invites none of their staff; leave it out or make it []")
        last = max(_time(t) for t in self.times)
        if (datetime.combine(date.min, last) + timedelta(minutes=self.length_minutes)).date() != date.min:
            raise Refusal("times", last.isoformat("minutes"), f"with length_minutes {self.length_minutes} would run past "
                          "midnight")
        papers, lead = self.papers_due_days_before, self.min_lead_days
        if papers is not None and papers >= lead:
            raise Refusal("papers_due_days_before", papers, f"is not less than min_lead_days ({lead}): the "
                          "papers would be due before the invitation is sent")
        return self

    def meeting(self) -> MeetingCadence:
        panel = self.scope == "panel"
        return MeetingCadence(
            kind=self.kind, name=self.name.strip(), cadence=self.cadence, minimum_per_year=self.minimum_per_year,
            responsible=self.responsible, min_lead_days=self.min_lead_days,
            papers_due_days_before=self.papers_due_days_before, minutes_due_days_after=self.minutes_due_days_after,
            scope=self.scope, chair=self.chair,
            attendees=None if self.attendees is None else tuple(self.attendees),
            school_attendees=(() if panel else tuple(self.school_attendees) if self.school_attendees is not None
                              else MeetingCadence.school_attendees),
            pathways=tuple(self.pathways), ofsted_categories=tuple(self.ofsted_categories),
            la_categories=tuple(self.la_categories or ()), per_day_limit=self.per_day_limit,
            days=(tuple(sorted({WEEKDAYS.index(d) for d in self.days})) if self.days else MeetingCadence.days),
            times=tuple(sorted({_time(t) for t in self.times})), length_minutes=self.length_minutes,
            venue=self.venue)


def _line(where: str, problem: Problem, unknown: bool) -> str:
    if problem.missing:
        return f"{where}: {problem.key}: missing"
    if unknown:
        return f"{where}: {problem.key}: {problem.why}"
    return f"{where}: {problem.key}: {problem.sentence()}"


def parse_meeting(item: Any, where: str, index: int, roles: Collection[str] = (),
                  levels: Collection[str] = (), problems: list[str] | None = None) -> MeetingCadence | None:
    """One `[[meetings]]` entry. `roles` and `levels` are the policy's role and category level keys (empty:
    the policy has none of its own, and role keys are not checked). With `problems` given, each problem is
    appended to it (one line each, naming the file, the key and the value) and None returned; without, the
    first raises MeetingsError."""
    try:
        table = MeetingTable.model_validate(item, context={"roles": tuple(roles), "levels": tuple(levels)})
    except ValidationError as exc:
        found = tomlcheck.problems(exc, MeetingTable, unknown=f"unknown setting (settings: {', '.join(_KEYS)})",
                                   at=("meetings", index))
        kinds = [e["type"] for e in exc.errors(include_url=False)]
        lines = [_line(where, p, kind == "extra_forbidden") for p, kind in zip(found, kinds, strict=True)]
        if problems is None:
            raise MeetingsError(lines[0]) from None
        problems.extend(lines)
        return None
    return table.meeting()


def parse_meetings(items: Any, where: str, roles: Collection[str] = (), levels: Collection[str] = (),
                   problems: list[str] | None = None) -> tuple[MeetingCadence, ...]:
    """Every `[[meetings]]` entry; with `problems` given, every problem in them is appended (one line each)
    and the good meetings returned, else the first problem raises MeetingsError."""
    lines: list[str] = []
    if not isinstance(items, list):
        lines.append(f"{where}: meetings: {shown(items)} must be a list of tables: write each as [[meetings]]")
        items = []
    meetings: list[tuple[int, MeetingCadence]] = []
    for i, item in enumerate(items):
        meeting = parse_meeting(item, where, i, roles, levels, lines)
        if meeting is not None:
            meetings.append((i, meeting))
    seen: dict[str, int] = {}
    for i, m in meetings:
        if m.kind in seen:
            lines.append(f"{where}: meetings[{i}].kind: {shown(m.kind)} is also the kind of meetings[{seen[m.kind]}]; "
                         "each meeting needs a kind of its own")
        seen.setdefault(m.kind, i)
    if problems is not None:
        problems.extend(lines)
    elif lines:
        raise MeetingsError(lines[0])
    return tuple(m for _, m in meetings)


_KEYS = sorted(keys_of(MeetingTable))
