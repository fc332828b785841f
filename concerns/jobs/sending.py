"""Outbox to SMTP, or to .eml files in CONCERNS_OUTBOX when no SMTP server is configured."""

from __future__ import annotations

from concerns.db import session_scope
from concerns.mail import MailSettings
from concerns.notify.outbox import send_pending


def run_send_notifications(db: str | None, settings: MailSettings | None = None) -> dict:
    settings = settings or MailSettings.from_env()
    with session_scope(db) as session:
        report = send_pending(session, settings)
    where = "smtp" if settings.smtp_url else f"outbox:{settings.outbox_dir}"
    return {"sent": report.sent, "failed": report.failed, "deferred": report.deferred, "errors": report.errors,
            "via": where, "alarms": report.errors if report.failed else []}
