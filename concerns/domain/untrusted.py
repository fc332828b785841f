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
import re
import unicodedata

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
NOTE_WHITESPACE = frozenset("\n\t")

MAX_NAME = 200
MAX_NOTE = 10_000

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


def is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS


def _first_control(text: str, allowed: frozenset[str] = frozenset()) -> str | None:
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
