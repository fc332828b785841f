"""Letter kinds as data: one `templates/letters/<kind>.toml` beside each `<kind>.html.j2`.

Each file says what the letter is (title, the details it takes and what they mean, the checks that can
be written as data, who signs it by function, who it goes to and who gets a copy, its public sources).
An authority adds a letter of its own by putting `<kind>.toml` and `<kind>.html.j2` in
`$CONCERNS_POLICY_DIR/letters/`; no Python is needed. Every file is validated when it is loaded, and a
refusal names the file, the key and the value.

Pure domain: TOML, pydantic models (concerns.domain.tomlcheck) and dataclasses (no Jinja, no database). `concerns.output.letters` renders; the checks
that need code live there and are named here by `check = "<name>"`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator

from concerns.domain import resources
from concerns.domain.letterparties import CONDITIONS, PARTIES, LetterParty
from concerns.domain.policy import FUNCTIONS
from concerns.domain.rules import DEFAULT_RULES
from concerns.domain.tomlcheck import Refusal, Strict, by_name, deep_refusal, load_toml, problems, shown
from concerns.domain.untrusted import EMAIL

TEMPLATES_DIR = resources.TEMPLATES
BUILTIN_LETTERS = resources.LETTERS


class LetterSpecError(ValueError):
    """A letter file that cannot be used: the message names the file, the key and the value."""


# --- Detail types: what each accepts and how it is normalised (data, one small function each) --------


def _is_text(x: Any) -> bool:
    return isinstance(x, str) and bool(x.strip())


def _texts(value: Any, d: Detail) -> list[str] | None:
    if isinstance(value, list | tuple) and value and all(_is_text(x) for x in value):
        return list(value)
    return None


def _item(item: Any) -> dict | None:
    if _is_text(item):
        return {"text": item, "by": None}
    if (isinstance(item, Mapping) and set(item) <= {"text", "by"} and _is_text(item.get("text"))
            and (item.get("by") is None or isinstance(item["by"], date))):
        return {"text": item["text"], "by": item.get("by")}
    return None


def _items(value: Any, d: Detail) -> list[dict] | None:
    if not (isinstance(value, list | tuple) and value):
        return None
    items = [_item(x) for x in value]
    return None if any(x is None for x in items) else items


def _party(item: Any) -> LetterParty | None:
    """A party as Python passes it, or as a details file or the desk's form gives it: a table with a name and a
    role, and an e-mail address (a plain one: the letter may be sent to it) or a postal address if known."""
    if isinstance(item, LetterParty):
        return item
    if not (isinstance(item, Mapping) and set(item) <= {"name", "role", "email", "address"}
            and _is_text(item.get("name")) and _is_text(item.get("role"))):
        return None
    email, address = item.get("email") or None, item.get("address") or None
    if (email is not None and not (isinstance(email, str) and EMAIL.fullmatch(email))) or (
            address is not None and not isinstance(address, str)):
        return None
    return LetterParty(item["name"].strip(), item["role"].strip(), email, address)


def _parties(value: Any, d: Detail) -> list[LetterParty] | None:
    if not isinstance(value, list | tuple):
        return None
    parties = [_party(x) for x in value]
    return None if any(x is None for x in parties) else parties


def _keys(value: Any, d: Detail) -> list[str] | None:
    if not (isinstance(value, list | tuple) and value):
        return None
    unknown = [x for x in value if x not in d.choices]
    if unknown:
        raise ValueError(f"{{kind}}: {d.name!r} has unknown keys {unknown}; choose from {', '.join(d.choices)}")
    if len(set(value)) != len(value):
        raise ValueError(f"{{kind}}: {d.name!r} repeats a key: {list(value)}")
    return list(value)


def _choice(value: Any, d: Detail) -> str:
    if value not in d.choices:
        raise ValueError(f"{{kind}}: {d.name!r} must be one of {', '.join(d.choices)}; got {value!r}")
    return value


@dataclass(frozen=True)
class DetailType:
    help: str  # what the refusal says the value must be
    normalise: Callable[[Any, Detail], Any]  # returns the value to render, or None when it is not one


def _when(value: Any, d: Detail) -> Any:
    return value if isinstance(value, date) else None


TYPES: dict[str, DetailType] = {
    # A datetime given for a date-only detail is taken as its day (and so compares with dates).
    "date": DetailType("a date", lambda v, d: (v.date() if isinstance(v, datetime) else v)
                       if isinstance(v, date) else None),
    "datetime": DetailType("a datetime", lambda v, d: v if isinstance(v, datetime) else None),
    "when": DetailType("a date or datetime", _when),
    "text": DetailType("a non-empty text", lambda v, d: v.strip() if _is_text(v) else None),
    "paras": DetailType("a text or list of texts", lambda v, d: _texts([v] if isinstance(v, str) else v, d)),
    "texts": DetailType("a non-empty list of texts", _texts),
    "items": DetailType("a non-empty list of texts or {'text', 'by'} dicts", _items),
    "keys": DetailType("a non-empty list of keys", _keys),
    "choice": DetailType("one of the listed values", _choice),
    "bool": DetailType("True or False", lambda v, d: v if isinstance(v, bool) else None),
    "parties": DetailType("a list of parties, each a table with a name and a role (and, if known, an e-mail "
                          "address and a postal address)", _parties),
    "records": DetailType("a list of dicts", lambda v, d: list(v) if isinstance(v, list | tuple) and v else None),
    "mapping": DetailType("a dict", lambda v, d: dict(v) if isinstance(v, Mapping) else None),
}


@dataclass(frozen=True)
class Detail:
    """One detail a letter kind takes (`type` in the file; `kind` here, as the form reads it)."""

    name: str
    kind: str
    doc: str
    required: bool = True
    choices: tuple[str, ...] = ()
    # For keys and choices: what each key means, in the letter's words.
    meanings: Mapping[str, str] = field(default_factory=dict)
    # Free-text entries that are also keys: a key is replaced by its meaning ("s63" -> the power).
    expand: Mapping[str, str] = field(default_factory=dict)
    # The case fact this detail must match ("compliance_end", "given_on", "published"); see drafting.
    from_case: str | None = None
    # True when the officer never types it: the case supplies it, and a typed value is refused.
    case_only: bool = False
    # What the letter uses when the detail is not given (e.g. the standard agenda).
    default: Any = None

    def normalise(self, kind: str, value: Any) -> Any:
        t = TYPES[self.kind]
        try:
            out = t.normalise(value, self)
        except ValueError as exc:
            raise ValueError(str(exc).replace("{kind}", kind)) from None
        if out is None:
            raise ValueError(f"{kind}: {self.name!r} must be {t.help}; got {type(value).__name__} {value!r}")
        if self.expand:
            out = [self.expand.get(x, x) for x in out]
        return out


# --- Copy rows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """One row of a letter's distribution list (the tags: docs/decisions/0020-sources-and-confidence.md)."""

    party: str  # a party key (concerns.domain.copylists.PARTIES)
    addressee: bool  # True: the letter is addressed to them; False: "Copies to"
    source: str
    tag: str  # V / S / H / U
    when: str = "always"  # a condition on the school (concerns.domain.copylists.CONDITIONS)
    issuer: str | None = None  # "la" / "sos": only for letters given by that issuer
    valid_from: date | None = None
    valid_to: date | None = None  # exclusive
    note: str = ""


