"""The letter form: which fields each letter kind takes (from the letter specs), how the officer's
fields become the details `concerns.notify.drafting.draft_letter` takes, and the dates read from the case.

Every detail is a field in words: dates as Day, Month and Year (the GOV.UK pattern), roles chosen from the
authority's own, and structured details (an action plan's priorities, a roll, other parties) as rows of
labelled fields, a few blank rows and an "Add another" button. The details the form gives are exactly what
a details file (TOML) for `concerns letter draft` gives for the same letter: tables with the same keys,
dates as dates, numbers as numbers, empty rows and empty optional fields left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from concerns.app.web.desk import DateError, date_parts
from concerns.app.web.formdates import PARTS, TIME_PARTS, parts_of, time_parts, typed_date, typed_time
from concerns.domain.clock import Clock, ImplausibleDate, check_date
from concerns.domain.letterspecs import LETTER_KINDS, Detail
from concerns.domain.policy import FUNCTION_OF_PRODUCT_ROLE, Policy
from concerns.domain.untrusted import EMAIL
from concerns.notify.drafting import kind_pathways, refusal_now


def desk_kinds() -> list[str]:
    """The letters the desk offers (a letter file's `desk = false` keeps it off, e.g. categorisation,
    which belongs with the categorisation work)."""
    return [k for k, spec in LETTER_KINDS.items() if spec.desk]


class FormError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


# --- rows of labelled fields ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One labelled field of a row: `kind` text | lines (one per line, a list) | count (a whole number) |
    number (whole or with decimals) | counts (three whole numbers: this year and the next two) | date |
    email (a plain address: the letter may be sent to it)."""

    key: str
    label: str
    kind: str = "text"
    required: bool = False
    hint: str = ""


@dataclass(frozen=True)
class Rows:
    """How a structured detail is typed: rows of columns. `noun` names each row ("Priority 2"); `shape` says
    what the rows give: records (a list of tables), items (a text, or a table of the text and its date),
    parties (a list of tables), mapping (one row, one table); `nested` a list inside each row (a priority's
    actions), under its key."""

    noun: str
    columns: tuple[Column, ...]
    shape: str = "records"
    nested: tuple[str, Rows] | None = None
    blank: int = 2  # blank rows shown at first


COUNTS_HINT = "Pupils on roll: this year, next year and the year after"
ACTION = Rows("Action", (
    Column("action", "What will be done", required=True),
    Column("lead", "Who leads it", required=True),
    Column("timescale", "By when", required=True, hint="In words, for example by the end of the spring term"),
    Column("monitored_by", "Monitored by"),
    Column("monitoring", "How it is monitored"),
    Column("resources", "Resources"),
    Column("school_plan_link", "Link to the school's own plan"),
))
PARTY = Rows("Person", (
    Column("name", "Name", required=True),
    Column("role", "Role or title", required=True),
    Column("email", "E-mail address", kind="email", hint="If the letter is to be sent to them by e-mail"),
))
ITEM = Rows("Item", (Column("text", "What", required=True), Column("by", "Due by", kind="date")),
            shape="items", blank=3)
# The structured details of the product's letters, by detail name (their shapes are checked in
# concerns.output.letters: PriorityRow, ActionRow, AgendaItem and the roll tables).
STRUCTURED: dict[str, Rows] = {
    "priorities": Rows("Priority", (
        Column("issue", "The issue", required=True),
        Column("success_criteria", "Success criteria", kind="lines", required=True, hint="One per line"),
        Column("evaluation", "How it will be evaluated"),
    ), nested=("actions", ACTION), blank=1),
    "roll": Rows("The school's roll", (
        Column("net_capacity", "Net capacity", kind="count"),
        Column("projections", "Pupils on roll", kind="counts", required=True, hint=COUNTS_HINT),
    ), shape="mapping", blank=1),
    "nearby_schools": Rows("School", (
        Column("name", "School", required=True),
        Column("available", "Available places", kind="count", required=True),
        Column("projections", "Pupils on roll", kind="counts", required=True, hint=COUNTS_HINT),
    )),
    "time_allocation": Rows("Person", (
        Column("who", "Lead person", required=True),
        Column("activities", "Key activities", required=True),
        Column("days", "Days allotted", kind="number", required=True),
    )),
    "items": Rows("Agenda item", (
        Column("title", "Title", required=True),
        Column("lead", "Led by"),
        Column("note", "Note"),
    ), blank=3),
}
TYPE_ROWS = {"parties": PARTY, "items": ITEM}
MAX_ROWS = 20  # rows of one table (the form's fields stay well inside what the desk reads of a form)
YEARS = ("this year", "next year", "the year after")

