"""The outbox: every message is a row with a unique key before anything is sent.

Queueing is idempotent (the key is unique: a rerun finds the row and adds nothing). Sending is
concerns.notify.delivery; this module queues, lists and puts failed messages back. The Message-ID is
derived from the key, so even a resend after a crash between "accepted" and "committed" carries the
same Message-ID for the receiving server to de-duplicate.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment
from sqlmodel import Session, select

from concerns.domain import resources
from concerns.domain.desklinks import desk_url, school_link
from concerns.domain.formatting import ukdate
from concerns.domain.letterparties import LetterParty, closing, greet, is_named
from concerns.domain.policy import policy_for
from concerns.notify.delivery import SendReport, send_pending  # noqa: F401  (where callers found them before)
from concerns.notify.directory import Directory, Recipient
from concerns.notify.reminders import CheckResult, Item
from concerns.notify.wording import citation, detail, kind, pathway, plain_note, sentence
from concerns.output import templating
from concerns.output.mail import MailSettings, message_id_for
from models import Notification

TEMPLATES = resources.MAIL
STATUSES = ("pending", "deferred", "failed", "sent")


@cache
def mail_environment() -> Environment:
    """One environment for every mail: Jinja caches each template compiled once (compiling them per message
    cost the termly review half its time)."""
    return templating.environment(
        TEMPLATES,
        filters={"citation": citation, "sentence": sentence, "plain_note": plain_note, "kind_words": kind,
                 "pathway_words": pathway,
                 # "Dear Headteacher", never "Dear Headteacher of Brook Lane Primary School".
                 "greeting": greet},
        # Links to the officers' desk when its address (CONCERNS_WEB_URL) is configured, else none.
        globals={"detail": detail, "sign_off": sign_off, "school_link": school_link, "desk_url": desk_url},
    )


def council_name(la: str) -> str:
    """The authority as it signs: "Demoshire Council" (a name already ending in Council or Authority is kept)."""
    return la if la.lower().endswith(("council", "authority")) else f"{la} Council"


def sign_off(la: str) -> str:
    """Every mail is signed by the service, never by the software that sent it."""
    return f"School improvement service, {council_name(la)}"


def render_pair(name: str, **context) -> tuple[str, str]:
    """The text and HTML of mail `name`. A mail to a school-side recipient (head, chair, governors) is
    signed for them and carries no "do not forward" line: the officers' register is not in it."""
    env = mail_environment()
    recipient = context.get("recipient")
    context.setdefault("school_side", bool(getattr(recipient, "school_side", False)))
    # The same rule as the letters': greeted by name, "Yours sincerely"; by post or as "colleague", faithfully.
    greeted = getattr(recipient, "name", None)
    context.setdefault("closing", closing(bool(greeted) and is_named(LetterParty(greeted, ""))))
    return env.get_template(f"{name}.txt.j2").render(**context), env.get_template(f"{name}.html.j2").render(**context)


def queue(session: Session, *, key: str, kind: str, recipient: Recipient, subject: str, text: str,
          html: str | None, for_date: date, domain: str, cc: Iterable[str] = (), attachments: Iterable[dict] = (),
          urn: str | None = None, case_id: int | None = None) -> tuple[Notification, bool]:
    existing = session.exec(select(Notification).where(Notification.key == key)).first()
    if existing is not None:
        return existing, False
    # A subject is one header line and an address has no spaces around it: a stray line break from a
    # school's name or a directory row must not make the message unsendable.
    row = Notification(key=key, kind=kind, recipient_email=recipient.email.strip(), recipient_name=recipient.name,
                       recipient_role=recipient.role, school_side=recipient.school_side,
                       cc=[address.strip() for address in cc], subject=" ".join(subject.split()),
                       body_text=text, body_html=html, attachments=list(attachments),
                       message_id=message_id_for(key, domain), urn=urn, case_id=case_id, for_date=for_date)
    session.add(row)
    session.flush()
    return row, True


def file_attachment(path: Path, mimetype: str = "") -> dict:
    # Absolute, so the sender finds the file whatever directory it runs in.
    return {"filename": path.name, "path": str(Path(path).resolve()), "mimetype": mimetype}


def inline_attachment(filename: str, content: bytes, mimetype: str) -> dict:
    return {"filename": filename, "content_b64": base64.b64encode(content).decode("ascii"), "mimetype": mimetype}


SECTIONS = (
    ("escalated", "Escalated to you", "Missed by the officer named on each line; as their manager, please "
                                      "make sure it is put right."),
    ("missed", "Missed", "The date has passed without the step being recorded as done."),
    # The end of a warning notice's compliance period: the school's obligation, the officer's decision
    ("decision", "Decision due", "The school's time to comply with the warning notice has ended: decide whether "
                                 "it complied, and record it."),
    ("due", "Due today", ""),
    ("before-3wd", "Due within 3 working days", ""),
    ("before-10wd", "Due within 10 working days", ""),
    # Ofsted's dates: watched, not owed, never urgent
    ("expected", "Expected from Ofsted", "Ofsted sets these dates; nothing is owed by you. Be ready for the visit."),
)

