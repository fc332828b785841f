"""The mail layer against a real SMTP server (aiosmtpd on 127.0.0.1) and a real outbox directory."""

import email
import email.policy
import hashlib
import pickle
import re
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import concerns.output.mail.transport as transport_module
from concerns.output.mail import (
    KEY_HEADER,
    Attachment,
    DeliveryError,
    MailSettings,
    OutboxDirTransport,
    OutgoingMail,
    SmtpTransport,
    Transport,
    all_day_event,
    build_message,
    build_smtp_url,
    escape_text,
    fold_line,
    meeting_invitation,
    message_id_for,
    parse_smtp_url,
    transport_for,
)
from tests.support.smtp import PasswordAuthenticator, SmtpTestServer, self_signed_certificate

LONDON = ZoneInfo("Europe/London")
SENDER = "Concerns <concerns@la.example>"
STAMP = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SECRET = "Sup3rS3cret"


# --------------------------------------------------------------------------------------------- helpers


@pytest.fixture
def smtpd():
    with SmtpTestServer() as server:
        yield server


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    pytest.importorskip(
        "cryptography", reason="the TLS tests need `cryptography` to make a throwaway certificate"
    )
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def settings_for(server: SmtpTestServer, scheme: str = "smtp", user=None, password=None) -> MailSettings:
    return MailSettings(server.url(scheme, user, password), Path("unused-outbox"), SENDER)


def invitation(**overrides) -> bytes:
    args = dict(
        uid="meeting-17@la.example",
        summary="Warning notice review: St Mary's, Anytown",
        start=datetime(2026, 12, 3, 10, 0, tzinfo=LONDON),
        end=datetime(2026, 12, 3, 11, 30, tzinfo=LONDON),
        location="Room 2, County Hall; Anytown",
        organiser_email="ann@la.example",
        organiser_name="Ann Smith",
        attendees=[("Bob Jones", "bob@school.example"), ("", "chair@gov.example")],
        description="Agenda:\n1. Progress since the notice\n2. Next steps, if any",
        stamp=STAMP,
    )
    args.update(overrides)
    return meeting_invitation(**args)


def make_mail(n: int = 1, **overrides) -> OutgoingMail:
    fields = dict(
        key=f"deadline:42:reminder-3wd:{n}",
        to=("ann@la.example",),
        cc=("bob@la.example",),
        subject=f"Reminder {n}: response due",
        text=f"Plain body {n}\nSecond line",
        html=f"<p>HTML body {n}</p>",
    )
    fields.update(overrides)
    return OutgoingMail(**fields)


def built(mail: OutgoingMail, now: datetime | None = None) -> EmailMessage:
    return build_message(mail, SENDER, "la.example", now=now)


def unfold(ics: bytes) -> list[str]:
    """Check the wire rules of an .ics and return its logical (unfolded) lines."""
    assert ics.endswith(b"\r\n")
    physical = ics.split(b"\r\n")[:-1]
    for raw in physical:
        assert b"\n" not in raw and b"\r" not in raw, "bare CR or LF"
        assert len(raw) <= 75, f"line longer than 75 octets: {raw!r}"
        raw.decode("utf-8")  # folding never splits a multi-byte character
    lines: list[str] = []
    for raw in physical:
        text = raw.decode("utf-8")
        if text.startswith(" "):
            lines[-1] += text[1:]
        else:
            lines.append(text)
    return lines


def prop(lines: list[str], name: str) -> str:
    """The VEVENT's property line ``name`` (with its parameters); the VTIMEZONE has DTSTARTs of its own."""
    event = lines[lines.index("BEGIN:VEVENT") : lines.index("END:VEVENT")]
    [line] = [line for line in event if re.match(rf"{name}[;:]", line)]
    return line


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


# -------------------------------------------------------------------------------------------- settings


def test_settings_defaults_use_the_outbox_directory():
    settings = MailSettings.from_env({})
    assert settings.smtp_url is None and settings.smtp is None
    assert settings.outbox_dir == Path("./outbox")
    assert settings.mail_from == "concerns@localhost" and settings.domain == "localhost"
    assert isinstance(transport_for(settings), OutboxDirTransport)


