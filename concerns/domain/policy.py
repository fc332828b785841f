"""Authority policy: one TOML file per authority (docs/decisions/0019-dated-rules.md).

What differs between authorities is data: the categorisation scheme, meeting cadences, the escalation
ladder, roles and who manages whom, local deadlines, term dates and extra closure days, and overrides of
unconfirmed rule parameters. Files ship in concerns/policies/; an operator can add or replace them in
the folder named by CONCERNS_POLICY_DIR. An authority with no file of its own uses `default`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from concerns.domain import resources
from concerns.domain.calendar import DayKind, WorkingDayCalendar
from concerns.domain.categories import CategoryScheme, parse_categories
from concerns.domain.drift import EARLIEST_YEAR, LAW_TOPICS, Procedure, Statement
from concerns.domain.lettersettings import LetterSetting, parse_letter_settings
from concerns.domain.meetings import SCHOOL_ROLES, MeetingCadence, parse_meetings
from concerns.domain.pathways import PATHWAYS
from concerns.domain.rules import RuleBook
from concerns.domain.terms import TermCalendar
from concerns.domain.tomlcheck import (
    Problem,
    Refusal,
    Strict,
    Text,
    by_name,
    deep_refusal,
    load_toml,
    said,
    validate_fields,
)

BUILTIN_DIR = resources.POLICIES


class PolicyError(ValueError):
    pass


# The functions a role can play. Authorities name their officers in their own words (a Derbyshire "SIA", a
# Luton "service director", a Leicester "SIP"); letters, invitations, reports and escalations ask for a
# function and the policy says which of its roles plays it (`acts_as`).
FUNCTIONS = {
    "link_adviser": "the adviser who knows the school week to week",
    "case_lead": "the officer who leads the authority's work with a school causing concern",
    "service_head": "the head of the school improvement service, who signs its letters and approves categories",
    "director": "the director of children's services, who gives statutory notices",
    "admin": "the officer who books meetings and keeps the papers",
}
REQUIRED_FUNCTIONS = ("link_adviser", "case_lead", "service_head", "director")
# Roles named as the product names them play their function without saying so.
FUNCTION_OF_PRODUCT_ROLE = {"link_adviser": "link_adviser", "senior_adviser": "case_lead",
                            "assistant_director": "service_head", "director": "director",
                            "admin_officer": "admin"}


@dataclass(frozen=True)
class Role:
    key: str
    title: str
    manager: str | None = None
    acts_as: str | None = None  # one of FUNCTIONS


# Which schools a local deadline is created for, and how often it recurs once met: the one statement of
# each, read by the policy file's model and typing the deadline.
Schools = Literal["all", "maintained", "academies"]
Recurrence = Literal["term", "year"]
Unit = Literal["working_days", "days", "months"]


@dataclass(frozen=True)
class LocalDeadline:
    on_event: str
    kind: str
    count: int
    unit: Unit
    responsible: str
    source: str
    met_by: str | None = None  # the event that meets it
    schools: Schools = "all"  # which schools it is created for
    # None, or once met the next one falls due a term (the end of the following term) or a year (the same
    # date next year) later, until the case closes.
    every: Recurrence | None = None
    label: str = ""
    # The pathways whose cases it is made on; empty: every pathway on which its event is recorded (an event
    # such as agree_improvement_plan is recorded on more than one pathway, a procedure's step may not be).
    pathways: tuple[str, ...] = ()

    def applies_to(self, maintained: bool, pathway: str | None = None) -> bool:
        return ((self.schools == "all" or (self.schools == "maintained") == maintained)
                and (not self.pathways or pathway is None or pathway in self.pathways))


@dataclass(frozen=True)
class LocalEvent:
    """A step of the authority's own procedure: recorded on a case with no change of state."""

    name: str
    label: str
    pathways: tuple[str, ...]  # where it may be recorded
    meets: tuple[str, ...] = ()  # deadline kinds it meets
    source: str = ""


