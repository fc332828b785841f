"""Outbox to SMTP, or to .eml files in CONCERNS_OUTBOX when no SMTP server is configured."""

from __future__ import annotations

from datetime import UTC, datetime

from concerns.notify.alarms import raise_alarms
from concerns.notify.delivery import send_pending
from concerns.output.mail import MailSettings
from concerns.store.db import session_scope


def run_send_notifications(db: str | None, settings: MailSettings | None = None, *,
                           now: datetime | None = None, transport=None) -> dict:
    """Send what is due; the counts of this run, and `alarms`: one line per message a person must look
    at (failed for good, or undelivered too long; concerns.notify.alarms), of which `new_alarms` are
    the ones this run is the first to raise."""
    settings = settings or MailSettings.from_env()
    with session_scope(db) as session:
        report = send_pending(session, settings, transport, now=now)
        alarms, new_alarms = raise_alarms(session, now or datetime.now(UTC))
    where = "smtp" if settings.smtp_url else f"outbox:{settings.outbox_dir}"
    return {"sent": report.sent, "deferred": report.deferred, "failed": report.failed, "errors": report.errors,
            "alarms": alarms, "new_alarms": new_alarms, "via": where}
