"""Daily: reminders before deadlines, on the day, `missed` and escalation the working day after.

Ofsted's own dates (reinspection, HMI monitoring) get one "expected from Ofsted" heads-up and become
`passed`, never missed or escalated (concerns.domain.rules.OFSTED_OWNED_KINDS)."""

from __future__ import annotations

from datetime import date

from concerns.domain.clock import check_as_of
from concerns.domain.policy import policy_for
from concerns.notify import wording as words
from concerns.notify.directory import Directory
from concerns.notify.outbox import queue_digests
from concerns.notify.reminders import deadline_check
from concerns.output.mail import MailSettings
from concerns.store.db import session_scope


def run_deadline_check(db: str | None, as_of: date, offsets: tuple[int, ...] | None = None,
                       simulation: bool = False) -> dict:
    """`offsets` overrides the authorities' own reminder offsets (policy `reminder_offsets`) for this run.
    `simulation` allows an `as_of` far ahead of today (the demo); a real run that far ahead is refused."""
    check_as_of(as_of, simulation)
    settings = MailSettings.from_env()
    with session_scope(db) as session:
        result = deadline_check(session, as_of, offsets)
        directory = Directory(session, {la for la, _, _ in result.items_by_role})
        digests = queue_digests(session, result, directory, settings)
    by_step: dict[str, int] = {}
    for item in result.items:
        by_step[item.step] = by_step.get(item.step, 0) + 1
    return {"as_of": as_of.isoformat(), "examined": result.examined, "reminders": len(result.items),
            "by_step": by_step, "marked_missed": result.marked_missed,
            "marked_passed": result.marked_passed, "digests_queued": digests.queued,
            "recipients": digests.recipients, "unassigned": digests.unassigned,
            "items": [item_in_words(item) for item in sorted(result.items, key=lambda i: (i.due, i.school))]}


STEP_WORDS = {
    "before-10wd": "due within 10 working days",
    "before-3wd": "due within 3 working days",
    "due": "due today",
    "missed": "missed",
    "escalated": "missed and escalated",
    "decision": "decision due: did the school comply?",
    "expected": "expected from Ofsted",
}


def item_in_words(item) -> dict:
    """One reminder as the operator reads it in the run's summary: school, deadline, when, who."""
    return {"school": f"{item.school} ({item.urn})", "deadline": words.kind(item.kind),
            "due": item.due.isoformat(), "reminder": STEP_WORDS.get(item.step, item.step.replace("-", " ")),
            "officer responsible": policy_for(item.la).title_of(item.responsible)}
