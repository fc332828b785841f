"""iCalendar (RFC 5545 / iTIP RFC 5546) attachments: meeting invitations and all-day deadline events.

Hand-written rather than built with a library because we need only two shapes, and the rules that
matter are few and easy to get wrong silently: CRLF line endings, folding at 75 *octets* (not
characters, and never inside a UTF-8 sequence), TEXT escaping, and a VTIMEZONE for every TZID used.
Output is deterministic for the same arguments (``stamp`` pins DTSTAMP), so tests compare exact bytes
and a re-sent invitation is byte-identical.

Updating a meeting: send the same ``uid`` again with ``sequence`` increased by one; calendar clients
then replace the event instead of adding a second one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from concerns.domain.formatting import iso_basic

TZID = "Europe/London"
LONDON = ZoneInfo(TZID)
PRODID = "-//Concerns//Schools Causing Concern//EN"

CRLF = b"\r\n"
_FOLD_OCTETS = 75  # RFC 5545 §3.1: lines SHOULD NOT be longer than 75 octets, excluding the line break

# Europe/London since the 1996 EU harmonisation: BST from 01:00 UTC on the last Sunday of March to
# 01:00 UTC on the last Sunday of October. DTSTART in each block is the local time *before* the change
# (01:00 GMT in spring, 02:00 BST in autumn). The first DTSTARTs are old on purpose so that any event date
# we could emit falls after them; RRULE then covers all later years.
_VTIMEZONE_LONDON = (
    "BEGIN:VTIMEZONE",
    f"TZID:{TZID}",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0000",
    "TZOFFSETTO:+0100",
    "TZNAME:BST",
    "DTSTART:19810329T010000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0000",
    "TZNAME:GMT",
    "DTSTART:19961027T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
)

# RFC 5545 §3.3.11 forbids control characters other than HTAB in TEXT (line breaks are escaped first).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def escape_text(value: str) -> str:
    """Escape a TEXT value (SUMMARY, DESCRIPTION, LOCATION): backslash, semicolon, comma, newline."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
    return _CONTROL.sub("", value)


def _param(value: str) -> str:
    """A quoted parameter value (CN). RFC 5545 has no escape for DQUOTE inside a quoted parameter, so it
    is replaced with an apostrophe; a CN is display-only, so that loss is harmless."""
    value = _CONTROL.sub("", value.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    return '"' + value.replace('"', "'") + '"'


def _mailto(address: str) -> str:
    if "@" not in address or any(ch in address for ch in '\r\n"<>:; ,'):
        raise ValueError(f"not a bare e-mail address for a calendar invitation: {address!r}")
    return f"mailto:{address}"


def _utc_stamp(stamp: datetime | None) -> str:
    if stamp is None:
        stamp = datetime.now(UTC)
    elif stamp.tzinfo is None:
        raise ValueError("calendar 'stamp' must be timezone-aware")
    return iso_basic(stamp.astimezone(UTC)) + "Z"


def _london(name: str, value: datetime) -> str:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"meeting {name} must be a timezone-aware datetime, got {value!r}")
    # Local wall-clock time with TZID: clients show it in Europe/London and move it correctly if the
    # attendee's calendar is in another zone. (An hour repeated by the autumn change would be read as its
    # first occurrence; meetings are not held at 01:30 on a Sunday.)
    return iso_basic(value.astimezone(LONDON))


def fold_line(line: str) -> bytes:
    """Encode one content line as UTF-8 and fold it at 75 octets, ending in CRLF.

    A continuation line starts with one space, which counts towards its 75 octets. The cut is moved
    back while it would land on a UTF-8 continuation byte, so a multi-byte character is never split
    (clients that unfold before decoding would cope, but many decode first).
    """
    data = line.encode("utf-8")
    pieces: list[bytes] = []
    start, limit = 0, _FOLD_OCTETS
    while len(data) - start > limit:
        end = start + limit
        while (data[end] & 0xC0) == 0x80:  # 0b10xxxxxx: inside a multi-byte character
            end -= 1
        pieces.append(data[start:end])
        start, limit = end, _FOLD_OCTETS - 1
    pieces.append(data[start:])
    return b"\r\n ".join(pieces) + CRLF


def _calendar(method: str, event: Iterable[str], *, with_timezone: bool) -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        f"PRODID:{PRODID}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        *(_VTIMEZONE_LONDON if with_timezone else ()),
        "BEGIN:VEVENT",
        *event,
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return b"".join(fold_line(line) for line in lines)