@dataclass
class Policy:
    key: str
    authority: str
    title: str
    source: str
    aliases: tuple[str, ...]
    roles: dict[str, Role]
    categories: CategoryScheme
    categorisation: str
    meetings: tuple[MeetingCadence, ...]
    escalation: tuple[str, ...]
    escalation_note: str
    local_deadlines: tuple[LocalDeadline, ...]
    responsible: dict[str, str]
    terms: TermCalendar
    closures: tuple[date, ...]
    rules: RuleBook
    reminder_offsets: tuple[int, ...] = (10, 3)
    events: tuple[LocalEvent, ...] = ()
    # [categories] proposed_on = "MM-DD" and year = "current" | "next" (the year the proposal is for)
    proposed_on: tuple[int, int] = (10, 1)
    year_rule: str = "current"
    # One service over several boroughs (Tri-borough): the boroughs by name, each an alias of the policy.
    boroughs: tuple[str, ...] = ()
    path: str = ""  # the file it was read from
    letters: dict[str, LetterSetting] = field(default_factory=dict)  # [letters.<kind>]: local copies, signatory
    procedure: Procedure | None = None  # [procedure]: what the authority's written procedure says of the law
    _calendars: dict[DayKind, WorkingDayCalendar] = field(default_factory=dict, repr=False)

    def calendar(self, kind: DayKind | str = DayKind.statutory) -> WorkingDayCalendar:
        kind = DayKind(kind)
        if kind not in self._calendars:
            self._calendars[kind] = WorkingDayCalendar(kind, self.closures, self.terms)
        return self._calendars[kind]

    def role_for(self, function: str) -> str:
        """The key of the policy's role that plays `function` (one of FUNCTIONS)."""
        if function not in FUNCTIONS:
            raise KeyError(f"unknown function {function!r}; functions: {', '.join(FUNCTIONS)}")
        for role in self.roles.values():
            if role.acts_as == function:
                return role.key
        # A policy without roles (or without this function) falls back to the product's own key.
        return next(k for k, f in FUNCTION_OF_PRODUCT_ROLE.items() if f == function)

    def title_of(self, role: str) -> str:
        spec = self.roles.get(role)
        return spec.title if spec else role.replace("_", " ").capitalize()

    def responsible_for(self, deadline_kind: str) -> str:
        return self.responsible.get(deadline_kind, self.responsible.get("*", self.role_for("case_lead")))

    def manager_of(self, role: str) -> str | None:
        """Who hears of a missed deadline of `role`: its manager; for a duty the school owes (a school role
        in [responsible], e.g. papers before a meeting), the officer who leads the work with the school."""
        if role in SCHOOL_ROLES and role not in self.roles:
            return self.role_for("case_lead")
        spec = self.roles.get(role)
        return spec.manager if spec else None

    def meeting(self, kind: str = "progress_meeting") -> MeetingCadence | None:
        return next((m for m in self.meetings if m.kind == kind), None)

    def deadlines_on(self, event: str) -> list[LocalDeadline]:
        return [d for d in self.local_deadlines if d.on_event == event]

    def local_event(self, name: str) -> LocalEvent | None:
        return next((e for e in self.events if e.name == name), None)

    def events_on(self, pathway: str | None) -> list[str]:
        """The policy's own events that may be recorded on a case on `pathway`."""
        return [e.name for e in self.events if pathway in e.pathways]

    def met_by(self, event: str) -> set[str]:
        """The deadline kinds `event` meets under this policy (its own events' `meets`, local `met_by`)."""
        local = self.local_event(event)
        return {*(local.meets if local else ()), *(d.kind for d in self.local_deadlines if d.met_by == event)}

    @property
    def service(self) -> str:
        """The name officers are registered under: the authority (one service over all its boroughs)."""
        return self.authority

    def academic_year_label(self, as_of: date) -> str:
        """The academic year a categorisation made on `as_of` is for, e.g. "2026/27".

        `year = "current"`: the year containing `as_of` (1 September to 31 August). `year = "next"`: from
        the authority's categorisation date to the end of August, the year after it (Leicester's May/June
        level-of-support statement is for the coming year); before that date in the year, a change is
        to the current year's level."""
        start = as_of.year if as_of.month >= 9 else as_of.year - 1
        if self.year_rule == "next" and as_of >= self.categorisation_date(start + 1):
            start += 1
        return f"{start}/{(start + 1) % 100:02d}"

    def categorisation_date(self, academic_year: str | int) -> date:
        """The day this authority proposes its categories for `academic_year` ("2026/27" or 2026)."""
        start = _year_start(academic_year)
        month, day = self.proposed_on
        if self.year_rule == "next":
            start -= 1  # proposed in the year before the one it is for
        return date(start + 1 if month < 9 else start, month, day)


