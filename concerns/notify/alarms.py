"""What about the outbox a person must hear of: mail that failed for good, or has waited too long.

A temporary fault never fails a message, so a server down all morning shows only as mail waiting. The
wait is counted in working time, 07:00 to 19:00 Europe/London on Mondays to Fridays (bank holidays
count as working days: a failed relay is worth a look then too), so a digest queued on Friday evening
with the relay down for its weekend maintenance does not raise an alarm until Monday morning. The
limit is ``CONCERNS_MAIL_ALARM_AFTER`` minutes of such time, two hours by default.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from concerns.domain.clock import as_utc
from concerns.domain.formatting import london_datetime
from concerns.domain.untrusted import check_number
from models import Notification

LONDON = ZoneInfo("Europe/London")
ENV_ALARM_AFTER = "CONCERNS_MAIL_ALARM_AFTER"
DEFAULT_ALARM_AFTER = timedelta(hours=2)
WORKING_DAY = (time(7), time(19))  # London wall-clock hours in which a waiting message ages
WORKING_WEEKDAYS = range(0, 5)  # Monday to Friday


def alarm_after_from_env() -> timedelta:
    raw = (os.environ.get(ENV_ALARM_AFTER) or "").strip()
    if not raw:
        return DEFAULT_ALARM_AFTER
    # A finite number of minutes, up to a year ('nan' would silence every alarm): BadSetting otherwise.
    return timedelta(minutes=check_number(raw, f"{ENV_ALARM_AFTER} (minutes)", low=0, high=366 * 24 * 60))


def working_time_between(start: datetime, end: datetime) -> timedelta:
    """How much of [start, end) falls in working hours (WORKING_DAY on WORKING_WEEKDAYS, London time)."""
    total = timedelta()
    day = start.astimezone(LONDON).date()
    while day <= end.astimezone(LONDON).date():
        if day.weekday() in WORKING_WEEKDAYS:
            # Built in London time, so a day of a clock change still opens at 07:00 local.
            opens = datetime.combine(day, WORKING_DAY[0], LONDON)
            closes = datetime.combine(day, WORKING_DAY[1], LONDON)
            overlap = min(end, closes) - max(start, opens)
            total += max(overlap, timedelta())
        day += timedelta(days=1)
    return total


def _span(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _alarming(session: Session, now: datetime, limit: timedelta) -> list[tuple[Notification, str]]:
    lines = []
    rows = session.exec(select(Notification).where(Notification.status.in_(("failed", "pending", "deferred")))
                        .order_by(Notification.created_at, Notification.id)).all()
    for row in rows:
        who = f"to {row.recipient_email}, \"{row.subject}\""
        if row.status == "failed":
            lines.append((row, f"Mail failed and will not be sent {who}: {row.last_error or 'no reason recorded'}. "
                               f"After putting it right: concerns outbox retry {row.key}"))
            continue
        waited = working_time_between(as_utc(row.created_at), now)
        if waited <= limit:
            continue
        if row.attempts or row.status == "deferred":
            why = (f"{row.last_error or 'temporary fault'} ({row.attempts} tr{'y' if row.attempts == 1 else 'ies'}; "
                   f"next try {london_datetime(as_utc(row.next_attempt))})")
        else:
            why = "not tried yet: is the sender running?"
        lines.append((row, f"Mail not delivered after {_span(waited)} of the working day {who}: {why}"))
    return lines


def outbox_alarms(session: Session, now: datetime | None = None,
                  max_deferred_age: timedelta | None = None) -> list[str]:
    """One plain-English line per message that failed for good, or has waited undelivered (pending or
    deferred) for more than ``max_deferred_age`` of working time since it was queued. Each line names
    the recipient, the subject and the reason. ``max_deferred_age`` defaults to
    ``CONCERNS_MAIL_ALARM_AFTER`` minutes, else two hours."""
    now = now or datetime.now(UTC)
    limit = alarm_after_from_env() if max_deferred_age is None else max_deferred_age
    return [line for _, line in _alarming(session, now, limit)]


def raise_alarms(session: Session, now: datetime | None = None,
                 max_deferred_age: timedelta | None = None) -> tuple[list[str], list[str]]:
    """(every outstanding alarm, the ones not raised before), marking the new ones raised now.

    The 15-minute sending run turns red for a message once, when it first needs a person, not 56
    times a day until someone acts; the daily deadline check repeats every outstanding alarm each
    morning. A retried message can raise its alarm again.
    """
    now = now or datetime.now(UTC)
    limit = alarm_after_from_env() if max_deferred_age is None else max_deferred_age
    outstanding, fresh = [], []
    for row, line in _alarming(session, now, limit):
        outstanding.append(line)
        if row.alarm_raised_at is None:
            row.alarm_raised_at = now
            session.add(row)
            fresh.append(line)
    return outstanding, fresh
