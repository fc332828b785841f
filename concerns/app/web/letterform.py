"""The letter form: which fields each letter kind takes (from the letter specs), how the officer's
text becomes the details `concerns.notify.drafting.draft_letter` takes, and the dates read from the case.

Simple details get a field each; structured ones (an action plan's records, a roll mapping, extra
parties) go in one TOML box, in the same form as a `concerns letter draft --details` file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from concerns.domain.letterspecs import LETTER_KINDS, Detail
from concerns.domain.tomlcheck import load_toml
from concerns.notify.drafting import kind_pathways, refusal_now


def desk_kinds() -> list[str]:
    """The letters the desk offers (a letter file's `desk = false` keeps it off, e.g. categorisation,
    which belongs with the categorisation work)."""
    return [k for k, spec in LETTER_KINDS.items() if spec.desk]

TOML_KINDS = {"records", "mapping", "parties"}
LINE_KINDS = {"paras", "texts", "minded", "items"}


class FormError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    hint: str
    kind: str  # date | datetime | when | text | lines | items | keys | choice | bool
    required: bool
    choices: tuple[str, ...] = ()


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def fields_for(kind: str) -> tuple[list[Field], list[Detail]]:
    """(the fields the form shows, the structured details that go in the TOML box)."""
    spec = LETTER_KINDS[kind]
    fields, structured = [], []
    for d in spec.details:
        if d.case_only:
            continue  # taken from the case, never typed
        if d.kind in TOML_KINDS:
            structured.append(d)
            continue
        form_kind = {"paras": "lines", "texts": "lines", "minded": "lines"}.get(d.kind, d.kind)
        hint = d.doc[:1].upper() + d.doc[1:]
        if d.kind in LINE_KINDS and d.kind != "items":
            hint += ". One per line."
        if d.kind == "items":
            hint += ". One per line; to give a date, end the line with | and the date, e.g. 'Appoint a clerk | 2027-01-15'."
        if d.kind == "when":
            hint += ". A date (2026-12-01) or a date and time (2026-12-01 10:00)."
        fields.append(Field(d.name, _label(d.name), hint, form_kind, d.required, d.choices))
    return fields, structured


def kinds_now(session, school) -> list[str]:
    """The desk's letters the law (or the authority's procedure) allows for the school now."""
    return [k for k in desk_kinds() if refusal_now(session, school, k) is None]


def _date(field: str, label: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FormError(field, f"{label}: {text!r} is not a date (use YYYY-MM-DD, e.g. 2026-12-01)") from None


def _datetime(field: str, label: str, text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise FormError(field, f"{label}: {text!r} is not a date and time (use 2026-12-01 10:00)") from None


def letter_date(text: str) -> date:
    if not text:
        raise FormError("on", "Date of the letter: enter the date of the letter")
    return _date("on", "Date of the letter", text)


def details_from_form(kind: str, form: dict[str, str], keys: dict[str, list[str]]) -> dict:
    """The details for draft_letter from the form's fields. Raises FormError naming the first bad field."""
    fields, structured = fields_for(kind)
    details: dict = {}
    for f in fields:
        text = (form.get(f.name) or "").strip()
        if f.kind == "keys":
            chosen = [k for k in keys.get(f.name, []) if k]
            if chosen:
                details[f.name] = chosen
            continue
        if f.kind == "bool":
            if text in ("yes", "no"):
                details[f.name] = text == "yes"
            continue
        if not text:
            continue
        if f.kind == "date":
            details[f.name] = _date(f.name, f.label, text)
        elif f.kind == "datetime":
            details[f.name] = _datetime(f.name, f.label, text)
        elif f.kind == "when":
            details[f.name] = (_datetime(f.name, f.label, text) if len(text) > 10
                               else _date(f.name, f.label, text))
        elif f.kind == "lines":
            details[f.name] = [line.strip() for line in text.splitlines() if line.strip()]
        elif f.kind == "items":
            items = []
            for line in (x.strip() for x in text.splitlines()):
                if not line:
                    continue
                words, sep, by = line.rpartition("|")
                if sep and words.strip():
                    items.append({"text": words.strip(), "by": _date(f.name, f.label, by.strip())})
                else:
                    items.append(line)
            details[f.name] = items
        else:
            details[f.name] = text
    extra = (form.get("more") or "").strip()
    if extra:
        try:
            more = load_toml(extra, "More details (TOML)")
        except ValueError as exc:  # not TOML, or nested too deep: one line, naming the box
            raise FormError("more", str(exc)) from None
        clash = sorted(set(more) & set(details))
        if clash:
            raise FormError("more", f"More details (TOML) repeats {', '.join(clash)}, which has a field of its own")
        details.update(more)
    missing = [f for f in fields if f.required and f.name not in details]
    if missing:
        f = missing[0]
        raise FormError(f.name, f"{f.label}: this letter needs it")
    missing_structured = [d.name for d in structured if d.required and d.name not in details]
    if missing_structured:
        raise FormError("more", f"More details (TOML): this letter needs {', '.join(missing_structured)}")
    return details


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