MEETING_KINDS = ("progress_meeting", "progress_judgement")


def _one_line_per_meeting(items: list[Item]) -> list[dict]:
    """A meeting and the judgement of progress it makes are one line, not two."""
    lines: list[dict] = []
    meetings: dict[tuple, dict] = {}
    for item in sorted(items, key=lambda i: (i.due, i.school, i.urn, MEETING_KINDS.index(i.kind)
                                             if i.kind in MEETING_KINDS else -1)):
        line = dict(vars(item))
        if item.kind in MEETING_KINDS:
            key = (item.urn, item.due, item.escalated_from)
            if key in meetings:
                meetings[key]["judgement"] = True
                continue
            line["judgement"] = item.kind == "progress_judgement"
            if line["judgement"]:
                line["note"] = ""  # the judgement's own note only says where it is made
            line["kind"] = "progress_meeting"
            meetings[key] = line
        lines.append(line)
    for line in meetings.values():
        if line["judgement"]:
            note = plain_note(line["note"])
            line["note"] = f"{note}; the meeting makes the formal judgement of progress" if note else \
                "the meeting makes the formal judgement of progress"
    return lines


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
        sections = [{"title": title, "explain": explain,
                     "entries": _one_line_per_meeting([i for i in items if i.step == step])}
                    for step, title, explain in SECTIONS]
        count = {step: len(section["entries"]) for (step, _, _), section in zip(SECTIONS, sections, strict=True)}
        lines = sum(count.values())
        escalated = count["escalated"]
        urgent = count["missed"] + count["decision"] + count["due"]
        when = ukdate(result.as_of)
        if escalated == 1:
            first = sections[0]["entries"][0]
            subject = (f"Escalated to you: {first['school']}, {kind(first['kind'])} missed"
                       f"{f', and {lines - 1} more item' + ('s' if lines > 2 else '') if lines > 1 else ''}"
                       f" ({when})")
        elif escalated:
            subject = (f"Escalated to you: {escalated} missed deadline{'s' if escalated != 1 else ''}"
                       f"{f', and {lines - escalated} more item' + ('s' if lines - escalated != 1 else '') if lines > escalated else ''}"
                       f" ({when})")
        else:
            subject = (f"Schools causing concern: {lines} item{'s' if lines != 1 else ''}"
                       f"{f', {urgent} needing action now' if urgent else ''} ({when})")
        present = [words for words, n in (("deadlines escalated to you", escalated),
                                          ("deadlines missed", count["missed"]),
                                          (f"decision{'s' if count['decision'] != 1 else ''} due", count["decision"]),
                                          ("deadlines coming up",
                                           count["due"] + count["before-3wd"] + count["before-10wd"]),
                                          ("dates expected from Ofsted", count["expected"])) if n]
        opening = (f"Your schools causing concern as at {when}: "
                   f"{', '.join(present[:-1]) + ' and ' + present[-1] if len(present) > 1 else present[0]}.")

        def owner_of(item, la=la) -> str:
            role = item["escalated_from"]
            title = policy_for(la).title_of(role)
            people = directory.holders(la, role, item["urn"])
            named = ", ".join(p.name for p in people if not p.school_side)
            return f"{named} ({title.lower()})" if named else f"the {title.lower()} (no one holds the role)"

        text, html = render_pair("digest", recipient=person, as_of=result.as_of, sections=sections,
                                 authority=authority_name(la), subject=subject, opening=opening, owner_of=owner_of)
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


# --- looking at the queue and putting messages back -----------------------------------------------------


def outbox_rows(session: Session, status: str | None = None) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    if status is not None:
        query = query.where(Notification.status == status)
    return list(session.exec(query).all())


class UnknownMessage(LookupError):
    pass


class NotRetryable(ValueError):
    pass


def retry(session: Session, keys: Sequence[str] = (), *, all_failed: bool = False,
          now: datetime | None = None) -> list[Notification]:
    """Put the failed (or deferred) messages named by ``keys``, or every failed one, back in the queue,
    due at once. Refuses the whole request, changing nothing, if a key is unknown or already sent."""
    if all_failed:
        rows = outbox_rows(session, "failed")
    else:
        found = {row.key: row for row in session.exec(select(Notification).where(Notification.key.in_(keys)))}
        for key in keys:
            if key not in found:
                raise UnknownMessage(f"no message with key {key!r} in the outbox")
            if found[key].status == "sent":
                raise NotRetryable(f"message {key!r} was already sent; retrying it would send it twice")
        rows = [found[key] for key in dict.fromkeys(keys)]
    for row in rows:
        # A fresh start: the back-off counts again from the first try, and no sender holds it.
        row.status, row.attempts, row.claimed_by, row.alarm_raised_at = "pending", 0, None, None
        row.next_attempt = now or datetime.now(UTC)
        session.add(row)
    session.flush()
    return rows
