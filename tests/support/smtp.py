"""A real SMTP server on loopback for tests (docs/decisions/0017-smtp-server-in-tests.md), with ways to make it misbehave.

    with SmtpTestServer() as server:
        SmtpTransport(MailSettings(server.url(), Path("unused"), "c@la.example")).send(msg)
        assert server.messages[0].msg["Subject"] == "..."

* :class:`RecordingHandler` keeps every accepted message (parsed with ``policy.default``), with the
  envelope, the client's address (one per TCP connection) and whether TLS / AUTH were used.
* ``handler.refuse_next(count, after=n, code=451)`` lets ``n`` more messages through and then answers
  DATA with ``code`` for the next ``count`` - a server failing in the middle of a batch.
  ``handler.reject_recipients(addr, code=550)`` refuses RCPT for given addresses, and
  ``handler.reject_senders(addr, code=553)`` refuses MAIL FROM.
* ``handler.misbehave_next(action, count, after=n)`` does the same with the faults a client cannot
  read a verdict from: ``"stall"`` (say nothing for ``handler.stall_seconds``, past the client's
  timeout, then give up without keeping the message), ``"drop"`` (keep the message, then hang up
  before replying: the client cannot know it arrived) and ``"die"`` (the whole server stops with the
  message in flight, and stays down until ``server.start()``).
* ``handler.reply_delay`` keeps each accepted message and then waits that long before saying 250: a
  slow server, to kill a sender while it waits.
* ``server.stop()`` / ``server.start()`` take the server down and bring it back on the same port.
* :func:`self_signed_certificate` makes a throwaway certificate for 127.0.0.1 (needs ``cryptography``)
  for the STARTTLS and implicit-TLS paths.

Always ``hostname="127.0.0.1"``: aiosmtpd's default resolves to ``::1`` where IPv6 can be bound, while
clients connecting to "localhost" may try IPv4 first.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import cached_property
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A port that was free a moment ago: bind to port 0 and let the kernel choose. (The tiny race before
    the server binds it is acceptable in tests; aiosmtpd's Controller cannot listen on port 0 itself
    because it connects to ``self.port`` to check that it started.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    peer: tuple[str, int]  # client (host, port): different for every TCP connection
    tls: bool
    authenticated_as: str | None

    @cached_property
    def msg(self) -> EmailMessage:
        # Parsed on first access, not in the handler: policy.default parsing costs about a millisecond,
        # and doing it on the server thread would make a 200-message batch test needlessly slow.
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]


@dataclass(frozen=True)
class RefusedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str | None
    reply: str


class RecordingHandler:
    """aiosmtpd handler that records messages and can refuse some on demand.

    Hooks run on the server's thread; the lock keeps the refusal plan consistent when a test changes it
    while a client is mid-conversation.
    """

    def __init__(self) -> None:
        self.messages: list[ReceivedMessage] = []
        self.refused: list[RefusedMessage] = []
        self._plan: deque[str | None] = deque()
        self._rejected: dict[str, str] = {}
        self._rejected_senders: dict[str, str] = {}
        self._lock = threading.Lock()
        self.stall_seconds = 2.0
        self.reply_delay = 0.0
        self.dropped = 0  # messages kept and then hung up on: the client was never told
        self.on_die: Any = None  # set by SmtpTestServer: stops the server from outside its own loop
        self.died = threading.Event()  # set once a "die" has fully stopped the server

    def refuse_next(
        self, count: int = 1, *, after: int = 0, code: int = 451, text: str = "4.3.0 Try again later"
    ) -> None:
        """Accept ``after`` more messages, then answer the next ``count`` DATA commands with ``code``."""
        with self._lock:
            self._plan = deque([None] * after + [f"{code} {text}"] * count)

    def misbehave_next(self, action: str, count: int = 1, *, after: int = 0) -> None:
        """Accept ``after`` more messages, then ``action`` ("stall", "drop" or "die") the next ``count``."""
        if action not in self._MISBEHAVIOURS:
            raise ValueError(f"unknown misbehaviour {action!r}; one of {', '.join(self._MISBEHAVIOURS)}")
        with self._lock:
            self._plan = deque([None] * after + [action] * count)

    def reject_senders(self, *addresses: str, code: int = 553, text: str = "5.7.1 Sender address rejected") -> None:
        with self._lock:
            self._rejected_senders.update({address.lower(): f"{code} {text}" for address in addresses})

    def accept_all_senders(self) -> None:
        with self._lock:
            self._rejected_senders.clear()

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]):
        with self._lock:
            reply = self._rejected_senders.get(address.lower())
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    def reject_recipients(self, *addresses: str, code: int = 550, text: str = "5.1.1 No such user") -> None:
        with self._lock:
            self._rejected.update({address.lower(): f"{code} {text}" for address in addresses})

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ):
        with self._lock:
            reply = self._rejected.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        with self._lock:
            verdict = self._plan.popleft() if self._plan else None
        if verdict in self._MISBEHAVIOURS:
            return await self._MISBEHAVIOURS[verdict](self, server, session, envelope)
        if verdict:
            subject = email.message_from_bytes(raw, policy=email.policy.default)["Subject"]
            self.refused.append(
                RefusedMessage(envelope.mail_from, tuple(envelope.rcpt_tos), subject, verdict)
            )
            return verdict
        self._keep(server, session, envelope)
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        return "250 Message accepted for delivery"

    def _keep(self, server: Any, session: Any, envelope: Any) -> None:
        raw = envelope.original_content or envelope.content
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.messages.append(
            ReceivedMessage(
                mail_from=envelope.mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos),
                raw=raw,
                peer=tuple(session.peer[:2]),
                # session.ssl is only set by STARTTLS; for implicit TLS ask the transport itself.
                tls=session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
                authenticated_as=login,
            )
        )

    async def _stall(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.stall_seconds)
        return "451 4.4.2 Timed out, message not kept"  # to a client that stopped listening long ago

    async def _drop(self, server: Any, session: Any, envelope: Any) -> str:
        self._keep(server, session, envelope)
        self.dropped += 1
        server.transport.abort()  # RST, no reply: aiosmtpd's write of the status below goes nowhere
        return "250 Message accepted for delivery"

    async def _die(self, server: Any, session: Any, envelope: Any) -> str:
        # Controller.stop() joins the loop's thread, so it must run on another thread; it cancels this
        # handler mid-sleep, and the client sees its connection close with no reply.
        def die() -> None:
            self.on_die()
            self.died.set()

        threading.Thread(target=die, daemon=True).start()
        await asyncio.sleep(3600)
        return "451 4.3.2 Shutting down"

    _MISBEHAVIOURS = {"stall": _stall, "drop": _drop, "die": _die}


class PasswordAuthenticator:
    """aiosmtpd ``authenticator`` accepting LOGIN/PLAIN with a fixed user → password table."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self.attempts: list[str] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        self.attempts.append(user)
        ok = user in self.users and self.users[user] == password
        # auth_data is kept on the session, which is how RecordingHandler learns who logged in.
        return AuthResult(success=ok, handled=False, auth_data=auth_data)


