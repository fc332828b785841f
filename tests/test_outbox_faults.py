"""The outbox under fire: a real SMTP server on loopback that refuses, stalls, hangs up, dies and
rejects our login; several senders at once, in threads and in processes; a sender killed with SIGKILL.

Every test runs on SQLite and on PostgreSQL, counts what the server kept against what was queued, and
adds a row to the fault table printed at the end of the run (tests/support/faults.py). Lost mail is
never allowed; a duplicate only inside the window docs/outbox.md describes (the server kept a message but
the sender never learnt it), at most one per such event.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from concerns.notify.alarms import outbox_alarms
from concerns.notify.delivery import send_pending
from concerns.notify.directory import Recipient
from concerns.notify.outbox import file_attachment, inline_attachment, queue, retry
from concerns.output.mail import MailSettings, SmtpTransport, message_id_for
from concerns.store.db import session_scope
from models import Notification
from tests.support.faults import tally
from tests.support.smtp import PasswordAuthenticator, SmtpTestServer

MAIL_FROM = "concerns@la.example"
DOMAIN = "la.example"
TIMEOUT = 2.0  # the client's socket timeout here: short, so a stall costs little, yet safe on a busy machine
TODAY = datetime.now(UTC).date()


@pytest.fixture
def at():
    """``at(minutes)``: that long after the test's first send, so a later run finds the back-off passed."""
    start: list[datetime] = []

    def moment(minutes: float) -> datetime:
        if not start:
            start.append(datetime.now(UTC))
        return start[0] + timedelta(minutes=minutes)

    return moment


@pytest.fixture
def server():
    with SmtpTestServer() as running:
        yield running


def settings_for(server: SmtpTestServer, user: str | None = None, password: str | None = None) -> MailSettings:
    return MailSettings(server.url("smtp", user, password), Path("unused-outbox"), MAIL_FROM)


def queue_mails(db_url: str, count: int, prefix: str = "mail") -> set[str]:
    """``count`` messages to different officers; their Message-IDs."""
    with session_scope(db_url) as session:
        rows = [queue(session, key=f"{prefix}:{n}", kind="reminder",
                      recipient=Recipient(f"Officer {n}", f"officer{n}@la.example", "link_adviser", False),
                      subject=f"Reminder {n}", text=f"Body {n}", html=None, for_date=TODAY, domain=DOMAIN)[0]
                for n in range(count)]
        return {row.message_id for row in rows}


def send(db_url: str, settings: MailSettings, now: datetime | None = None):
    with session_scope(db_url) as session:
        return send_pending(session, settings, SmtpTransport(settings, timeout=TIMEOUT), now=now)


def received(server: SmtpTestServer) -> list[str]:
    return [m.msg["Message-ID"] for m in server.messages]


def rows(db_url: str) -> list[Notification]:
    with session_scope(db_url) as session:
        return list(session.exec(select(Notification).order_by(Notification.id)).all())