def test_settings_from_env_variables_win_over_fallback(tmp_path):
    fallback = MailSettings("smtp://block.example", tmp_path / "block", "block@la.example")
    env = {
        "CONCERNS_SMTP_URL": " smtps://relay.la.example ",
        "CONCERNS_OUTBOX": str(tmp_path / "env"),
        "CONCERNS_MAIL_FROM": "Schools Team <schools@la.example>",
    }
    settings = MailSettings.from_env(env, fallback=fallback)
    assert settings.smtp_url == "smtps://relay.la.example"
    assert settings.outbox_dir == tmp_path / "env"
    assert settings.mail_from_address == "schools@la.example" and settings.domain == "la.example"
    assert isinstance(transport_for(settings), SmtpTransport)
    # Empty variables count as unset (an .env file with CONCERNS_SMTP_URL= must not mean "smtp://").
    empty = {"CONCERNS_SMTP_URL": "", "CONCERNS_OUTBOX": "", "CONCERNS_MAIL_FROM": ""}
    assert MailSettings.from_env(empty, fallback=fallback) == fallback


@pytest.mark.parametrize(
    ("url", "security", "host", "port", "user", "password"),
    [
        ("smtp://mail.la.example", "plain", "mail.la.example", 25, None, None),
        ("smtp://mail.la.example:2525", "plain", "mail.la.example", 2525, None, None),
        ("smtp+starttls://mail.la.example", "starttls", "mail.la.example", 587, None, None),
        ("smtps://mail.la.example", "tls", "mail.la.example", 465, None, None),
        ("SMTPS://Mail.LA.example:1465/", "tls", "mail.la.example", 1465, None, None),
        (
            "smtp+starttls://ann%40la.example:p%40ss%3Aw%2Frd%20x@relay:587",
            "starttls",
            "relay",
            587,
            "ann@la.example",
            "p@ss:w/rd x",
        ),
        ("smtp://relay-user@10.0.0.5", "plain", "10.0.0.5", 25, "relay-user", None),
        ("smtp://[::1]:2525", "plain", "::1", 2525, None, None),
    ],
)
def test_smtp_url_forms(url, security, host, port, user, password):
    endpoint = parse_smtp_url(url)
    assert (endpoint.security, endpoint.host, endpoint.port) == (security, host, port)
    assert (endpoint.username, endpoint.password) == (user, password)
    assert MailSettings(url, Path("o"), SENDER).smtp == endpoint


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mail.la.example:25", "unsupported scheme"),
        ("http://mail.la.example", "unsupported scheme"),
        (f"smtp+ssl://ann:{SECRET}@mail.la.example", "unsupported scheme"),
        ("smtp://", "missing host"),
        (f"smtp://ann:{SECRET}@:25", "missing host"),
        ("smtp://mail.la.example:abc", "port"),
        ("smtp://mail.la.example:0", "port"),
        (f"smtps://ann:{SECRET}@mail.la.example:99999", "port"),
        ("smtp://mail.la.example/relay", "path"),
        ("smtp://mail.la.example?timeout=5", "query"),
        (f"smtp://:{SECRET}@mail.la.example", "password was given without a user"),
        (f"smtp://ann:{SECRET[:5]}/{SECRET[5:]}@mail.la.example", "percent-encode"),
        (f"smtp://ann:{SECRET[:5]}#{SECRET[5:]}@mail.la.example", "percent-encode"),
        (f"smtp://ann:{SECRET[:5]} {SECRET[5:]}@mail.la.example", "whitespace"),
        (f"smtp://ann:{SECRET}@mail.la\nexample", "whitespace"),
        (f"smtp://ann:{SECRET}@[::1", "not a valid URL"),
    ],
)
def test_bad_smtp_urls_are_refused_without_echoing_the_password(url, reason):
    with pytest.raises(ValueError) as caught:
        MailSettings.from_env({"CONCERNS_SMTP_URL": url})
    message = str(caught.value)
    assert reason in message
    assert message.startswith("CONCERNS_SMTP_URL: ") and "\n" not in message
    for fragment in (SECRET, SECRET[:5], SECRET[5:]):
        assert fragment not in message
    # Names the bad value (host or scheme part), with the password masked.
    visible = url.rsplit("@", 1)[-1].split("\n")[0] if "@" in url else url.split(":")[0]
    assert visible[:8] in message


