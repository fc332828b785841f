"""Officer accounts: passwords (salted scrypt), sessions, and the sign-in throttle.

Nothing here knows about HTTP: the CLI's `concerns user add` and the web app both call these.

The throttle cannot be turned against an officer (docs/security.md). Failures are counted per account
*and client* pair and per client, never per account alone: five wrong passwords for an officer's address
from elsewhere make *that* client wait, and the officer signs in from their own as before. Guessing one
account from many clients is slowed (each try on an account with many recent failures waits a little
longer before it is answered), never locked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, select

from concerns.casework.cases import Refused
from concerns.domain.clock import as_utc
from concerns.domain.policy import policy_for
from concerns.domain.untrusted import check_email
from models import Officer, OfficerSession, SignInAttempt

# scrypt cost: OWASP's minimum today (Password Storage Cheat Sheet: N=2^17, r=8, p=1), 128 MiB and about
# half a second a check. The parameters are stored with each hash; a hash made with less is made again,
# with these, at the officer's next successful sign-in (`needs_rehash`).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
SCRYPT_MAXMEM = 256 * 1024 * 1024  # above 128 * r * N, which scrypt needs
MIN_PASSWORD = 12
SESSION_HOURS = 8
# Failed sign-ins allowed, in a sliding window, per account-and-client pair (then that pair waits) and per
# client across accounts (then that client waits: it is guessing many accounts).
ATTEMPTS_ALLOWED = 5
CLIENT_ATTEMPTS_ALLOWED = 20
ATTEMPT_WINDOW = timedelta(minutes=15)
# Per account from anywhere: beyond this many failures in the window each try is answered more slowly
# (SLOWDOWN_STEP more per failure, at most SLOWDOWN_MAX), the right password included; never refused.
ACCOUNT_SLOWDOWN_AFTER = 10
SLOWDOWN_STEP = 0.25
SLOWDOWN_MAX = 3.0
TOO_MANY = "Too many failed sign-in attempts: wait 15 minutes, then try again."
WRONG = "The e-mail address or password is not right."


def _now() -> datetime:
    return datetime.now(UTC)


def sleep(seconds: float) -> None:
    """The throttle's pause (a name of its own so that a test can see it without waiting)."""
    time.sleep(seconds)


def hash_password(password: str, *, n: int | None = None) -> str:
    """A salted scrypt hash, "scrypt$N$r$p$salt$digest": the cost is stored with it."""
    n = n or SCRYPT_N
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=SCRYPT_MAXMEM, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def _cost(stored: str) -> tuple[int, int, int] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(x.isascii() and x.isdigit() for x in parts[1:4]):
        return None
    n, r, p = (int(x) for x in parts[1:4])
    # Bounds on what a stored hash may ask of the machine: a tampered row must not make a check take
    # gigabytes or minutes.
    if not (2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        return None
    return n, r, p


def verify_password(password: str, stored: str) -> bool:
    cost = _cost(stored)
    if cost is None:
        return False
    n, r, p = cost
    try:
        _, _, _, _, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=n, r=r, p=p,
                                maxmem=SCRYPT_MAXMEM, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str) -> bool:
    """A hash made at less than today's cost (or not readable as one): made again at the next sign-in."""
    cost = _cost(stored)
    return cost is None or cost[0] < SCRYPT_N or cost[1] < SCRYPT_R or cost[2] < SCRYPT_P


# A hash to check against when the account does not exist, so that the time taken does not tell.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def normalise_email(email: str) -> str:
    return email.strip().lower()


def add_officer(session: Session, email: str, *, role: str, la: str, password: str) -> tuple[Officer, bool]:
    """Create an officer, or set a new password, role and authority on an existing one. Returns (row, created)."""
    email = normalise_email(check_email(email.strip()))
    if not la.strip():
        raise Refused("--la must not be empty")
    la = la.strip()
    policy = policy_for(la)
    if role not in policy.roles:
        raise Refused(f"role {role!r} is not in the {policy.key} policy; roles: {', '.join(policy.roles)}")
    if len(password) < MIN_PASSWORD:
        raise Refused(f"the password must be at least {MIN_PASSWORD} characters (it was {len(password)})")
    if password.strip() != password:
        raise Refused("the password must not start or end with spaces")
    officer = session.exec(select(Officer).where(Officer.email == email)).first()
    created = officer is None
    if officer is None:
        officer = Officer(email=email, role=role, la=la, password_hash=hash_password(password))
    else:
        officer.role, officer.la, officer.password_hash, officer.active = role, la, hash_password(password), True
        # A new password ends every session signed in with the old one.
        session.exec(delete(OfficerSession).where(OfficerSession.officer_id == officer.id))
    session.add(officer)
    session.flush()
    return officer, created


