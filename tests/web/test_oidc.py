"""Council sign-in over OpenID Connect, against a real OpenID provider on loopback.

The provider is oidc-provider-mock's server (a real provider built on Authlib: discovery, JWKS, RS256 ID
tokens, PKCE, nonce, end-session), served by werkzeug on 127.0.0.1 on a free port. Who signs in is chosen as a
person would: by the form on its authorize page; their claims are set on the provider beforehand. The desk runs
in-process; every hop between desk and provider is the real redirect, followed by hand.
"""

from __future__ import annotations

import html
import logging
import re
import secrets
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest
from sqlmodel import select

from concerns.app.web import oidc
from concerns.store.db import session_scope
from models import Officer, OfficerSession, OidcSession, OidcSignIn
from tests.conftest import table_dump
from tests.web.conftest import LA, OFFICER, PASSWORD, Desk

PROVIDER_NAME = "Testshire County Council"
CLIENT_ID = "concerns-desk"
DESK = "https://testserver"
# What CI's log shows (tests/conftest.py's terminal summary): where the provider ran.
SUMMARY: list[str] = []


@pytest.fixture(scope="module")
def provider() -> str:
    """A real OpenID provider on 127.0.0.1, on a port the system gives; it requires a nonce."""
    import oidc_provider_mock
    import werkzeug.serving

    server = werkzeug.serving.make_server("127.0.0.1", 0, oidc_provider_mock.app(require_nonce=True), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    SUMMARY[:] = [base]
    try:
        yield base
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def set_claims(provider: str, sub: str, **claims) -> None:
    """The provider's user: these claims go into the ID token of whoever signs in as `sub`."""
    response = httpx.put(f"{provider}/users/{quote(sub, safe='')}", json={"sub": sub, **claims})
    assert response.status_code == 204, response.text


@pytest.fixture
def secret() -> str:
    return "cs-" + secrets.token_urlsafe(24)


@pytest.fixture
def council(authority, provider, secret, monkeypatch) -> Desk:
    """The desk configured as an authority would, by environment, with the provider as its council's."""
    monkeypatch.setenv(oidc.ISSUER, provider)
    monkeypatch.setenv(oidc.CLIENT_ID, CLIENT_ID)
    monkeypatch.setenv(oidc.CLIENT_SECRET, secret)
    monkeypatch.setenv(oidc.REDIRECT_URL, DESK + oidc.CALLBACK_PATH)
    monkeypatch.setenv(oidc.PROVIDER_NAME, PROVIDER_NAME)
    monkeypatch.setenv(oidc.ADMIN_CONTACT, "the schools team's systems officer")
    desk = Desk(authority)
    desk.browser = httpx.Client(follow_redirects=False, timeout=10)  # the same browser, at the provider
    yield desk
    desk.browser.close()


def to_provider(desk: Desk, next_path: str = "/week") -> httpx.Response:
    """Follow "Sign in with ..." from the sign-in page to the provider's authorize URL (not yet visited)."""
    page = desk.client.get("/login" + (f"?{urlencode({'next': next_path})}" if next_path else ""))
    assert page.status_code == 200
    link = re.search(r'<a id="council-sign-in" class="button" href="([^"]+)">Sign in with ([^<]+)</a>', page.text)
    assert link and html.unescape(link.group(2)) == PROVIDER_NAME
    response = desk.client.get(html.unescape(link.group(1)))
    assert response.status_code == 303
    return response


def authorize(desk: Desk, authorize_url: str, sub: str) -> str:
    """At the provider: its authorize page, then its form posted as the person `sub`; returns the callback URL."""
    form = desk.browser.get(authorize_url)
    assert form.status_code == 200 and 'name="sub"' in form.text
    back = desk.browser.post(authorize_url, data={"sub": sub})
    assert back.status_code == 302, back.text
    location = back.headers["location"]
    assert location.startswith(DESK + oidc.CALLBACK_PATH + "?")
    return location


def callback(desk: Desk, url: str) -> httpx.Response:
    parts = urlsplit(url)
    return desk.client.get(f"{parts.path}?{parts.query}")


def sign_in(desk: Desk, provider: str, email: str, verified: bool | None = True, next_path: str = "/week"):
    claims = {"email": email} if verified is None else {"email": email, "email_verified": verified}
    set_claims(provider, email, **claims)
    start = to_provider(desk, next_path)
    return callback(desk, authorize(desk, start.headers["location"], email))


def signed_out(desk: Desk) -> bool:
    response = desk.client.get("/week")
    return response.status_code == 303 and response.headers["location"].startswith("/login")


def heading(page: str) -> str:
    return html.unescape(re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)).strip()


