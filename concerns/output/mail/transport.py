"""How messages leave: SMTP, or ``.eml`` files in an outbox directory when no server is configured.

Both transports have the same shape - ``send(msg)`` for one message, ``with t.session() as s:`` for a
batch - so callers never branch on the configuration. Failures are raised as :class:`DeliveryError`,
one per message, and never swallowed: the caller (the outbox table with its "sent" ledger) defers that
message, or fails it when the refusal is permanent, and decides from ``DeliveryError.connection``
whether the rest of the batch can carry on.
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from email.message import EmailMessage
from email.policy import default
from email.utils import getaddresses
from functools import partial
from pathlib import Path
from typing import Protocol, runtime_checkable

from .message import KEY_HEADER
from .settings import MailSettings, SmtpEndpoint

DEFAULT_TIMEOUT = 30.0  # seconds per socket operation; a hung relay must not stall the nightly flow forever
#: Replies to MAIL FROM about the SIZE smtplib declared (RFC 1870 §6): this message, not our address.
MESSAGE_SIZE_REPLIES = (452, 552)
#: A connection unused for longer than this is probed with NOOP before reuse (see SmtpSession).
IDLE_PROBE_AFTER = 5.0


class DeliveryError(Exception):
    """One message could not be delivered (or could not be fully delivered).

    * ``key``        the message's ``X-Concerns-Key`` (or Message-ID), to find its ledger row.
    * ``recipients`` the envelope recipients the message was meant for.
    * ``reason``     a one-line human-readable cause (server reply, socket error …); never a password.
    * ``smtp_code``  the server's reply code when there was one.
    * ``permanent``  True when the server rejected this message with a 5xx reply: retrying the same
      message will fail the same way, so flag it for a person. False for 4xx replies, lost connections,
      timeouts, bad credentials and disk errors: retry later (after fixing the configuration, if needed).
    * ``refused``    per-recipient refusals ``{address: (code, reply)}``. If it names only some of the
      recipients, the others DID receive the message (``partially_delivered``); a blind retry would send
      them a duplicate.
    * ``connection`` True when the fault is the channel's, not this message's: the server cannot be
      reached, refused our login or our sender address, or the outbox directory cannot be written. Every later message in the
      batch would fail the same way, and none of them has been tried.
    """

    def __init__(
        self,
        key: str,
        reason: str,
        *,
        recipients: tuple[str, ...] = (),
        smtp_code: int | None = None,
        permanent: bool = False,
        refused: Mapping[str, tuple[int, str]] | None = None,
        connection: bool = False,
    ) -> None:
        self.key = key
        self.reason = reason
        self.recipients = recipients
        self.smtp_code = smtp_code
        self.permanent = permanent
        self.refused = dict(refused or {})
        self.connection = connection
        to = ", ".join(recipients) or "(no recipients)"
        super().__init__(f"could not deliver {key!r} to {to}: {reason}")

    @property
    def partially_delivered(self) -> bool:
        return bool(self.refused) and len(self.refused) < len(self.recipients)

    def __reduce__(self):
        # Prefect records a failed task's exception by pickling it; the default Exception pickling would
        # call DeliveryError(message) on load and fail, since the keyword details are not in self.args.
        details = partial(
            type(self),
            recipients=self.recipients,
            smtp_code=self.smtp_code,
            permanent=self.permanent,
            refused=self.refused,
            connection=self.connection,
        )
        return details, (self.key, self.reason)


class MailSession(Protocol):
    def send(self, msg: EmailMessage) -> None: ...


@runtime_checkable
class Transport(Protocol):
    """Anything that can deliver a built message. ``session()`` groups a batch (one SMTP connection)."""

    def send(self, msg: EmailMessage) -> None: ...

    def session(self) -> AbstractContextManager[MailSession]: ...


def _key_of(msg: EmailMessage) -> str:
    return str(msg.get(KEY_HEADER) or msg.get("Message-ID") or "(message without key)")


def _recipients_of(msg: EmailMessage) -> tuple[str, ...]:
    # The same headers smtplib.send_message derives the envelope from.
    pairs = getaddresses([str(v) for field in ("To", "Cc", "Bcc") for v in msg.get_all(field, [])])
    return tuple(address for _, address in pairs if address)


def _reply_text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())  # multi-line server replies → one line


class SmtpTransport:
    """Deliver through the server in ``settings.smtp_url``.

    * ``smtp://``          plain ``smtplib.SMTP``.
    * ``smtp+starttls://`` ``SMTP`` then ``STARTTLS``; if the server does not offer STARTTLS this fails
      rather than carrying on in clear text.
    * ``smtps://``         ``SMTP_SSL`` (TLS from the first byte).

    ``login()`` happens only when the URL has a user. Certificates are verified against the system CA
    store unless an ``ssl_context`` is passed (tests pass one that trusts a throwaway certificate).
    """

    def __init__(
        self,
        settings: MailSettings | SmtpEndpoint,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        endpoint = settings.smtp if isinstance(settings, MailSettings) else settings
        if endpoint is None:
            raise ValueError("SmtpTransport needs settings with an SMTP URL (CONCERNS_SMTP_URL is not set)")
        self.endpoint = endpoint
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        ep = self.endpoint
        return f"SmtpTransport({ep.security} {ep.host}:{ep.port}, user={ep.username!r})"

    @property
    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def session(self) -> AbstractContextManager[SmtpSession]:
        """``with transport.session() as s: s.send(m1); s.send(m2)`` - one connection for the batch."""
        return _smtp_session(self)

    def send(self, msg: EmailMessage) -> None:
        """Send one message on its own connection. Prefer ``session()`` for more than one."""
        with self.session() as session:
            session.send(msg)

    def connect(self) -> smtplib.SMTP:
        """Open, secure and authenticate a connection. Raises smtplib / OSError exceptions."""
        ep = self.endpoint
        smtp: smtplib.SMTP
        if ep.security == "tls":
            smtp = smtplib.SMTP_SSL(
                ep.host,
                ep.port,
                timeout=self.timeout,
                context=self.ssl_context,
                local_hostname=self.local_hostname,
            )
        else:
            smtp = smtplib.SMTP(ep.host, ep.port, timeout=self.timeout, local_hostname=self.local_hostname)
        try:
            if ep.security == "starttls":
                smtp.ehlo()
                smtp.starttls(context=self.ssl_context)  # raises SMTPNotSupportedError if not offered
                smtp.ehlo()  # RFC 3207: capabilities must be re-read over TLS (AUTH often appears only now)
            if ep.username:
                smtp.login(ep.username, ep.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp


@contextmanager
def _smtp_session(transport: SmtpTransport) -> Iterator[SmtpSession]:
    session = SmtpSession(transport)
    try:
        yield session
    finally:
        session.close()


class SmtpSession:
    """A batch of sends over one connection, opened lazily on the first ``send``.

    Lazily, so a server that is down or refuses our login is reported by ``send`` as a
    :class:`DeliveryError` for a specific message - the one place callers handle failures - rather than
    by ``session()`` itself. A failed message is never re-sent here (it may have reached the server before
    the connection died); that decision belongs to the caller's ledger. Not thread-safe: one per thread.

    A reused connection may have died unnoticed: the server drops idle clients after a few minutes, or
    hung up after refusing the previous message. Sending into it would fail *this* message for no reason
    of its own, so in those two cases the connection is first probed with NOOP (one round trip) and
    replaced if it does not answer 250. A fresh or recently used healthy connection is not probed, which
    keeps a batch of 200 mails at one connection and no extra round trips.
    """

    def __init__(self, transport: SmtpTransport) -> None:
        self.transport = transport
        self.connections_opened = 0
        self._smtp: smtplib.SMTP | None = None
        self._last_ok = 0.0
        self._suspect = False

    def send(self, msg: EmailMessage) -> None:
        recipients = _recipients_of(msg)
        failure = partial(DeliveryError, _key_of(msg), recipients=recipients)
        if not recipients:
            raise failure("the message has no To, Cc or Bcc recipient", permanent=True)
        try:
            smtp = self._connection()
        except smtplib.SMTPAuthenticationError as exc:
            user = self.transport.endpoint.username
            raise failure(
                f"{self._where()} refused login as {user!r}: {exc.smtp_code} {_reply_text(exc.smtp_error)}",
                smtp_code=exc.smtp_code,
                connection=True,
            ) from exc
        except smtplib.SMTPResponseException as exc:  # greeting, EHLO or STARTTLS refused
            raise failure(
                f"{self._where()} refused the connection: {exc.smtp_code} {_reply_text(exc.smtp_error)}",
                smtp_code=exc.smtp_code,
                connection=True,
            ) from exc
        # Connection refused/reset/timed out, TLS handshake or certificate failure, no STARTTLS or AUTH.
        except (smtplib.SMTPException, OSError) as exc:
            raise failure(
                f"cannot connect to {self._where()}: {type(exc).__name__}: {exc}", connection=True
            ) from exc

        self._suspect = True  # until send_message returns normally
        try:
            refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:  # every recipient refused; nothing was delivered
            raise _refusal(failure, "all recipients refused", exc.recipients) from exc
        except smtplib.SMTPSenderRefused as exc:
            if exc.smtp_code in MESSAGE_SIZE_REPLIES:
                raise failure(
                    f"server refused the message's size: {exc.smtp_code} {_reply_text(exc.smtp_error)}",
                    smtp_code=exc.smtp_code,
                    permanent=exc.smtp_code >= 500,
                ) from exc
            # Otherwise MAIL FROM was refused for our sender address (a setting), not for this message:
            # every message would meet the same refusal until the setting or the server is put right.
            # Not permanent: the fix must find the mail still waiting.
            raise failure(
                f"server refused our sender address {exc.sender!r}: {exc.smtp_code} {_reply_text(exc.smtp_error)}",
                smtp_code=exc.smtp_code,
                connection=True,
            ) from exc
        except smtplib.SMTPResponseException as exc:  # DATA refused; smtplib has sent RSET
            if exc.smtp_code == 421:  # "service closing transmission channel": this connection is finished
                self._drop()
            raise failure(
                f"server replied {exc.smtp_code} {_reply_text(exc.smtp_error)}",
                smtp_code=exc.smtp_code,
                permanent=500 <= exc.smtp_code < 600,
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:  # e.g. a non-ASCII address but no SMTPUTF8 on the server
            raise failure(f"server cannot accept this message: {exc}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:  # disconnected or timed out mid-message
            self._drop()
            raise failure(f"connection to {self._where()} lost: {type(exc).__name__}: {exc}") from exc
        self._suspect = False
        self._last_ok = time.monotonic()
        if refused:  # some recipients accepted, some refused: the message went out, but not to everyone
            raise _refusal(failure, "some recipients refused", refused)

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            # Every message was already accepted (or reported) one by one; a failed QUIT loses nothing.
            smtp.close()

    def _connection(self) -> smtplib.SMTP:
        stale = self._suspect or time.monotonic() - self._last_ok > IDLE_PROBE_AFTER
        if self._smtp is not None and stale and not self._alive(self._smtp):
            self._drop()
        if self._smtp is None:
            self._smtp = self.transport.connect()
            self.connections_opened += 1
            self._suspect = False
            self._last_ok = time.monotonic()
        return self._smtp

    @staticmethod
    def _alive(smtp: smtplib.SMTP) -> bool:
        try:
            return smtp.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            return False

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _where(self) -> str:
        ep = self.transport.endpoint
        return f"SMTP server {ep.host}:{ep.port}"


def _refusal(
    failure: Callable[..., DeliveryError], what: str, refused: Mapping[str, tuple[int, bytes | str]]
) -> DeliveryError:
    replies = {address: (code, _reply_text(text)) for address, (code, text) in refused.items()}
    codes = [code for code, _ in replies.values()]
    detail = "; ".join(f"{address}: {code} {text}" for address, (code, text) in replies.items())
    return failure(
        f"{what} ({detail})",
        smtp_code=min(codes, default=None),
        # Permanent only if every refusal is 5xx: one 4xx means a later retry can still succeed.
        permanent=all(code >= 500 for code in codes),
        refused=replies,
    )


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._@+-]")


class OutboxDirTransport:
    """Write each message to ``<directory>/<name-from-Message-ID>.eml`` instead of sending it.

    Used when ``CONCERNS_SMTP_URL`` is not set (demo, development, authorities that hand mail to another
    system). Writes are atomic - a temp file in the same directory, fsync, then ``os.replace`` - so a
    reader never sees half a message. Idempotent: a message whose file already exists is not written
    again, which together with the key-derived Message-ID makes re-runs harmless.
    Files are created 0600 (``mkstemp``): letters name children and staff.
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"OutboxDirTransport({str(self.directory)!r})"

    def path_for(self, msg: EmailMessage) -> Path:
        message_id = msg.get("Message-ID")
        if not message_id:
            raise ValueError("OutboxDirTransport needs a Message-ID to name the file (use build_message)")
        raw = str(message_id).strip().strip("<>")
        name = _UNSAFE_FILENAME.sub("_", raw).lstrip(".")
        if name != raw or len(name) > 150:
            # Sanitising could map two different IDs onto one name; a hash of the original keeps them apart.
            name = f"{name[:100]}-{hashlib.sha256(str(message_id).encode()).hexdigest()[:16]}"
        return self.directory / f"{name}.eml"

    @contextmanager
    def session(self) -> Iterator[OutboxDirTransport]:
        yield self

    def send(self, msg: EmailMessage) -> None:
        target = self.path_for(msg)
        if target.exists():
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # The dot prefix and .tmp suffix keep *.eml globs (and readers of the outbox) off the temp file.
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".eml.tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    # "\n" line endings, like Maildir and Python's mailbox module: a file on disk is for
                    # people and tools (grep, diff, email.message_from_bytes); CRLF is only required on the
                    # wire, where smtplib adds it. Attachments are base64, so an .ics keeps its CRLFs.
                    handle.write(msg.as_bytes(policy=default))
                    handle.flush()
                    # Without fsync a crash can leave an empty file under the final name after the rename,
                    # and the "already exists" check would then skip the message for good.
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                with suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            # A full disk or an unwritable directory stops every message alike: a fault of the channel.
            raise DeliveryError(
                _key_of(msg),
                f"cannot write {target}: {exc.strerror or exc}",
                recipients=_recipients_of(msg),
                connection=True,
            ) from exc


def transport_for(
    settings: MailSettings,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    ssl_context: ssl.SSLContext | None = None,
) -> SmtpTransport | OutboxDirTransport:
    """SMTP when ``settings.smtp_url`` is set, otherwise the outbox directory (docs/cli-contract.md, "Mail")."""
    if settings.smtp is not None:
        return SmtpTransport(settings, timeout=timeout, ssl_context=ssl_context)
    return OutboxDirTransport(settings.outbox_dir)
