"""Council sign-in over OpenID Connect (Microsoft Entra ID and other providers), through Authlib.

The authorization code flow with PKCE (S256), state and nonce. What a sign-in needs between leaving for the
provider and coming back (state, nonce, PKCE verifier, the page asked for) is kept in the database, keyed by
the hash of a random token in a cookie of its own: it finishes only in the browser that started it, and only
once. The ID token is checked against the provider's published keys (JWKS), issuer, audience, expiry and
nonce. The officer is the registered, active account whose e-mail address the provider says is verified; the
desk session is then the same server-side session a password sign-in gets (`accounts.start_session`).

The client secret is read from the environment and sent only to the provider's token endpoint: never
printed, logged or stored.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import delete
from sqlmodel import Session

from concerns.app.web import accounts
from concerns.casework.cases import Refused
from concerns.domain.clock import as_utc
from models import Officer, OfficerSession, OidcSession, OidcSignIn

log = logging.getLogger("concerns.desk.oidc")

ISSUER = "CONCERNS_OIDC_ISSUER"
CLIENT_ID = "CONCERNS_OIDC_CLIENT_ID"
CLIENT_SECRET = "CONCERNS_OIDC_CLIENT_SECRET"
REDIRECT_URL = "CONCERNS_OIDC_REDIRECT_URL"
PROVIDER_NAME = "CONCERNS_OIDC_PROVIDER_NAME"
PASSWORDS = "CONCERNS_WEB_PASSWORDS"
ADMIN_CONTACT = "CONCERNS_WEB_ADMIN_CONTACT"

START_PATH = "/login/oidc"
CALLBACK_PATH = "/login/oidc/callback"
COOKIE = "desk_oidc"
SCOPES = "openid email profile"
SIGN_IN_MINUTES = 10  # from leaving for the provider to coming back
METADATA_SECONDS = 3600  # discovery and keys are fetched again after an hour (and keys at once for an unknown key)
CLOCK_LEEWAY = 120
# Asymmetric signatures only: never "none", never HMAC with the client secret as the key.
SIGNING_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class OidcConfigError(Refused):
    """A bad setting: one line naming it (the CLI prints it as a refusal, not a traceback)."""


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_url: str
    provider_name: str
    admin_contact: str = ""

    @property
    def desk_origin(self) -> str:
        parts = urlsplit(self.redirect_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def post_logout_url(self) -> str:
        return self.desk_origin + "/login"


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _check_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise OidcConfigError(f"{name} must be an https:// address without ?query or #fragment (it is {value!r})")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise OidcConfigError(f"{name} must use https:// (plain http:// only on this machine, 127.0.0.1 or "
                              f"localhost; it is {value!r})")
    return value


def settings_from_env(environ: Mapping[str, str] | None = None) -> OidcSettings | None:
    """The provider's settings, or None when none is set. A missing or bad one is refused by name."""
    env = os.environ if environ is None else environ
    values = {name: env.get(name, "").strip() for name in (ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URL)}
    if not any(values.values()):
        return None
    for name, value in values.items():
        if not value:
            raise OidcConfigError(f"{name} is not set: council sign-in needs {ISSUER}, {CLIENT_ID}, "
                                  f"{CLIENT_SECRET} and {REDIRECT_URL}")
    issuer = _check_url(ISSUER, values[ISSUER].rstrip("/"))
    redirect = _check_url(REDIRECT_URL, values[REDIRECT_URL])
    if urlsplit(redirect).path != CALLBACK_PATH:
        raise OidcConfigError(f"{REDIRECT_URL} must be the desk's address followed by {CALLBACK_PATH} "
                              f"(e.g. https://concerns.example.gov.uk{CALLBACK_PATH}; it is {redirect!r})")
    name = env.get(PROVIDER_NAME, "").strip() or "your council's account"
    return OidcSettings(issuer=issuer, client_id=values[CLIENT_ID], client_secret=values[CLIENT_SECRET],
                        redirect_url=redirect, provider_name=name, admin_contact=env.get(ADMIN_CONTACT, "").strip())


def passwords_kept(environ: Mapping[str, str] | None = None, *, oidc_configured: bool) -> bool:
    """Local passwords: always without a provider; with one, only if the authority keeps them."""
    env = os.environ if environ is None else environ
    value = env.get(PASSWORDS, "").strip().lower()
    if not value:
        return not oidc_configured
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise OidcConfigError(f"{PASSWORDS} must be on or off (it is {value!r})")


class ProviderUnavailable(Exception):
    """The provider's discovery document, keys or token endpoint could not be used."""