class SmtpTestServer:
    """An aiosmtpd server on 127.0.0.1 and a free port, usable as a context manager.

    ``tls_context`` offers STARTTLS; ``ssl_context`` makes it implicit TLS (smtps). ``require_starttls``
    refuses MAIL before STARTTLS. ``authenticator`` enables AUTH, which is offered only over TLS unless
    ``auth_in_clear``.
    (aiosmtpd logs "Session.login_data is deprecated" on every successful AUTH; that is its own code.)
    """

    def __init__(
        self,
        handler: RecordingHandler | None = None,
        *,
        tls_context: ssl.SSLContext | None = None,
        ssl_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        authenticator: PasswordAuthenticator | None = None,
        auth_in_clear: bool = False,
        size_limit: int | None = None,
    ) -> None:
        self.handler = handler or RecordingHandler()
        self.handler.on_die = self.stop
        self.host = HOST
        self.port = free_port()
        self._options: dict[str, Any] = {"server_hostname": "smtpd.test"}  # skips a getfqdn() lookup
        if tls_context is not None:
            self._options.update(tls_context=tls_context, require_starttls=require_starttls)
        if ssl_context is not None:
            # aiosmtpd 1.4 counts only STARTTLS as "TLS" for auth_require_tls and would not offer AUTH on
            # an implicit-TLS socket, although that socket is encrypted from the first byte.
            self._options.update(ssl_context=ssl_context, auth_require_tls=False)
        if authenticator is not None:
            self._options["authenticator"] = authenticator
        if size_limit is not None:
            # Advertised as SIZE: smtplib declares each message's size in MAIL FROM, refused there with 552.
            self._options["data_size_limit"] = size_limit
        if auth_in_clear:
            # Offer AUTH without TLS: only to test what a refused login does to the outbox.
            self._options["auth_require_tls"] = False
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[ReceivedMessage]:
        return self.handler.messages

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> SmtpTestServer:
        if self._controller is None:
            # A Controller cannot be restarted (its loop is closed on stop), so each start gets a new one
            # on the same port; asyncio sets SO_REUSEADDR, so TIME_WAIT does not block the re-bind.
            controller = Controller(self.handler, hostname=self.host, port=self.port, **self._options)
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def url(self, scheme: str = "smtp", user: str | None = None, password: str | None = None) -> str:
        """A ``CONCERNS_SMTP_URL`` for this server, credentials percent-encoded."""
        userinfo = ""
        if user is not None:
            userinfo = (
                quote(user, safe="") + (f":{quote(password, safe='')}" if password is not None else "") + "@"
            )
        return f"{scheme}://{userinfo}{self.host}:{self.port}"


@dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only this certificate (hostname checks stay on)."""
        return ssl.create_default_context(cafile=str(self.cert_path))


def self_signed_certificate(directory: Path, host: str = HOST) -> Certificate:
    """Write a throwaway self-signed certificate for ``host`` (as an IP SAN) plus "localhost".

    EC P-256 because generating it takes about a millisecond; RSA-2048 would cost ~100 ms per test run.
    Raises ImportError when ``cryptography`` is missing - callers should ``pytest.importorskip`` it first.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address(host)), x509.DNSName("localhost")]),
            critical=False,
        )
        # Acts as its own CA (the client trusts exactly this certificate). The key identifiers keep it
        # acceptable under VERIFY_X509_STRICT, which newer Pythons enable by default.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtpd-cert.pem", directory / "smtpd-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Certificate(cert_path, key_path)
