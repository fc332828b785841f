"""Handing the outbox to the mail server: claims, outcomes and back-off.

Any number of senders may run at once (the 06:30 check's last task, the 15-minute catch-up, an officer
typing `concerns outbox send`), on SQLite or PostgreSQL, and each message is still handed over once:

1. **Claim.** A sender takes up to ``CHUNK`` due rows (status pending or deferred, ``next_attempt`` <=
   now; fewest attempts first) with one conditional UPDATE that writes its run's token into ``claimed_by`` and moves
   ``next_attempt`` to the end of its lease, and commits. The UPDATE repeats the "due" condition, so of
   two senders that picked the same row only the first to write gets it: the second's UPDATE finds the
   row no longer due. On PostgreSQL the ids are picked with ``SELECT … FOR UPDATE SKIP LOCKED``, so
   concurrent senders take different rows rather than wait for each other; SQLite has one writer at a
   time, which serialises the claims (its compiler simply leaves the locking clause out).
2. **Send.** Each claimed row is built and handed over, and its outcome committed on its own before the
   next is sent. Before each hand-over the sender checks that at least half its lease is left, and
   renews it otherwise (again conditionally: a claim another sender has since taken is not renewed,
   and that row is skipped).
3. **Lease.** A sender killed mid-batch (``kill -9``, a lost container) never releases its claims; they
   become due again when the lease ends, ``CONCERNS_OUTBOX_LEASE`` seconds (default 900, 15 minutes)
   after the claim or the last renewal. Since a message is only handed over with half the lease in
   hand, two senders can overlap on one message only if a single hand-over takes longer than half the
   lease; with the transport's 30-second socket timeout and the dozen round trips of a fresh
   connection, a hand-over is bounded by about 6 minutes.

Outcomes. A temporary fault (4xx, timeout, dropped connection) never fails a message: it is
``deferred`` with exponential back-off (``backoff``). A fault of the channel itself (no server, login
or sender address refused, outbox directory unwritable) defers the tried message and, without charging them an attempt,
the untried rest of the chunk, and ends the run: the others would only meet the same fault. A
permanent refusal (5xx for this message) fails that message alone, as does a message that cannot be
built (a line break in its subject, a malformed address, a missing attachment): `concerns outbox
retry` puts failed messages back once the cause is fixed.

Crash window. A message's outcome is committed after the server's reply. If the sender dies, or the
connection drops, after the server has the message but before that commit, the message is handed over
once more after the lease or back-off, with the same Message-ID (derived from its key), so a receiving
server that de-duplicates on Message-ID drops it. That is at most one extra hand-over per crash.
"""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, select, update
from sqlmodel import Session

from concerns.domain.untrusted import check_number
from concerns.output.mail import (
    Attachment,
    DeliveryError,
    MailSettings,
    OutgoingMail,
    build_message,
    transport_for,
)
from models import Notification

ENV_LEASE = "CONCERNS_OUTBOX_LEASE"
DEFAULT_LEASE = timedelta(minutes=15)
MAX_LEASE = timedelta(days=1)
CHUNK = 20  # rows claimed at a time: small, so a sender that dies strands few until its lease ends
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)  # the longest wait between two tries, so mail moves soon after a fix

DUE_STATUSES = ("pending", "deferred")
TABLE = Notification.__table__


def lease_from_env() -> timedelta:
    """CONCERNS_OUTBOX_LEASE: a number of seconds from 1 to a day ('nan', 'inf', 0 and negatives refused
    in one line naming the setting and the value: BadSetting)."""
    raw = (os.environ.get(ENV_LEASE) or "").strip()
    if not raw:
        return DEFAULT_LEASE
    return timedelta(seconds=check_number(raw, f"{ENV_LEASE} (seconds)", low=1, high=MAX_LEASE.total_seconds()))


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the 1st, 2nd, 3rd, 4th … try, at most an hour."""
    return min(BACKOFF_FIRST * 2 ** min(max(attempts - 1, 0), 16), BACKOFF_MAX)


class CannotBuild(ValueError):
    """The row cannot be made into a message; resending it unchanged would fail the same way."""


def _attachment(spec: dict) -> Attachment:
    if "content_b64" in spec:
        content = base64.b64decode(spec["content_b64"], validate=True)
    else:
        path = Path(spec["path"])
        if not path.is_absolute():
            # A relative path means whatever directory the sender happens to run in: refuse to guess.
            raise CannotBuild(f"attachment path {str(path)!r} is relative")
        content = path.read_bytes()
    return Attachment(spec["filename"], content, spec.get("mimetype", ""))


def _specs(specs: list[dict]):
    """Each attachment spec, a bundle's parts in their order (a letter: its PDF, then its HTML)."""
    for spec in specs:
        if "parts" in spec:
            yield from _specs(spec["parts"])
        else:
            yield spec