def lead(page: str) -> str:
    return html.unescape(re.search(r'<p class="lead">(.*?)</p>', page, re.S).group(1)).strip()


# --- signing in ------------------------------------------------------------------------------------------


def test_sign_in_with_a_registered_verified_email_lands_on_the_desk_with_the_officers_role(council, provider):
    start = to_provider(council, "/schools/100001")
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert start.headers["location"].startswith(provider + "/")
    # The authorization code flow with PKCE (S256), state and nonce, for openid email profile.
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["scope"] == ["openid email profile"] and query["redirect_uri"] == [DESK + oidc.CALLBACK_PATH]
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    with session_scope(council.url) as session:
        pending = session.exec(select(OidcSignIn)).one()
        assert pending.state == query["state"][0] and pending.nonce == query["nonce"][0]
        assert pending.code_verifier not in start.headers["location"]  # only its S256 challenge is sent
    set_claims(provider, "sam-at-the-council", email=OFFICER.upper(), email_verified=True)
    landed = callback(council, authorize(council, start.headers["location"], "sam-at-the-council"))
    assert landed.status_code == 303 and landed.headers["location"] == "/schools/100001"
    cookie = landed.headers["set-cookie"].lower()
    assert "desk_session=" in cookie and "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    page = council.client.get("/week")
    assert page.status_code == 200
    assert f"{OFFICER} · Senior adviser · {LA}" in html.unescape(page.text)
    with session_scope(council.url) as session:
        assert session.exec(select(OidcSignIn)).all() == []  # used up
        (desk_session,) = session.exec(select(OfficerSession)).all()
        assert session.get(OidcSession, desk_session.token_hash) is not None
        lifetime = desk_session.expires_at - desk_session.created_at
        assert timedelta(hours=7) < lifetime <= timedelta(hours=8, minutes=1)


def test_with_a_provider_the_desk_takes_no_passwords_unless_the_authority_keeps_them(council, provider, authority,
                                                                                       monkeypatch):
    page = council.client.get("/login")
    assert f"Sign in with {PROVIDER_NAME}" in html.unescape(page.text) and 'name="password"' not in page.text
    token = council.client.cookies.get("desk_login")  # the form's token, as if the form were still there
    refused = council.client.post("/login", data={"csrf_token": token, "email": OFFICER, "password": PASSWORD})
    assert refused.status_code == 403 and "desk_session" not in refused.headers.get("set-cookie", "")
    monkeypatch.setenv(oidc.PASSWORDS, "on")
    keeps = Desk(authority)
    page = keeps.client.get("/login")
    assert f"Sign in with {PROVIDER_NAME}" in html.unescape(page.text) and 'name="password"' in page.text
    assert keeps.sign_in().status_code == 303


def test_a_provider_only_account_has_no_password_and_signs_in_with_the_provider(council, provider, cli,
                                                                                monkeypatch):
    rc, out, err = cli("user", "add", "lee.link@testshire.example", "--role", "link_adviser", "--la", LA,
                       "--no-password")
    assert rc == 0, err
    assert "Added lee.link@testshire.example: link_adviser for Testshire, signs in with the council's provider" in out
    with session_scope(council.url) as session:
        lee = session.exec(select(Officer).where(Officer.email == "lee.link@testshire.example")).one()
        assert not lee.password_hash.startswith("scrypt$")
    monkeypatch.setenv(oidc.PASSWORDS, "on")
    with_passwords = Desk(council.url)
    assert with_passwords.sign_in("lee.link@testshire.example", "").status_code == 400
    assert with_passwords.sign_in("lee.link@testshire.example", "!").status_code == 400
    landed = sign_in(council, provider, "lee.link@testshire.example")
    assert landed.status_code == 303 and landed.headers["location"] == "/week"
    assert "lee.link@testshire.example · Link adviser" in html.unescape(council.client.get("/week").text)
    # An account with a password made provider-only loses the password and its sessions.
    rc, out, _ = cli("user", "add", OFFICER, "--role", "senior_adviser", "--la", LA, "--no-password")
    assert rc == 0 and "Updated (no password; signed out everywhere)" in out
    assert with_passwords.sign_in(OFFICER, PASSWORD).status_code == 400