# Hints in the officer's words where a letter file's own help (read by the command line) names keys or
# statutes in short, by letter kind and detail.
HINTS: dict[tuple[str, str], str] = {
    ("confirmation_of_concern", "next_steps"): "The next steps agreed, one to a row, each with the date it is "
                                               "due by if it has one",
    ("confirmation_of_concern", "review_cadence"): "How often progress review meetings happen: the letter says "
                                                   "the authority will convene progress review meetings and then "
                                                   "these words, for example each term, or at least three times "
                                                   "a year",
    ("confirmation_of_concern", "lead_officer_role"): "Leave it as it is for the officer whose role leads the "
                                                      "authority's work with schools causing concern",
    ("confirmation_of_concern", "first_review"): "The first progress review meeting: its date, and its time on "
                                                 "the 24-hour clock if you know it",
    ("statement_of_action", "due"): "The day the statement must reach His Majesty's Chief Inspector: 10 "
                                    "inspection working days after the report's publication, as the case counts "
                                    "them. Day, then month, then year.",
    ("warning_letter", "actions"): "The actions required, one to a row, each with the date it is due by if it "
                                   "has one",
    ("warning_notice", "minded_to"): "What the authority is minded to do if the notice is not complied with "
                                     "(section 60(4)(d)), one per line. A line that says only s63, s64, s65 or "
                                     "s66 is written out as that power",
    ("tpc_warning_notice", "minded_to"): "What the authority is minded to do if the notice is not complied "
                                         "with, one per line (section 63 does not apply after this notice). A "
                                         "line that says only s64, s65 or s66 is written out as that power",
    ("statement_of_action", "action_by"): "End of the period within which the authority proposes to take the "
                                          "action (Education Act 2005, section 15, requires it to be stated)",
    ("statement_of_action", "parent_arrangements"): "3. Arrangements to inform and consult parents and take "
                                                    "account of their views (Education Act 2005, section 15)",
    ("statement_of_action", "priorities"): "The action plan: each priority with the issue, how success will be "
                                           "judged, and its actions",
    ("statement_of_action", "roll"): "2. The school's net capacity and its pupils on roll this year and the "
                                     "next two",
    ("statement_of_action", "nearby_schools"): "2. Other schools nearby: their available places and pupils on "
                                               "roll this year and the next two",
    ("statement_of_action", "time_allocation"): "The action plan: who leads, their key activities and the days "
                                                "allotted",
    ("soc_meeting_agenda", "attendees"): "Leave the rows empty to invite the usual people: the chair, the "
                                         "headteacher, the lead officer and the chair of governors",
    ("soc_meeting_agenda", "items"): "Leave the rows empty for the usual agenda",
    ("soc_meeting_agenda", "chair_role"): "Leave it as it is for the head of the service",
}
TYPE_HINTS = {"lines": "One per line.", "date": "Day, then month, then year.",
              "datetime": "Day, month and year, then the time on the 24-hour clock.",
              "when": "Day, month and year; and the time on the 24-hour clock, if there is one."}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    hint: str
    kind: str  # date | datetime | when | text | lines | keys | choice | bool | role | rows
    required: bool
    choices: tuple[str, ...] = ()
    meanings: Mapping[str, str] | None = None  # what each choice says, in words
    rows: Rows | None = None


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _is_role(d: Detail) -> bool:
    # A text detail that names one of the authority's roles ("lead_officer_role", "chair_role").
    return d.kind == "text" and d.name.endswith("_role")


def roles_of(policy: Policy) -> dict[str, str]:
    """The authority's roles, key -> its title in the authority's words (the product's own when it has none)."""
    keys = list(policy.roles) or list(FUNCTION_OF_PRODUCT_ROLE)
    return {key: policy.title_of(key) for key in keys}


