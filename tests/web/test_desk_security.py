"""The desk against a hostile user: no lock-outs, strict ids, headers and plain pages on every response,
implausible dates and invisible characters refused at the form, a double submit recorded once."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from concerns.app.web import accounts
from concerns.app.web.app import SECURITY_HEADERS
from concerns.store.db import session_scope
from models import CaseEvent, Letter, Officer, OfficerSession
from tests.conftest import table_dump
from tests.web.conftest import OFFICER, PASSWORD, Desk, error_summary

ATTACKER = ("203.0.113.66", 40000)
OFFICE = ("198.51.100.10", 50000)


def _from(authority, client) -> Desk:
    """A browser at another address (the TestClient's `client`, what the desk reads as the client)."""
    from starlette.testclient import TestClient

    desk = Desk(authority)
    desk.client = TestClient(desk.client.app, base_url="https://testserver", follow_redirects=False, client=client)
    return desk


# --- sign-in: no lock-outs, current cost -----------------------------------------------------------------


def test_wrong_passwords_from_elsewhere_do_not_lock_out_the_officer(authority):
    attacker = _from(authority, ATTACKER)
    for _ in range(accounts.ATTEMPTS_ALLOWED + 3):
        assert attacker.sign_in(password="wrong password here").status_code in (400, 429)
    assert attacker.sign_in().status_code == 429  # the attacker's own pair waits, even with the right one
    officer = _from(authority, OFFICE)
    assert officer.sign_in().status_code == 303


def test_one_wrong_try_each_time_the_oldest_expires_does_not_keep_the_account_locked(authority, monkeypatch):
    attacker = _from(authority, ATTACKER)
    for _ in range(accounts.ATTEMPTS_ALLOWED):
        attacker.sign_in(password="wrong password here")
    # The attacker keeps trickling: still the officer, from their own client, gets in at once.
    attacker.sign_in(password="wrong password here")
    assert _from(authority, OFFICE).sign_in().status_code == 303


def test_guessing_one_account_from_many_clients_is_slowed_not_locked(authority, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(accounts, "sleep", waits.append)
    for n in range(accounts.ACCOUNT_SLOWDOWN_AFTER + 2):
        assert _from(authority, (f"203.0.113.{n + 1}", 1000)).sign_in(password="wrong guess here").status_code == 400
    assert waits and waits == sorted(waits) and max(waits) <= accounts.SLOWDOWN_MAX
    assert _from(authority, OFFICE).sign_in().status_code == 303  # slowed, then in


def test_passwords_are_hashed_at_owasps_scrypt_cost_and_old_hashes_rehashed_at_sign_in(authority):
    assert (accounts.SCRYPT_N, accounts.SCRYPT_R, accounts.SCRYPT_P) == (2**17, 8, 1)
    with session_scope(authority) as session:
        officer = session.exec(select(Officer).where(Officer.email == OFFICER)).one()
        assert officer.password_hash.startswith("scrypt$131072$8$1$")
        officer.password_hash = accounts.hash_password(PASSWORD, n=2**15)  # as stored before
    assert accounts.needs_rehash(accounts.hash_password(PASSWORD, n=2**15))
    assert Desk(authority).sign_in().status_code == 303
    with session_scope(authority) as session:
        stored = session.exec(select(Officer).where(Officer.email == OFFICER)).one().password_hash
    assert stored.startswith("scrypt$131072$8$1$") and accounts.verify_password(PASSWORD, stored)
    assert not accounts.verify_password(PASSWORD, "scrypt$1073741824$8$1$AAAA$AAAA")  # a tampered cost


# --- ids, headers, error pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("letter_id", ["%C2%B2", "1" * 23, "9" * 5000, "%D9%A1", "-1", "0x1"])
def test_a_letter_id_that_is_not_plain_digits_is_not_found(desk, letter_id):
    response = desk.client.get(f"/schools/100001/letters/{letter_id}")
    assert response.status_code == 404 and "Traceback" not in response.text
    assert desk.client.get(f"/schools/100001/letters/{letter_id}/file").status_code == 404


def _has_headers(response) -> None:
    for key, value in SECURITY_HEADERS.items():
        if key == "Cache-Control" and response.request.url.path == "/desk.css":
            continue  # the style sheet may be cached
        assert response.headers.get(key) == value, (response.request.url.path, response.status_code, key)


def test_every_response_carries_the_security_headers_and_errors_are_plain_pages(authority):
    from starlette.testclient import TestClient

    from concerns.app.web.app import create_app

    desk = Desk(authority)
    responses = [desk.client.get("/no/such/page"), desk.client.delete("/week"), desk.client.get("/favicon.ico"),
                 desk.client.get("/desk.css"), desk.client.get("/login"),
                 desk.client.post("/login", content=b"x" * (600 * 1024),
                                  headers={"content-type": "application/x-www-form-urlencoded"}),
                 desk.client.post("/login", content=b"\xff\xfe", headers={"content-type": "application/x-www-form-urlencoded"})]
    assert [r.status_code for r in responses] == [404, 405, 204, 200, 200, 413, 400]
    for response in responses:
        _has_headers(response)
    for response in (responses[0], responses[1], responses[5], responses[6]):
        assert response.headers["content-type"].startswith("text/html") and response.text.count("<h1>") == 1
    assert responses[3].headers["X-Content-Type-Options"] == "nosniff"

    broken = TestClient(create_app("sqlite:////nonexistent/dir/x.db"), base_url="https://testserver",
                        raise_server_exceptions=False)
    failed = broken.get("/week", cookies={"desk_session": "a-token"})
    assert failed.status_code == 500 and "Traceback" not in failed.text and "sqlite" not in failed.text
    _has_headers(failed)


# --- forms: dates, invisible characters, a double submit -------------------------------------------------


def test_the_desk_refuses_a_letter_dated_9999_in_plain_words(desk):
    before = table_dump(desk.url)
    page = "/schools/100002/letters/new?kind=confirmation_of_concern"
    for action in ("/schools/100002/letters/preview", "/schools/100002/letters"):
        response = desk.post_form(page, action, {"kind": "confirmation_of_concern", "on": "9999-12-31",
                                                 "discussed_on": "2026-11-02", "concerns": "Attendance",
                                                 "next_steps-0-text": "Plan", "review_cadence": "each term"})
        assert response.status_code == 400
        said = error_summary(response.text)
        assert "31 December 9999" in said and "9999-12-31" not in said
    assert table_dump(desk.url) == before


@pytest.mark.parametrize("bad", ["\x00", "\x1b[31m", "\u202e"])
def test_the_desk_refuses_control_characters_in_letter_details(desk, bad):
    before = table_dump(desk.url)
    page = "/schools/100002/letters/new?kind=confirmation_of_concern"
    response = desk.post_form(page, "/schools/100002/letters", {
        "kind": "confirmation_of_concern", "on": "2026-11-16", "discussed_on": "2026-11-02",
        "concerns": f"Attendance{bad}", "next_steps-0-text": "Plan", "review_cadence": "each term", "step": "send"})
    assert response.status_code == 400 and "control character" in error_summary(response.text)
    assert table_dump(desk.url) == before
    with session_scope(desk.url) as session:
        assert not session.exec(select(Letter)).all()


def test_a_double_submit_of_the_same_form_records_one_event(desk):
    page = desk.client.get("/schools/100002").text
    form = next(f for f in re.findall(r"<form .*?</form>", page, re.S) if 'value="papers_sent"' in f)
    data = {name: value for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form)}
    data.update({"event": "papers_sent", "on": "2026-11-16", "note": ""})
    assert data.get("form_token")
    first = desk.client.post("/schools/100002/events", data=data)
    assert first.status_code == 303
    for _ in range(19):
        again = desk.client.post("/schools/100002/events", data=data)
        assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    with session_scope(desk.url) as session:
        assert len(session.exec(select(CaseEvent).where(CaseEvent.event == "papers_sent")).all()) == 1


def test_an_event_dated_decades_ahead_is_refused_at_the_desk(desk):
    before = table_dump(desk.url)
    response = desk.post_form("/schools/100001", "/schools/100001/events",
                              {"case": "special_measures", "event": "submit_statement_of_action",
                               "on": "1800-01-01", "note": ""})
    assert response.status_code == 400 and "1800" in error_summary(response.text)
    assert table_dump(desk.url) == before


def test_trusted_header_requests_without_a_cookie_reuse_one_session(authority):
    def count() -> int:
        with session_scope(authority) as session:
            return len(session.exec(select(OfficerSession)).all())

    trusted = Desk(authority, trusted_header="X-Remote-User")
    assert trusted.client.get("/week", headers={"X-Remote-User": OFFICER}).status_code == 200
    after_first = count()
    for _ in range(10):
        fresh = Desk(authority, trusted_header="X-Remote-User")  # no cookie, as a client that keeps none
        assert fresh.client.get("/week", headers={"X-Remote-User": OFFICER}).status_code == 200
    assert count() == after_first == 1