def _common(uid: str, summary: str, sequence: int, stamp: datetime | None) -> list[str]:
    if not uid or any(ch in uid for ch in "\r\n"):
        raise ValueError(f"calendar UID must be a non-empty single line, got {uid!r}")
    if sequence < 0:
        raise ValueError(f"calendar SEQUENCE must be >= 0, got {sequence}")
    return [
        f"UID:{uid}",
        f"DTSTAMP:{_utc_stamp(stamp)}",
        f"SEQUENCE:{sequence}",
        f"SUMMARY:{escape_text(summary)}",
    ]


def _organiser(email: str, name: str) -> str:
    cn = f";CN={_param(name)}" if name else ""
    return f"ORGANIZER{cn}:{_mailto(email)}"


def _attendee(name: str, email: str) -> str:
    cn = f";CN={_param(name)}" if name else ""
    params = "CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE"
    return f"ATTENDEE{cn};{params}:{_mailto(email)}"


def meeting_invitation(
    uid: str,
    summary: str,
    start: datetime,
    end: datetime,
    location: str,
    organiser_email: str,
    organiser_name: str,
    attendees: Sequence[tuple[str, str]],
    description: str,
    sequence: int = 0,
    *,
    stamp: datetime | None = None,
) -> bytes:
    """A METHOD:REQUEST invitation to a timed meeting, as the bytes of an ``.ics`` file.

    ``start``/``end`` must be timezone-aware; they are written as Europe/London local time with a
    VTIMEZONE. ``attendees`` are ``(name, email)`` pairs (name may be empty). ``stamp`` (aware, default
    now) becomes DTSTAMP; pass it for reproducible output.
    """
    dtstart, dtend = _london("start", start), _london("end", end)
    if end <= start:
        raise ValueError(f"meeting end {end.isoformat()} is not after its start {start.isoformat()}")
    if not attendees:
        # RFC 5546 §3.2.2: a REQUEST must name at least one attendee, or clients have nobody to ask.
        raise ValueError(f"meeting {uid!r} has no attendees")
    event = _common(uid, summary, sequence, stamp)
    event += [f"DTSTART;TZID={TZID}:{dtstart}", f"DTEND;TZID={TZID}:{dtend}"]
    if location:
        event.append(f"LOCATION:{escape_text(location)}")
    if description:
        event.append(f"DESCRIPTION:{escape_text(description)}")
    event += ["STATUS:CONFIRMED", "TRANSP:OPAQUE", _organiser(organiser_email, organiser_name)]
    event += [_attendee(name, email) for name, email in attendees]
    return _calendar("REQUEST", event, with_timezone=True)


def all_day_event(
    uid: str,
    summary: str,
    day: date,
    organiser_email: str,
    organiser_name: str,
    description: str = "",
    location: str = "",
    sequence: int = 0,
    *,
    last_day: date | None = None,
    attendees: Sequence[tuple[str, str]] = (),
    stamp: datetime | None = None,
) -> bytes:
    """An all-day event (DTSTART;VALUE=DATE) for a statutory deadline, as ``.ics`` bytes.

    ``last_day`` (inclusive, default ``day``) makes a multi-day span; DTEND is written as the day after,
    because RFC 5545 DTEND is exclusive. Without ``attendees`` the calendar is METHOD:PUBLISH - an
    "add to calendar" event with nothing to accept, which is what a deadline reminder is. With
    attendees it becomes METHOD:REQUEST like a meeting. The event is TRANSPARENT: a deadline must not
    show the officer as busy all day.
    """
    if isinstance(day, datetime) or (last_day is not None and isinstance(last_day, datetime)):
        raise TypeError("all_day_event takes dates, not datetimes")
    last_day = day if last_day is None else last_day
    if last_day < day:
        raise ValueError(
            f"all-day event last day {last_day.isoformat()} is before its first day {day.isoformat()}"
        )
    event = _common(uid, summary, sequence, stamp)
    event += [
        f"DTSTART;VALUE=DATE:{iso_basic(day)}",
        f"DTEND;VALUE=DATE:{iso_basic(last_day + timedelta(days=1))}",
    ]
    if location:
        event.append(f"LOCATION:{escape_text(location)}")
    if description:
        event.append(f"DESCRIPTION:{escape_text(description)}")
    event += ["STATUS:CONFIRMED", "TRANSP:TRANSPARENT", _organiser(organiser_email, organiser_name)]
    event += [_attendee(name, email) for name, email in attendees]
    return _calendar("REQUEST" if attendees else "PUBLISH", event, with_timezone=False)