def fields_for(kind: str, roles: Mapping[str, str] | None = None) -> list[Field]:
    """The fields the form shows, in the letter file's order (a structured detail the desk has no rows for,
    an authority's own, is left to a details file)."""
    fields = []
    for d in LETTER_KINDS[kind].details:
        if d.case_only:
            continue  # taken from the case, never typed
        rows = STRUCTURED.get(d.name) if d.kind in ("records", "mapping") else TYPE_ROWS.get(d.kind)
        if d.kind in ("records", "mapping") and rows is None:
            continue
        form_kind = ("rows" if rows is not None else "role" if _is_role(d)
                     else {"paras": "lines", "texts": "lines"}.get(d.kind, d.kind))
        hint = HINTS.get((kind, d.name)) or d.doc[:1].upper() + d.doc[1:]
        if form_kind in TYPE_HINTS and (kind, d.name) not in HINTS:
            hint = f"{hint}. {TYPE_HINTS[form_kind]}"
        choices = tuple(roles or ()) if form_kind == "role" else d.choices
        meanings = dict(roles or {}) if form_kind == "role" else d.meanings
        fields.append(Field(d.name, _label(d.name), hint, form_kind, d.required, choices, meanings, rows))
    return fields


def kinds_now(session, school) -> list[str]:
    """The desk's letters the law (or the authority's procedure) allows for the school now."""
    return [k for k in desk_kinds() if refusal_now(session, school, k) is None]


# --- reading the form ----------------------------------------------------------------------------------


def _in_window(day: date | None, field: str, what: str, clock: Clock | None) -> date | None:
    """A detail's date in the window a date inside a letter may fall in (a typo such as 2062 for 2026 is
    refused here, naming the field, before the letter's own door refuses it naming the detail's key)."""
    if day is None or clock is None:
        return day
    try:
        return check_date(day, "detail", f"{what[:1].upper() + what[1:]}:", clock)
    except ImplausibleDate as exc:
        raise FormError(field, exc.plain) from None


def _date_field(form: Mapping[str, str], name: str, what: str, required: bool,
                clock: Clock | None = None) -> date | None:
    try:
        day, _ = typed_date(parts_of(form.get, name), form.get(name, "") or "", what, required)
    except DateError as exc:
        raise FormError(name, str(exc)) from None
    return _in_window(day, name, what, clock)


def letter_date(form: Mapping[str, str]) -> date:
    return _date_field(form, "on", "the date of the letter", required=True)


def _moment(form: Mapping[str, str], f: Field, clock: Clock | None) -> date | datetime | None:
    """A date (and for a date and time, its hour and minute): a datetime when a time is given."""
    what = f.label.lower()
    day = _date_field(form, f.name, what, f.required, clock)
    try:
        at = typed_time(parts_of(form.get, f.name, TIME_PARTS), what, f.kind == "datetime" and day is not None)
    except DateError as exc:
        raise FormError(f"{f.name}-hour", str(exc)) from None
    if at is not None and day is None:
        raise FormError(f.name, f"{what[:1].upper() + what[1:]}: enter the day, month and year as well as the time.")
    return datetime.combine(day, at) if at is not None else day


def row_count(form: Mapping[str, str], prefix: str, rows: Rows) -> int:
    """How many rows a table shows: its blank rows, or as many as the form last had (one more for "Add
    another"), at most MAX_ROWS."""
    if rows.shape == "mapping":
        return 1
    shown = form.get(f"{prefix}-rows", "")
    count = int(shown) if shown.isascii() and shown.isdigit() else rows.blank
    if form.get("add") == prefix:
        count += 1
    return max(1, min(count, MAX_ROWS))


def _number(text: str, where: str, field: str, whole: bool) -> int | float:
    plain = text.replace(",", "")
    if plain.isascii() and plain.isdigit() and len(plain) <= 9:
        return int(plain)
    if not whole:
        head, dot, tail = plain.partition(".")
        if dot and head.isascii() and tail.isascii() and (head or "0").isdigit() and tail.isdigit() and len(plain) <= 9:
            return float(plain)
    kind = "a whole number" if whole else "a number"
    raise FormError(field, f"{where}: “{text[:40]}” is not {kind}.")