class Provider:
    """The provider as discovered from its issuer: endpoints and keys, fetched when first needed and cached."""

    def __init__(self, settings: OidcSettings, timeout: float = 10.0):
        self.settings = settings
        self.timeout = timeout
        self._lock = threading.Lock()
        self._metadata: dict | None = None
        self._keys: KeySet | None = None
        self._fetched = 0.0

    def _get_json(self, url: str) -> dict:
        try:
            response = httpx.get(url, timeout=self.timeout, follow_redirects=False)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"{url}: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise ProviderUnavailable(f"{url}: not a JSON object")
        return data

    def metadata(self) -> dict:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._fetched > METADATA_SECONDS:
                data = self._get_json(self.settings.issuer + "/.well-known/openid-configuration")
                if str(data.get("issuer", "")).rstrip("/") != self.settings.issuer:
                    raise ProviderUnavailable(f"the discovery document names issuer {data.get('issuer')!r}, "
                                              f"not {self.settings.issuer!r}")
                for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(data.get(key), str):
                        raise ProviderUnavailable(f"the discovery document has no {key}")
                self._metadata, self._keys, self._fetched = data, None, time.monotonic()
            return self._metadata

    def keys(self, refresh: bool = False) -> KeySet:
        metadata = self.metadata()
        with self._lock:
            if self._keys is None or refresh:
                try:
                    self._keys = KeySet.import_key_set(self._get_json(metadata["jwks_uri"]))
                except (JoseError, ValueError, KeyError, TypeError) as exc:
                    raise ProviderUnavailable(f"the provider's keys are not readable: {type(exc).__name__}") from None
            return self._keys

    def _client(self) -> OAuth2Client:
        methods = self.metadata().get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
        return OAuth2Client(client_id=self.settings.client_id, client_secret=self.settings.client_secret,
                            scope=SCOPES, redirect_uri=self.settings.redirect_url, code_challenge_method="S256",
                            token_endpoint_auth_method=method, timeout=self.timeout)

    def authorization_url(self, state: str, nonce: str, code_verifier: str) -> str:
        with self._client() as client:
            url, _ = client.create_authorization_url(self.metadata()["authorization_endpoint"], state=state,
                                                     nonce=nonce, code_verifier=code_verifier)
        return url

    def exchange(self, code: str, code_verifier: str) -> dict:
        """The provider's tokens for an authorization code (the client secret goes only here)."""
        try:
            with self._client() as client:
                token = client.fetch_token(self.metadata()["token_endpoint"], grant_type="authorization_code",
                                           code=code, code_verifier=code_verifier)
        except Exception as exc:  # Authlib's OAuth errors and httpx's: the reason's name, never the request
            raise ProviderUnavailable(f"the token endpoint refused the code: {type(exc).__name__}") from None
        return dict(token)

    def id_token_claims(self, id_token: str, nonce: str, access_token: str | None = None) -> dict:
        """The ID token's claims once its signature, issuer, audience, expiry and nonce are right."""
        algs = [a for a in self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
                if a in SIGNING_ALGS]
        registry = JWSRegistry(algorithms=algs or ["RS256"])
        try:
            try:
                token = jwt.decode(id_token, self.keys(), registry=registry)
            except JoseError:
                token = jwt.decode(id_token, self.keys(refresh=True), registry=registry)  # keys rolled over
            params = {"nonce": nonce, "client_id": self.settings.client_id}
            if access_token:
                params["access_token"] = access_token
            claims = CodeIDToken(token.claims, token.header,
                                 {"iss": {"essential": True, "values": [self.settings.issuer]},
                                  "aud": {"essential": True, "values": [self.settings.client_id]},
                                  "exp": {"essential": True}, "nonce": {"essential": True}}, params)
            claims.validate(leeway=CLOCK_LEEWAY)
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidIdToken(f"{type(exc).__name__}: {getattr(exc, 'description', '') or exc}") from None
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise InvalidIdToken("nonce does not match")
        return dict(claims)

    def end_session_url(self, id_token: str | None) -> str | None:
        """RP-initiated logout at the provider, where it advertises an end-session endpoint."""
        try:
            endpoint = self.metadata().get("end_session_endpoint")
        except ProviderUnavailable:
            return None
        if not isinstance(endpoint, str) or not endpoint:
            return None
        params = {"client_id": self.settings.client_id, "post_logout_redirect_uri": self.settings.post_logout_url}
        if id_token:
            params["id_token_hint"] = id_token
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)


class InvalidIdToken(Exception):
    pass


@dataclass
class SignInRefused(Exception):
    """A plain page for the officer: a title and what to do, no codes."""

    title: str
    message: str
    status: int = 403


def _hash(token: str) -> str:
    # The same hash as accounts' session tokens: an OidcSession row is keyed by its desk session's hash.
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def begin(session: Session, provider: Provider, next_path: str) -> tuple[str, str]:
    """Record a sign-in under way; returns (the browser's cookie token, the provider's authorization URL)."""
    session.exec(delete(OidcSignIn).where(OidcSignIn.expires_at < _now()))
    browser, state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = generate_token(64)  # Authlib sends its S256 challenge with the request
    url = provider.authorization_url(state, nonce, verifier)
    session.add(OidcSignIn(browser_hash=_hash(browser), state=state, nonce=nonce, code_verifier=verifier,
                           next_path=next_path[:512], expires_at=_now() + timedelta(minutes=SIGN_IN_MINUTES)))
    session.flush()
    return browser, url


