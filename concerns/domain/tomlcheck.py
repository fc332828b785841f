"""One way to check every TOML file the product reads: pydantic models, refusals in plain words.

Each kind of file (an authority's policy, a letter file, a letter's details) declares its shape as pydantic
models built on `Strict` (unknown keys refused, no silent coercion: TOML's own types are the types). The
checks between fields that need code stay in the models, as validators that raise `Refusal` naming the key
and the value. `problems` turns pydantic's ValidationError into `Problem`s (a dotted key, the value, the
reason in plain words) and each file says them in its own one-line form, naming the file.

A TOML value nested deeper than any real file needs is refused before anything walks it: Python's own
TOML reader and `repr` recurse, and would otherwise stop with RecursionError.

Pure domain: pydantic and the standard library only.
"""

from __future__ import annotations

import re
import reprlib
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    RootModel,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

# Deeper than any file the product reads (a policy's `[letters.<kind>]` is three levels; a statement of
# action's priorities and actions four); shallow enough that walking it never nears Python's recursion limit.
MAX_DEPTH = 24


class Strict(BaseModel):
    """A table of a TOML file: its keys are the fields, any other key is refused, and values are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, arbitrary_types_allowed=True)


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a non-empty text")
    return value


# A setting written as words: a TOML string with something in it.
Text = Annotated[str, AfterValidator(_text)]


class Refusal(ValueError):
    """Raised by a validator: `key` (dotted, or a tuple of keys and list indexes, from the table validated;
    "" for the table itself) holds `value`, which is refused because `why` (plain words, saying what to do
    about it; "{value}" in it says where the value goes, when not first: "unknown weekday {value}").
    `missing`: the key is absent, and `why` follows its name."""

    def __init__(self, key: str | tuple[Any, ...], value: Any, why: str, missing: bool = False):
        super().__init__(why)
        self.key, self.value, self.why, self.missing = key, value, why, missing

    @property
    def loc(self) -> tuple[Any, ...]:
        return self.key if isinstance(self.key, tuple) else tuple(p for p in self.key.split(".") if p)


def said(why: str) -> WrapValidator:
    """For `Annotated[T, said("must be a list of role keys")]`: any way the value fails to be a T is refused
    with these words (the value as a whole named), rather than one refusal per wrong item."""

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise ValueError(why) from None

    return WrapValidator(check)


@dataclass(frozen=True)
class Problem:
    key: str  # dotted: "details.visited_on.type", "local_deadlines[0].unit"
    value: Any
    why: str
    missing: bool = False  # the key is absent (value is then None)

    def sentence(self) -> str:
        """The value and why it is refused: "'wed' is not a weekday", or `why` with the value put where it
        says "{value}" ("unknown weekday 'wed' (one of: ...)")."""
        if "{value}" in self.why:
            return self.why.replace("{value}", shown(self.value))
        return f"{shown(self.value)} {self.why}"


_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxdict, _SHOW.maxlist, _SHOW.maxtuple = 4, 12, 12, 12
_SHOW.maxstring, _SHOW.maxother, _SHOW.maxlong = 200, 200, 60


def shown(value: Any) -> str:
    """`repr(value)`, shortened for a long or deeply nested value (and never recursing without bound)."""
    return _SHOW.repr(value)


def too_deep(value: Any, limit: int = MAX_DEPTH) -> str | None:
    """The dotted key of the first value nested more than `limit` tables or lists deep, else None.
    Walks without recursion, so any depth is safe."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, key, depth = stack.pop()
        if isinstance(item, Mapping | list | tuple):
            if depth >= limit:
                return key or "(the file)"
            inner = item.items() if isinstance(item, Mapping) else enumerate(item)
            for k, v in inner:
                sub = f"{key}[{k}]" if isinstance(k, int) else f"{key}.{k}" if key else str(k)
                stack.append((v, sub, depth + 1))
    return None


def deep_refusal(value: Any, limit: int = MAX_DEPTH) -> Problem | None:
    key = too_deep(value, limit)
    if key is None:
        return None
    return Problem(key, _Nested(), f"is nested more than {limit} tables or lists deep: write it flatter")


