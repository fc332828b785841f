"""Authority policy: one TOML file per authority (docs/decisions.md, D19).

What differs between authorities is data: the categorisation scheme, meeting cadences, the escalation
ladder, roles and who manages whom, local deadlines, term dates and extra closure days, and overrides of
unconfirmed rule parameters. Files ship in concerns/policies/; an operator can add or replace them in
the folder named by CONCERNS_POLICY_DIR. An authority with no file of its own uses `default`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from concerns.calendar import DayKind, WorkingDayCalendar
from concerns.categories import CategoriesError, CategoryScheme, parse_categories
from concerns.lettersettings import LetterSetting, parse_letter_settings
from concerns.meetings import MeetingCadence, MeetingsError, parse_meetings
from concerns.rules import RuleBook
from concerns.terms import TermCalendar

BUILTIN_DIR = Path(__file__).resolve().parent / "policies"


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


@dataclass(frozen=True)
class LocalDeadline:
    on_event: str
    kind: str
    count: int
    unit: str  # working_days | days | months
    responsible: str
    source: str
    met_by: str | None = None  # the event that meets it


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
    letters: dict[str, LetterSetting] = field(default_factory=dict)  # [letters.<kind>]: local copies, signatory
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
        spec = self.roles.get(role)
        return spec.manager if spec else None

    def meeting(self, kind: str = "progress_meeting") -> MeetingCadence | None:
        return next((m for m in self.meetings if m.kind == kind), None)

    def deadlines_on(self, event: str) -> list[LocalDeadline]:
        return [d for d in self.local_deadlines if d.on_event == event]


def _date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PolicyError(f"{where}: {value!r} is not a YYYY-MM-DD date") from None


def parse_policy(data: Mapping[str, Any], key: str, where: str) -> Policy:
    try:
        roles = _roles(data.get("roles", {}), where)
        meetings = parse_meetings(data.get("meetings", []), where)
        local = tuple(
            LocalDeadline(d["on"], d["kind"], int(d["count"]), d["unit"], d["responsible"], d["source"],
                          d.get("met_by"))
            for d in data.get("local_deadlines", [])
        )
        for d in local:
            if d.unit not in ("working_days", "days", "months"):
                raise PolicyError(f"{where}: local deadline {d.kind} has unknown unit {d.unit!r}")
        categories = parse_categories(data.get("categories", {}), where)
        responsible = dict(data.get("responsible", {}))
        for role in [*responsible.values(), *(m.responsible for m in meetings), *(d.responsible for d in local)]:
            if roles and role not in roles:
                raise PolicyError(f"{where}: unknown role {role!r} (roles: {', '.join(roles)})")
        return Policy(
            key=key,
            authority=data["authority"],
            title=data.get("title", ""),
            source=data.get("source", ""),
            aliases=tuple(data.get("aliases", [])),
            roles=roles,
            categories=categories,
            categorisation=data.get("categories", {}).get("timing", ""),
            meetings=meetings,
            escalation=tuple(data.get("escalation", {}).get("ladder", [])),
            escalation_note=data.get("escalation", {}).get("note", ""),
            local_deadlines=local,
            responsible=responsible,
            terms=TermCalendar.from_config(data.get("terms", [])),
            closures=tuple(_date(d, f"{where} closures") for d in data.get("closures", [])),
            rules=RuleBook(overrides=data.get("rules", {})),
            reminder_offsets=_offsets(data.get("reminder_offsets", [10, 3]), where),
            letters=parse_letter_settings(data.get("letters", {}), where),
        )
    except KeyError as exc:
        raise PolicyError(f"{where}: missing setting {exc.args[0]!r}") from None
    except ValueError as exc:
        if isinstance(exc, PolicyError):
            raise
        if isinstance(exc, CategoriesError | MeetingsError):
            raise PolicyError(str(exc)) from None  # already names the file
        raise PolicyError(f"{where}: {exc}") from None


def _roles(table: Mapping[str, Any], where: str) -> dict[str, Role]:
    roles = {}
    for key, spec in table.items():
        acts_as = spec.get("acts_as", FUNCTION_OF_PRODUCT_ROLE.get(key))
        if acts_as is not None and acts_as not in FUNCTIONS:
            raise PolicyError(f"{where}: roles.{key}.acts_as: unknown function {acts_as!r} "
                              f"(functions: {', '.join(FUNCTIONS)})")
        roles[key] = Role(key, spec["title"], spec.get("manager"), acts_as)
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


def _offsets(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(v, int) and v > 0 for v in value):
        raise PolicyError(f"{where}: reminder_offsets must be a list of positive whole numbers of working days")
    return tuple(sorted(set(value), reverse=True))


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
            with path.open("rb") as fh:
                try:
                    data = tomllib.load(fh)
                except tomllib.TOMLDecodeError as exc:
                    raise PolicyError(f"{path}: {exc}") from None
            # A later directory's file replaces a built-in one with the same name.
            policies[path.stem] = parse_policy(data, path.stem, str(path))
    if "default" not in policies:
        raise PolicyError("no default policy file found")
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