def outgoing(row: Notification) -> OutgoingMail:
    return OutgoingMail(key=row.key, to=(row.recipient_email,), cc=tuple(row.cc), subject=row.subject,
                        text=row.body_text, html=row.body_html,
                        attachments=tuple(_attachment(spec) for spec in _specs(row.attachments)))


def message_for(row: Notification, settings: MailSettings):
    """The MIME message for ``row``, or CannotBuild saying why not."""
    try:
        msg = build_message(outgoing(row), settings.mail_from, settings.domain)
        # The Message-ID stored at queueing time, even if the sender's domain has changed since: a
        # resend must carry the same ID for the receiving server to recognise it.
        msg.replace_header("Message-ID", row.message_id)
        msg.as_bytes()  # serialise now, so a header that cannot be encoded fails here and not mid-DATA
    except CannotBuild:
        raise
    except OSError as exc:  # an attachment file gone or unreadable
        raise CannotBuild(f"attachment unreadable: {exc.strerror or exc}: {exc.filename}") from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise CannotBuild(str(exc)) from exc
    return msg


@dataclass
class SendReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Sender:
    """One sender run: its token, its clock and what it still holds."""

    session: Session
    settings: MailSettings
    now: datetime | None = None  # fixed "now" for the whole run (tests); None reads the clock
    lease: timedelta = field(default_factory=lease_from_env)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    report: SendReport = field(default_factory=SendReport)
    held_until: datetime | None = None

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    # --- claims ------------------------------------------------------------------------------------

    def claim(self, size: int) -> list[int]:
        now = self.clock()
        due = and_(TABLE.c.status.in_(DUE_STATUSES), TABLE.c.next_attempt <= now)
        # Untried messages first: if a message's own fault ever looks like the channel's and holds the
        # rest of its chunk back, the next run leads with one of those instead of the same message.
        pick = (select(TABLE.c.id).where(due).order_by(TABLE.c.attempts, TABLE.c.next_attempt, TABLE.c.id)
                .limit(size).with_for_update(skip_locked=True))
        claimed = self.session.execute(
            update(TABLE).where(TABLE.c.id.in_(pick.scalar_subquery()), due)
            .values(claimed_by=self.token, next_attempt=now + self.lease).returning(TABLE.c.id)).scalars().all()
        self.session.commit()
        self.held_until = now + self.lease
        if not claimed:
            return []
        order = (select(TABLE.c.id).where(TABLE.c.id.in_(claimed))
                 .order_by(TABLE.c.attempts, TABLE.c.id))  # RETURNING promises no order
        return list(self.session.execute(order).scalars())

    def still_held(self, ids: list[int]) -> set[int]:
        """Renew the claim on ``ids`` if less than half the lease is left; the ids still ours."""
        now = self.clock()
        if self.held_until is not None and now + self.lease / 2 <= self.held_until:
            return set(ids)
        renewed = self.session.execute(
            update(TABLE).where(TABLE.c.id.in_(ids), TABLE.c.claimed_by == self.token,
                                TABLE.c.status.in_(DUE_STATUSES))
            .values(next_attempt=now + self.lease).returning(TABLE.c.id)).scalars().all()
        self.session.commit()
        self.held_until = now + self.lease
        return set(renewed)

    def release(self, ids: list[int]) -> None:
        """Give back rows claimed but not tried: due again at once, for any sender."""
        if ids:
            self.session.execute(update(TABLE).where(TABLE.c.id.in_(ids), TABLE.c.claimed_by == self.token,
                                                     TABLE.c.status.in_(DUE_STATUSES))
                                 .values(claimed_by=None, next_attempt=self.clock()))
            self.session.commit()

    # --- outcomes ----------------------------------------------------------------------------------

    def record(self, row_id: int, *, mine_only: bool = True, **values) -> None:
        where = [TABLE.c.id == row_id, TABLE.c.status != "sent"]
        if mine_only:
            where.append(TABLE.c.claimed_by == self.token)
        self.session.execute(update(TABLE).where(*where).values(**values))
        self.session.commit()

    def sent(self, row: Notification, note: str | None = None) -> None:
        # Recorded even if our claim lapsed meanwhile: the server has the message, whoever holds the row.
        self.record(row.id, mine_only=False, status="sent", sent_at=self.clock(), attempts=row.attempts + 1,
                    last_error=note, claimed_by=None)
        self.report.sent += 1

    def deferred(self, row: Notification, reason: str) -> datetime:
        attempts = row.attempts + 1
        retry_at = self.clock() + backoff(attempts)
        self.record(row.id, status="deferred", attempts=attempts, last_error=reason[:500], next_attempt=retry_at,
                    claimed_by=None)
        self.report.deferred += 1
        self.report.errors.append(f"{row.key}: deferred: {reason}")
        return retry_at

    def failed(self, row: Notification, reason: str, *, tried: bool) -> None:
        self.record(row.id, status="failed", attempts=row.attempts + tried, last_error=reason[:500],
                    claimed_by=None)
        self.report.failed += 1
        self.report.errors.append(f"{row.key}: failed: {reason}")

    def held_back(self, ids: list[int], reason: str, retry_at: datetime) -> None:
        """The untried rest of a chunk after a fault of the channel: deferred, no attempt charged."""
        if ids:
            self.session.execute(update(TABLE).where(TABLE.c.id.in_(ids), TABLE.c.claimed_by == self.token,
                                                     TABLE.c.status.in_(DUE_STATUSES))
                                 .values(status="deferred", last_error=f"not tried: {reason}"[:500],
                                         next_attempt=retry_at, claimed_by=None))
            self.session.commit()
            self.report.deferred += len(ids)

    # --- the run -----------------------------------------------------------------------------------

    def run(self, transport, limit: int | None = None) -> SendReport:
        budget = limit if limit is not None else float("inf")
        with transport.session() as channel:
            while budget > 0:
                ids = self.claim(int(min(CHUNK, budget)))
                if not ids:
                    break
                budget -= len(ids)
                if not self.send_chunk(channel, ids):
                    break
        return self.report

    def send_chunk(self, channel, ids: list[int]) -> bool:
        """Send the claimed ``ids``; False when the channel failed and the run should stop."""
        untried = list(ids)
        try:
            while untried:
                held = self.still_held(untried)
                row_id = untried.pop(0)
                if row_id not in held:
                    continue  # our lease lapsed and another sender has it now
                row = self.session.get(Notification, row_id, populate_existing=True)
                if row is None or row.status not in DUE_STATUSES:
                    continue
                try:
                    msg = message_for(row, self.settings)
                except CannotBuild as exc:
                    self.failed(row, f"cannot be built: {exc}", tried=False)
                    continue
                try:
                    channel.send(msg)
                except DeliveryError as exc:
                    if not self.delivery_failed(row, exc, untried):
                        untried = []
                        return False
                    continue
                self.sent(row)
            return True
        finally:
            self.release(untried)

    def delivery_failed(self, row: Notification, exc: DeliveryError, untried: list[int]) -> bool:
        """Record ``exc`` for ``row``; False when it was the channel's fault and the rest was held back."""
        reason = str(exc.reason)
        if exc.partially_delivered:
            # It reached some recipients: sending it again would double it for them. Keep the refusals.
            self.sent(row, note=f"not delivered to everyone: {reason}"[:500])
            self.report.errors.append(f"{row.key}: {reason}")
        elif exc.permanent:
            self.failed(row, reason, tried=True)
        else:
            retry_at = self.deferred(row, reason)
            if exc.connection:
                self.held_back(untried, reason, retry_at)
                return False
        return True


def send_pending(session: Session, settings: MailSettings | None = None, transport=None, *,
                 limit: int | None = None, now: datetime | None = None,
                 lease: timedelta | None = None) -> SendReport:
    """Send what is due now (see the module docstring); safe to run in any number of processes at once."""
    settings = settings or MailSettings.from_env()
    transport = transport or transport_for(settings)
    sender = Sender(session, settings, now=now, lease=lease or lease_from_env())
    return sender.run(transport, limit)
