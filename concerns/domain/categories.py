"""The authority's categorisation scheme: its levels, best first, the conditions that put a school in each,
the facts officers record for it, and the modifiers that move a school a level.

Every authority categorises on top of Ofsted by its own judgement (Derbyshire's low/medium/high risk, Luton's
A-D, Doncaster's 1-5, Leicester's 1-4). The scheme *proposes* a level with its reasons; an officer *sets*
the authority's level (concerns.casework.lacategories). This module is the proposal's language, checked when the
policy loads, and its evaluation over a plain picture of one school.

Conditions (any one puts a school in the level; ``a and b`` needs both):

    default                        schools no other level's condition fits
    stuck                          the two most recent graded inspections both below good
    open_case                      any open case with the authority
    category:SM|RSI|RI|NA|LA       an open case in this Ofsted category (LA: the authority's own concern)
    pathway:<pathway>              an open case on this pathway
    latest:<level>                 the latest graded inspection judged outstanding|good|ri|rsi|sm
    inspected:<level> within N years   a graded inspection at that level published in the last N years
    left:<pathway|any> within N years  a case on that pathway closed in the last N years
    event:<event>                  an event given on an open case (e.g. event:warning_letter)
    fact:<fact> [within N years|months]  a fact recorded in force (and, with `within`, begun lately)

Any term but `default` may be written `not …` ("latest:good and not fact:results_above_national"): a
better level's more particular condition then wins over a worse level's general one.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, field_validator

from concerns.domain.formatting import ukdate
from concerns.domain.tomlcheck import Refusal, Strict, Text, dotted, said, validate_fields


class CategoriesError(ValueError):
    pass


INSPECTION_LEVELS = ("outstanding", "good", "ri", "rsi", "sm")
LEVEL_WORDS = {"outstanding": "outstanding", "good": "good", "ri": "requires improvement",
               "rsi": "serious weaknesses", "sm": "special measures"}
JUDGED = {"outstanding": "outstanding", "good": "good", "ri": "as requiring improvement",
          "rsi": "to have serious weaknesses", "sm": "to need special measures"}
IN_CATEGORY = {"SM": "It is in special measures.", "RSI": "Ofsted judged it to have serious weaknesses.",
               "RI": "Ofsted judged it as requiring improvement.",
               "NA": "Ofsted found areas of its work that need attention.",
               "LA": "The local authority has a concern of its own about the school."}
OFSTED_CATEGORIES = {"SM": "special measures", "RSI": "serious weaknesses", "RI": "requires improvement",
                     "NA": "needs attention", "LA": "a concern of the local authority's own"}
PATHWAY_WORDS = {"requires_improvement": "requires improvement", "serious_weaknesses": "serious weaknesses",
                 "special_measures": "special measures", "la_concern": "the local authority's own concern",
                 "academy_of_concern": "academy causing concern"}
WORDS = ("default", "stuck", "open_case")
VALUED = ("category", "pathway", "latest", "inspected", "left", "event", "fact")
NEEDS_WINDOW = ("inspected", "left")
MAY_HAVE_WINDOW = ("inspected", "left", "fact")

_TERM = re.compile(r"^(?P<negated>not )?(?P<kind>[a-z_]+)(?::(?P<value>[A-Za-z0-9_]+))?"
                   r"(?: within (?P<count>\d+) (?P<unit>years?|months?))?$")


@dataclass(frozen=True)
class Term:
    kind: str
    value: str | None = None
    within_months: int | None = None
    negated: bool = False  # "not fact:results_above_national": holds when the term does not

    def window_start(self, as_of: date) -> date | None:
        if self.within_months is None:
            return None
        year, month = divmod(as_of.year * 12 + as_of.month - 1 - self.within_months, 12)
        return date(year, month + 1, min(as_of.day, monthrange(year, month + 1)[1]))


@dataclass(frozen=True)
class Condition:
    text: str
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class CategoryLevel:
    key: str
    label: str
    causing_concern: bool
    when: tuple[str, ...] = ()  # the conditions as written, for people
    support: str = ""
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Modifier:
    condition: Condition
    shift: int  # levels worse (positive) or better (negative), capped at the scheme's ends
    reason: str


@dataclass(frozen=True)
class CategoryScheme:
    levels: tuple[CategoryLevel, ...] = ()
    facts: Mapping[str, str] = field(default_factory=dict)  # fact key -> its name in words
    modifiers: tuple[Modifier, ...] = ()
    timing: str = ""
    change_letter: str = "categorisation"
    # proposed_on = "MM-DD" and year = "current" | "next" (the year the proposal is for)
    proposed_on: tuple[int, int] = (10, 1)
    year_rule: str = "current"

    def __bool__(self) -> bool:
        return bool(self.levels)

    def level(self, key: str) -> CategoryLevel | None:
        return next((lv for lv in self.levels if lv.key == key), None)

    def keys(self) -> list[str]:
        return [lv.key for lv in self.levels]


@dataclass(frozen=True)
class SchoolPicture:
    """What the scheme reads about one school on one day: plain data, built by concerns.casework.lacategories."""

    as_of: date
    categories: frozenset[str] = frozenset()  # the Ofsted categories of its open cases (SM, RSI, RI, NA, LA)
    pathways: frozenset[str] = frozenset()  # pathways of its open cases
    stuck: bool = False
    graded: tuple[tuple[date, str], ...] = ()  # (published, level) of its graded inspections, latest first
    closed: tuple[tuple[str, date], ...] = ()  # (pathway, closed on) of its closed cases
    events: frozenset[str] = frozenset()  # events given on its open cases
    facts: tuple[tuple[str, date, date | None], ...] = ()  # (fact, starts, ends) recorded by officers


def parse_condition(text: str, facts: Mapping[str, str], where: str) -> Condition:
    if not isinstance(text, str) or not text.strip():
        raise CategoriesError(f"{where}: a condition must be words, not {text!r}")
    terms = []
    for part in text.split(" and "):
        match = _TERM.match(part.strip())
        if not match:
            raise CategoriesError(f"{where}: cannot read condition {text!r} (e.g. \"latest:ri\", "
                                  "\"inspected:ri within 4 years\", \"fact:new_head\")")
        kind, value, count, unit = match["kind"], match["value"], match["count"], match["unit"]
        if match["negated"] and kind == "default":
            raise CategoriesError(f"{where}: 'not default' says nothing, in {text!r}")
        if kind in WORDS:
            if value or count:
                raise CategoriesError(f"{where}: condition {kind!r} takes no value, in {text!r}")
        elif kind not in VALUED:
            raise CategoriesError(f"{where}: unknown condition {part.strip()!r} (conditions: "
                                  f"{', '.join([*WORDS, *VALUED])})")
        elif not value:
            raise CategoriesError(f"{where}: condition {kind!r} needs a value, e.g. {kind}:..., in {text!r}")
        allowed = {"category": OFSTED_CATEGORIES, "latest": INSPECTION_LEVELS, "inspected": INSPECTION_LEVELS,
                   "pathway": PATHWAY_WORDS, "left": [*PATHWAY_WORDS, "any"], "fact": facts}.get(kind)
        if allowed is not None and value not in allowed:
            what = "facts in [categories.facts]" if kind == "fact" else "values"
            raise CategoriesError(f"{where}: {kind}:{value} is unknown in {text!r} ({what}: {', '.join(allowed)})")
        if count and kind not in MAY_HAVE_WINDOW:
            raise CategoriesError(f"{where}: {kind} takes no 'within' period, in {text!r}")
        if kind in NEEDS_WINDOW and not count:
            raise CategoriesError(f"{where}: {kind}:{value} needs a period, e.g. \"{kind}:{value} within 4 years\"")
        months = None if not count else int(count) * (12 if unit.startswith("year") else 1)
        terms.append(Term(kind, value, months, bool(match["negated"])))
    return Condition(text, tuple(terms))


# --- the [categories] section, checked by models (concerns.domain.tomlcheck) ------------------------------

# Not law: any leap year, to check that a day of the year (MM-DD) exists in some year.
ANY_LEAP_YEAR = 2024


def _day_of_year(value: str) -> str:
    try:
        month, day = (int(part) for part in value.split("-"))
        date(ANY_LEAP_YEAR, month, day)  # 02-29 is a date some years
    except ValueError:
        raise Refusal("", value, "is not a day of the year as MM-DD") from None
    return value


class LevelTable(Strict):
    """One `[[categories.levels]]` table, best level first (its conditions are read by parse_condition)."""

    key: Text
    label: Text
    causing_concern: bool = False
    when: list[Text] = []
    support: str = ""


class ModifierTable(Strict):
    """One `[[categories.modifiers]]` table: a condition that moves a school `shift` levels."""

    when: Text
    shift: Annotated[int, said("must be a whole number of levels")] = 1
    reason: Text

    @field_validator("shift")
    @classmethod
    def _moves(cls, shift: int) -> int:
        if shift == 0:
            raise Refusal("", shift, "moves no level: make it 1 (a level worse) or -1 (a level better)")
        return shift


class CategoriesTable(Strict):
    """The `[categories]` section of a policy file."""

    facts: Annotated[dict[str, Text], said("must map each fact to its name in words")] = {}
    levels: list[LevelTable] = []
    modifiers: list[ModifierTable] = []
    timing: str = ""
    change_letter: Text = "categorisation"
    proposed_on: Annotated[str, said("is not a day of the year as MM-DD"), AfterValidator(_day_of_year)] = "10-01"
    year: Annotated[Literal["current", "next"], said("is not current or next")] = "current"


def _label(loc: tuple[Any, ...]) -> str:
    """`categories.levels[1]` for the first level: levels and modifiers are counted from 1, as people count."""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] in ("levels", "modifiers") and isinstance(parts[1], int):
        parts[1] += 1
    return dotted(("categories", *parts))


def parse_categories(table: Mapping[str, Any], where: str, problems: list[str] | None = None) -> CategoryScheme:
    """The scheme in a policy's `[categories]` table. With `problems` given, every problem is appended to
    it (one line each, naming the file, the setting and the value) and the scheme returned without the bad
    parts (no levels when its levels or modifiers are wrong); without, the first raises CategoriesError."""
    lines: list[str] = []
    values, found = validate_fields(CategoriesTable, table, unknown="is not a setting of [categories] "
                                    "(settings: {keys})", label=_label)
    for p in found:
        if p.missing:
            parent, _, key = p.key.rpartition(".")
            lines.append(f"{where}: {parent}: missing setting {key!r}")
        else:
            lines.append(f"{where}: {p.key}: {p.sentence()}")
    file = {**{n: f.get_default() for n, f in CategoriesTable.model_fields.items()}, **values}
    facts: dict[str, str] = file["facts"]
    levels: list[CategoryLevel] = []
    modifiers: list[Modifier] = []
    try:
        if not found:
            for n, c in enumerate(file["levels"], start=1):
                place = f"{where}: categories.levels[{n}] ({c.key})"
                levels.append(CategoryLevel(c.key, c.label, c.causing_concern, tuple(c.when), c.support,
                                            tuple(parse_condition(w, facts, place) for w in c.when)))
            keys = [lv.key for lv in levels]
            if len(set(keys)) != len(keys):
                raise CategoriesError(f"{where}: categories.levels: a level key is used twice ({', '.join(keys)})")
            if levels and not any("default" in lv.when for lv in levels):
                raise CategoriesError(f"{where}: one category level needs when = [..., \"default\"] for schools "
                                      "no other condition fits")
            for n, m in enumerate(file["modifiers"], start=1):
                place = f"{where}: categories.modifiers[{n}]"
                modifiers.append(Modifier(parse_condition(m.when, facts, place), m.shift, m.reason))
    except CategoriesError as exc:
        lines.append(str(exc))
    if lines and problems is None:
        raise CategoriesError(lines[0])
    if problems is not None:
        problems.extend(lines)
    good = not lines
    month, day = (int(part) for part in file["proposed_on"].split("-"))
    return CategoryScheme(tuple(levels) if good else (), dict(facts), tuple(modifiers) if good else (),
                          file["timing"], file["change_letter"], (month, day), file["year"])


def day(value: date) -> str:
    return ukdate(value, weekday=False)


def _in_window(day: date, term: Term, as_of: date) -> bool:
    start = term.window_start(as_of)
    return day <= as_of and (start is None or day > start)


def holds(term: Term, school: SchoolPicture) -> str | None:
    """The reason in words when `term` holds for `school`, else None."""
    kind, value, as_of = term.kind, term.value, school.as_of
    latest = school.graded[0] if school.graded else None
    if kind == "default":
        return "No other level's conditions apply."
    if kind == "stuck":
        return "Its two most recent graded inspections were both below good." if school.stuck else None
    if kind == "open_case":
        return "The local authority has an open case with the school." if school.pathways else None
    if kind == "category":
        return IN_CATEGORY[value] if value in school.categories else None
    if kind == "pathway":
        return f"It is on the pathway for {PATHWAY_WORDS[value]}." if value in school.pathways else None
    if kind == "latest":
        if latest and latest[1] == value:
            return f"Its latest graded Ofsted inspection, published {day(latest[0])}, judged it {JUDGED[value]}."
        return None
    if kind == "inspected":
        hit = next((p for p, level in school.graded if level == value and _in_window(p, term, as_of)), None)
        if hit:
            return f"An Ofsted inspection published {day(hit)} judged it {JUDGED[value]}."
        return None
    if kind == "left":
        hit = next((on for pathway, on in school.closed
                    if value in ("any", pathway) and _in_window(on, term, as_of)), None)
        if hit:
            return f"It left a category of concern on {day(hit)}."
        return None
    if kind == "event":
        return f"A {value.replace('_', ' ')} has been given." if value in school.events else None
    if kind == "fact":
        for fact, starts, ends in school.facts:
            if fact == value and starts <= as_of and (ends is None or ends >= as_of) and \
                    (term.within_months is None or _in_window(starts, term, as_of)):
                return f"Recorded from {day(starts)}: {value.replace('_', ' ')}."
        return None
    raise CategoriesError(f"unknown condition {kind!r}")


def reasons_for(condition: Condition, school: SchoolPicture) -> list[str] | None:
    """The reasons when every term of `condition` holds, else None. A negated term that holds (its fact is
    absent) is a condition of the level, not a reason: it adds no line."""
    reasons = []
    for term in condition.terms:
        reason = holds(term, school)
        if term.negated:
            if reason is not None:
                return None
            continue
        if reason is None:
            return None
        reasons.append(reason)
    return reasons


def propose(scheme: CategoryScheme, school: SchoolPicture, fact_names: Mapping[str, str] | None = None
            ) -> tuple[CategoryLevel, list[str]]:
    """The level the scheme proposes for `school` and the reasons, in words.

    The worst level whose conditions the school meets (a level's `default` counts only when no other level
    fits), then each modifier that holds moves it, capped at the scheme's best and worst levels.
    """
    names = {**scheme.facts, **(fact_names or {})}
    chosen, reasons = None, []
    for index in range(len(scheme.levels) - 1, -1, -1):
        for condition in scheme.levels[index].conditions:
            if condition.text == "default":
                continue
            found = reasons_for(condition, school)
            if found is not None:
                chosen, reasons = index, found
                break
        if chosen is not None:
            break
    if chosen is None:
        chosen = next(i for i, lv in enumerate(scheme.levels) if "default" in lv.when)
        latest = school.graded[0] if school.graded else None
        reasons = [f"Its latest graded Ofsted inspection, published {day(latest[0])}, judged it "
                   f"{JUDGED[latest[1]]}." if latest else "It has no graded Ofsted inspection on record."]
    for modifier in scheme.modifiers:
        found = reasons_for(modifier.condition, school)
        if found is not None:
            moved = max(0, min(len(scheme.levels) - 1, chosen + modifier.shift))
            if moved != chosen:
                chosen = moved
                reasons.append(modifier.reason)
    return scheme.levels[chosen], [_with_fact_names(r, names) for r in reasons]


def _with_fact_names(reason: str, names: Mapping[str, str]) -> str:
    for key, name in names.items():
        reason = reason.replace(f": {key.replace('_', ' ')}.", f": {name.rstrip('.')}.")
    return reason


def scheme_in_words(scheme: CategoryScheme) -> str:
    return " / ".join(lv.label for lv in scheme.levels)


def level_keys(levels: Sequence[CategoryLevel]) -> str:
    return ", ".join(lv.key for lv in levels)