# --- Checks written as data: "<a> <op> <b>" between two dates ------------------------------------

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
_CHECK = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(<=|>=|<|>)\s*([a-z_][a-z0-9_]*)\s*$")


def _day(value: Any) -> Any:
    return value.date() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class DateCheck:
    """`left op right` between two date details (or `on`, the letter's date); skipped if either is absent."""

    left: str
    op: str
    right: str
    message: str

    def holds(self, values: Mapping[str, Any]) -> bool:
        a, b = values.get(self.left), values.get(self.right)
        if a is None or b is None:
            return True
        return _OPS[self.op](_day(a), _day(b))


# --- Preconditions: when the law allows the letter to be given ----------------------------------

# What a case knows from its events and deadlines (its dates, and the section its latest warning notice was
# given under), by the name a letter's `from_case` and its preconditions' facts give them.
CASE_DATES = ("given_on", "compliance_end", "published", "inspected", "statement_due", "failed_on", "notice_section")
# Who may give an instrument: the local authority, the Secretary of State (in the law's words, either may be
# "a relevant authority"). The product drafts for the authority.
GIVERS = {"la": "the local authority", "secretary_of_state": "the Secretary of State"}


_POWER = re.compile(r"s(\d+[A-Z]?)")


def power_words(key: str) -> str:
    """A power's key in words: "s63" -> "section 63"; any other key as written."""
    found = _POWER.fullmatch(key)
    return f"section {found.group(1)}" if found else key.replace("_", " ")


