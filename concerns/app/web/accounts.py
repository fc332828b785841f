"""Officer accounts: passwords (salted scrypt), sessions, and the sign-in rate limit.

Nothing here knows about HTTP: the CLI's `concerns user add` and the web app both call these.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, select

from concerns.casework.cases import Refused
from concerns.domain.clock import as_utc
from concerns.domain.policy import policy_for
from concerns.domain.untrusted import check_email
from models import Officer, OfficerSession, SignInAttempt

# scrypt cost: n=2**15, r=8, p=1 needs 32 MiB and ~0.1 s a check: slow for a guesser, fine for a person.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSWORD = 12
SESSION_HOURS = 8
# Failed sign-ins allowed per account, and per client address, in a sliding window.
ATTEMPTS_ALLOWED = 5
ATTEMPT_WINDOW = timedelta(minutes=15)
TOO_MANY = "Too many failed sign-in attempts: wait 15 minutes, then try again."
WRONG = "The e-mail address or password is not right."


def _now() -> datetime:
    return datetime.now(UTC)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=64 * 1024 * 1024, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), maxmem=64 * 1024 * 1024, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


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
    if (failed_attempts(session, email=email) >= ATTEMPTS_ALLOWED
            or failed_attempts(session, client=client) >= ATTEMPTS_ALLOWED):
        raise SignInRefused(TOO_MANY)
    officer = session.exec(select(Officer).where(Officer.email == email)).first()
    ok = verify_password(password, officer.password_hash if officer else _dummy_hash())
    if not (ok and officer is not None and officer.active):
        session.add(SignInAttempt(email=email, client=client))
        raise SignInRefused(WRONG)
    session.exec(delete(SignInAttempt).where(SignInAttempt.email == email))
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


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.exec(delete(OfficerSession).where(OfficerSession.token_hash == _token_hash(token)))


def officer_by_email(session: Session, email: str) -> Officer | None:
    officer = session.exec(select(Officer).where(Officer.email == normalise_email(email))).first()
    return officer if officer is not None and officer.active else None