def _year_start(academic_year: str | int) -> int:
    if isinstance(academic_year, int):
        return academic_year
    match = re.fullmatch(r"(\d{4})/(\d{2})", academic_year)
    if not match or (int(match[1]) + 1) % 100 != int(match[2]):
        raise ValueError(f"academic year {academic_year!r} is not like 2026/27")
    return int(match[1])


def _date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PolicyError(f"{where}: {value!r} is not a YYYY-MM-DD date") from None


# The settings a policy file may hold; anything else is a typing mistake to report.


Positive = Annotated[int, Field(gt=0)]


class RoleTable(Strict):
    """`[roles] <key> = { title, manager, acts_as }` (who manages whom and the function each plays is checked
    across the roles, in `_roles`)."""

    title: Text
    manager: Text | None = None
    acts_as: Text | None = None


class LocalDeadlineTable(Strict):
    """One `[[local_deadlines]]` table: a deadline of the authority's own procedure."""

    on: Text
    kind: Text
    count: Annotated[int, Field(ge=0)]
    unit: Unit
    responsible: Text
    source: Text
    met_by: Text | None = None
    schools: Schools = "all"
    every: Recurrence | None = None
    label: str = ""
    pathways: list[str] = []

    @field_validator("pathways")
    @classmethod
    def _known_pathways(cls, pathways: list[str]) -> list[str]:
        for pathway in pathways:
            if pathway not in PATHWAYS:
                raise Refusal("pathways", pathway, f"is not a pathway ({', '.join(PATHWAYS)})")
        return pathways

    @model_validator(mode="after")
    def _recurs_once_met(self) -> LocalDeadlineTable:
        if self.every is not None and self.met_by is None:
            raise Refusal("every", self.every, "needs met_by: the next one falls due once this is met")
        return self

    def deadline(self) -> LocalDeadline:
        return LocalDeadline(self.on, self.kind, self.count, self.unit, self.responsible, self.source, self.met_by,
                             self.schools, self.every, self.label, tuple(self.pathways))


class EventTable(Strict):
    """One `[[events]]` table: a step of the authority's own procedure, recorded on a case."""

    name: str
    label: Text
    pathways: Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]
    meets: list[Text] = []
    source: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if re.fullmatch(r"[a-z][a-z0-9_]*", name) is None:
            raise ValueError("must be lower-case letters, digits and _")
        return name

    @model_validator(mode="after")
    def _pathways(self) -> EventTable:
        for pathway in self.pathways:
            if pathway not in PATHWAYS:
                raise Refusal("pathways", pathway, f"is not a pathway ({', '.join(PATHWAYS)})")
        if not self.pathways:
            raise Refusal("pathways", [], "names no pathway: say where it may be recorded")
        return self

    def event(self) -> LocalEvent:
        return LocalEvent(self.name, self.label, tuple(self.pathways), tuple(self.meets), self.source)


class EscalationTable(Strict):
    ladder: list[Text] = []
    note: str = ""