@dataclass(frozen=True)
class FactRule:
    """A fact the case must record (`equals`: with that value; `unless`: anything but that value)."""

    fact: str
    rule: str  # the rule in words, as an officer reads it in a refusal
    source: str
    tag: str
    equals: Any = None
    unless: Any = None
    states: tuple[str, ...] | None = None  # only in these states (None: in every state the letter allows)

    def holds(self, facts: Mapping[str, Any]) -> bool:
        value = facts.get(self.fact)
        if self.unless is not None:
            return value != self.unless
        if self.equals is not None:
            return value == self.equals
        return value is not None and value is not False


@dataclass(frozen=True)
class PowersRule:
    """The powers a detail may name while the case is in `states` (the keys of its choices or expand)."""

    detail: str
    states: tuple[str, ...]
    allowed: tuple[str, ...]
    rule: str
    source: str
    tag: str


@dataclass(frozen=True)
class Preconditions:
    """When the law allows a letter to be given: the case states, who gives it, the facts the case must
    record, and the powers it may offer; each with its public source and confidence tag."""

    rule: str  # the states' rule in words
    source: str
    tag: str
    given_by: tuple[str, ...]
    given_by_source: str
    states: tuple[str, ...] | None = None  # None: not bound to a case (any school, with or without one)
    facts: tuple[FactRule, ...] = ()
    powers: tuple[PowersRule, ...] = ()

    def refusal(self, state: str | None, facts: Mapping[str, Any], details: Mapping[str, Any],
                keys_of: Callable[[str], frozenset[str]] = lambda name: frozenset()) -> str | None:
        """Why the letter may not be drafted for a case in `state` with `facts` (None: no open case), in
        words with its source; None when it may. `keys_of(detail)`: the keys a detail takes (its choices or
        expand), so that only a power named by its key is checked against the powers allowed."""
        if "la" not in self.given_by:
            givers = " or ".join(GIVERS[g] for g in self.given_by)
            return f"it is given by {givers}, not by the authority ({self.given_by_source})"
        if self.states is None:
            return None
        if state is None or state not in self.states:
            return f"{self.rule} ({self.source})"
        for fact in self.facts:
            if (fact.states is None or state in fact.states) and not fact.holds(facts):
                return f"{fact.rule} ({fact.source})"
        for powers in self.powers:
            if state not in powers.states:
                continue
            given = details.get(powers.detail)
            given = [given] if isinstance(given, str) else list(given or ())
            keys = keys_of(powers.detail)
            barred = [x for x in given if isinstance(x, str) and (x in keys or _POWER.fullmatch(x))
                      and x not in powers.allowed]
            if barred:
                return f"the power under {power_words(barred[0])} may not be proposed: {powers.rule} ({powers.source})"
        return None


