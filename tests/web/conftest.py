"""The desk's fixtures: a small authority on each engine, a signed-in client, a live server, a browser."""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import sys
import threading
import time
from datetime import date

import pytest

LA = "Testshire"
OTHER_LA = "Otherton"
TODAY = date(2026, 11, 16)  # a Monday: the special-measures statement of action is due this week
PASSWORD = "correct horse battery staple"
OFFICER = "sam.adviser@testshire.example"
CHROMIUM = "/usr/bin/chromium"


def add_desk_user(cli, email: str, role: str, la: str, password: str = PASSWORD) -> tuple[int, str, str]:
    """`concerns user add` as an administrator runs it, with the password on stdin."""
    old = sys.stdin
    sys.stdin = io.StringIO(password + "\n")
    try:
        return cli("user", "add", email, "--role", role, "--la", la)
    finally:
        sys.stdin = old


@pytest.fixture
def authority(cli, tmp_path, monkeypatch):
    """Testshire: a school in special measures, one with an LA concern raised; and a school in Otherton."""
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    cli.ok("school", "add", "100001", "--name", "Ash Tree Primary", "--la", LA, "--type", "Community school")
    cli.ok("school", "add", "100002", "--name", "Beech Road Infants", "--la", LA, "--type", "Community school")
    cli.ok("school", "add", "200001", "--name", "Cedar Academy", "--la", OTHER_LA, "--type", "Community school")
    for name, email, role in [("Sam Adviser", OFFICER, "senior_adviser"),
                              ("Ann Director", "ann.assistant@testshire.example", "assistant_director"),
                              ("Dee Director", "dee.director@testshire.example", "director"),
                              ("Lee Link", "lee.link@testshire.example", "link_adviser")]:
        cli.ok("person", "add", name, email, "--role", role, "--la", LA)
    for urn, slug in (("100001", "ash"), ("100002", "beech")):
        cli.ok("person", "add", f"Head of {slug}", f"head@{slug}.sch.example", "--role", "headteacher",
               "--la", LA, "--urn", urn)
        cli.ok("person", "add", f"Chair of {slug}", f"chair@{slug}.sch.example", "--role", "chair_of_governors",
               "--la", LA, "--urn", urn)
    cli.ok("inspection", "add", "100001", "--published", "2026-11-04", "--outcome", "special_measures")
    cli.ok("inspection", "add", "200001", "--published", "2026-11-04", "--outcome", "special_measures")
    cli.ok("event", "100002", "raise_concern", "--on", "2026-11-02", "--note", "Attendance falling")
    rc, _, err = add_desk_user(cli, OFFICER, "senior_adviser", LA)
    assert rc == 0, err
    return cli.url


class Desk:
    """A TestClient on the desk, signed in or not, reading forms' anti-forgery tokens as a browser would."""

    def __init__(self, url: str, today: date | None = TODAY, **options):
        """`today=None`: the desk's own clock (CONCERNS_TODAY, else the calendar's)."""
        import warnings

        with warnings.catch_warnings():  # Starlette 1.x asks for httpx2, which is not installed
            warnings.simplefilter("ignore")
            from starlette.testclient import TestClient

        from concerns.app.web.app import create_app

        self.url = url
        clock = (lambda: today) if today is not None else None
        self.client = TestClient(create_app(url, today=clock, **options), base_url="https://testserver",
                                 follow_redirects=False)

    @staticmethod
    def token(html: str) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert found, "the page has no form with an anti-forgery token"
        return found.group(1)

    def sign_in(self, email: str = OFFICER, password: str = PASSWORD):
        page = self.client.get("/login")
        return self.client.post("/login", data={"csrf_token": self.token(page.text), "email": email,
                                                "password": password, "next": "/week"})

    def post_form(self, page_path: str, action: str, data: dict, token: bool = True):
        page = self.client.get(page_path)
        assert page.status_code == 200, page.text
        if token:
            data = {"csrf_token": self.token(page.text), **data}
        return self.client.post(action, data=data)


@pytest.fixture
def desk(authority) -> Desk:
    d = Desk(authority)
    assert d.sign_in().status_code == 303
    return d


def error_summary(html: str) -> str:
    """The one message in the page's error summary."""
    found = re.search(r'<div class="error-summary".*?<p>(.*?)</p>', html, re.S)
    assert found, "no error summary on the page"
    import html as html_module

    return html_module.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


# --- a live server and a browser -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveDesk:
    def __init__(self, url: str, today: date = TODAY):
        import uvicorn

        from concerns.app.web.app import create_app

        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(url, today=lambda: today), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the desk's server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(reason: str):
    if _in_ci():
        pytest.fail(f"browser tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium, driven by Playwright (no browser download)."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _missing(f"no Chromium at {CHROMIUM}: install Debian's chromium package (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
                                    args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def demo_desk_database(folder, mp, officers: dict[str, str], password: str) -> str:
    """The demo authority through its term in a SQLite file under `folder` (mail, letters and reports kept
    there too, no SMTP), with desk accounts for `officers` (e-mail -> role): what the desk tests that walk
    every page of a real authority read."""
    from concerns.app.demo import load_demo
    from concerns.app.demo_term import run_demo_term
    from concerns.app.web.accounts import add_officer
    from concerns.store.db import session_scope, upgrade

    for name, sub in (("CONCERNS_OUTBOX", "outbox"), ("CONCERNS_LETTERS", "letters"), ("CONCERNS_REPORTS", "reports")):
        mp.setenv(name, str(folder / sub))
    mp.delenv("CONCERNS_SMTP_URL", raising=False)
    url = f"sqlite:///{folder / 'concerns.db'}"
    upgrade(url)
    with session_scope(url) as session:
        load_demo(session)
    run_demo_term(url, use_prefect=False, echo=lambda line: None)
    with session_scope(url) as session:
        for email, role in officers.items():
            add_officer(session, email, role=role, la="Demoshire", password=password)
    return url