class StatementTable(Strict):
    """One `[[procedure.statements]]`: what the procedure says about the law, where, on which rule-book topic."""

    section: Text
    says: Text
    topic: Text

    @field_validator("topic")
    @classmethod
    def _topic(cls, topic: str) -> str:
        if topic not in LAW_TOPICS:
            raise ValueError(f"is not a topic of the rule book (topics: {', '.join(LAW_TOPICS)})")
        return topic

    def statement(self) -> Statement:
        return Statement(self.section, self.says, self.topic)


class ProcedureTable(Strict):
    """`[procedure]`: the date the authority's procedure was written or last revised, and its statements on
    the law (docs/policy-drift.md). `title`: the procedure's name, when not the policy's own `title`."""

    written: str | date
    title: str = ""
    statements: list[StatementTable] = []

    @field_validator("written")
    @classmethod
    def _written(cls, written: str | date) -> date:
        from concerns.domain.clock import today  # the edge: a procedure cannot be written after today

        if isinstance(written, str):
            try:
                written = date.fromisoformat(written)
            except ValueError:
                raise ValueError("is not a YYYY-MM-DD date") from None
        if written > today():
            raise ValueError("is in the future: give the date the procedure was written or last revised")
        if written.year < EARLIEST_YEAR:
            raise ValueError(f"is before {EARLIEST_YEAR}, older than the law on schools causing concern: "
                             "check the year")
        return written

    def procedure(self, title: str) -> Procedure:
        assert isinstance(self.written, date)  # made one by _written
        return Procedure(self.written, tuple(s.statement() for s in self.statements), self.title or title)


class PolicyFile(Strict):
    """An authority's policy file: the settings it may hold (anything else is a typing mistake to report).
    Sections with a language of their own are read by their modules: categories, meetings, letters, rules,
    terms."""

    authority: Text
    aliases: list[Text] = []
    title: str = ""
    source: str = ""
    boroughs: list[Text] = []
    categories: dict[str, Any] = {}  # a CategoriesTable (concerns.domain.categories)
    roles: dict[str, RoleTable] = {}
    responsible: dict[str, Text] = {}
    meetings: list[Any] = []  # each a MeetingTable (concerns.domain.meetings), checked against the roles
    escalation: EscalationTable = EscalationTable()
    local_deadlines: list[LocalDeadlineTable] = []
    events: list[EventTable] = []
    terms: list[Any] = []
    closures: list[Any] = []
    rules: dict[str, Any] = {}
    reminder_offsets: Annotated[list[Positive], said("must be a list of positive whole numbers of working days")] \
        = [10, 3]
    letters: dict[str, Any] = {}
    procedure: ProcedureTable | None = None


class _Problems:
    """Problems found in one file, each a line naming the file, the setting and the value."""

    def __init__(self, where: str):
        self.where = where
        self.lines: list[str] = []

    def add(self, setting: str, value: Any, why: str) -> None:
        self.lines.append(f"{self.where}: {setting}: {Problem(setting, value, why).sentence()}")

    def raw(self, line: str) -> None:
        self.lines.append(line if line.startswith(self.where) else f"{self.where}: {line}")

    def problem(self, p: Problem) -> None:
        if p.missing:
            parent, _, key = p.key.rpartition(".")
            self.raw(f"{parent}: missing setting {key!r}" if parent else f"missing setting {key!r}")
        else:
            self.add(p.key, p.value, p.why)


def parse_policy(data: Mapping[str, Any], key: str, where: str, problems: list[str] | None = None) -> Policy:
    """The policy in `data`. With `problems` given, every problem found is appended to it (one line each)
    and a policy is returned with the bad parts left out; without, the first problem raises PolicyError."""
    found = _Problems(where)
    policy = _parse(data, key, found)
    if problems is not None:
        problems.extend(found.lines)
    elif found.lines:
        more = len(found.lines) - 1
        raise PolicyError(found.lines[0] + (f" (and {more} more: `concerns policy check {where}` lists them)"
                                            if more else ""))
    return policy