NO_PASSWORD = "!"  # a provider-only account: no password matches it (verify_password is False for it)


def add_provider_officer(session: Session, email: str, *, role: str, la: str) -> tuple[Officer, bool]:
    """An officer who signs in only through the council's OpenID provider: no password. An existing account
    loses its password (and its sessions) and takes the new role and authority. Returns (row, created)."""
    email = normalise_email(check_email(email.strip()))
    la = la.strip()
    if not la:
        raise Refused("--la must not be empty")
    policy = policy_for(la)
    if role not in policy.roles:
        raise Refused(f"role {role!r} is not in the {policy.key} policy; roles: {', '.join(policy.roles)}")
    officer = session.exec(select(Officer).where(Officer.email == email)).first()
    created = officer is None
    if officer is None:
        officer = Officer(email=email, role=role, la=la, password_hash=NO_PASSWORD)
    else:
        officer.role, officer.la, officer.password_hash, officer.active = role, la, NO_PASSWORD, True
        session.exec(delete(OfficerSession).where(OfficerSession.officer_id == officer.id))
    session.add(officer)
    session.flush()
    return officer, created


def failed_attempts(session: Session, *, email: str | None = None, client: str | None = None) -> int:
    since = _now() - ATTEMPT_WINDOW
    query = select(func.count()).select_from(SignInAttempt).where(SignInAttempt.at > since)
    if email is not None:
        query = query.where(SignInAttempt.email == email)
    if client is not None:
        query = query.where(SignInAttempt.client == client)
    return session.exec(query).one()


class SignInRefused(Exception):
    pass


@dataclass
class SignedIn:
    officer: Officer
    token: str  # for the cookie; only its hash is stored
    csrf_token: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, officer: Officer) -> SignedIn:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(OfficerSession(token_hash=_token_hash(token), officer_id=officer.id, csrf_token=csrf,
                               expires_at=_now() + timedelta(hours=SESSION_HOURS)))
    session.flush()
    return SignedIn(officer, token, csrf)


def sign_in(session: Session, email: str, password: str, client: str) -> SignedIn:
    """Check the password under the rate limit; a failure is recorded (commit it even when refusing)."""
    email = normalise_email(email)[:254]
    client = client[:64]
    # Never a count for the account alone: that would let anyone lock any officer out.
    if (failed_attempts(session, email=email, client=client) >= ATTEMPTS_ALLOWED
            or failed_attempts(session, client=client) >= CLIENT_ATTEMPTS_ALLOWED):
        raise SignInRefused(TOO_MANY)
    beyond = failed_attempts(session, email=email) - ACCOUNT_SLOWDOWN_AFTER
    if beyond >= 0:
        sleep(min(SLOWDOWN_STEP * (beyond + 1), SLOWDOWN_MAX))
    officer = session.exec(select(Officer).where(Officer.email == email)).first()
    ok = verify_password(password, officer.password_hash if officer else _dummy_hash())
    if not (ok and officer is not None and officer.active):
        session.add(SignInAttempt(email=email, client=client))
        raise SignInRefused(WRONG)
    if needs_rehash(officer.password_hash):
        officer.password_hash = hash_password(password)
        session.add(officer)
    # This client's failures on this account are forgiven; others' stand (they are theirs to wait out).
    session.exec(delete(SignInAttempt).where(SignInAttempt.email == email, SignInAttempt.client == client))
    session.exec(delete(OfficerSession).where(OfficerSession.officer_id == officer.id,
                                              OfficerSession.expires_at < _now()))
    return start_session(session, officer)


def session_for(session: Session, token: str | None) -> tuple[Officer, OfficerSession] | None:
    """The signed-in officer for a cookie's token, or None (unknown, expired, or account disabled)."""
    if not token:
        return None
    row = session.get(OfficerSession, _token_hash(token))
    if row is None or as_utc(row.expires_at) <= _now():
        return None
    officer = session.get(Officer, row.officer_id)
    if officer is None or not officer.active:
        return None
    return officer, row


def live_session(session: Session, officer: Officer) -> OfficerSession | None:
    """The officer's latest session that has not expired (signed in by the trusted header, reused)."""
    return session.exec(select(OfficerSession).where(OfficerSession.officer_id == officer.id,
                                                     OfficerSession.expires_at > _now())
                        .order_by(OfficerSession.expires_at.desc())).first()


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.exec(delete(OfficerSession).where(OfficerSession.token_hash == _token_hash(token)))


def officer_by_email(session: Session, email: str) -> Officer | None:
    officer = session.exec(select(Officer).where(Officer.email == normalise_email(email))).first()
    return officer if officer is not None and officer.active else None
