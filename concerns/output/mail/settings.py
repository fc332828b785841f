"""Mail configuration: where messages go (an SMTP server or an outbox directory) and who sends them.

The command-line contract (docs/cli-contract.md, "Mail") fixes the environment variables:

* ``CONCERNS_SMTP_URL``  ``smtp://host:port`` (plain), ``smtp+starttls://host:port`` or
  ``smtps://host:port`` (implicit TLS), with optional percent-encoded ``user:password@``.
  Unset or empty means "no SMTP": every message is written as an ``.eml`` file instead.
* ``CONCERNS_OUTBOX``    directory for those ``.eml`` files (default ``./outbox``).
* ``CONCERNS_MAIL_FROM`` the sender (default ``concerns@localhost``).

In production the same values may come from Prefect blocks; :meth:`MailSettings.from_env` takes those
as ``fallback`` and the environment variables always win.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

from concerns.domain.untrusted import BadSetting, printable

Security = Literal["plain", "starttls", "tls"]

#: URL scheme → (security mode, default port). The ports are the IANA ones prefect-email also uses
#: (docs/decisions/0016-smtp-and-message-ids.md): 25 for plain SMTP, 587 for submission with STARTTLS, 465 for implicit TLS.
_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("plain", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}

DEFAULT_OUTBOX = Path("./outbox")
DEFAULT_MAIL_FROM = "concerns@localhost"

ENV_SMTP_URL = "CONCERNS_SMTP_URL"
ENV_OUTBOX = "CONCERNS_OUTBOX"
ENV_MAIL_FROM = "CONCERNS_MAIL_FROM"


@dataclass(frozen=True)
class SmtpEndpoint:
    """A parsed, validated ``CONCERNS_SMTP_URL``. ``password`` is kept out of ``repr`` so it never
    lands in logs, tracebacks or Prefect task-run parameters by accident."""

    security: Security
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def redact_smtp_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``, for error messages and logs.

    This works on the raw text rather than on ``urlsplit`` output on purpose: a password containing an
    unencoded ``/``, ``?`` or ``#`` makes ``urlsplit`` cut the authority short and would put the rest of
    the password into the "host" or "path" it reports. Everything up to the *last* ``@`` after ``://`` is
    userinfo whatever it contains, so masking that part is always safe.
    """
    start = url.find("://")
    if start < 0:
        # No authority at all. An "@" here can only be a mangled user:password@host, so mask it too.
        at = url.rfind("@")
        return url if at < 0 else "***" + url[at:]
    start += 3
    at = url.rfind("@", start)
    if at < 0:
        return url
    userinfo = url[start:at]
    user, has_password, _ = userinfo.partition(":")
    masked = f"{user}:***" if has_password else user
    return f"{url[:start]}{masked}{url[at:]}"


