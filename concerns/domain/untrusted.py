"""Text that comes from people and files: checked on the way in, made harmless on the way out.

What an officer types, or a CSV brings, ends up in letters, e-mails, file names, reports and on other
officers' terminals. So on the way in URNs are ASCII digits, e-mail addresses are plain addresses, and
names and notes hold no control characters; on the way out, whatever is stored (including rows
written before these checks existed) is shown as text and never acts on the terminal.

Control characters: every character of Unicode category Cc (C0, DEL and C1: escape sequences, bell,
backspace, carriage return) plus the bidirectional overrides and isolates that make text display in a
different order from the one it is stored in (U+202A-U+202E, U+2066-U+2069; "Trojan Source",
CVE-2021-42574). Notes may hold newlines and tabs, since an officer's note can be a paragraph or two
(Windows line ends are accepted and stored as "\\n"); names never.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from datetime import date, datetime

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
NOTE_WHITESPACE = frozenset("\n\t")

MAX_NAME = 200
MAX_NOTE = 10_000
MAX_DETAIL = 10_000  # one text of a letter's details (a paragraph, an item)
MAX_DETAILS = 2_000  # texts and dates in one letter's details, all told
MAX_DEPTH = 8
# A row id in a URL or an argument: ASCII digits only (not '²', which isdigit() accepts and int() refuses,
# nor '١', which int() reads as 1), and no more than a 64-bit integer column holds.
ID = re.compile(r"[0-9]{1,18}")

# [0-9], not \d: \d accepts any Unicode digit ('１２３４５６'). Matched with fullmatch, never `$`, which
# also matches before a trailing newline.
URN = re.compile(r"[0-9]{6,7}")
# An address as written on an envelope (RFC 5322 dot-atom local part and domain, no quoted strings, no
# comments, no IP literals): what a school or an officer's mailbox actually looks like.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+", re.ASCII)


class BadInput(ValueError):
    """Refused text, with a one-line reason that names it."""


class BadSetting(BadInput):
    """A setting from the environment that cannot be used: the message names the setting and its value
    (a secret in it masked), on one line."""


# Category Cc is exactly U+0000-U+001F and U+007F-U+009F; with the bidi controls, one class a regex
# scans at C speed (an import checks every text of 22,000 rows).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROLS_BUT_WHITESPACE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS


def _first_control(text: str, allowed: frozenset[str] = frozenset()) -> str | None:
    if not allowed:
        found = _CONTROLS.search(text)
        return found[0] if found else None
    if allowed == NOTE_WHITESPACE:
        found = _CONTROLS_BUT_WHITESPACE.search(text)
        return found[0] if found else None
    return next((ch for ch in text if is_control(ch) and ch not in allowed), None)


def _refuse_controls(text: str, what: str, allowed: frozenset[str] = frozenset()) -> None:
    bad = _first_control(text, allowed)
    if bad is not None:
        raise BadInput(f"{what} {text!r} contains a control character (U+{ord(bad):04X}); type it as plain text")


# --- on the way in ------------------------------------------------------------------------------------


def check_urn_text(text: str) -> str:
    urn = text.strip()
    if not URN.fullmatch(urn):
        raise BadInput(f"URN {text!r} is not a URN (6 or 7 digits 0-9)")
    return urn


def parse_id(text: str, what: str = "id") -> int:
    """A row id: 1 to 18 ASCII digits, nothing else (no sign, no spaces, no other script's digits)."""
    if not ID.fullmatch(text or ""):
        raise BadInput(f"{what} {printable(text[:40])!r} is not a number")
    return int(text)


def check_line(text: str, what: str, limit: int = MAX_NAME) -> str:
    """A one-line value of bounded length: no control characters (no line breaks), at most `limit`."""
    _refuse_controls(text, what)
    if len(text) > limit:
        raise BadInput(f"{what} {text[:40]!r}... is longer than {limit} characters")
    return text


def check_number(text: str, what: str, *, low: float, high: float) -> float:
    """A finite number from `low` to `high` (a setting): not 'nan', not 'inf', not out of range."""
    try:
        value = float(text)
    except ValueError:
        raise BadSetting(f"{what}: {printable(text)!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise BadSetting(f"{what}: {printable(text)!r} must be a number from {low:g} to {high:g}")
    return value


def check_details(details: object, what: str, check_day=None) -> object:
    """A letter's details (from the desk's form, a TOML file or the TOML box): every text without control
    characters other than newlines and tabs and at most MAX_DETAIL long, every key a plain line, every date
    passed to `check_day(day, name)` (a plausibility window, concerns.domain.clock), nesting and size
    bounded. Returns the details unchanged; raises BadInput naming the first bad value."""
    count = 0

    def walk(value: object, name: str, depth: int) -> None:
        nonlocal count
        count += 1
        if depth > MAX_DEPTH or count > MAX_DETAILS:
            raise BadInput(f"{what} are too large or nested too deep (at {name})")
        if isinstance(value, str):
            text = value.replace("\r\n", "\n")
            _refuse_controls(text, f"{what} {name}", NOTE_WHITESPACE)
            if len(text) > MAX_DETAIL:
                raise BadInput(f"{what} {name} is longer than {MAX_DETAIL} characters ({len(text)})")
        elif isinstance(value, date):
            if check_day is not None:
                # A date and time (a meeting's start, say) is checked by its day.
                check_day(value.date() if isinstance(value, datetime) else value, f"{what} {name}")
        elif isinstance(value, dict):
            for key, inner in value.items():
                check_line(str(key), f"{what} key", 100)
                walk(inner, f"{name}.{key}" if name else str(key), depth + 1)
        elif isinstance(value, (list, tuple)):
            for i, inner in enumerate(value):
                walk(inner, f"{name}[{i}]", depth + 1)

    walk(details, "", 0)
    return details


def check_email(text: str, what: str = "e-mail address") -> str:
    if len(text) > 254 or not EMAIL.fullmatch(text) or len(text.partition("@")[0]) > 64:
        raise BadInput(f"{what} {text!r} is not an e-mail address (like name@school.example.org, "
                       "with no spaces or line breaks)")
    return text


def check_name(text: str, what: str) -> str:
    """A name (of a school, an authority, a person): one line, not empty; returned stripped."""
    _refuse_controls(text, what)
    name = text.strip()
    if not name:
        raise BadInput(f"{what} must not be empty")
    if len(name) > MAX_NAME:
        raise BadInput(f"{what} {name[:40]!r}... is longer than {MAX_NAME} characters")
    return name


def check_text(text: str, what: str) -> str:
    """An optional one-line value (a diocese, a trust): no control characters; may be empty. Returned
    as given, so that re-importing a school compares like with like."""
    _refuse_controls(text, what)
    return text


def check_note(text: str, what: str = "--note") -> str:
    """A note on an event: may run to paragraphs (newlines and tabs kept), nothing else invisible."""
    text = text.replace("\r\n", "\n")
    _refuse_controls(text, what, NOTE_WHITESPACE)
    if len(text) > MAX_NOTE:
        raise BadInput(f"{what} is longer than {MAX_NOTE} characters ({len(text)})")
    return text


# --- on the way out -----------------------------------------------------------------------------------


def printable(value: object) -> str:
    """The text as it may reach a terminal: control characters shown as escapes (ESC as \\x1b), so a
    stored escape sequence is seen, not obeyed. Newlines and tabs stay."""
    text = "" if value is None else str(value)
    if _first_control(text, NOTE_WHITESPACE) is None:
        return text
    return "".join(_escaped(ch) if is_control(ch) and ch not in NOTE_WHITESPACE else ch for ch in text)


def _escaped(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_filename(name: str) -> str:
    """A file-name part for a name (an authority's) that may hold anything: lower-case ASCII letters,
    digits and hyphens only, so no "/" or ".." can lead out of the folder.

    Plain names keep their familiar form ("Hammersmith and Fulham" -> "hammersmith-and-fulham", "Spring
    2026/27" -> "spring-2026-27"); a name that loses more than its separators (spaces, "/", "-", "_")
    gets a short hash of the original, so two authorities whose names differ only in punctuation never
    share (and overwrite) a file.
    """
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80]
    if slug != re.sub(r"[ /_-]+", "-", name.strip().lower()):
        slug = f"{slug}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}".lstrip("-")
    return slug or "unnamed"
