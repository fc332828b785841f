"""Writing dates, times and lists the British way, for letters, mails and reports.

Pure Python: our own month and day names rather than strftime, so the output does not depend on the
process locale (strftime's %A and %B follow LC_TIME). concerns.output.letters registers these as Jinja
filters. The one machine format, ISO 8601's basic format, is here too (iso_basic), so that no module
needs strftime (tests/test_architecture.py keeps it that way).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

# The authority's time zone: every date and time an officer reads, and "today", are London's.
LONDON = "Europe/London"


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


def london_datetime(moment: datetime) -> str:
    """An aware moment as the authority's wall clock shows it, for operators: '6 December 2026 at 20:15'
    (Europe/London, so British Summer Time is taken into account; 24-hour, as a log is read)."""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"london_datetime needs a timezone-aware datetime, got {moment!r}")
    local = moment.astimezone(ZoneInfo(LONDON))
    return f"{ukdate(local, weekday=False)} at {local.hour:02d}:{local.minute:02d}"


def slashed_date(day: date) -> str:
    """'19/11/2013': a date as Ofsted's and the DfE's CSV files write it, so that a refusal about a row
    shows the date as the row has it."""
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def iso_basic(value: date) -> str:
    """ISO 8601 basic format, for machines: '20261020' for a date, '20261020T201500' for a datetime (its
    own wall-clock fields: convert the zone first). Letter references use the date; iCalendar's DATE and
    DATE-TIME values are this format (RFC 5545, sections 3.3.4 and 3.3.5)."""
    text = f"{value.year:04d}{value.month:02d}{value.day:02d}"
    if isinstance(value, datetime):
        text += f"T{value.hour:02d}{value.minute:02d}{value.second:02d}"
    return text


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
