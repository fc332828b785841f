"""One way to make a Jinja environment, for every template the product renders: the letters, the mails and
the termly report, the panel's agenda and the officers' desk.

Every environment is strict (an unknown name is an error, never an empty string), escapes HTML (a school's
name or an officer's note is data; text and Markdown templates are left as written), and has the same
filters: dates, times and lists written the British way by concerns.domain.formatting, never by strftime,
so the words do not depend on the process locale. `ukdate` takes a date or a datetime everywhere; a page
given a date as ISO 8601 text turns it into a date first with `isodate`: `{{ row.due | isodate | ukdate }}`.

A caller adds the filters and globals only it has (the mails' wording, the desk's labels); it cannot
replace one of the common ones, so `ukdate` means the same in a letter, a mail and a page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from concerns.domain.formatting import (
    academic_year,
    address_lines,
    join_and,
    ukdate,
    uktime,
    ukwhen,
    with_deadline,
)
from concerns.domain.letterparties import party_line
from concerns.domain.rules import DEFAULT_RULES


def isodate(value: str) -> date:
    """A date written in ISO 8601, '2026-11-18' (or a timestamp, '2026-11-18T09:30:00'), as a date."""
    if not isinstance(value, str):
        raise TypeError(f"isodate needs ISO 8601 text, got {type(value).__name__}: {value!r}")
    return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value).date()


FILTERS: Mapping[str, Callable[..., Any]] = {
    "ukdate": ukdate,
    "uktime": uktime,
    "ukwhen": ukwhen,
    "isodate": isodate,
    "join_and": join_and,
    "lines": address_lines,
    "with_deadline": with_deadline,
    "party_line": party_line,
}
# Dates of law in a letter's wording come from the rule book: {{ rule_starts("<rule id>") | ukdate(false) }}.
GLOBALS: Mapping[str, Any] = {"academic_year": academic_year, "rule_starts": DEFAULT_RULES.starts}


def environment(*folders: Path, filters: Mapping[str, Callable[..., Any]] | None = None,
                globals: Mapping[str, Any] | None = None) -> Environment:
    """An environment over the templates in `folders`, searched in order (none: templates from strings
    only), with the common filters and globals and the caller's own."""
    filters, globals = dict(filters or {}), dict(globals or {})
    clash = sorted((filters.keys() & FILTERS.keys()) | (globals.keys() & GLOBALS.keys()))
    if clash:
        raise ValueError(f"Jinja environment: {', '.join(clash)} is one of the common filters and globals")
    env = Environment(
        loader=FileSystemLoader(folders) if folders else None,
        # HTML is escaped (templates named *.html or *.html.j2, and templates from strings, which are all
        # HTML); the mails' text and the report's Markdown are not.
        autoescape=select_autoescape(["html", "html.j2"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS, **filters)
    env.globals.update(GLOBALS, **globals)
    return env


__all__ = ["FILTERS", "GLOBALS", "environment", "isodate"]