def parse_smtp_url(url: str) -> SmtpEndpoint:
    """Parse an SMTP URL (see the module docstring). Raise ``ValueError`` with a one-line message that
    names the bad value, with the password masked."""
    shown = repr(redact_smtp_url(url))  # repr(): one line even if the value contains a newline

    def bad(reason: str) -> BadSetting:
        # BadSetting: the command line's one-line refusal (a ValueError still, for those who catch that).
        return BadSetting(f"{ENV_SMTP_URL}: {reason} in {shown}")

    if any(ch.isspace() for ch in url):
        raise bad("whitespace is not allowed (percent-encode it as %20 in a user name or password)")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 literal; urllib's own message omits the value
        raise bad("not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        expected = ", ".join(f"{s}://" for s in _SCHEMES)
        raise bad(f"unsupported scheme {parts.scheme or '(none)'!r}, expected one of {expected}")
    security, default_port = _SCHEMES[scheme]
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        # Reject rather than ignore: a trailing "?timeout=…" or a password with an unencoded "/" or "#"
        # would otherwise be silently dropped and the operator would debug the wrong thing.
        raise bad("unexpected path, query or fragment (percent-encode '/', '?', '#' in a password)")
    host = parts.hostname
    if not host:
        raise bad("missing host name")
    try:
        port = parts.port
    except ValueError:
        raise bad("port must be a number from 1 to 65535") from None
    if port is None:
        port = default_port
    elif port == 0:
        raise bad("port must be a number from 1 to 65535")
    # urlsplit leaves userinfo percent-encoded; the contract says user and password are percent-encoded,
    # so decode them here (a password "p@ss" is written "p%40ss").
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise bad("a password was given without a user name")
    return SmtpEndpoint(security=security, host=host, port=port, username=username or None, password=password)


def build_smtp_url(
    host: str,
    port: int | None = None,
    *,
    security: Security = "plain",
    username: str | None = None,
    password: str | None = None,
) -> str:
    """Inverse of :func:`parse_smtp_url`, percent-encoding the credentials.

    Meant for turning a Prefect ``EmailServerCredentials`` block into settings (its ``smtp_type``
    INSECURE / STARTTLS / SSL maps to security plain / starttls / tls).
    """
    scheme = next((s for s, (sec, _) in _SCHEMES.items() if sec == security), None)
    if scheme is None:
        raise ValueError(f"unknown SMTP security mode {security!r}, expected plain, starttls or tls")
    if password is not None and not username:
        raise ValueError("an SMTP password was given without a user name")
    userinfo = ""
    if username:
        userinfo = quote(username, safe="")
        if password is not None:
            userinfo += ":" + quote(password, safe="")
        userinfo += "@"
    hostpart = f"[{host}]" if ":" in host else host  # IPv6 literal
    url = f"{scheme}://{userinfo}{hostpart}" + (f":{port}" if port is not None else "")
    parse_smtp_url(url)  # validate (host, port range) with the same rules and messages as the env var
    return url


def _validate_mail_from(value: str) -> str:
    _, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or any(ch in value for ch in "\r\n"):
        raise BadSetting(f"{ENV_MAIL_FROM}: not an e-mail address: {printable(value)!r}")
    return value


@dataclass(frozen=True, repr=False)
class MailSettings:
    """Resolved mail settings. ``smtp_url`` is validated on construction, so a bad URL fails at start-up
    (``concerns`` exits with the one-line reason) rather than at the first reminder."""

    smtp_url: str | None
    outbox_dir: Path
    mail_from: str
    smtp: SmtpEndpoint | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # frozen=True forbids normal assignment; these are derived once from the declared fields.
        object.__setattr__(self, "outbox_dir", Path(self.outbox_dir))
        _validate_mail_from(self.mail_from)
        object.__setattr__(self, "smtp", parse_smtp_url(self.smtp_url) if self.smtp_url else None)

    def __repr__(self) -> str:
        # The URL may carry a password; a settings object printed in a log must not leak it.
        url = redact_smtp_url(self.smtp_url) if self.smtp_url else None
        return f"MailSettings(smtp_url={url!r}, outbox_dir={self.outbox_dir!r}, mail_from={self.mail_from!r})"

    @property
    def mail_from_address(self) -> str:
        """The bare address of ``mail_from`` (which may be ``"Name <addr>"``)."""
        return parseaddr(self.mail_from)[1]

    @property
    def domain(self) -> str:
        """Domain used for Message-IDs: the sender's domain, so IDs are recognisably ours."""
        return self.mail_from_address.rpartition("@")[2]

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] = os.environ,
        *,
        fallback: MailSettings | None = None,
    ) -> MailSettings:
        """Read the ``CONCERNS_*`` variables. A variable that is unset or empty falls back to
        ``fallback`` (e.g. settings built from Prefect blocks) and then to the contract defaults."""

        def get(name: str) -> str | None:
            value = environ.get(name)
            return value if value and value.strip() else None

        smtp_url = get(ENV_SMTP_URL)
        if smtp_url is None and fallback is not None:
            smtp_url = fallback.smtp_url
        outbox = get(ENV_OUTBOX)
        outbox_dir = Path(outbox) if outbox else (fallback.outbox_dir if fallback else DEFAULT_OUTBOX)
        mail_from = get(ENV_MAIL_FROM) or (fallback.mail_from if fallback else DEFAULT_MAIL_FROM)
        return cls(
            smtp_url=smtp_url.strip() if smtp_url else None,
            outbox_dir=outbox_dir,
            mail_from=mail_from.strip(),
        )