def _row(form: Mapping[str, str], prefix: str, rows: Rows, where: str, clock: Clock | None) -> object | None:
    """One row as the details file has it, or None when every field of it is empty."""
    got: dict = {}
    typed = False
    for c in rows.columns:
        name = f"{prefix}-{c.key}"
        said = f"{where}, {c.label[:1].lower() + c.label[1:]}"
        if c.kind == "date":
            parts = parts_of(form.get, name, PARTS)
            typed = typed or any(parts.values())
            try:
                day, _ = typed_date(parts, "", said, required=False)
            except DateError as exc:
                raise FormError(name, str(exc)) from None
            if day is not None:
                got[c.key] = _in_window(day, name, said, clock)
        elif c.kind == "counts":
            texts = [(form.get(f"{name}-{i}") or "").strip() for i in range(len(YEARS))]
            typed = typed or any(texts)
            if any(texts):
                empty = next((i for i, t in enumerate(texts) if not t), None)
                if empty is not None:
                    raise FormError(f"{name}-{empty}", f"{said}: enter the number for {YEARS[empty]}.")
                got[c.key] = [_number(t, f"{said}, {YEARS[i]}", f"{name}-{i}", True) for i, t in enumerate(texts)]
        else:
            text = (form.get(name) or "").strip()
            typed = typed or bool(text)
            if not text:
                continue
            if c.kind == "lines":
                got[c.key] = [line.strip() for line in text.splitlines() if line.strip()]
            elif c.kind == "email" and not EMAIL.fullmatch(text):
                raise FormError(name, f"{said}: “{text[:60]}” is not an e-mail address.")
            elif c.kind in ("count", "number"):
                got[c.key] = _number(text, said, name, c.kind == "count")
            else:
                got[c.key] = text
    nested = []
    if rows.nested is not None:
        key, inner = rows.nested
        nested = _rows(form, f"{prefix}-{key}", inner, f"{where}, {inner.noun.lower()}", clock)
    if not typed and not nested:
        return None
    missing = next((c for c in rows.columns if c.required and c.key not in got), None)
    if missing is not None:
        field = f"{prefix}-{missing.key}" + ("-0" if missing.kind == "counts" else "")
        raise FormError(field, f"{where}: enter {missing.label[:1].lower() + missing.label[1:]}.")
    if rows.nested is not None:
        key, inner = rows.nested
        if not nested:
            raise FormError(f"{prefix}-{key}-0-{inner.columns[0].key}",
                            f"{where}: enter at least one {inner.noun.lower()}.")
        got[key] = nested
    if rows.shape == "items" and set(got) == {"text"}:
        return got["text"]  # as a details file writes an item with no date
    return got


def _rows(form: Mapping[str, str], prefix: str, rows: Rows, noun: str, clock: Clock | None) -> list:
    found = []
    for i in range(row_count(form, prefix, rows)):
        where = noun if rows.shape == "mapping" else f"{noun[:1].upper() + noun[1:]} {i + 1}"
        row = _row(form, f"{prefix}-{i}", rows, where, clock)
        if row is not None:
            found.append(row)
    return found


# A form kept with a letter drafted before the letter forms had a field for each detail: it had one box of
# structured details, always sent (empty or not), under this name.
OLD_FORM_FIELD = "more"


def details_from_form(kind: str, form: Mapping[str, str], keys: Mapping[str, list[str]],
                      roles: Mapping[str, str] | None = None, clock: Clock | None = None) -> dict:
    """The details for draft_letter from the form's fields. Raises FormError naming the first bad field (with
    `clock`, a date outside the window of a date inside a letter too)."""
    fields = fields_for(kind, roles)
    details: dict = {}
    for f in fields:
        if f.kind == "keys":
            chosen = [k for k in keys.get(f.name, []) if k]
            if chosen:
                details[f.name] = chosen
            continue
        if f.kind in ("date", "datetime", "when"):
            moment = (_date_field(form, f.name, f.label.lower(), f.required, clock) if f.kind == "date"
                      else _moment(form, f, clock))
            if moment is not None:
                details[f.name] = moment
            continue
        if f.kind == "rows":
            found = _rows(form, f.name, f.rows, f.rows.noun, clock)
            if found:
                details[f.name] = found[0] if f.rows.shape == "mapping" else found
            continue
        text = (form.get(f.name) or "").strip()
        if f.kind == "bool":
            if text in ("yes", "no"):
                details[f.name] = text == "yes"
            continue
        if not text:
            continue
        if f.kind in ("role", "choice") and text not in f.choices:
            what = "one of the authority's roles" if f.kind == "role" else "one of the choices"
            raise FormError(f.name, f"{f.label}: “{text[:40]}” is not {what}: choose from the list.")
        if f.kind == "lines":
            details[f.name] = [line.strip() for line in text.splitlines() if line.strip()]
        else:
            details[f.name] = text
    missing = [f for f in fields if f.required and f.name not in details]
    if missing:
        f = missing[0]
        target = f"{f.name}-0-{f.rows.columns[0].key}" if f.kind == "rows" and f.rows.shape != "mapping" else f.name
        raise FormError(target, f"{f.label}: this letter needs it")
    shown = {f.name for f in fields}
    untyped = [d for d in LETTER_KINDS[kind].details
               if d.required and not d.case_only and d.name not in shown and d.name not in details]
    if untyped:
        raise FormError("", f"{_label(untyped[0].name)}: this letter needs it, and the desk has no fields for it: "
                            "ask the service's administrator to draft it from a details file")
    return details