def _section(found: _Problems, setting: str, parse, default):
    try:
        return parse()
    except KeyError as exc:
        found.raw(f"{setting}: missing setting {exc.args[0]!r}")
    except PolicyError as exc:
        found.raw(str(exc))
    except (ValueError, TypeError, AttributeError) as exc:
        found.raw(f"{setting}: {exc}")
    return default


def _parse(data: Mapping[str, Any], key: str, found: _Problems) -> Policy:
    where = found.where
    deep = deep_refusal(data)
    if deep is not None:
        found.add(deep.key, deep.value, deep.why)
        data = {k: v for k, v in data.items() if k != re.split(r"[.\[]", deep.key)[0]}
    # Each section checked on its own: one bad section hides neither the others' problems nor their values.
    file, problems = validate_fields(PolicyFile, data, unknown="is not a policy setting (settings: {keys})",
                                     label=by_name(data, "events"))
    for problem in problems:
        found.problem(problem)
    defaults = {name: f.get_default() for name, f in PolicyFile.model_fields.items() if not f.is_required()}
    file = {**defaults, **file}
    roles = _section(found, "roles", lambda: _roles(file["roles"], where), {})
    local = tuple(d.deadline() for d in file["local_deadlines"])
    events = tuple(e.event() for e in file["events"])
    names = [e.name for e in events]
    for name in {n for n in names if names.count(n) > 1}:
        found.add("events", name, "is declared more than once")
    cat_table = file["categories"]
    categories = parse_categories(cat_table, where, found.lines)
    # A policy without roles of its own uses the product's role names.
    meetings = parse_meetings(file["meetings"], where, roles=tuple(roles or FUNCTION_OF_PRODUCT_ROLE),
                              levels=tuple(c.key for c in categories.levels), problems=found.lines)
    responsible = dict(file["responsible"])
    if roles:
        # A deadline kind may be the school's own duty (`meeting_papers = "headteacher"`): a school role.
        for setting, role in [*((f"responsible.{k}", v) for k, v in responsible.items()),
                              *((f"local_deadlines[{i}].responsible", d.responsible) for i, d in enumerate(local))]:
            if role not in roles and not (setting.startswith("responsible.") and role in SCHOOL_ROLES):
                found.add(setting, role, f"is not a role of this policy (roles: {', '.join(roles)}; "
                          f"or for the school: {', '.join(SCHOOL_ROLES)})")
    letters = _section(found, "letters", lambda: parse_letter_settings(file["letters"], where), {})
    if roles:
        for kind, setting in letters.items():
            for role in setting.roles:
                if role not in roles:
                    found.add(f"letters.{kind}.copy" if role in setting.copy else f"letters.{kind}.signatory", role,
                              f"is not a role of this policy (roles: {', '.join(roles)})")
    boroughs = tuple(file["boroughs"])
    closures = []
    for value in file["closures"]:
        day = _section(found, "closures", lambda value=value: _date(value, f"{where} closures"), None)
        if day is not None:
            closures.append(day)
    return Policy(
        key=key,
        authority=file.get("authority", key),
        title=file["title"],
        source=file["source"],
        aliases=(*file["aliases"], *boroughs),
        roles=roles,
        categories=categories,
        categorisation=categories.timing,
        meetings=meetings,
        escalation=tuple(file["escalation"].ladder),
        escalation_note=file["escalation"].note,
        local_deadlines=local,
        responsible=responsible,
        terms=_section(found, "terms", lambda: TermCalendar.from_config(file["terms"]),
                       TermCalendar.from_config([])),
        closures=tuple(closures),
        rules=_section(found, "rules", lambda: RuleBook(overrides=file["rules"]), RuleBook()),
        reminder_offsets=tuple(sorted(set(file["reminder_offsets"]), reverse=True)),
        events=events,
        proposed_on=categories.proposed_on,
        year_rule=categories.year_rule,
        boroughs=boroughs,
        letters=letters,
        procedure=file["procedure"].procedure(file["title"] or file.get("source") or file.get("authority", key))
        if file["procedure"] is not None else None,
    )