class _Nested:
    def __repr__(self) -> str:
        return "[[[...]]]"


def load_toml(raw: bytes | str, where: str, error: type[ValueError] = ValueError) -> dict[str, Any]:
    """The TOML in `raw`, or `error` with one line naming `where`: a syntax error, or values nested too deep."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: not valid TOML: {exc}") from None
    except RecursionError:
        raise error(f"{where}: a value is nested more than {MAX_DEPTH} tables or lists deep: "
                    "write it flatter") from None
    problem = deep_refusal(data)
    if problem is not None:
        raise error(f"{where}: {problem.key}: {problem.why}")
    return data


# --- pydantic's errors, in plain words ---------------------------------------------------------------

_WORDS = {
    "string_type": "must be a text", "string_too_short": "must be a non-empty text",
    "int_type": "must be a whole number", "int_parsing": "must be a whole number",
    "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "float_type": "must be a number", "list_type": "must be a list", "tuple_type": "must be a list",
    "dict_type": "must be a table", "model_type": "must be a table", "model_attributes_type": "must be a table",
    "date_type": "must be a date (YYYY-MM-DD)", "datetime_type": "must be a date and time",
    "time_type": "must be a time of day", "missing": "is missing", "too_short": "must not be empty",
}


def _plain(err: Mapping[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in _WORDS:
        return _WORDS[kind]
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '').replace(chr(39), '')}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        word = {"greater_than_equal": "at least", "greater_than": "more than",
                "less_than_equal": "at most", "less_than": "less than"}[kind]
        bound = next(iter(ctx.values()), "")
        return f"must be {word} {bound}"
    if kind == "is_instance_of":
        return f"must be {ctx.get('class', 'something else')}"
    # Anything else: pydantic's sentence without its jargon ("Input should be ..." -> "must be ...").
    msg = str(err.get("msg", "is not valid here"))
    return msg.replace("Input should be", "must be").replace("Value error, ", "")


def _unwrap(annotation: Any) -> list[Any]:
    """The types inside Optional/Union/Annotated/list/dict/tuple, for walking the models along a loc."""
    if isinstance(annotation, type) and issubclass(annotation, RootModel):
        return _unwrap(annotation.model_fields["root"].annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(annotation) for t in _unwrap(a)]
    return [annotation]


def _model_at(model: Any, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        found = None
        for option in _unwrap(current):
            origin, args = typing.get_origin(option), typing.get_args(option)
            if isinstance(part, str) and isinstance(option, type) and issubclass(option, BaseModel):
                field = option.model_fields.get(part) or next(
                    (f for f in option.model_fields.values() if f.alias == part), None)
                if field is not None:
                    found = field.annotation
            elif isinstance(part, int) and origin in (list, tuple) and args:
                found = args[0]
            elif isinstance(part, str) and origin in (dict, Mapping) and len(args) == 2:
                found = args[1]
            if found is not None:
                break
        if found is None:
            return None
        current = found
    for option in _unwrap(current):
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


def keys_of(model: type[BaseModel]) -> list[str]:
    """The keys a table may hold, as written in the file."""
    return [f.alias or name for name, f in model.model_fields.items()]


def dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def by_name(data: Mapping[str, Any], section: str, pattern: str = r"[a-z][a-z0-9_]*",
            ) -> Callable[[tuple[Any, ...]], str]:
    """A label naming `section[i]` by its `name` once it has a good one (`details.visited_on.type` rather
    than `details[0].type`), as the people who write the file know it; `name` itself keeps its index."""

    def label(loc: tuple[Any, ...]) -> str:
        tables = data.get(section)
        if len(loc) >= 2 and loc[0] == section and isinstance(loc[1], int) and isinstance(tables, list) \
                and loc[1] < len(tables) and isinstance(tables[loc[1]], Mapping) and loc[2:3] != ("name",):
            name = tables[loc[1]].get("name")
            if isinstance(name, str) and re.fullmatch(pattern, name):
                return dotted((section, name, *loc[2:]))
        return dotted(loc)

    return label


def problems(exc: ValidationError, model: Any, *,
             unknown: str = "unknown key ({keys})",
             label: Callable[[tuple[Any, ...]], str] = dotted, at: tuple[Any, ...] = ()) -> list[Problem]:
    """One Problem per error in `exc` (raised validating `model`, a model or a type of them), in plain words;
    `at`: where the value validated sits in its file, when not at the top.

    `unknown` is what an unknown key is told (`{keys}`: the keys its table takes); `label` names a location
    (e.g. a letter file's `details.<name>` rather than `details[0]`)."""
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        inner = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))  # drop union-branch tags
        loc = (*at, *inner)
        error = (err.get("ctx") or {}).get("error")
        if isinstance(error, Refusal):
            out.append(Problem(label((*loc, *error.loc)), error.value, error.why, error.missing))
        elif err["type"] == "extra_forbidden":
            table = _model_at(model, inner[:-1])
            keys = ", ".join(sorted(keys_of(table))) if table else ""
            out.append(Problem(label(loc), err["input"], unknown.format(keys=keys, table=label(loc[:-1]))))
        elif err["type"] in ("model_type", "dict_type") and loc and isinstance(loc[-1], int):
            header = ".".join(str(p) for p in loc if not isinstance(p, int))
            out.append(Problem(label(loc), err["input"], f"must be a table: write it as [[{header}]]"))
        elif err["type"] in ("model_type", "dict_type") and (table := _model_at(model, inner)) is not None:
            out.append(Problem(label(loc), err["input"], f"must be a table ({', '.join(keys_of(table))})"))
        elif err["type"] == "list_type" and _model_at(model, (*inner, 0)) is not None:
            out.append(Problem(label(loc), err["input"],
                               f"must be a list of tables: write each as [[{'.'.join(map(str, loc))}]]"))
        elif err["type"] == "missing":
            out.append(Problem(label(loc), None, "is missing", missing=True))
        elif err["type"] == "value_error" and error is not None:
            out.append(Problem(label(loc), err["input"], str(error)))
        else:
            out.append(Problem(label(loc), err["input"], _plain(err)))
    return out