# --- showing the form ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownRow:
    """One row of a table as the template draws it: its number, the prefix of its fields' names, and the
    rows nested in it (a priority's actions)."""

    number: int
    prefix: str
    nested: ShownTable | None = None


@dataclass(frozen=True)
class ShownTable:
    prefix: str
    rows: Rows
    shown: tuple[ShownRow, ...]
    more: bool  # "Add another" is offered (below MAX_ROWS)


def table(form: Mapping[str, str], prefix: str, rows: Rows) -> ShownTable:
    count = row_count(form, prefix, rows)
    shown = []
    for i in range(count):
        row_prefix = f"{prefix}-{i}"
        inner = table(form, f"{row_prefix}-{rows.nested[0]}", rows.nested[1]) if rows.nested else None
        shown.append(ShownRow(i + 1, row_prefix, inner))
    return ShownTable(prefix, rows, tuple(shown), rows.shape != "mapping" and count < MAX_ROWS)


def shown_values(fields: list[Field], form: Mapping[str, str]) -> dict[str, str]:
    """The form's values with every date field as its Day, Month and Year (and Hour, Minute) fields, from
    what was typed, or from a date given whole (the case's dates, filled in)."""
    values = dict(form)

    def split(name: str, whole: str) -> None:
        if any(values.get(f"{name}_{p}") for p in PARTS) or not whole:
            return
        try:
            moment = datetime.fromisoformat(whole)
        except ValueError:
            return
        values.update({f"{name}_{p}": v for p, v in date_parts(moment.date()).items()})
        if len(whole) > 10:
            values.update({f"{name}_{p}": v for p, v in time_parts(moment).items()})

    split("on", form.get("on", ""))
    for f in fields:
        if f.kind in ("date", "datetime", "when"):
            split(f.name, form.get(f.name, ""))
    return values


def hidden_fields(keys: Mapping[str, list[str]], skip: Callable[[str], bool]) -> list[tuple[str, str]]:
    """What the preview carries back to the save or the form: every field as typed, but for `skip`."""
    return [(k, v) for k, vs in keys.items() if not skip(k) for v in vs]


# --- the case's dates ----------------------------------------------------------------------------------


def _last(events: list[dict], name: str) -> dict | None:
    found = [e for e in events if e["event"] == name]
    return found[-1] if found else None


def prefill(kind: str, school: dict, inspection: dict | None) -> dict[str, str]:
    """Dates (and the category) the case already knows, as the form's starting values."""
    pathways = kind_pathways(kind)
    cases = [c for c in school["cases"] if not c["closed"] and (pathways is None or c["pathway"] in pathways)]
    if not cases:
        return {}
    case = cases[0]
    events = case["events"]
    values: dict[str, str] = {}

    def put(field: str, value: str | None) -> None:
        if value:
            values[field] = value

    if kind == "confirmation_of_concern":
        put("discussed_on", (_last(events, "raise_concern") or {}).get("on"))
    elif kind == "warning_letter":
        put("concern_confirmed_on", (_last(events, "confirm_concern") or {}).get("on"))
        put("judged_on", (_last(events, "progress_meeting") or {}).get("on"))
    elif kind == "warning_notice":
        notice = _last(events, "warning_notice") or {}
        put("given_on", notice.get("on"))
    elif kind == "removal_from_concern":
        put("decided_on", (_last(events, "remove_concern") or {}).get("on"))
    elif kind == "statement_of_action":
        put("category", case["pathway"])
        put("published", inspection["published"] if inspection else case["opened"])
        put("inspection_date", inspection.get("inspected") if inspection else None)
        soa = [d for d in case["deadlines"] if d["kind"] == "statement_of_action"]
        put("due", soa[-1]["due"] if soa else None)
        put("academy_order_on", (_last(events, "academy_order_made") or {}).get("on"))
    return values
