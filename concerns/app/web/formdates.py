"""Dates and times typed into the desk's forms as the GOV.UK date pattern: Day, Month and Year fields (and
Hour and Minute for a time), read day first whatever the browser's language. One reader for every form: the
event form and the letter forms."""

from __future__ import annotations

from datetime import date, datetime, time

from concerns.app.web.desk import DateError, date_parts, read_date

PARTS = ("day", "month", "year")
TIME_PARTS = ("hour", "minute")


def parts_of(value, name: str, names: tuple[str, ...] = PARTS) -> dict[str, str]:
    """The fields `name`_day, `name`_month, `name`_year (or _hour, _minute) as typed; `value(field)` reads one."""
    return {p: (value(f"{name}_{p}") or "").strip() for p in names}


def typed_date(parts: dict[str, str], legacy: str, what: str, required: bool) -> tuple[date | None, dict[str, str]]:
    """The date in three typed fields, and the fields to show again. A form from before the three fields sends
    one year-month-day field (`legacy`): read when the three are empty. DateError says what is wrong, in words."""
    if not any(parts.values()) and legacy:
        try:
            parts = date_parts(date.fromisoformat(legacy))
        except ValueError:
            raise DateError(f"{what[:1].upper() + what[1:]} must be a real date: check the day and the month.") from None
    if not any(parts.values()) and not required:
        return None, parts
    return read_date(parts["day"], parts["month"], parts["year"], what), parts


def typed_time(parts: dict[str, str], what: str, required: bool) -> time | None:
    """The time in Hour and Minute fields (24-hour clock; minutes may be left empty for on the hour)."""
    hour, minute = parts.get("hour", ""), parts.get("minute", "")
    named = what[:1].upper() + what[1:]
    if not hour and not minute:
        if required:
            raise DateError(f"{named} must include the hour it starts.")
        return None
    if not hour:
        raise DateError(f"{named} must include the hour, as well as the minute.")
    if not hour.isascii() or not hour.isdigit() or int(hour) > 23:
        raise DateError(f"{named}: the hour must be a number from 0 to 23.")
    if minute and (not minute.isascii() or not minute.isdigit() or int(minute) > 59):
        raise DateError(f"{named}: the minutes must be a number from 0 to 59.")
    return time(int(hour), int(minute or 0))


def time_parts(moment: datetime | None) -> dict[str, str]:
    """A time as the Hour and Minute fields show it ('14', '05')."""
    if moment is None:
        return {"hour": "", "minute": ""}
    return {"hour": f"{moment.hour:02d}", "minute": f"{moment.minute:02d}"}
