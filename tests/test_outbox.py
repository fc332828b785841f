"""The outbox's rules without a faulty server: back-off, alarms in working time, queue tidying, and the
`concerns outbox` commands. (Faults and concurrent senders: tests/test_outbox_faults.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from concerns.notify.alarms import LONDON, outbox_alarms, working_time_between
from concerns.notify.delivery import backoff
from concerns.notify.directory import Recipient
from concerns.notify.outbox import file_attachment, queue
from concerns.store.db import session_scope
from models import Notification
from tests.conftest import table_dump

OFFICER = Recipient("Ann Officer", "ann@la.example", "link_adviser", False)


def london(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def add(session, key: str, *, status: str = "pending", created: datetime | None = None, **fields) -> Notification:
    row, _ = queue(session, key=key, kind="reminder", recipient=OFFICER, subject=f"Subject {key}", text="x",
                   html=None, for_date=datetime.now(UTC).date(), domain="la.example")
    row.status = status
    for name, value in fields.items():
        setattr(row, name, value)
    if created is not None:
        row.created_at = row.next_attempt = created
    session.add(row)
    session.flush()
    return row


def test_backoff_doubles_from_a_minute_up_to_an_hour():
    assert [backoff(n) // timedelta(minutes=1) for n in (1, 2, 3, 4, 5, 6, 7, 8, 50)] == \
        [1, 2, 4, 8, 16, 32, 60, 60, 60]


@pytest.mark.parametrize(("start", "end", "hours"), [
    ("2026-11-27 18:00", "2026-11-30 08:00", 2),  # Friday evening to Monday morning: 1 h + 1 h
    ("2026-11-28 09:00", "2026-11-29 20:00", 0),  # a weekend
    ("2026-11-30 05:00", "2026-11-30 21:00", 12),  # a whole working day
    ("2026-03-27 18:00", "2026-03-30 08:00", 2),  # across the clock change (Sunday 29 March)
])
def test_waiting_time_counts_only_the_working_day(start, end, hours):
    assert working_time_between(london(start), london(end)) == timedelta(hours=hours)


def test_alarms_name_recipient_subject_and_reason(db_url, monkeypatch):
    friday_five = london("2026-11-27 17:00")
    with session_scope(db_url) as session:
        add(session, "waiting", status="deferred", created=friday_five, attempts=4,
            last_error="451 4.3.0 Mailbox busy")
        add(session, "refused", status="failed", last_error="550 5.1.1 No such user")
        add(session, "sent", status="sent", created=friday_five)
        add(session, "fresh")  # queued just now: not late
        assert outbox_alarms(session, london("2026-11-27 18:30")) == [
            'Mail failed and will not be sent to ann@la.example, "Subject refused": 550 5.1.1 No such user. '
            "After putting it right: concerns outbox retry refused"]
        late = outbox_alarms(session, london("2026-11-30 08:30"))  # 2 h Friday + 1 h 30 Monday
        assert len(late) == 2
        assert late[0].startswith('Mail not delivered after 3 h 30 min of the working day to ann@la.example, '
                                  '"Subject waiting": 451 4.3.0 Mailbox busy (4 tries; next try')
        monkeypatch.setenv("CONCERNS_MAIL_ALARM_AFTER", "60")
        assert len(outbox_alarms(session, london("2026-11-27 18:30"))) == 2
        assert len(outbox_alarms(session, london("2026-11-27 18:30"), timedelta(hours=2))) == 1


def test_queue_keeps_subjects_on_one_line_and_attachment_paths_absolute(db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spaced = Recipient("Head", " head@school.example\n", "head", True)
    with session_scope(db_url) as session:
        row, _ = queue(session, key="k", kind="letter", recipient=spaced, subject="Warning\r\nnotice  issued",
                       text="x", html=None, for_date=datetime.now(UTC).date(), domain="la.example",
                       attachments=[file_attachment(Path("letters/notice.html"))])
        assert (row.subject, row.recipient_email) == ("Warning notice issued", "head@school.example")
        assert row.attachments[0]["path"] == str(tmp_path / "letters" / "notice.html")


# --- the commands ---------------------------------------------------------------------------------------


def test_outbox_list_json_and_status_filter(cli):
    with session_scope(cli.url) as session:
        add(session, "one")
        add(session, "two", status="failed", last_error="550 no")
    listed = cli.json("outbox", "list")
    assert [set(doc) for doc in listed] == [{"key", "to", "subject", "status", "attempts", "last_error",
                                             "next_attempt"}] * 2
    assert listed[0]["next_attempt"] is not None and listed[1]["next_attempt"] is None
    assert [doc["key"] for doc in cli.json("outbox", "list", "--status", "failed")] == ["two"]
    assert "two" in cli.ok("outbox", "list")  # the human table


def test_outbox_retry_refuses_unknown_or_sent_keys_and_changes_nothing(cli):
    with session_scope(cli.url) as session:
        add(session, "failed-one", status="failed", last_error="550 no", attempts=3)
        add(session, "done", status="sent")
    before = table_dump(cli.url)
    for keys, named in ((["failed-one", "no-such-key"], "'no-such-key'"), (["done"], "'done'")):
        rc, out, err = cli("outbox", "retry", *keys)
        assert rc == 2 and named in err and len(err.strip().splitlines()) == 1
    assert table_dump(cli.url) == before
    cli.ok("outbox", "retry", "failed-one")
    [row] = cli.json("outbox", "list", "--status", "pending")
    assert (row["key"], row["attempts"]) == ("failed-one", 0)


def test_outbox_retry_failed_and_send_exit_status(cli):
    with session_scope(cli.url) as session:
        add(session, "bad", status="pending", subject="Two\nlines")  # cannot be built: fails when sent
        add(session, "good")
    rc, out, err = cli("outbox", "send")
    assert rc == 1 and "sent 1, deferred 0, failed 1" in out
    assert "alarm: Mail failed" in err and "subject must be one line" in err
    cli.ok("outbox", "retry", "--failed")
    assert [d["key"] for d in cli.json("outbox", "list", "--status", "pending")] == ["bad"]
    with session_scope(cli.url) as session:
        session.exec(select(Notification).where(Notification.key == "bad")).one().subject = "One line"
    rc, out, _ = cli("outbox", "send")
    assert rc == 0 and "sent 1, deferred 0, failed 0" in out