# --- The spec -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LetterSpec:
    kind: str
    path: Path  # the .toml file
    template: str  # the Jinja name, "letters/<kind>.html.j2"
    title: str
    details: tuple[Detail, ...]
    signatory: str  # a function (concerns.domain.policy.FUNCTIONS)
    contact: str  # the function named as "Please ask for"
    sources: tuple[str, ...]
    statutory_copies: bool = False
    confidential: bool = True
    maintained_only: bool = False
    academy_only: bool = False
    internal_copies: tuple[str, ...] = ()  # functions copied for the file
    check: str | None = None  # a check that needs code, by name (concerns.output.letters.CHECKS)
    checks: tuple[DateCheck, ...] = ()
    copy: tuple[Recipient, ...] = ()
    # Which open case a letter of this kind belongs on (None: any); the desk offers it on those cases.
    pathways: tuple[str, ...] | None = None
    desk: bool = True  # offered on the officers' desk
    local: bool = False  # from the authority's policy folder
    short: str | None = None  # the initials in "Our reference", when the kind's own would be ambiguous
    # When the law allows it to be given (None: an authority's own letter that says nothing of it).
    preconditions: Preconditions | None = None

    def keys_of(self, name: str) -> frozenset[str]:
        """The keys a detail takes: its choices and the keys it expands."""
        detail = next((d for d in self.details if d.name == name), None)
        return frozenset((*detail.choices, *detail.expand)) if detail else frozenset()

    def refusal(self, state: str | None, facts: Mapping[str, Any], details: Mapping[str, Any]) -> str | None:
        """Why the law does not allow the letter now (in words, with its source), or None."""
        if self.preconditions is None:
            return None
        return self.preconditions.refusal(state, facts, details, self.keys_of)

    @property
    def initials(self) -> str:
        """The letter's initials for "Our reference" ("WN" for warning_notice, or the file's `initials`)."""
        return self.short or "".join(word[0] for word in self.kind.split("_") if word).upper()

    @property
    def source(self) -> str:
        return "; ".join(self.sources)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.details if d.required)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.details if not d.required)

    def describe(self) -> dict[str, str]:
        """Detail key -> documentation, for a UI or the CLI help."""
        out = {}
        for d in self.details:
            prefix = "(from the case) " if d.case_only else "" if d.required else "(optional) "
            out[d.name] = prefix + d.doc
        return out


# Details every kind accepts.
COMMON: tuple[Detail, ...] = (
    Detail("signatory_role", "text", "the policy's role that signs instead of the kind's default", required=False),
    Detail("sensitive", "bool", "override the default OFFICIAL-SENSITIVE marking (True/False)", required=False),
    Detail("extra_copies", "parties", "further copies (e.g. a National Leader of Governance)", required=False),
)

# Context names the templates use; detail keys must not shadow them.
RESERVED = frozenset({
    "kind", "title", "school", "authority", "on", "reference", "signatory", "contact", "addressees", "copies",
    "confidential", "marking", "subject_school", "lead", "salutation", "spec",
})

TAGS = frozenset({"V", "S", "H", "U"})
ISSUERS = frozenset({"la", "sos"})
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a non-empty text")
    return value


Text = Annotated[str, AfterValidator(_text)]


def _function(value: str) -> str:
    if value not in FUNCTIONS:
        raise ValueError(f"not a function (functions: {', '.join(FUNCTIONS)})")
    return value


Function = Annotated[str, AfterValidator(_function)]