def test_password_never_appears_in_reprs():
    url = f"smtp+starttls://ann:{SECRET}@relay.la.example"
    settings = MailSettings(url, Path("o"), SENDER)
    for text in (repr(settings), repr(settings.smtp), repr(SmtpTransport(settings))):
        assert SECRET not in text
    assert "ann:***@relay.la.example" in repr(settings)


def test_build_smtp_url_round_trips_awkward_credentials():
    password = "p@ss:w/rd %#?&"
    url = build_smtp_url(
        "relay.la.example", 2587, security="starttls", username="ann@la.example", password=password
    )
    endpoint = parse_smtp_url(url)
    assert (endpoint.security, endpoint.host, endpoint.port) == ("starttls", "relay.la.example", 2587)
    assert (endpoint.username, endpoint.password) == ("ann@la.example", password)
    assert build_smtp_url("::1", security="tls") == "smtps://[::1]"
    with pytest.raises(ValueError, match="security mode"):
        build_smtp_url("relay", security="ssl")  # type: ignore[arg-type]


def test_bad_sender_is_refused():
    with pytest.raises(ValueError, match="CONCERNS_MAIL_FROM: not an e-mail address: 'concerns'"):
        MailSettings.from_env({"CONCERNS_MAIL_FROM": "concerns"})


# --------------------------------------------------------------------------------------------- message


def test_message_id_is_derived_from_the_key_only():
    mail = make_mail()
    first = built(mail, datetime(2026, 11, 22, 9, 30, tzinfo=LONDON))
    again = built(make_mail(), datetime(2027, 6, 1, 12, 0, tzinfo=LONDON))  # another run, another day
    expected = f"<{hashlib.sha256(mail.key.encode()).hexdigest()[:32]}@la.example>"
    assert first["Message-ID"] == again["Message-ID"] == expected == message_id_for(mail.key, "la.example")
    assert built(make_mail(2))["Message-ID"] != expected
    assert first[KEY_HEADER] == mail.key
    # domain defaults to the sender's domain
    assert build_message(mail, SENDER)["Message-ID"] == expected


def test_date_header_is_london_time():
    assert (
        built(make_mail(), datetime(2026, 11, 22, 9, 30, tzinfo=LONDON))["Date"]
        == "Sun, 22 Nov 2026 09:30:00 +0000"
    )
    assert (
        built(make_mail(), datetime(2027, 6, 1, 8, 0, tzinfo=UTC))["Date"]
        == "Tue, 01 Jun 2027 09:00:00 +0100"
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        built(make_mail(), datetime(2026, 11, 22, 9, 30))


def test_mime_structure():
    plain = built(make_mail(html=None, cc=()))
    assert plain.get_content_type() == "text/plain" and "Cc" not in plain
    alternative = built(make_mail())
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    mixed = built(make_mail(attachments=(Attachment("letter.pdf", b"%PDF-1.7"),)))
    assert mixed.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in mixed.iter_parts()] == ["multipart/alternative", "application/pdf"]
    assert mixed["Auto-Submitted"] == "auto-generated"
    # The Content-Type "method" follows the calendar's own METHOD (RFC 6047): PUBLISH for a deadline.
    deadline = all_day_event("d-1@la.example", "Due", date(2026, 12, 14), "c@la.example", "", stamp=STAMP)
    with_calendar = built(make_mail(attachments=(Attachment("deadline.ics", deadline),)))
    [calendar] = with_calendar.iter_attachments()
    assert calendar.get_content_type() == "text/calendar" and calendar.get_param("method") == "PUBLISH"