def by_status(db_url: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows(db_url):
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


def assert_none_lost(row, *, window: int = 0) -> None:
    assert row.lost == 0, row
    assert row.duplicated <= window, row


# --- refusals ------------------------------------------------------------------------------------------


def test_temporary_refusals_are_deferred_and_sent_later(db_url, server, at):
    ids = queue_mails(db_url, 10)
    server.handler.refuse_next(3, after=2, code=451)
    first = send(db_url, settings_for(server), now=at(0))
    assert (first.sent, first.deferred, first.failed) == (7, 3, 0)
    deferred = [r for r in rows(db_url) if r.status == "deferred"]
    assert [r.attempts for r in deferred] == [1, 1, 1] and all("451" in r.last_error for r in deferred)
    assert send(db_url, settings_for(server), now=at(0.5)).sent == 0  # backing off for a minute
    assert send(db_url, settings_for(server), now=at(2)).sent == 3
    assert_none_lost(tally("4xx on 3 of 10", db_url, ids, received(server)))
    assert by_status(db_url) == {"sent": 10}


def test_a_permanent_refusal_fails_that_message_only_until_retried(db_url, server, at):
    ids = queue_mails(db_url, 10)
    server.handler.refuse_next(1, after=3, code=554, text="5.7.1 Rejected as spam")
    first = send(db_url, settings_for(server), now=at(0))
    assert (first.sent, first.deferred, first.failed) == (9, 0, 1)
    with session_scope(db_url) as session:
        [alarm] = outbox_alarms(session, at(0))
        assert "officer3@la.example" in alarm and '"Reminder 3"' in alarm and "554 5.7.1 Rejected as spam" in alarm
        retry(session, ["mail:3"], now=at(1))  # the postmaster has whitelisted us
    assert send(db_url, settings_for(server), now=at(1)).sent == 1
    assert_none_lost(tally("5xx on 1 of 10, retried", db_url, ids, received(server)))


# --- a server that stops answering ---------------------------------------------------------------------


def test_a_server_stalling_past_the_timeout_defers_one_message(db_url, server, at):
    ids = queue_mails(db_url, 6)
    server.handler.stall_seconds = TIMEOUT + 0.5
    server.handler.misbehave_next("stall", after=2)
    first = send(db_url, settings_for(server), now=at(0))
    assert (first.sent, first.deferred, first.failed) == (5, 1, 0)  # the next message reconnected
    assert "timed out" in first.errors[0]
    assert send(db_url, settings_for(server), now=at(2)).sent == 1
    assert_none_lost(tally("stall past client timeout", db_url, ids, received(server)))


def test_a_reply_lost_after_data_is_resent_once_with_the_same_message_id(db_url, server, at):
    ids = queue_mails(db_url, 6)
    server.handler.misbehave_next("drop", after=2)
    first = send(db_url, settings_for(server), now=at(0))
    assert (first.sent, first.deferred, first.failed) == (5, 1, 0)
    assert send(db_url, settings_for(server), now=at(2)).sent == 1
    counted = tally("hang-up after DATA", db_url, ids, received(server), window=server.handler.dropped)
    assert_none_lost(counted, window=server.handler.dropped)
    assert counted.duplicated == server.handler.dropped == 1  # the server kept both copies: same Message-ID


def test_a_server_dying_mid_batch_holds_back_the_rest_without_charging_them(db_url, server, at):
    ids = queue_mails(db_url, 10)
    server.handler.misbehave_next("die", after=4)
    first = send(db_url, settings_for(server), now=at(0))
    assert (first.sent, first.deferred, first.failed) == (4, 6, 0)
    assert server.handler.died.wait(10)
    waiting = [r for r in rows(db_url) if r.status == "deferred"]
    # The one in flight and the one that found the port closed were tried; the other four were not.
    assert sorted(r.attempts for r in waiting) == [0, 0, 0, 0, 1, 1]
    still_down = send(db_url, settings_for(server), now=at(2))
    assert (still_down.sent, still_down.deferred, still_down.failed) == (0, 6, 0)
    assert sum(r.attempts for r in rows(db_url)) == 4 + 2 + 1  # still down: one more try, not six
    server.start()
    assert send(db_url, settings_for(server), now=at(10)).sent == 6
    assert_none_lost(tally("server dies after 4, returns", db_url, ids, received(server)))


def test_a_refused_login_never_fails_mail(db_url, at):
    authenticator = PasswordAuthenticator({"concerns": "right"})
    with SmtpTestServer(authenticator=authenticator, auth_in_clear=True) as server:
        ids = queue_mails(db_url, 8)
        wrong = settings_for(server, "concerns", "wrong")
        for minutes in (0, 2, 10, 60, 180):  # a morning of runs with the old password
            report = send(db_url, wrong, now=at(minutes))
            assert (report.sent, report.failed) == (0, 0) and "refused login" in report.errors[0]
        assert by_status(db_url) == {"deferred": 8}
        assert sum(r.attempts for r in rows(db_url)) == 5  # one try per run, not one per message
        assert send(db_url, settings_for(server, "concerns", "right"), now=at(240)).sent == 8
        assert {m.authenticated_as for m in server.messages} == {"concerns"}
        assert_none_lost(tally("AUTH rejected for 5 runs", db_url, ids, received(server)))


def test_a_refused_sender_address_defers_the_batch_until_it_is_accepted(db_url, server, at):
    ids = queue_mails(db_url, 6)
    server.handler.reject_senders(MAIL_FROM)
    first = send(db_url, settings_for(server), now=at(0))
    assert (first.sent, first.deferred, first.failed) == (0, 6, 0) and "553" in first.errors[0]
    assert sum(r.attempts for r in rows(db_url)) == 1
    server.handler.accept_all_senders()  # the relay's administrator allows our address
    assert send(db_url, settings_for(server), now=at(2)).sent == 6
    assert_none_lost(tally("MAIL FROM refused (553)", db_url, ids, received(server)))


def test_a_message_too_big_for_the_server_fails_alone(db_url, at):
    with SmtpTestServer(size_limit=64_000) as server:
        ids = queue_mails(db_url, 3, prefix="before")
        with session_scope(db_url) as session:
            big, _ = queue(session, key="big", kind="letter", recipient=Recipient("Head", "head@school.example", "head",
                                                                                  True),
                           subject="Statement of action", text="x", html=None, for_date=TODAY, domain=DOMAIN,
                           attachments=[inline_attachment("annex.pdf", os.urandom(100_000), "application/pdf")])
            ids.add(big.message_id)
        ids |= queue_mails(db_url, 3, prefix="after")
        first = send(db_url, settings_for(server), now=at(0))
        assert (first.sent, first.deferred, first.failed) == (6, 0, 1) and "552" in first.errors[0]
        assert_none_lost(tally("552 too big at MAIL FROM", db_url, ids, received(server), {big.message_id}))


# --- messages that cannot be built ----------------------------------------------------------------------


def test_messages_that_cannot_be_built_fail_alone_and_name_the_reason(db_url, server, tmp_path, at):
    gone = tmp_path / "letter-deleted.html"
    gone.write_text("<p>letter</p>")
    ids = queue_mails(db_url, 3, prefix="before")
    bad = {
        "bad:subject": {"subject": "Warning notice\nBcc: everyone@la.example"},
        "bad:address": {"recipient_email": "head@school.example\n"},
        "bad:deleted-file": {"attachments": [file_attachment(gone)]},
        "bad:relative-path": {"attachments": [{"filename": "l.html", "path": "letters/l.html", "mimetype": ""}]},
    }
    with session_scope(db_url) as session:
        # Written past queue(), which would tidy the subject and address: rows from an older version,
        # or from a hand-edited database.
        for key, fields in bad.items():
            values = {"recipient_email": "officer@la.example", "subject": f"Letter {key}", **fields}
            session.add(Notification(key=key, kind="letter", body_text="x", message_id=message_id_for(key, DOMAIN),
                                     for_date=TODAY, **values))
            ids.add(message_id_for(key, DOMAIN))
    gone.unlink()
    ids |= queue_mails(db_url, 3, prefix="after")
    first = send(db_url, settings_for(server), now=at(0))
    assert (first.sent, first.deferred, first.failed) == (6, 0, 4)
    reasons = {r.key: r.last_error for r in rows(db_url) if r.status == "failed"}
    assert "subject must be one line" in reasons["bad:subject"]
    assert "not an e-mail address" in reasons["bad:address"]
    assert "No such file" in reasons["bad:deleted-file"] and str(gone) in reasons["bad:deleted-file"]
    assert "relative" in reasons["bad:relative-path"]
    with session_scope(db_url) as session:
        alarms = outbox_alarms(session, at(0))
        assert len(alarms) == 4 and all("cannot be built" in line for line in alarms)
        gone.write_text("<p>letter, restored</p>")
        retry(session, ["bad:deleted-file"], now=at(1))
    assert send(db_url, settings_for(server), now=at(1)).sent == 1
    failed = {message_id_for(key, DOMAIN) for key in bad if key != "bad:deleted-file"}
    assert_none_lost(tally("4 unbuildable among 10", db_url, ids, received(server), failed))


# --- several senders at once ----------------------------------------------------------------------------


def test_four_sender_threads_send_each_message_once(db_url, server):
    ids = queue_mails(db_url, 40)
    server.handler.reply_delay = 0.005  # long enough for the senders to interleave
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(send(db_url, settings_for(server))))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r.sent for r in reports) == 40 and len(reports) == 4
    assert_none_lost(tally("4 sender threads, 40 mails", db_url, ids, received(server)))