def _roles(table: Mapping[str, RoleTable], where: str) -> dict[str, Role]:
    roles = {}
    for key, spec in table.items():
        acts_as = spec.acts_as if spec.acts_as is not None else FUNCTION_OF_PRODUCT_ROLE.get(key)
        if acts_as is not None and acts_as not in FUNCTIONS:
            raise PolicyError(f"{where}: roles.{key}.acts_as: unknown function {acts_as!r} "
                              f"(functions: {', '.join(FUNCTIONS)})")
        roles[key] = Role(key, spec.title, spec.manager, acts_as)
    for role in roles.values():
        if role.manager and role.manager not in roles:
            raise PolicyError(f"{where}: roles.{role.key}.manager: unknown role {role.manager!r}")
    if roles:
        played = {r.acts_as for r in roles.values()}
        missing = [f for f in REQUIRED_FUNCTIONS if f not in played]
        if missing:
            raise PolicyError(f"{where}: roles: no role acts_as {', '.join(missing)} "
                              f"(add acts_as = \"{missing[0]}\" to the role that does it)")
        for function in FUNCTIONS:
            players = [r.key for r in roles.values() if r.acts_as == function]
            if len(players) > 1:
                raise PolicyError(f"{where}: roles: {' and '.join(players)} both act as {function}; "
                                  "one role plays each function")
    return roles


def _policy_dirs() -> list[Path]:
    dirs = [BUILTIN_DIR]
    extra = os.environ.get("CONCERNS_POLICY_DIR")
    if extra:
        dirs.append(Path(extra))
    return dirs


@cache
def _load_all(dirs: tuple[Path, ...]) -> dict[str, Policy]:
    policies: dict[str, Policy] = {}
    for directory in dirs:
        for path in sorted(directory.glob("*.toml")):
            data = load_toml(path.read_bytes(), str(path), PolicyError)
            # A later directory's file replaces a built-in one with the same name.
            policies[path.stem] = parse_policy(data, path.stem, str(path))
            policies[path.stem].path = str(path)
    if "default" not in policies:
        raise PolicyError("no default policy file found")
    claimed: dict[str, str] = {}
    for policy in policies.values():
        for name in {fold(policy.key), fold(policy.authority), *map(fold, policy.aliases)}:
            other = claimed.setdefault(name, policy.key)
            if other != policy.key:
                raise PolicyError(f"{policy.key} and {other} both answer to {name!r}: one name, one authority")
    return policies


def all_policies() -> dict[str, Policy]:
    return _load_all(tuple(_policy_dirs()))


def fold(name: str) -> str:
    return " ".join(name.replace("-", " ").replace("_", " ").split()).casefold()


def policy_for(la: str | None) -> Policy:
    """The policy of the authority named `la` (by name, alias or file name), else the default."""
    return _policy_for(tuple(_policy_dirs()), la)


@cache
def _policy_for(dirs: tuple[Path, ...], la: str | None) -> Policy:
    # Cached by name: a national import asks for the same few hundred authorities millions of times.
    policies = _load_all(dirs)
    if la:
        wanted = fold(la)
        for policy in policies.values():
            if wanted in {fold(policy.key), fold(policy.authority), *map(fold, policy.aliases)}:
                return policy
    return policies["default"]


def service_of(la: str) -> str:
    """The service an LA's officers are registered with: the authority of its policy (so "Leicester City"
    and "Leicester", or Westminster and the Tri-borough service, are one), or the LA's own name when it
    has no policy of its own (every authority on the default policy is a service by itself)."""
    policy = policy_for(la)
    return " ".join(la.split()) if policy.key == "default" else policy.authority


def names_of(la: str) -> set[str]:
    """Every name the LA's service answers to, as written in its policy (for a query by name)."""
    policy = policy_for(la)
    if policy.key == "default":
        return {la, " ".join(la.split())}
    return {la, policy.key, policy.authority, *policy.aliases}