def test_outgoing_mail_validation():
    mail = make_mail(to="ann@la.example", cc=["bob@la.example", "Carol <carol@la.example>"])
    assert mail.to == ("ann@la.example",) and mail.cc == ("bob@la.example", "Carol <carol@la.example>")
    assert mail.recipients == ("ann@la.example", "bob@la.example", "Carol <carol@la.example>")
    hash(mail)  # frozen and tuple-valued: usable as a set member / dict key
    with pytest.raises(ValueError, match="subject must be one line"):
        make_mail(subject="Hi\r\nBcc: everyone@example.com")
    with pytest.raises(ValueError, match="no 'to' recipient"):
        make_mail(to=())
    with pytest.raises(ValueError, match="not an e-mail address: 'ann'"):
        make_mail(to=("ann",))
    with pytest.raises(ValueError, match="key must be a non-empty single line"):
        make_mail(key=" ")
    with pytest.raises(TypeError):
        OutgoingMail("k", ("ann@la.example",), (), "subject", "text")  # type: ignore[misc]
    with pytest.raises(ValueError, match="plain file name"):
        Attachment("../letter.pdf", b"x")
    assert Attachment("invite.ics", b"x").mimetype == "text/calendar"


# --------------------------------------------------------------------------------------------- calendar


def test_meeting_invitation_is_valid_icalendar():
    ics = invitation()
    assert ics == invitation()  # deterministic with a fixed stamp
    lines = unfold(ics)
    assert lines[:5] == [
        "BEGIN:VCALENDAR",
        "PRODID:-//Concerns//Schools Causing Concern//EN",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        "METHOD:REQUEST",
    ]
    assert lines[-1] == "END:VCALENDAR"
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == 1
    assert "TZID:Europe/London" in lines
    assert prop(lines, "UID") == "UID:meeting-17@la.example"
    assert prop(lines, "DTSTAMP") == "DTSTAMP:20261122T090000Z"
    assert prop(lines, "SEQUENCE") == "SEQUENCE:0"
    assert prop(lines, "DTSTART") == "DTSTART;TZID=Europe/London:20261203T100000"
    assert prop(lines, "DTEND") == "DTEND;TZID=Europe/London:20261203T113000"
    assert prop(lines, "SUMMARY") == r"SUMMARY:Warning notice review: St Mary's\, Anytown"
    assert unescape(prop(lines, "LOCATION").split(":", 1)[1]) == "Room 2, County Hall; Anytown"
    description = prop(lines, "DESCRIPTION").split(":", 1)[1]
    assert "\\n1. Progress" in description
    assert unescape(description) == "Agenda:\n1. Progress since the notice\n2. Next steps, if any"
    assert prop(lines, "ORGANIZER") == 'ORGANIZER;CN="Ann Smith":mailto:ann@la.example'
    attendees = [line for line in lines if line.startswith("ATTENDEE")]
    assert attendees == [
        'ATTENDEE;CN="Bob Jones";CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE'
        ":mailto:bob@school.example",
        "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE"
        ":mailto:chair@gov.example",
    ]
    # The long ATTENDEE line really was folded on the wire.
    assert b"\r\n " in ics


def test_meeting_times_are_converted_to_london_wall_clock():
    summer = unfold(
        invitation(
            start=datetime(2027, 6, 10, 9, 0, tzinfo=UTC), end=datetime(2027, 6, 10, 10, 0, tzinfo=UTC)
        )
    )
    assert prop(summer, "DTSTART") == "DTSTART;TZID=Europe/London:20270610T100000"  # BST = UTC+1
    assert prop(summer, "DTEND") == "DTEND;TZID=Europe/London:20270610T110000"
    # An update of the same meeting: same UID, higher SEQUENCE; DTSTAMP is always written in UTC.
    update = unfold(invitation(sequence=2, stamp=datetime(2027, 6, 1, 12, 0, tzinfo=LONDON)))
    assert prop(update, "SEQUENCE") == "SEQUENCE:2" and prop(update, "DTSTAMP") == "DTSTAMP:20270601T110000Z"