def concerns_command(db_url: str, *args: str, env: dict[str, str]) -> subprocess.Popen:
    script = Path(sys.executable).with_name("concerns")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "concerns.app.cli"]
    return subprocess.Popen([*command, "--db", db_url, *args], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_four_sender_processes_send_each_message_once(db_url, server):
    ids = queue_mails(db_url, 40)
    server.handler.reply_delay = 0.01
    env = {"CONCERNS_SMTP_URL": server.url(), "CONCERNS_MAIL_FROM": MAIL_FROM}
    senders = [concerns_command(db_url, "outbox", "send", "--json", env=env) for _ in range(4)]
    results = [sender.communicate(timeout=60) for sender in senders]
    assert [sender.returncode for sender in senders] == [0] * 4, [err for _, err in results]
    assert sum(json.loads(out)["sent"] for out, _ in results) == 40
    assert_none_lost(tally("4 `concerns outbox send`, 40", db_url, ids, received(server)))


def test_a_sender_killed_mid_batch_leaves_at_most_one_duplicate(db_url, server):
    ids = queue_mails(db_url, 20)
    server.handler.reply_delay = 0.1  # the server keeps each message, then takes a while to say so
    env = {"CONCERNS_SMTP_URL": server.url(), "CONCERNS_MAIL_FROM": MAIL_FROM, "CONCERNS_OUTBOX_LEASE": "30"}
    sender = concerns_command(db_url, "outbox", "send", env=env)
    deadline = time.monotonic() + 30
    while len(server.messages) < 5 and time.monotonic() < deadline and sender.poll() is None:
        time.sleep(0.02)
    sender.send_signal(signal.SIGKILL)
    sender.communicate(timeout=10)
    assert sender.returncode == -signal.SIGKILL
    kept_before = len(server.messages)
    assert 5 <= kept_before < 20
    server.handler.reply_delay = 0
    # Within the lease nobody may take the killed sender's claims; after it, they are due again.
    assert send(db_url, settings_for(server), now=datetime.now(UTC) + timedelta(seconds=5)).sent == 0
    late = send(db_url, settings_for(server), now=datetime.now(UTC) + timedelta(seconds=31))
    assert late.sent >= 20 - kept_before
    counted = tally("kill -9 of a sender process", db_url, ids, received(server), window=1)
    assert_none_lost(counted, window=1)
    assert by_status(db_url) == {"sent": 20}
