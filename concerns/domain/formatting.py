"""Writing dates, times and lists the British way, for letters, mails and reports.

Pure Python: our own month and day names rather than strftime, so the output does not depend on the
process locale. concerns.output.letters registers these as Jinja filters and re-exports them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# fmt: off
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
# fmt: on


# --- Filters ------------------------------------------------------------------------------------


def ukdate(value: date, weekday: bool = True) -> str:
    """'Wednesday 18 November 2026' (or '18 November 2026' with weekday=False)."""
    if not isinstance(value, date):
        raise TypeError(f"ukdate needs a date, got {type(value).__name__}: {value!r}")
    text = f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
    return f"{_DAYS[value.weekday()]} {text}" if weekday else text


def uktime(value: datetime) -> str:
    """GOV.UK style times: '9:30am', '2pm', 'midday'."""
    if value.hour == 12 and value.minute == 0:
        return "midday"
    hour = value.hour % 12 or 12
    suffix = "am" if value.hour < 12 else "pm"
    return f"{hour}{suffix}" if value.minute == 0 else f"{hour}:{value.minute:02d}{suffix}"


def ukwhen(value: date) -> str:
    """A date, or a date and time when the value is a datetime carrying a time of day."""
    if isinstance(value, datetime) and (value.hour, value.minute) != (0, 0):
        return f"{ukdate(value)} at {uktime(value)}"
    return ukdate(value)


def with_deadline(item: Mapping[str, Any]) -> str:
    """An action or step with its own date folded into the sentence: 'Submit the plan by Friday 4
    December 2026.' (a trailing full stop moves after the date)."""
    text, by = item["text"].strip(), item.get("by")
    if by is None:
        return text
    stop = text.endswith(".")
    return f"{text.rstrip('.')} by {ukdate(by)}{'.' if stop else ''}"


def join_and(items: Any) -> str:
    """'A', 'A and B', 'A, B and C'."""
    words = [str(item) for item in items]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def address_lines(value: str | None) -> list[str]:
    """An address given on one line with commas, or on several lines, as a list of lines."""
    if not value:
        return []
    return [part.strip() for part in re.split(r"[\n,]", value) if part.strip()]


def academic_year(on: date, offset: int = 0) -> str:
    """The English academic year containing `on` (1 Sep to 31 Aug), shifted by offset: '2026/27'."""
    start = (on.year if on.month >= 9 else on.year - 1) + offset
    return f"{start}/{(start + 1) % 100:02d}"