def test_vtimezone_rules_match_the_tz_database():
    """The hand-written VTIMEZONE must agree with tzdata for every year we could plausibly schedule in."""
    lines = unfold(invitation())
    block = lines[lines.index("BEGIN:VTIMEZONE") : lines.index("END:VTIMEZONE")]
    rules = []
    for kind in ("DAYLIGHT", "STANDARD"):
        part = block[block.index(f"BEGIN:{kind}") : block.index(f"END:{kind}")]
        values = dict(line.split(":", 1) for line in part[1:])
        month = int(re.search(r"BYMONTH=(\d+)", values["RRULE"]).group(1))
        assert "BYDAY=-1SU" in values["RRULE"]

        def offset(text: str) -> timedelta:
            return (1 if text[0] == "+" else -1) * timedelta(hours=int(text[1:3]), minutes=int(text[3:5]))

        local_time = time(int(values["DTSTART"][9:11]), int(values["DTSTART"][11:13]))
        rules.append((month, local_time, offset(values["TZOFFSETFROM"]), offset(values["TZOFFSETTO"])))
    for year in range(1997, 2041):
        for month, local_time, before, after in rules:
            last_day = date(year, month + 1, 1) - timedelta(days=1)
            sunday = last_day - timedelta(days=(last_day.weekday() + 1) % 7)
            change = datetime.combine(sunday, local_time, tzinfo=UTC) - before  # local → UTC
            assert (change - timedelta(seconds=1)).astimezone(LONDON).utcoffset() == before, (year, month)
            assert change.astimezone(LONDON).utcoffset() == after, (year, month)


def test_all_day_event_for_a_deadline():
    lines = unfold(
        all_day_event(
            "deadline-42@la.example",
            "Response due: warning notice, St Mary's",
            date(2026, 12, 14),
            "concerns@la.example",
            "Schools Causing Concern",
            description="Statutory deadline",
            stamp=STAMP,
        )
    )
    assert "METHOD:PUBLISH" in lines and "BEGIN:VTIMEZONE" not in lines
    assert prop(lines, "DTSTART") == "DTSTART;VALUE=DATE:20261214"
    assert prop(lines, "DTEND") == "DTEND;VALUE=DATE:20261215"  # exclusive end
    assert "TRANSP:TRANSPARENT" in lines and not any(line.startswith("ATTENDEE") for line in lines)
    span = unfold(
        all_day_event(
            "d",
            "s",
            date(2026, 12, 31),
            "c@la.example",
            "",
            last_day=date(2027, 1, 2),
            attendees=[("Ann", "ann@la.example")],
            stamp=STAMP,
        )
    )
    assert prop(span, "DTEND") == "DTEND;VALUE=DATE:20270103" and "METHOD:REQUEST" in span
    with pytest.raises(TypeError, match="dates, not datetimes"):
        all_day_event("d", "s", datetime(2026, 12, 14, tzinfo=UTC), "c@la.example", "")


def test_calendar_input_errors():
    with pytest.raises(ValueError, match="timezone-aware"):
        invitation(start=datetime(2026, 12, 3, 10, 0))
    with pytest.raises(ValueError, match="not after its start"):
        invitation(end=datetime(2026, 12, 3, 10, 0, tzinfo=LONDON))
    with pytest.raises(ValueError, match="no attendees"):
        invitation(attendees=[])
    with pytest.raises(ValueError, match="bare e-mail address"):
        invitation(attendees=[("Eve", "eve@x.example\r\nATTENDEE:mailto:x@y")])


def test_escaping_and_folding():
    assert escape_text("a\\b;c,d\r\ne\nf\rg\x07") == "a\\\\b\\;c\\,d\\ne\\nf\\ng"
    exact = "X" * 75
    assert fold_line(exact) == exact.encode() + b"\r\n"
    assert fold_line(exact + "Y") == exact.encode() + b"\r\n Y\r\n"
    # 2-octet characters: no physical line may exceed 75 octets or cut a character in half.
    folded = fold_line("DESCRIPTION:" + "é" * 100)
    physical = folded.split(b"\r\n")[:-1]
    assert all(len(raw) <= 75 for raw in physical)
    assert "".join(raw.decode()[1:] if i else raw.decode() for i, raw in enumerate(physical)) == (
        "DESCRIPTION:" + "é" * 100
    )


# ------------------------------------------------------------------------------------------- SMTP


