"""Letter kinds as data: one `templates/letters/<kind>.toml` beside each `<kind>.html.j2`.

Each file says what the letter is (title, the details it takes and what they mean, the checks that can
be written as data, who signs it by function, who it goes to and who gets a copy, its public sources).
An authority adds a letter of its own by putting `<kind>.toml` and `<kind>.html.j2` in
`$CONCERNS_POLICY_DIR/letters/`; no Python is needed. Every file is validated when it is loaded, and a
refusal names the file, the key and the value.

Pure domain: TOML and dataclasses only (no Jinja, no database). `concerns.output.letters` renders; the checks
that need code live there and are named here by `check = "<name>"`.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from concerns.domain import resources
from concerns.domain.letterparties import CONDITIONS, PARTIES, LetterParty
from concerns.domain.policy import FUNCTIONS
from concerns.domain.rules import DEFAULT_RULES

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
    "parties": DetailType("a list of LetterParty", lambda v, d: list(v) if isinstance(v, list | tuple)
                          and all(isinstance(x, LetterParty) for x in v) else None),
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
    """One row of a letter's distribution list (the tags: docs/decisions.md, D20)."""

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


class _Reader:
    """Reads one table of a letter file, refusing unknown keys and wrong types with file, key and value."""

    def __init__(self, path: Path, table: Mapping[str, Any], prefix: str = ""):
        self.path, self.table, self.prefix = path, table, prefix
        self.seen: set[str] = set()

    def fail(self, key: str, value: Any, why: str) -> LetterSpecError:
        return LetterSpecError(f"{self.path}: {self.prefix}{key} = {value!r}: {why}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., why: str = "") -> Any:
        self.seen.add(key)
        if key not in self.table:
            if default is ...:
                raise LetterSpecError(f"{self.path}: {self.prefix}{key} is missing{why}")
            return default
        value = self.table[key]
        if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(key, value, f"must be {'a non-empty ' if kind is str else ''}{names}")
        return value

    def texts(self, key: str, default: Any = ()) -> tuple[str, ...]:
        value = self.get(key, list, default=default if default is ... else list(default))
        if not all(_is_text(x) for x in value):
            raise self.fail(key, value, "must be a list of non-empty texts")
        return tuple(value)

    def done(self) -> None:
        unknown = sorted(set(self.table) - self.seen)
        if unknown:
            raise self.fail(unknown[0], self.table[unknown[0]], "unknown key")


def _function(reader: _Reader, key: str, value: str) -> str:
    if value not in FUNCTIONS:
        raise reader.fail(key, value, f"not a function (functions: {', '.join(FUNCTIONS)})")
    return value


def _rule_date(reader: _Reader, key: str, value: Any) -> date | None:
    """A date written as a date, or as "rule:<id>" / "rule-end:<id>": the rule book's own date."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str) and value.startswith("rule:"):
        try:
            return DEFAULT_RULES.starts(value.removeprefix("rule:"))
        except (KeyError, ValueError):
            raise reader.fail(key, value, "no such rule in the rule book") from None
    raise reader.fail(key, value, "must be a date or \"rule:<rule id>\"")


def _detail(path: Path, i: int, table: Any) -> Detail:
    if not isinstance(table, Mapping):
        raise LetterSpecError(f"{path}: details[{i}] = {table!r}: must be a table")
    r = _Reader(path, table, f"details[{i}].")
    name = r.get("name", str)
    if not _NAME.match(name) or name in RESERVED or name in {d.name for d in COMMON}:
        raise r.fail("name", name, "must be a lower-case name not used by the letter itself")
    r.prefix = f"details.{name}."
    kind = r.get("type", str)
    if kind not in TYPES:
        raise r.fail("type", kind, f"unknown type (types: {', '.join(TYPES)})")
    meanings = r.get("choices", (dict, list), default={})
    if isinstance(meanings, list):
        meanings = {x: x for x in meanings}
    if kind in ("keys", "choice") and not meanings:
        raise LetterSpecError(f"{path}: details.{name}.choices is missing (a {kind} detail needs its choices)")
    expand = r.get("expand", dict, default={})
    for key, text in {**meanings, **expand}.items():
        if not _is_text(text):
            raise r.fail(f"choices.{key}", text, "must be a non-empty text")
    detail = Detail(
        name=name, kind=kind, doc=r.get("help", str), required=r.get("required", bool, default=True),
        choices=tuple(meanings), meanings=dict(meanings), expand=dict(expand),
        from_case=r.get("from_case", str, default=None), case_only=r.get("case_only", bool, default=False),
        default=r.get("default", object, default=None),
    )
    if detail.case_only and not detail.from_case:
        raise r.fail("case_only", True, "needs from_case (the case fact that supplies it)")
    r.done()
    return detail


def _recipient(path: Path, i: int, table: Any) -> Recipient:
    if not isinstance(table, Mapping):
        raise LetterSpecError(f"{path}: copy[{i}] = {table!r}: must be a table")
    r = _Reader(path, table, f"copy[{i}].")
    party = r.get("party", str)
    if party not in PARTIES:
        raise r.fail("party", party, f"unknown party (parties: {', '.join(PARTIES)})")
    when = r.get("when", str, default="always")
    if when not in CONDITIONS:
        raise r.fail("when", when, f"unknown condition (conditions: {', '.join(CONDITIONS)})")
    tag = r.get("tag", str)
    if tag not in TAGS:
        raise r.fail("tag", tag, "must be V, S, H or U")
    issuer = r.get("issuer", str, default=None)
    if issuer is not None and issuer not in ISSUERS:
        raise r.fail("issuer", issuer, "must be la or sos")
    row = Recipient(
        party=party, addressee=r.get("addressee", bool, default=False), source=r.get("source", str), tag=tag,
        when=when, issuer=issuer, valid_from=_rule_date(r, "from", r.get("from", (str, date), default=None)),
        valid_to=_rule_date(r, "until", r.get("until", (str, date), default=None)), note=r.get("note", str, default=""),
    )
    r.done()
    return row


def _check(path: Path, i: int, table: Any, names: set[str]) -> DateCheck:
    if not isinstance(table, Mapping):
        raise LetterSpecError(f"{path}: checks[{i}] = {table!r}: must be a table")
    r = _Reader(path, table, f"checks[{i}].")
    that = r.get("that", str)
    m = _CHECK.match(that)
    if not m:
        raise r.fail("that", that, "must read '<detail> <op> <detail>' with op one of < <= > >=")
    left, op, right = m.groups()
    for operand in (left, right):
        if operand not in names:
            raise r.fail("that", that, f"{operand!r} is neither a date detail of this letter nor 'on'")
    check = DateCheck(left, op, right, r.get("message", str))
    r.done()
    return check


def parse_letter_spec(path: Path, data: Mapping[str, Any], *, local: bool = False) -> LetterSpec:
    kind = path.stem
    if not _NAME.match(kind):
        raise LetterSpecError(f"{path}: the file name {kind!r} must be a lower-case letter kind")
    r = _Reader(path, data)
    details = tuple(_detail(path, i, t) for i, t in enumerate(r.get("details", list, default=[])))
    names = [d.name for d in details]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise LetterSpecError(f"{path}: details: {twice!r} is declared twice")
    dated = {d.name for d in details if d.kind in ("date", "datetime", "when")} | {"on"}
    signatory = _function(r, "signatory", r.get("signatory", str))
    contact = _function(r, "contact", r.get("contact", str, default="case_lead"))
    internal = r.texts("internal_copies")
    for f in internal:
        _function(r, "internal_copies", f)
    pathways = r.get("pathways", list, default=None)
    spec = LetterSpec(
        kind=kind, path=path, template=f"letters/{kind}.html.j2", title=r.get("title", str), details=details,
        signatory=signatory, contact=contact, sources=r.texts("sources", default=...),
        statutory_copies=r.get("statutory_copies", bool, default=False),
        confidential=r.get("confidential", bool, default=True),
        maintained_only=r.get("maintained_only", bool, default=False),
        academy_only=r.get("academy_only", bool, default=False),
        internal_copies=internal, check=r.get("check", str, default=None),
        checks=tuple(_check(path, i, t, dated) for i, t in enumerate(r.get("checks", list, default=[]))),
        copy=tuple(_recipient(path, i, t) for i, t in enumerate(r.get("copy", list, default=[]))),
        pathways=tuple(pathways) if pathways is not None else None, desk=r.get("desk", bool, default=True),
        local=local, short=r.get("initials", str, default=None),
    )
    r.done()
    if spec.short is not None and not re.fullmatch(r"[A-Z]{1,6}", spec.short):
        raise r.fail("initials", spec.short, "must be 1 to 6 capital letters")
    if not spec.sources:
        raise LetterSpecError(f"{path}: sources = []: name at least one public source")
    if not spec.details:
        raise LetterSpecError(f"{path}: details: a letter takes at least one detail")
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
            try:
                with path.open("rb") as fh:
                    data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise LetterSpecError(f"{path}: {exc}") from None
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

__all__ = ["COMMON", "LETTER_KINDS", "RESERVED", "TYPES", "DateCheck", "Detail", "LetterSpec", "LetterSpecError",
           "Recipient", "letter_dirs", "letter_specs", "load_letter_specs", "parse_letter_spec"]
