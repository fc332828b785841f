"""The outbox: every message is a row with a unique key before anything is sent.

Queueing is idempotent (the key is unique: a rerun finds the row and adds nothing). Sending marks each
row sent in its own commit straight after the server accepted it, so a crash or an SMTP failure
mid-batch loses nothing and sends nothing twice: the next run sends what is still pending, once. The
Message-ID is derived from the key, so even a resend after a crash between "accepted" and "committed"
carries the same Message-ID for the receiving server to de-duplicate.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session, select

from concerns.letters import ukdate
from concerns.mail import (
    Attachment,
    DeliveryError,
    MailSettings,
    OutgoingMail,
    build_message,
    message_id_for,
    transport_for,
)
from concerns.notify.directory import Directory, Recipient
from concerns.notify.reminders import CheckResult, Item
from models import Notification

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "mail"
MAX_ATTEMPTS = 8  # after this many temporary failures a message is marked failed for a person to look at


def humanise(value: str) -> str:
    return str(value).replace("_", " ")


def mail_environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "html.j2"], default_for_string=False),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["ukdate"] = ukdate
    env.filters["humanise"] = humanise
    return env


def render_pair(name: str, **context) -> tuple[str, str]:
    env = mail_environment()
    return env.get_template(f"{name}.txt.j2").render(**context), env.get_template(f"{name}.html.j2").render(**context)


def queue(session: Session, *, key: str, kind: str, recipient: Recipient, subject: str, text: str,
          html: str | None, for_date: date, domain: str, cc: Iterable[str] = (), attachments: Iterable[dict] = (),
          urn: str | None = None, case_id: int | None = None) -> tuple[Notification, bool]:
    existing = session.exec(select(Notification).where(Notification.key == key)).first()
    if existing is not None:
        return existing, False
    row = Notification(key=key, kind=kind, recipient_email=recipient.email, recipient_name=recipient.name,
                       recipient_role=recipient.role, school_side=recipient.school_side, cc=list(cc),
                       subject=subject, body_text=text, body_html=html, attachments=list(attachments),
                       message_id=message_id_for(key, domain), urn=urn, case_id=case_id, for_date=for_date)
    session.add(row)
    session.flush()
    return row, True


def file_attachment(path: Path, mimetype: str = "") -> dict:
    return {"filename": path.name, "path": str(path), "mimetype": mimetype}


def inline_attachment(filename: str, content: bytes, mimetype: str) -> dict:
    return {"filename": filename, "content_b64": base64.b64encode(content).decode("ascii"), "mimetype": mimetype}


SECTIONS = (
    ("escalated", "Escalated to you: missed by the officer responsible"),
    ("missed", "Missed"),
    ("due", "Due today"),
    ("before-3wd", "Due within 3 working days"),
    ("before-10wd", "Due within 10 working days"),
)


@dataclass
class DigestReport:
    queued: int = 0
    recipients: list[str] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)


def queue_digests(session: Session, result: CheckResult, directory: Directory, settings: MailSettings,
                  authority_name=lambda la: la) -> DigestReport:
    """One digest per officer per day, holding every item for them (never one mail per deadline)."""
    per_person: dict[str, tuple[Recipient, str, list[Item]]] = {}
    report = DigestReport()
    for (la, role, urn), items in result.items_by_role.items():
        _, people = directory.reach(la, role, urn)
        officers = [p for p in people if not p.school_side]
        if not officers:
            report.unassigned.extend(f"{la}/{role}/{urn}: {i.kind} due {i.due}" for i in items)
            continue
        for person in officers:
            per_person.setdefault(person.email, (person, la, []))[2].extend(items)
    for email, (person, la, items) in sorted(per_person.items()):
        sections = [{"title": title, "entries": sorted((i for i in items if i.step == step), key=lambda i: (i.due, i.urn))}
                    for step, title in SECTIONS]
        urgent = sum(1 for i in items if i.step in ("escalated", "missed", "due"))
        subject = (f"Schools causing concern: {len(items)} deadline item{'s' if len(items) != 1 else ''}"
                   f"{f', {urgent} need action now' if urgent else ''} ({result.as_of.isoformat()})")
        text, html = render_pair("digest", recipient=person, as_of=result.as_of, sections=sections,
                                 authority=authority_name(la), subject=subject)
        # One digest per person per day; a later run that same day with new items sends a second one.
        n = len(session.exec(select(Notification.id).where(Notification.kind == "digest",
                                                           Notification.recipient_email == email,
                                                           Notification.for_date == result.as_of)).all())
        _, created = queue(session, key=f"digest:{email}:{result.as_of.isoformat()}:{n + 1}", kind="digest",
                           recipient=person, subject=subject, text=text, html=html, for_date=result.as_of,
                           domain=settings.domain)
        report.queued += created
        report.recipients.append(email)
    return report


def _attachments(row: Notification) -> tuple[Attachment, ...]:
    made = []
    for spec in row.attachments:
        if "content_b64" in spec:
            content = base64.b64decode(spec["content_b64"])
        else:
            content = Path(spec["path"]).read_bytes()
        made.append(Attachment(spec["filename"], content, spec.get("mimetype", "")))
    return tuple(made)


def outgoing(row: Notification) -> OutgoingMail:
    return OutgoingMail(key=row.key, to=(row.recipient_email,), cc=tuple(row.cc), subject=row.subject,
                        text=row.body_text, html=row.body_html, attachments=_attachments(row))


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)


def send_pending(session: Session, settings: MailSettings | None = None, transport=None,
                 limit: int | None = None) -> SendReport:
    """Send what is pending, committing after each message. Stops the batch when the server is down."""
    settings = settings or MailSettings.from_env()
    transport = transport or transport_for(settings)
    report = SendReport()
    query = select(Notification).where(Notification.status == "pending").order_by(Notification.id)
    if limit:
        query = query.limit(limit)
    ids = [row.id for row in session.exec(query).all()]
    with transport.session() as channel:
        for position, notification_id in enumerate(ids):
            row = session.get(Notification, notification_id)
            if row is None or row.status != "pending":
                continue
            try:
                channel.send(build_message(outgoing(row), settings.mail_from, settings.domain))
            except DeliveryError as exc:
                row.attempts += 1
                row.last_error = str(exc.reason)[:500]
                if exc.permanent or row.attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                    report.failed += 1
                session.add(row)
                session.commit()
                report.errors.append(f"{row.key}: {exc.reason}")
                if not exc.permanent and exc.smtp_code is None:
                    # Connection-level trouble: the rest would fail the same way; leave them pending.
                    report.deferred += len(ids) - position
                    break
                continue
            row.status, row.sent_at, row.attempts = "sent", datetime.now(UTC), row.attempts + 1
            session.add(row)
            session.commit()
            report.sent += 1
    return report