def test_plain_smtp_delivers_headers_bodies_and_attachments(smtpd):
    ics = invitation()
    mail = make_mail(
        attachments=(
            Attachment("letter.pdf", b"%PDF-1.7 fake"),
            Attachment("meeting.ics", ics, "text/calendar"),
        )
    )
    msg = built(mail)
    SmtpTransport(settings_for(smtpd), timeout=5).send(msg)

    [received] = smtpd.messages
    assert received.mail_from == "concerns@la.example"
    assert set(received.rcpt_tos) == {"ann@la.example", "bob@la.example"}
    got = received.msg
    assert (got["To"], got["Cc"], got["Subject"]) == (
        "ann@la.example",
        "bob@la.example",
        "Reminder 1: response due",
    )
    assert got["Message-ID"] == msg["Message-ID"] and got[KEY_HEADER] == mail.key
    # On the wire (and so in what the server parsed) text lines end in CRLF.
    assert got.get_body(("plain",)).get_content() == "Plain body 1\r\nSecond line\r\n"
    assert got.get_body(("html",)).get_content() == "<p>HTML body 1</p>\r\n"
    attachments = {part.get_filename(): part for part in got.iter_attachments()}
    assert attachments["letter.pdf"].get_content() == b"%PDF-1.7 fake"
    calendar = attachments["meeting.ics"]
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == "REQUEST"
    assert calendar.get_payload(decode=True) == ics  # byte-exact, CRLFs and folding intact
    assert "TZID=Europe/London" in calendar.get_content()


def test_a_batch_uses_one_connection(smtpd):
    transport = SmtpTransport(settings_for(smtpd), timeout=5)
    with transport.session() as session:
        for n in range(200):
            session.send(built(make_mail(n, cc=(), html=None)))
    assert session.connections_opened == 1
    assert len(smtpd.messages) == 200
    assert len({m.peer for m in smtpd.messages}) == 1


def test_refusal_mid_batch_raises_for_that_message_only(smtpd):
    smtpd.handler.refuse_next(1, after=2, code=451, text="4.3.0 Mailbox busy, try later")
    transport = SmtpTransport(settings_for(smtpd), timeout=5)
    failures = {}
    with transport.session() as session:
        for n in range(1, 6):
            try:
                session.send(built(make_mail(n)))
            except DeliveryError as exc:
                failures[n] = exc
            if n == 3:  # the earlier ones are already at the server when the third fails
                assert [m.msg["Subject"] for m in smtpd.messages] == [
                    "Reminder 1: response due",
                    "Reminder 2: response due",
                ]
    assert list(failures) == [3]
    error = failures[3]
    assert error.key == "deadline:42:reminder-3wd:3"
    assert error.smtp_code == 451 and not error.permanent
    assert error.recipients == ("ann@la.example", "bob@la.example")
    assert "451 4.3.0 Mailbox busy, try later" in str(error)
    assert [r.subject for r in smtpd.handler.refused] == ["Reminder 3: response due"]
    assert [m.msg["Subject"][:10] for m in smtpd.messages] == [
        "Reminder 1",
        "Reminder 2",
        "Reminder 4",
        "Reminder 5",
    ]
    assert session.connections_opened == 1  # the connection survived the 451


def test_permanent_refusals(smtpd):
    transport = SmtpTransport(settings_for(smtpd), timeout=5)
    smtpd.handler.refuse_next(1, code=554, text="5.7.1 Message rejected")
    with pytest.raises(DeliveryError) as caught:
        transport.send(built(make_mail(1)))
    assert caught.value.permanent and caught.value.smtp_code == 554

    smtpd.handler.reject_recipients("bob@la.example")
    with pytest.raises(DeliveryError) as caught:
        transport.send(built(make_mail(2)))
    assert caught.value.partially_delivered and caught.value.permanent
    assert caught.value.refused == {"bob@la.example": (550, "5.1.1 No such user")}
    assert smtpd.messages[-1].rcpt_tos == ("ann@la.example",)  # Ann did get it: a blind retry would duplicate

    smtpd.handler.reject_recipients("ann@la.example")
    with pytest.raises(DeliveryError, match="all recipients refused") as caught:
        transport.send(built(make_mail(3)))
    assert not caught.value.partially_delivered and caught.value.permanent
    assert len(smtpd.messages) == 1


