"""What we send: an :class:`OutgoingMail` value and its rendering into a MIME message.

Idempotency starts here. Every mail carries a caller-chosen ``key`` (e.g.
``"deadline:42:reminder-3wd:ann@la.example"``) and the Message-ID is a hash of that key, so rendering
the same logical mail twice - a Prefect retry, a re-run of yesterday's digest - yields the same
Message-ID. The outbox directory uses it as the file name (a second write is a no-op), the later
outbox table can use the key as its unique "sent" ledger key, and receiving mail systems that
de-duplicate on Message-ID will drop an accidental resend (docs/decisions/0005-retries-and-idempotence.md: retries repeat side effects).
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, parseaddr
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
KEY_HEADER = "X-Concerns-Key"

_CALENDAR_METHOD = re.compile(rb"^METHOD:([A-Za-z-]+)\r?$", re.MULTILINE)


def _has_line_break(value: str) -> bool:
    return "\r" in value or "\n" in value


@dataclass(frozen=True)
class Attachment:
    """A file attached to a mail. ``mimetype`` defaults to a guess from ``filename``."""

    filename: str
    content: bytes
    mimetype: str = ""

    def __post_init__(self) -> None:
        if (
            not self.filename
            or _has_line_break(self.filename)
            or "/" in self.filename
            or "\\" in self.filename
        ):
            raise ValueError(f"attachment filename must be a plain file name, got {self.filename!r}")
        if not isinstance(self.content, bytes | bytearray):
            raise TypeError(
                f"attachment {self.filename!r}: content must be bytes, got {type(self.content).__name__}"
            )
        mimetype = self.mimetype or mimetypes.guess_type(self.filename)[0] or "application/octet-stream"
        maintype, slash, subtype = mimetype.partition("/")
        if not (slash and maintype and subtype) or ";" in mimetype:
            raise ValueError(
                f"attachment {self.filename!r}: mimetype must look like 'type/subtype', got {mimetype!r}"
            )
        object.__setattr__(self, "mimetype", mimetype.lower())
        object.__setattr__(self, "content", bytes(self.content))


def _addresses(kind: str, value: str | Iterable[str]) -> tuple[str, ...]:
    # A bare string is one address; without this, tuple("ann@x") would silently become ("a", "n", ...).
    items = (value,) if isinstance(value, str) else tuple(value)
    for item in items:
        if not isinstance(item, str) or _has_line_break(item) or "@" not in parseaddr(item)[1]:
            raise ValueError(f"{kind}: not an e-mail address: {item!r}")
    return items


@dataclass(frozen=True, kw_only=True)
class OutgoingMail:
    """One logical e-mail.

    Keyword-only on purpose: with seven fields (two of them address tuples) a positional call could put
    the subject into ``cc`` without any error. ``to``/``cc`` accept any iterable of addresses (or one
    address as a string) and are stored as tuples so the value stays hashable.
    """

    key: str
    to: tuple[str, ...]
    subject: str
    text: str
    cc: tuple[str, ...] = ()
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        if not self.key or not self.key.strip() or _has_line_break(self.key):
            raise ValueError(f"mail key must be a non-empty single line, got {self.key!r}")
        object.__setattr__(self, "to", _addresses("to", self.to))
        object.__setattr__(self, "cc", _addresses("cc", self.cc))
        if not self.to:
            raise ValueError(f"mail {self.key!r} has no 'to' recipient")
        if _has_line_break(self.subject):
            raise ValueError(f"mail {self.key!r}: subject must be one line, got {self.subject!r}")
        attachments = tuple(self.attachments)
        for item in attachments:
            if not isinstance(item, Attachment):
                raise TypeError(
                    f"mail {self.key!r}: attachments must be Attachment, got {type(item).__name__}"
                )
        object.__setattr__(self, "attachments", attachments)

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every envelope recipient (To then Cc)."""
        return self.to + self.cc


def message_id_for(key: str, domain: str) -> str:
    """The deterministic Message-ID for ``key``: ``<first 128 bits of sha256(key) in hex@domain>``.

    128 bits make a collision between two different keys practically impossible while keeping the
    header short; the domain makes the ID globally unique as RFC 5322 asks.
    """
    if not domain or _has_line_break(domain) or any(ch in domain for ch in "<>@ "):
        raise ValueError(f"Message-ID domain must be a bare domain name, got {domain!r}")
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def build_message(
    mail: OutgoingMail,
    mail_from: str,
    domain: str | None = None,
    *,
    now: datetime | None = None,
) -> EmailMessage:
    """Render ``mail`` as a MIME message ready for :class:`~concerns.output.mail.transport.Transport`.

    Structure: ``text/plain`` alone; ``multipart/alternative`` (plain, html) when there is HTML; either
    of those wrapped in ``multipart/mixed`` when there are attachments. ``domain`` (for the Message-ID)
    defaults to the sender's domain. ``now`` (aware) pins the Date header for tests; the Date is the
    only part of the output that depends on the clock.
    """
    from_address = parseaddr(mail_from)[1]
    if "@" not in from_address or _has_line_break(mail_from):
        raise ValueError(f"mail_from is not an e-mail address: {mail_from!r}")
    domain = domain or from_address.rpartition("@")[2]
    if now is None:
        now = datetime.now(LONDON)
    elif now.tzinfo is None:
        raise ValueError("build_message: 'now' must be timezone-aware")

    # policy.default: RFC 5322 headers, "\n" line endings in the object and in outbox files (readable,
    # greppable, and parsed bodies come back with "\n"); smtplib rewrites them to CRLF on the wire.
    msg = EmailMessage(policy=default)
    msg["From"] = mail_from
    msg["To"] = ", ".join(mail.to)
    if mail.cc:
        msg["Cc"] = ", ".join(mail.cc)
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(now.astimezone(LONDON))
    msg["Message-ID"] = message_id_for(mail.key, domain)
    msg[KEY_HEADER] = mail.key
    # RFC 3834: marks reminders and digests as machine-generated so out-of-office responders and
    # mailing-list software do not reply to them or loop.
    msg["Auto-Submitted"] = "auto-generated"

    msg.set_content(mail.text, subtype="plain", charset="utf-8")
    if mail.html is not None:
        msg.add_alternative(mail.html, subtype="html", charset="utf-8")
    for attachment in mail.attachments:
        _attach(msg, attachment)
    return msg


def _attach(msg: EmailMessage, attachment: Attachment) -> None:
    maintype, _, subtype = attachment.mimetype.partition("/")
    params: dict[str, str] = {}
    if attachment.mimetype == "text/calendar":
        # RFC 6047: the Content-Type "method" parameter must repeat the calendar's METHOD property; it is
        # what makes Outlook / Gmail show an invitation with Accept/Decline (REQUEST) or an "add to
        # calendar" card (PUBLISH) instead of a plain file. Take it from the content so they never disagree.
        found = _CALENDAR_METHOD.search(attachment.content)
        if found:
            params["method"] = found.group(1).decode("ascii").upper()
        params["charset"] = "utf-8"
    # add_attachment turns the message into multipart/mixed, moving the body (plain or alternative)
    # into its first part. Bytes are base64-encoded, which also preserves the .ics CRLF line endings.
    msg.add_attachment(
        attachment.content,
        maintype=maintype,
        subtype=subtype,
        filename=attachment.filename,
        params=params or None,
    )