def _rule_date(value: Any) -> date | None:
    """A date written as a date, or as "rule:<id>": the day the rule book's rule starts."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str) and value.startswith("rule:"):
        try:
            return DEFAULT_RULES.starts(value.removeprefix("rule:"))
        except (KeyError, ValueError):
            raise ValueError("no such rule in the rule book") from None
    raise ValueError("must be a date or \"rule:<rule id>\"")


RuleDate = Annotated[Any, AfterValidator(_rule_date)]


def _tag(tag: str) -> str:
    if tag not in TAGS:
        raise ValueError("must be V, S, H or U")
    return tag


Tag = Annotated[str, AfterValidator(_tag)]


class DetailTable(Strict):
    """One `[[details]]` table of a letter file."""

    name: str
    type: str
    help: Text
    required: bool = True
    choices: dict[str, Any] | list[str] = {}
    expand: dict[str, Any] = {}
    from_case: Text | None = None
    case_only: bool = False
    default: Any = None

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _NAME.match(name) or name in RESERVED or name in {d.name for d in COMMON}:
            raise ValueError("must be a lower-case name not used by the letter itself")
        return name

    @field_validator("type")
    @classmethod
    def _type(cls, kind: str) -> str:
        if kind not in TYPES:
            raise ValueError(f"unknown type (types: {', '.join(TYPES)})")
        return kind

    @model_validator(mode="after")
    def _cross(self) -> DetailTable:
        if self.type in ("keys", "choice") and not self.choices:
            raise Refusal("choices", None, f"is missing (a {self.type} detail needs its choices)", missing=True)
        meanings = self.choices if isinstance(self.choices, dict) else {}
        for table, entries in (("choices", meanings), ("expand", self.expand)):
            for key, text in entries.items():
                if not _is_text(text):
                    raise Refusal(f"{table}.{key}", text, "must be a non-empty text")
        if self.case_only and not self.from_case:
            raise Refusal("case_only", True, "needs from_case (the case fact that supplies it)")
        return self

    def detail(self) -> Detail:
        meanings = self.choices if isinstance(self.choices, dict) else {x: x for x in self.choices}
        return Detail(name=self.name, kind=self.type, doc=self.help, required=self.required,
                      choices=tuple(meanings), meanings=dict(meanings), expand=dict(self.expand),
                      from_case=self.from_case, case_only=self.case_only, default=self.default)


class CopyTable(Strict):
    """One `[[copy]]` row of a letter file: who gets the letter, and under which conditions."""

    party: str
    addressee: bool = False
    source: Text
    tag: Tag
    when: str = "always"
    issuer: str | None = None
    valid_from: RuleDate = Field(None, alias="from")
    until: RuleDate = None
    note: str = ""

    @field_validator("party")
    @classmethod
    def _party(cls, party: str) -> str:
        if party not in PARTIES:
            raise ValueError(f"unknown party (parties: {', '.join(PARTIES)})")
        return party

    @field_validator("when")
    @classmethod
    def _when(cls, when: str) -> str:
        if when not in CONDITIONS:
            raise ValueError(f"unknown condition (conditions: {', '.join(CONDITIONS)})")
        return when

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, issuer: str | None) -> str | None:
        if issuer is not None and issuer not in ISSUERS:
            raise ValueError("must be la or sos")
        return issuer

    def recipient(self) -> Recipient:
        return Recipient(party=self.party, addressee=self.addressee, source=self.source, tag=self.tag,
                         when=self.when, issuer=self.issuer, valid_from=self.valid_from, valid_to=self.until,
                         note=self.note)


_FACT = re.compile(r"^[a-z][a-z0-9_]*$")


class FactTable(Strict):
    """One `[[preconditions.facts]]` row: a fact the case must record before the letter may be drafted."""

    fact: str
    equals: str | bool | None = None
    unless: str | bool | None = None
    states: list[Text] | None = None
    rule: Text
    source: Text
    tag: Tag

    @field_validator("fact")
    @classmethod
    def _fact(cls, fact: str) -> str:
        if not _FACT.match(fact):
            raise ValueError("must be a lower-case fact name")
        return fact

    @model_validator(mode="after")
    def _one(self) -> FactTable:
        if self.equals is not None and self.unless is not None:
            raise Refusal("unless", self.unless, "give equals or unless, not both")
        return self

    def rule_of(self) -> FactRule:
        return FactRule(fact=self.fact, rule=self.rule, source=self.source, tag=self.tag, equals=self.equals,
                        unless=self.unless, states=tuple(self.states) if self.states is not None else None)


class PowersTable(Strict):
    """One `[[preconditions.powers]]` row: the powers a detail may name while the case is in `states`."""

    detail: str
    states: list[Text]
    allowed: list[Text]
    rule: Text
    source: Text
    tag: Tag

    def rule_of(self) -> PowersRule:
        return PowersRule(detail=self.detail, states=tuple(self.states), allowed=tuple(self.allowed),
                          rule=self.rule, source=self.source, tag=self.tag)


class PreconditionsTable(Strict):
    """The `[preconditions]` table of a letter file: when the law allows the letter to be given."""

    states: list[Text] | None = None
    rule: Text
    source: Text
    tag: Tag
    given_by: list[str]
    given_by_source: Text
    facts: list[FactTable] = []
    powers: list[PowersTable] = []

    @field_validator("given_by")
    @classmethod
    def _given_by(cls, given_by: list[str]) -> list[str]:
        if not given_by or any(g not in GIVERS for g in given_by):
            raise ValueError(f"must list who may give it ({', '.join(GIVERS)})")
        return given_by

    @field_validator("states")
    @classmethod
    def _states(cls, states: list[str] | None) -> list[str] | None:
        if states is not None and not states:
            raise ValueError("name at least one state (omit the key for a letter not bound to a case)")
        return states

    @model_validator(mode="after")
    def _within(self) -> PreconditionsTable:
        allowed = set(self.states or ())
        for table, rows in (("facts", self.facts), ("powers", self.powers)):
            for i, row in enumerate(rows):
                outside = [x for x in (row.states or ()) if x not in allowed]
                if outside:
                    raise Refusal((table, i, "states"), outside[0], "is not one of the states the letter allows")
        return self

    def preconditions(self) -> Preconditions:
        return Preconditions(rule=self.rule, source=self.source, tag=self.tag, given_by=tuple(self.given_by),
                             given_by_source=self.given_by_source,
                             states=tuple(self.states) if self.states is not None else None,
                             facts=tuple(f.rule_of() for f in self.facts),
                             powers=tuple(p.rule_of() for p in self.powers))


class CheckTable(Strict):
    """One `[[checks]]` table of a letter file: `that = "<detail> <op> <detail>"` and its refusal."""

    that: str
    message: Text

    @field_validator("that")
    @classmethod
    def _that(cls, that: str) -> str:
        if not _CHECK.match(that):
            raise ValueError("must read '<detail> <op> <detail>' with op one of < <= > >=")
        return that

    def check(self) -> DateCheck:
        left, op, right = _CHECK.match(self.that).groups()  # type: ignore[union-attr]
        return DateCheck(left, op, right, self.message)


class LetterFile(Strict):
    """A letter file, `templates/letters/<kind>.toml` (or the authority's own, beside its template)."""

    title: Text
    details: list[DetailTable] = []
    signatory: Function
    contact: Function = "case_lead"
    sources: list[Text]
    statutory_copies: bool = False
    confidential: bool = True
    maintained_only: bool = False
    academy_only: bool = False
    internal_copies: list[Function] = []
    check: Text | None = None
    checks: list[CheckTable] = []
    copies: list[CopyTable] = Field([], alias="copy")
    pathways: list[Text] | None = None
    desk: bool = True
    initials: str | None = None
    preconditions: PreconditionsTable | None = None

    @field_validator("initials")
    @classmethod
    def _initials(cls, initials: str | None) -> str | None:
        if initials is not None and not re.fullmatch(r"[A-Z]{1,6}", initials):
            raise ValueError("must be 1 to 6 capital letters")
        return initials

    @field_validator("sources")
    @classmethod
    def _sources(cls, sources: list[str]) -> list[str]:
        if not sources:
            raise ValueError("name at least one public source")
        return sources

    @model_validator(mode="after")
    def _cross(self) -> LetterFile:
        if not self.details:
            raise Refusal("details", [], "a letter takes at least one detail")
        names = [d.name for d in self.details]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise Refusal(f"details.{twice}", twice, "is declared twice")
        dated = {d.name for d in self.details if d.type in ("date", "datetime", "when")} | {"on"}
        for i, check in enumerate(self.checks):
            for operand in _CHECK.match(check.that).groups()[::2]:  # type: ignore[union-attr]
                if operand not in dated:
                    raise Refusal((("checks", i, "that")), check.that,
                                  f"{operand!r} is neither a date detail of this letter nor 'on'")
        for i, powers in enumerate(self.preconditions.powers if self.preconditions else ()):
            detail = next((d for d in self.details if d.name == powers.detail), None)
            if detail is None:
                raise Refusal(("preconditions", "powers", i, "detail"), powers.detail, "is not a detail of this letter")
            keys = set(detail.choices) | set(detail.expand)
            unknown = [x for x in powers.allowed if x not in keys]
            if unknown:
                raise Refusal(("preconditions", "powers", i, "allowed"), unknown[0],
                              f"is not a key of details.{powers.detail} (keys: {', '.join(sorted(keys))})")
        return self


def parse_letter_spec(path: Path, data: Mapping[str, Any], *, local: bool = False) -> LetterSpec:
    kind = path.stem
    if not _NAME.match(kind):
        raise LetterSpecError(f"{path}: the file name {kind!r} must be a lower-case letter kind")
    deep = deep_refusal(data)
    if deep is not None:
        raise LetterSpecError(f"{path}: {deep.key}: {deep.why}")
    try:
        file = LetterFile.model_validate(data)
    except ValidationError as exc:
        first = problems(exc, LetterFile, unknown="unknown key (keys: {keys})", label=by_name(data, "details"))[0]
        if first.missing:
            raise LetterSpecError(f"{path}: {first.key} {first.why}") from None
        raise LetterSpecError(f"{path}: {first.key} = {shown(first.value)}: {first.why}") from None
    spec = LetterSpec(
        kind=kind, path=path, template=f"letters/{kind}.html.j2", title=file.title,
        details=tuple(d.detail() for d in file.details), signatory=file.signatory, contact=file.contact,
        sources=tuple(file.sources), statutory_copies=file.statutory_copies, confidential=file.confidential,
        maintained_only=file.maintained_only, academy_only=file.academy_only,
        internal_copies=tuple(file.internal_copies), check=file.check,
        checks=tuple(c.check() for c in file.checks), copy=tuple(c.recipient() for c in file.copies),
        pathways=tuple(file.pathways) if file.pathways is not None else None, desk=file.desk,
        local=local, short=file.initials,
        preconditions=file.preconditions.preconditions() if file.preconditions is not None else None,
    )
    template = path.with_name(f"{kind}.html.j2")
    if not template.is_file():
        raise LetterSpecError(f"{path}: no template {template.name} beside it")
    return spec


def letter_dirs() -> tuple[Path, ...]:
    """The built-in letters, then the authority's own (`$CONCERNS_POLICY_DIR/letters`), if any."""
    dirs = [BUILTIN_LETTERS]
    extra = os.environ.get("CONCERNS_POLICY_DIR")
    if extra and (Path(extra) / "letters").is_dir():
        dirs.append(Path(extra) / "letters")
    return tuple(dirs)


@cache
def load_letter_specs(dirs: tuple[Path, ...]) -> dict[str, LetterSpec]:
    specs: dict[str, LetterSpec] = {}
    for n, directory in enumerate(dirs):
        for path in sorted(directory.glob("*.toml")):
            data = load_toml(path.read_bytes(), str(path), LetterSpecError)
            spec = parse_letter_spec(path, data, local=n > 0)
            if spec.kind in specs and n > 0:
                raise LetterSpecError(f"{path}: {spec.kind!r} is a letter the product already has; "
                                      "give the local letter a name of its own")
            specs[spec.kind] = spec
    return specs


def letter_specs() -> dict[str, LetterSpec]:
    return load_letter_specs(letter_dirs())


class _Kinds(Mapping[str, LetterSpec]):
    """The letter kinds in force (built-in and the authority's), read when asked."""

    def __getitem__(self, kind: str) -> LetterSpec:
        return letter_specs()[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(letter_specs())

    def __len__(self) -> int:
        return len(letter_specs())


LETTER_KINDS: Mapping[str, LetterSpec] = _Kinds()

__all__ = ["CASE_DATES", "COMMON", "GIVERS", "LETTER_KINDS", "RESERVED", "TYPES", "DateCheck", "Detail", "FactRule",
           "LetterSpec", "LetterSpecError", "PowersRule", "Preconditions", "Recipient", "power_words", "letter_dirs", "letter_specs", "load_letter_specs", "parse_letter_spec"]