def _whom_to_ask(settings: OidcSettings) -> str:
    if settings.admin_contact:
        return f"Ask {settings.admin_contact} to add you to the desk with the role you need."
    return ("Ask whoever manages the desk's accounts in your authority (the service's system administrator) "
            "to add you with the role you need.")


def finish(session: Session, provider: Provider, browser: str | None, params: Mapping[str, str]
           ) -> tuple[accounts.SignedIn, str]:
    """Finish a sign-in from the provider's redirect; returns the desk session and the page to go to."""
    name = provider.settings.provider_name
    again = SignInRefused("Sign-in not completed",
                          f"The sign-in with {name} could not be completed: it was started in another browser "
                          "tab or window, took too long, or was already used. Start again from the sign-in page.",
                          400)
    row = session.get(OidcSignIn, _hash(browser)) if browser else None
    if row is None:
        log.warning("oidc sign-in refused: no sign-in under way for this browser")
        raise again
    session.delete(row)  # single use, whatever happens next
    session.flush()
    if as_utc(row.expires_at) <= _now():
        log.warning("oidc sign-in refused: the sign-in under way had expired")
        raise again
    if not hmac.compare_digest(params.get("state", ""), row.state):
        log.warning("oidc sign-in refused: state does not match")
        raise again
    if params.get("error"):
        log.warning("oidc sign-in refused by the provider: %s", params.get("error", "")[:64])
        raise SignInRefused("Sign-in not completed",
                            f"{name} did not sign you in. Start again from the sign-in page; if it happens again, "
                            "ask your authority's IT service desk.", 403)
    code = params.get("code", "")
    failed = SignInRefused("Sign-in not completed",
                           f"The desk could not confirm your sign-in with {name}. Start again from the sign-in "
                           "page; if it happens again, ask your authority's IT service desk.", 502)
    if not code:
        log.warning("oidc sign-in refused: no code")
        raise failed
    try:
        tokens = provider.exchange(code, row.code_verifier)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise InvalidIdToken("the token response has no id_token")
        claims = provider.id_token_claims(id_token, row.nonce, tokens.get("access_token"))
    except (ProviderUnavailable, InvalidIdToken) as exc:
        log.warning("oidc sign-in refused: %s", exc)
        raise failed from None
    email = accounts.normalise_email(str(claims.get("email") or ""))
    if not email:
        log.warning("oidc sign-in refused: the ID token has no e-mail address (sub %s)", claims.get("sub"))
        raise SignInRefused("You cannot sign in to the desk",
                            f"{name} did not give the desk your e-mail address, so the desk cannot tell which "
                            f"officer you are. {_whom_to_ask(provider.settings)}")
    if not email_verified(claims):
        log.warning("oidc sign-in refused: e-mail %s is not verified by the provider", email)
        raise SignInRefused("You cannot sign in to the desk",
                            f"{name} has not confirmed that the e-mail address {email} is yours, so the desk "
                            f"cannot sign you in with it. {_whom_to_ask(provider.settings)}")
    officer = accounts.officer_by_email(session, email)
    if officer is None:
        log.warning("oidc sign-in refused: %s is not a registered, active officer", email)
        raise SignInRefused("You cannot sign in to the desk",
                            f"{email} is not registered on the officers' desk. {_whom_to_ask(provider.settings)}")
    return _start(session, officer, id_token), row.next_path


def email_verified(claims: Mapping) -> bool:
    """The provider vouches for the address: `email_verified` true; for Entra ID, which sends no such claim for
    work accounts, its optional `xms_edov` (the e-mail's domain is verified by the tenant) when that is absent."""
    if "email_verified" in claims:
        return claims["email_verified"] is True or claims["email_verified"] == "true"
    return claims.get("xms_edov") is True or claims.get("xms_edov") == "true"


def _start(session: Session, officer: Officer, id_token: str) -> accounts.SignedIn:
    session.exec(delete(OfficerSession).where(OfficerSession.officer_id == officer.id,
                                              OfficerSession.expires_at < _now()))
    signed = accounts.start_session(session, officer)
    session.add(OidcSession(token_hash=_hash(signed.token), id_token=id_token))
    session.flush()
    log.info("oidc sign-in: %s as %s for %s", officer.email, officer.role, officer.la)
    return signed


def id_token_for(session: Session, cookie_token: str | None) -> str | None:
    if not cookie_token:
        return None
    row = session.get(OidcSession, _hash(cookie_token))
    return row.id_token if row is not None else None