def test_an_unknown_email_is_refused_with_a_plain_page_saying_whom_to_ask(council, provider):
    before = [t for t in table_dump(council.url) if t[0] not in ("oidc_sign_in",)]
    refused = sign_in(council, provider, "stranger@testshire.example")
    assert refused.status_code == 403 and "desk_session" not in refused.headers.get("set-cookie", "")
    assert heading(refused.text) == "You cannot sign in to the desk"
    assert lead(refused.text) == ("stranger@testshire.example is not registered on the officers' desk. Ask the "
                                  "schools team's systems officer to add you to the desk with the role you need.")
    assert signed_out(council)
    assert [t for t in table_dump(council.url) if t[0] not in ("oidc_sign_in",)] == before


@pytest.mark.parametrize("verified", [False, None], ids=["false", "absent"])
def test_an_unverified_email_is_refused(council, provider, verified):
    refused = sign_in(council, provider, OFFICER, verified=verified)
    assert refused.status_code == 403 and "desk_session" not in refused.headers.get("set-cookie", "")
    assert heading(refused.text) == "You cannot sign in to the desk"
    assert lead(refused.text).startswith(f"{PROVIDER_NAME} has not confirmed that the e-mail address {OFFICER} "
                                         "is yours")
    assert signed_out(council)


def test_a_tampered_state_is_refused_and_uses_the_sign_in_up(council, provider):
    set_claims(provider, OFFICER, email=OFFICER, email_verified=True)
    start = to_provider(council)
    back = authorize(council, start.headers["location"], OFFICER)
    query = parse_qs(urlsplit(back).query)
    tampered = callback(council, f"{oidc.CALLBACK_PATH}?{urlencode({**query, 'state': 'x' * 43}, doseq=True)}")
    assert tampered.status_code == 400 and heading(tampered.text) == "Sign-in not completed"
    assert "desk_session" not in tampered.headers.get("set-cookie", "")
    # The genuine redirect, after the tampered one, finds nothing under way: a sign-in is tried once.
    assert callback(council, back).status_code == 400
    assert signed_out(council)


def test_a_callback_in_another_browser_is_refused(council, provider, authority):
    set_claims(provider, OFFICER, email=OFFICER, email_verified=True)
    back = authorize(council, to_provider(council).headers["location"], OFFICER)
    other = Desk(authority)  # no cookie from the start of this sign-in
    refused = callback(other, back)
    assert refused.status_code == 400 and "desk_session" not in refused.headers.get("set-cookie", "")
    assert heading(refused.text) == "Sign-in not completed"


def test_a_tampered_nonce_is_refused(council, provider):
    """The nonce in the request is changed on the way to the provider: its ID token carries a nonce that is
    not the one this sign-in sent (PKCE and state are intact, so only the nonce check can refuse it)."""
    set_claims(provider, OFFICER, email=OFFICER, email_verified=True)
    start = to_provider(council).headers["location"]
    parts = urlsplit(start)
    query = parse_qs(parts.query)
    query["nonce"] = ["n" * 43]
    tampered_url = f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query, doseq=True)}"
    refused = callback(council, authorize(council, tampered_url, OFFICER))
    assert refused.status_code == 502 and heading(refused.text) == "Sign-in not completed"
    assert "desk_session" not in refused.headers.get("set-cookie", "")
    assert signed_out(council)


def test_a_replayed_id_token_is_refused_for_another_sign_in(council, provider, secret):
    """A real ID token from one sign-in, checked for another (another nonce), or with its signature altered,
    or for another client, is refused."""
    assert sign_in(council, provider, OFFICER).status_code == 303
    with session_scope(council.url) as session:
        id_token = session.exec(select(OidcSession)).one().id_token
    settings = oidc.settings_from_env()
    checker = oidc.Provider(settings)
    claims = jwt_claims(id_token)
    assert checker.id_token_claims(id_token, claims["nonce"])["email"] == OFFICER  # as issued: accepted
    with pytest.raises(oidc.InvalidIdToken):
        checker.id_token_claims(id_token, secrets.token_urlsafe(32))
    head, body, signature = id_token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    with pytest.raises(oidc.InvalidIdToken):
        checker.id_token_claims(f"{head}.{body}.{flipped}", claims["nonce"])
    other_client = oidc.Provider(oidc.OidcSettings(settings.issuer, "another-client", secret, settings.redirect_url,
                                                   PROVIDER_NAME))
    with pytest.raises(oidc.InvalidIdToken):
        other_client.id_token_claims(id_token, claims["nonce"])