def validate_fields(model: type[BaseModel], data: Mapping[str, Any], *, unknown: str = "unknown key ({keys})",
                    inner_unknown: str = "is not a setting of {table} (settings: {keys})", label: Callable[[tuple[Any, ...]], str] = dotted) -> tuple[dict[str, Any], list[Problem]]:
    """`data` checked against `model` one field at a time, so that one bad section hides neither the others'
    problems nor their values: (the good values by field name, every problem). Unknown keys and missing
    required keys are problems too; a model's own validators across fields do not run (say them in code)."""
    values: dict[str, Any] = {}
    found: list[Problem] = []
    by_key = {(f.alias or name): name for name, f in model.model_fields.items()}
    for key, value in data.items():
        if key not in by_key:
            found.append(Problem(label((key,)), value, unknown.format(keys=", ".join(sorted(by_key)))))
            continue
        name = by_key[key]
        try:
            values[name] = _adapter(model, name).validate_python(value, strict=True)
        except ValidationError as exc:
            field = model.model_fields[name]
            found.extend(problems(exc, field.annotation, unknown=inner_unknown, label=label, at=(key,)))
    for key, name in by_key.items():
        if key not in data and model.model_fields[name].is_required():
            found.append(Problem(label((key,)), None, "is missing", missing=True))
    return values, found


_ADAPTERS: dict[tuple[type[BaseModel], str], TypeAdapter[Any]] = {}


def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    if (model, name) not in _ADAPTERS:
        field = model.model_fields[name]
        kind = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
        _ADAPTERS[model, name] = TypeAdapter(kind)
    return _ADAPTERS[model, name]


__all__ = ["MAX_DEPTH", "Problem", "Refusal", "Strict", "Text", "validate_fields", "deep_refusal", "dotted", "keys_of", "load_toml",
           "by_name", "problems", "said", "shown", "too_deep"]
