"""The reminder schedule: on which days a deadline is looked at, a rule of the domain.

Pure dates, no database: the casework and the imports use `first_notice_on` to store when a new
deadline first needs looking at, and the daily check (concerns.notify.reminders) uses `reminder_steps`
to raise the step due now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from concerns.domain.rules import ofsted_owned

DEFAULT_OFFSETS = (10, 3)  # working days before the due date; each policy may set its own


def reminder_steps(due: date, calendar, offsets: Sequence[int], kind: str = "") -> list[tuple[str, date]]:
    """The dates each reminder step falls on, least urgent first.

    `before-Nwd` on the N-th working day before the due date; `due` on the due date (or the working day
    before it, when it falls on a weekend or holiday); `missed` the working day after.

    A date Ofsted owns (`kind`) has two steps only: `expected` (one heads-up, on the earliest reminder
    offset) and `passed` the working day after; no officer owes it, so nothing is due, missed or escalated.
    """
    after = calendar.next_working_day(due + timedelta(days=1))
    if ofsted_owned(kind):
        ahead = max(offsets, default=0)
        steps = [("expected", calendar.add_working_days(due, -ahead))] if ahead else []
        return steps + [("passed", after)]
    steps = [(f"before-{o}wd", calendar.add_working_days(due, -o)) for o in sorted(set(offsets), reverse=True)]
    steps.append(("due", due if calendar.is_working_day(due) else calendar.add_working_days(due, -1)))
    steps.append(("missed", after))
    return steps


def first_notice_on(due: date, calendar, offsets: Sequence[int], kind: str = "") -> date:
    """When a new deadline first needs looking at: the daily check reads only deadlines whose date has come."""
    return reminder_steps(due, calendar, offsets, kind)[0][1]


def horizon(as_of: date, offsets: Sequence[int]) -> date:
    # N statutory working days never span more than about 2N calendar days plus a Christmas; used only
    # when a run overrides the policy's offsets and so cannot trust the stored schedule.
    return as_of + timedelta(days=2 * max(offsets, default=0) + 14)