def jwt_claims(token: str) -> dict:
    import base64
    import json

    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


# --- sessions and signing out ---------------------------------------------------------------------------


def test_an_expired_session_is_sent_back_to_sign_in(council, provider):
    assert sign_in(council, provider, OFFICER).status_code == 303
    assert council.client.get("/week").status_code == 200
    with session_scope(council.url) as session:
        for row in session.exec(select(OfficerSession)).all():
            row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
            session.add(row)
    response = council.client.get("/register")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fregister"
    page = council.client.get(response.headers["location"])
    assert f"Sign in with {PROVIDER_NAME}" in html.unescape(page.text)
    assert 'href="/login/oidc?next=/register"' in page.text or 'href="/login/oidc?next=%2Fregister"' in page.text


def test_sign_out_ends_the_desk_session_and_sends_the_officer_to_the_providers_end_session(council, provider):
    assert sign_in(council, provider, OFFICER).status_code == 303
    with session_scope(council.url) as session:
        id_token = session.exec(select(OidcSession)).one().id_token
    page = council.client.get("/week")
    out = council.client.post("/logout", data={"csrf_token": Desk.token(page.text)})
    assert out.status_code == 200 and heading(out.text) == "You have signed out of the desk"
    assert 'desk_session=""' in out.headers["set-cookie"] or "max-age=0" in out.headers["set-cookie"].lower()
    assert signed_out(council)
    with session_scope(council.url) as session:
        assert session.exec(select(OfficerSession)).all() == [] and session.exec(select(OidcSession)).all() == []
    refresh = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', out.text)
    assert refresh, "the page does not go on to the provider"
    leave = html.unescape(refresh.group(1))
    assert f'href="{refresh.group(1)}"' in out.text  # and a link, for whoever stops the refresh
    query = parse_qs(urlsplit(leave).query)
    assert leave.startswith(provider + "/oauth2/end_session?")
    assert query["id_token_hint"] == [id_token] and query["post_logout_redirect_uri"] == [DESK + "/login"]
    # At the provider: its end-session page, confirmed, sends the officer back to the desk's sign-in page.
    confirm = council.browser.get(leave)
    assert confirm.status_code == 200
    action = re.search(r'<form method="post" action="([^"]+)"', confirm.text).group(1)
    redirect = re.search(r'name="redirect_uri" value="([^"]+)"', confirm.text).group(1)
    back = council.browser.post(provider + html.unescape(action), data={"redirect_uri": html.unescape(redirect)})
    assert back.status_code == 302 and back.headers["location"] == DESK + "/login"


def test_the_client_secret_never_appears_in_a_page_a_log_line_or_a_database_row(council, provider, secret, caplog,
                                                                              cli, monkeypatch):
    caplog.set_level(logging.DEBUG)  # every logger, the HTTP clients' and Authlib's included
    seen: list[str] = []
    council.client.event_hooks = {"response": [lambda r: seen.append(str(r.headers))]}
    refused = sign_in(council, provider, "stranger@testshire.example")
    assert sign_in(council, provider, OFFICER).status_code == 303
    pages = [council.client.get(p) for p in ("/week", "/register", "/schools/100001")]
    out = council.client.post("/logout", data={"csrf_token": Desk.token(pages[0].text)})
    for response in [*pages, refused, out]:
        assert secret not in response.text and secret not in str(response.headers)
    assert "oidc sign-in: sam.adviser@testshire.example as senior_adviser" in caplog.text  # logging was on
    assert secret not in caplog.text
    assert secret not in repr(table_dump(council.url))
    assert secret not in repr(oidc.settings_from_env())
    # A bad setting is refused in one line naming it, without a traceback and without the secret.
    monkeypatch.setenv(oidc.ISSUER, "http://idp.testshire.example/tenant")
    rc, _, err = cli("web", "--port", "9")
    assert rc == 2
    assert err.strip().count("\n") == 0 and oidc.ISSUER in err and "https://" in err and secret not in err
    monkeypatch.delenv(oidc.CLIENT_SECRET)
    rc, _, err = cli("web", "--port", "9")
    assert rc == 2 and err.strip() == (f"concerns: error: {oidc.CLIENT_SECRET} is not set: council sign-in needs "
                                       f"{oidc.ISSUER}, {oidc.CLIENT_ID}, {oidc.CLIENT_SECRET} and {oidc.REDIRECT_URL}")