def test_server_down_mid_batch_then_back(smtpd):
    transport = SmtpTransport(settings_for(smtpd), timeout=5)
    with transport.session() as session:
        session.send(built(make_mail(1)))
        smtpd.stop()
        with pytest.raises(DeliveryError, match="connection to SMTP server 127.0.0.1:.* lost") as lost:
            session.send(built(make_mail(2)))
        # Lost with message 2 in flight: that message's fault to retry, not the channel's (yet).
        assert not lost.value.permanent and not lost.value.connection
        with pytest.raises(DeliveryError, match="Connection refused") as refused:
            session.send(built(make_mail(3)))
        assert refused.value.connection and not refused.value.permanent
        smtpd.start()
        session.send(built(make_mail(4)))  # the session reconnects by itself
    assert session.connections_opened == 2
    assert [m.msg[KEY_HEADER][-1] for m in smtpd.messages] == ["1", "4"]


def test_stale_connection_is_probed_and_replaced(smtpd, monkeypatch):
    monkeypatch.setattr(transport_module, "IDLE_PROBE_AFTER", 0.0)  # treat every reuse as "idle too long"
    transport = SmtpTransport(settings_for(smtpd), timeout=5)
    with transport.session() as session:
        session.send(built(make_mail(1)))
        smtpd.stop()
        smtpd.start()  # the server dropped our connection, as an idle timeout would
        session.send(built(make_mail(2)))  # NOOP fails, so it reconnects before sending: no error
    assert session.connections_opened == 2 and len(smtpd.messages) == 2


def test_delivery_error_survives_pickling():
    # Prefect stores a failed task's exception by pickling it.
    error = DeliveryError(
        "k",
        "550 no",
        recipients=("a@x.example", "b@x.example"),
        smtp_code=550,
        permanent=True,
        refused={"b@x.example": (550, "no")},
        connection=True,
    )
    copy = pickle.loads(pickle.dumps(error))
    assert copy.connection
    assert (copy.key, copy.reason, copy.recipients, copy.smtp_code, copy.permanent, copy.refused) == (
        "k",
        "550 no",
        ("a@x.example", "b@x.example"),
        550,
        True,
        {"b@x.example": (550, "no")},
    )
    assert str(copy) == str(error) and copy.partially_delivered


def test_message_without_recipients_is_refused_before_connecting():
    msg = EmailMessage()
    msg["Subject"] = "orphan"
    server = SmtpTestServer()  # not started: proves no connection is attempted
    with pytest.raises(DeliveryError, match="no To, Cc or Bcc recipient") as caught:
        SmtpTransport(settings_for(server), timeout=5).send(msg)
    assert caught.value.permanent


def test_no_server_is_a_delivery_error_not_an_oserror():
    server = SmtpTestServer()  # never started: nothing listens on its port
    with pytest.raises(DeliveryError, match="cannot connect .*ConnectionRefusedError") as caught:
        SmtpTransport(settings_for(server), timeout=5).send(built(make_mail()))
    assert caught.value.key == "deadline:42:reminder-3wd:1" and not caught.value.permanent
    assert caught.value.connection  # every later message would meet the same closed port


def test_starttls_and_login_are_not_faked_when_the_server_lacks_them(smtpd):
    with pytest.raises(DeliveryError, match="STARTTLS extension not supported"):
        SmtpTransport(settings_for(smtpd, "smtp+starttls"), timeout=5).send(built(make_mail()))
    with pytest.raises(DeliveryError, match="AUTH extension not supported") as caught:
        SmtpTransport(settings_for(smtpd, "smtp", "ann", SECRET), timeout=5).send(built(make_mail()))
    assert SECRET not in str(caught.value)
    assert smtpd.messages == []


def test_starttls_with_login(certificate):
    password = "p@ss:w/rd"
    auth = PasswordAuthenticator({"ann@la.example": password})
    with SmtpTestServer(
        tls_context=certificate.server_context(), require_starttls=True, authenticator=auth
    ) as server:
        settings = settings_for(server, "smtp+starttls", "ann@la.example", password)
        assert settings.smtp.password == password  # percent-decoded from the URL
        SmtpTransport(settings, timeout=5, ssl_context=certificate.client_context()).send(built(make_mail()))
        [received] = server.messages
        assert received.tls and received.authenticated_as == "ann@la.example"

        wrong = settings_for(server, "smtp+starttls", "ann@la.example", SECRET)
        with pytest.raises(DeliveryError, match="refused login as 'ann@la.example': 535") as caught:
            SmtpTransport(wrong, timeout=5, ssl_context=certificate.client_context()).send(
                built(make_mail(2))
            )
        assert SECRET not in str(caught.value) and not caught.value.permanent

        # The default context verifies certificates: a self-signed one is refused, never waved through.
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            SmtpTransport(settings, timeout=5).send(built(make_mail(3)))
    assert len(server.messages) == 1


def test_implicit_tls_with_login(certificate):
    auth = PasswordAuthenticator({"ann": "secret"})
    with SmtpTestServer(ssl_context=certificate.server_context(), authenticator=auth) as server:
        settings = settings_for(server, "smtps", "ann", "secret")
        transport = transport_for(settings, timeout=5, ssl_context=certificate.client_context())
        assert isinstance(transport, SmtpTransport)
        with transport.session() as session:
            session.send(built(make_mail(1)))
            session.send(built(make_mail(2)))
        assert [(m.tls, m.authenticated_as) for m in server.messages] == [(True, "ann"), (True, "ann")]
        assert session.connections_opened == 1


# ------------------------------------------------------------------------------------------- outbox


def test_outbox_writes_each_message_once(tmp_path):
    outbox = tmp_path / "outbox"  # created on first write
    settings = MailSettings(None, outbox, SENDER)
    transport = transport_for(settings)
    assert isinstance(transport, OutboxDirTransport) and isinstance(transport, Transport)

    first = built(make_mail(1), datetime(2026, 11, 22, 9, 0, tzinfo=LONDON))
    transport.send(first)
    [path] = outbox.iterdir()
    digest = hashlib.sha256(b"deadline:42:reminder-3wd:1").hexdigest()[:32]
    assert path.name == f"{digest}@la.example.eml" == transport.path_for(first).name
    written = path.read_bytes()
    assert b"\r" not in written  # "\n" on disk; CRLF is for the wire only

    # A retry renders the same mail again later (new Date): same file, left untouched, no duplicate.
    with transport.session() as session:
        session.send(built(make_mail(1), datetime(2026, 11, 23, 9, 0, tzinfo=LONDON)))
        session.send(built(make_mail(2)))
    assert path.read_bytes() == written
    assert sorted(p.suffix for p in outbox.iterdir()) == [".eml", ".eml"]  # and no temp files left behind

    parsed = email.message_from_bytes(written, policy=email.policy.default)
    assert (
        parsed["Subject"] == "Reminder 1: response due" and parsed[KEY_HEADER] == "deadline:42:reminder-3wd:1"
    )
    assert parsed.get_body(("plain",)).get_content() == "Plain body 1\nSecond line\n"


def test_outbox_file_names_are_safe(tmp_path):
    transport = OutboxDirTransport(tmp_path)
    msg = EmailMessage()
    msg["Message-ID"] = "<../../etc/passwd@evil>"
    path = transport.path_for(msg)
    assert path.parent == tmp_path and path.suffix == ".eml" and "/" not in path.name
    other = EmailMessage()
    other["Message-ID"] = "<.._.._etc_passwd@evil>"
    assert transport.path_for(other) != path  # sanitising never merges two different IDs
    with pytest.raises(ValueError, match="needs a Message-ID"):
        transport.path_for(EmailMessage())


def test_outbox_write_failure_is_a_delivery_error(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(DeliveryError, match="cannot write") as caught:
        OutboxDirTransport(blocker).send(built(make_mail(7)))
    assert caught.value.key == "deadline:42:reminder-3wd:7" and caught.value.connection
