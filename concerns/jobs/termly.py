"""Start of each term: plan the term's meetings like a diary, invite to them, and report on the term.

The authority's policy says which meetings it holds (`[[meetings]]`, concerns.domain.meetings): a meeting for
each school with an open case (one per school, whatever its number of cases) or a panel for the whole
authority with an agenda listing its schools; termly or half-termly; who chairs and attends; the days,
times and number a day allowed. The review asks the planner (concerns.domain.diary) for a day and time for each,
around what is already in the diary (the invitations sent before), so that nobody is booked twice at
once. A school's meeting is recorded as an audited `schedule_meeting` event on each of its open cases
(creating the meeting, papers-due, minutes-due and progress-judgement deadlines the policy asks for);
the chair and attendees are invited by name with an .ics, and with the agenda when there is one. A
termly report is written: counts by pathway and state, moves since the last term, overdue items. The
report is for officers and members: confidential notes never appear in it.
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from concerns.casework.cases import SystemEvent, lock_schools, record_system_events
from concerns.casework.lacategories import in_force, proposals
from concerns.domain import diary
from concerns.domain.calendar import DayKind
from concerns.domain.clock import check_as_of
from concerns.domain.formatting import ukdate, uktime
from concerns.domain.letterparties import post_of
from concerns.domain.meetings import MeetingCadence, Period
from concerns.domain.policy import Policy, policy_for, service_of
from concerns.domain.terms import Term
from concerns.domain.untrusted import safe_filename
from concerns.jobs.termly_report import write_report
from concerns.notify.directory import Directory, Recipient
from concerns.notify.drafting import next_reference
from concerns.notify.letterdata import letter_authority, letter_school, reports_dir, save_letter
from concerns.notify.outbox import inline_attachment, queue, render_pair
from concerns.output import templating
from concerns.output.letters import render_letter
from concerns.output.mail import MailSettings, meeting_invitation
from concerns.store.db import session_scope
from models import Case, Notification, Person, RoleAssignment, School
from statemachines.pathways import MEETING_STATES

LONDON = ZoneInfo("Europe/London")
ACTOR = "termly-review"
PANEL_VENUE = "the local authority's offices"


@dataclass
class _School:
    """A school as the review sees it: its open cases (possibly none, for a panel chosen by level)."""

    school: School
    cases: list[Case] = field(default_factory=list)
    level: str | None = None  # the authority's own level, when a meeting chooses by it

    @property
    def pathways(self) -> set[str]:
        return {c.pathway for c in self.cases}

    def meeting(self) -> _School:
        """The school with only its cases a meeting can be held on and recorded for (not a concern only
        raised, whose meetings begin when it is confirmed): a school meeting is booked for these alone."""
        return _School(self.school, [c for c in self.cases if c.state in MEETING_STATES], self.level)

    @property
    def categories(self) -> set[str]:
        return {(c.facts or {}).get("category") or ("LA" if c.origin != "ofsted" else "") for c in self.cases} - {""}


@dataclass
class _Wanted:
    """One meeting the review wants booked: a school's, or a panel's with its schools."""

    la: str
    policy: Policy
    meeting: MeetingCadence
    period: Period
    schools: list[_School]
    people: list[Recipient]
    chair: Recipient | None

    @property
    def key(self) -> str:
        # Also the prefix of its invitations' outbox keys: "meeting:<la>:<kind>:<period>:<urn or panel>".
        which = "panel" if self.meeting.is_panel else self.schools[0].school.urn
        return f"meeting:{self.la}:{self.meeting.kind}:{self.period.label}:{which}"


def facts_key(meeting: MeetingCadence, period: Period) -> str:
    """Where a case's facts keep the meeting of a period (the term's label for the termly progress meeting,
    as before; the period and the meeting's name for any other)."""
    if meeting.kind == "progress_meeting" and meeting.cadence == "term":
        return period.label
    return f"{period.label}: {meeting.name}"


def _titled(policy: Policy, person: Recipient) -> str:
    """"Priya Shah (senior adviser)"; a person recorded by post ("Headteacher of X") by the post alone."""
    if post_of(person.name) != person.name:
        return policy.title_of(person.role)
    return f"{person.name} ({policy.title_of(person.role)})"


def _people(directory: Directory, policy: Policy, la: str, meeting: MeetingCadence,
            schools: list[_School]) -> tuple[Recipient | None, list[Recipient]]:
    """The chair (the first holder of the chair's role) and everyone invited, the chair first, each once.

    A school meeting invites the holders of its roles for that school (else the authority's), and the
    school's own people it names; a panel invites the holders of its roles for the authority and for each
    school on its agenda (a link adviser per school, say), and nobody from the schools."""
    urns = [None] if meeting.is_panel else [schools[0].school.urn]
    if meeting.is_panel:
        urns += [s.school.urn for s in schools]
    attendees = meeting.attendees if meeting.attendees is not None else (
        () if meeting.is_panel else (policy.role_for("link_adviser"),))
    chairs = directory.holders(la, meeting.chair_role, None if meeting.is_panel else urns[0])
    found: dict[str, Recipient] = {p.email: p for p in chairs[:1]}
    for role in (meeting.chair_role, *attendees):
        for urn in urns:
            for person in directory.holders(la, role, urn):
                found.setdefault(person.email, person)
    if not meeting.is_panel:
        for person in directory.school_side(la, urns[0], meeting.school_attendees):
            found.setdefault(person.email, person)
    return (chairs[0] if chairs else None), list(found.values())


_DTSTART = re.compile(rb"^DTSTART;TZID=Europe/London:(\d{8}T\d{6})\r?$", re.M)
_DTEND = re.compile(rb"^DTEND;TZID=Europe/London:(\d{8}T\d{6})\r?$", re.M)


def _booked(session: Session, since: date) -> list[diary.Booking]:
    """What the diary already holds: the meetings invited to by earlier runs, in every authority (an
    officer may serve more than one), read back from their invitations in the outbox (each .ics carries
    the start and end; each row is one person). A term's invitations are queued in it or in the holiday
    before it, so rows queued before `since` are not read."""
    rows = session.exec(select(Notification.key, Notification.recipient_email, Notification.attachments)
                        .where(Notification.kind == "invitation", Notification.key.startswith("meeting:"),
                               Notification.for_date >= since)).all()
    meetings: dict[str, dict] = {}
    for key, email, attachments in rows:
        ics = next((a for a in attachments or [] if a.get("mimetype") == "text/calendar" and a.get("content_b64")),
                   None)
        if ics is None:
            continue
        content = base64.b64decode(ics["content_b64"])
        start, end = _DTSTART.search(content), _DTEND.search(content)
        if not (start and end):
            continue
        meeting_key = key.rsplit(":", 1)[0]
        _, la, kind, _ = meeting_key.split(":", 3)
        entry = meetings.setdefault(meeting_key, {
            "kind": f"{la}:{kind}", "people": set(),
            "start": datetime.strptime(start.group(1).decode(), "%Y%m%dT%H%M%S"),
            "end": datetime.strptime(end.group(1).decode(), "%Y%m%dT%H%M%S")})
        entry["people"].add(email)
    return [diary.Booking(k, m["kind"], frozenset(m["people"]), m["start"], m["end"])
            for k, m in sorted(meetings.items())]


def _levels(session: Session, policy: Policy, la: str, schools: dict[str, _School], as_of: date) -> None:
    """Every open school of the authority with its level: the authority's decision in force, else what its
    categorisation scheme proposes today (for meetings that choose their schools by level)."""
    for school in session.exec(select(School).where(School.la == la, School.status == "open")).all():
        schools.setdefault(school.urn, _School(school))
    decided = in_force(session, as_of, list(schools))
    proposed = {} if set(decided) >= set(schools) else {p["urn"]: p["level"] for p in proposals(session, as_of, la=la)}
    for urn, entry in schools.items():
        entry.level = decided[urn]["level"] if urn in decided else proposed.get(urn)


def _window(meeting: MeetingCadence, period: Period, as_of: date) -> tuple[date, date] | None:
    """The first and last day the meeting of `period` may be held: not before the minimum lead time, and
    early enough for its minutes to be written inside the period when there is room. None: too late."""
    earliest = max(period.start, as_of + timedelta(days=meeting.min_lead_days))
    if earliest > period.end:
        return None
    latest = period.end - timedelta(days=meeting.minutes_due_days_after or 0)
    return earliest, latest if latest >= earliest else period.end


def _wanted(session: Session, directory: Directory, la: str, policy: Policy, open_schools: dict[str, _School],
            term: Term, as_of: date) -> list[tuple[_Wanted, diary.Request]]:
    """The meetings of the authority's term not yet booked, panels first (they are hardest to place)."""
    schools = dict(open_schools)
    if any(m.la_categories for m in policy.meetings):
        _levels(session, policy, la, schools, as_of)
    out = []
    for meeting in sorted(policy.meetings, key=lambda m: not m.is_panel):
        for period in meeting.periods(term):
            window = _window(meeting, period, as_of)
            if window is None:
                continue
            candidates = [s if meeting.is_panel else s.meeting() for _, s in sorted(schools.items())]
            chosen = [s for s in candidates
                      if (s.cases or (meeting.is_panel and meeting.la_categories))
                      and meeting.selects(s.pathways, s.categories, s.level)]
            if meeting.is_panel:
                groups = [chosen] if chosen else []
            else:
                groups = [[s] for s in chosen
                          if not any(facts_key(meeting, period) in (c.facts or {}).get("meetings", {})
                                     for c in s.cases)]
            for group in groups:
                chair, people = _people(directory, policy, la, meeting, group)
                wanted = _Wanted(la, policy, meeting, period, group, people, chair)
                if meeting.is_panel and session.exec(select(Notification.id).where(
                        Notification.key.startswith(wanted.key + ":", autoescape=True))).first() is not None:
                    continue  # this period's panel was planned and invited to by an earlier run
                out.append((wanted, diary.Request(
                    key=wanted.key, kind=f"{la}:{meeting.kind}", people=frozenset(p.email for p in people),
                    earliest=window[0], latest=window[1], times=meeting.times, length=meeting.length,
                    per_day_limit=meeting.per_day_limit, days=meeting.days)))
    return out


def _cases_met(meeting: MeetingCadence, entry: _School) -> list[Case]:
    """The school's open cases the meeting reviews: those on its pathways (all, when it names none)."""
    return [c for c in entry.cases if not meeting.pathways or c.pathway in meeting.pathways]


def _tell_unplaced(session: Session, settings: MailSettings, directory: Directory, wanted: _Wanted,
                   unplaced: diary.Unplaced, as_of: date) -> list[str]:
    """Mail the meeting's chair (else the authority's service head) that it could not be booked, and why, so
    that someone books it by hand: a meeting the procedure owes must not just go missing. Once per meeting
    and period (the outbox key). Returns who was told."""
    policy, meeting, period = wanted.policy, wanted.meeting, wanted.period
    if wanted.chair is not None and not wanted.chair.school_side:
        told = [wanted.chair]
    else:
        told = [p for p in directory.holders(wanted.la, policy.role_for("service_head"), None) if not p.school_side]
    if not told:
        return []
    what = (f"{meeting.name}, {period.label}" if meeting.is_panel
            else f"{meeting.name} for {wanted.schools[0].school.name}, {period.label}")
    subject = f"Not booked: {what}"
    for person in told:
        text, html = render_pair(
            "meeting_unplaced", meeting_name=meeting.name, panel=meeting.is_panel, period=period.label,
            school=None if meeting.is_panel else wanted.schools[0].school.name,
            urn=None if meeting.is_panel else wanted.schools[0].school.urn,
            schools=[s.school.name for s in wanted.schools] if meeting.is_panel else [],
            full=unplaced.why == "full", first=unplaced.first, last=unplaced.last,
            weekdays=_weekdays(meeting), invited=_in_words([_titled(policy, p) for p in wanted.people if p != person]),
            authority=wanted.la, subject=subject, recipient=person)
        queue(session, key=f"unplaced:{wanted.key}:{person.email}", kind="meeting_unplaced", recipient=person,
              subject=subject, text=text, html=html, for_date=as_of, domain=settings.domain,
              urn=None if meeting.is_panel else wanted.schools[0].school.urn)
    return [p.email for p in told]


_WEEKDAY_NAMES = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def _weekdays(meeting: MeetingCadence) -> str:
    if tuple(sorted(meeting.days)) == (0, 1, 2, 3, 4):
        return "weekdays"
    return _in_words([_WEEKDAY_NAMES[day] for day in sorted(meeting.days)])


def _in_words(items: list[str]) -> str:
    """"A", "A and B", "A, B and C"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def _invite(session: Session, settings: MailSettings, directory: Directory, wanted: _Wanted,
            booking: diary.Booking, as_of: date) -> int:
    meeting, policy, period = wanted.meeting, wanted.policy, wanted.period
    if not wanted.people:
        return 0
    start = booking.start.replace(tzinfo=LONDON)
    organiser = wanted.chair or wanted.people[0]
    lead = wanted.schools[0]
    papers_due = minutes_due = None
    if meeting.papers_due_days_before is not None:
        papers_due = booking.day - timedelta(days=meeting.papers_due_days_before)
    if meeting.minutes_due_days_after is not None:
        minutes_due = booking.day + timedelta(days=meeting.minutes_due_days_after)
    if meeting.is_panel:
        venue = meeting.venue or PANEL_VENUE
        about = f"{len(wanted.schools)} school{'s' if len(wanted.schools) != 1 else ''}"
        summary = f"{meeting.name}, {period.label}"
        description = f"{meeting.name}, {period.label}: {about} on the agenda."
    else:
        venue = meeting.venue or lead.school.name
        summary = f"{meeting.name}: {lead.school.name}"
        description = f"{meeting.name} for {lead.school.name} ({lead.school.urn}), {period.label}."
    attachments = [inline_attachment(
        "invitation.ics",
        meeting_invitation(uid=f"{safe_filename(wanted.key)}@concerns", summary=summary, start=start,
                           end=booking.end.replace(tzinfo=LONDON), location=venue,
                           organiser_email=organiser.email, organiser_name=organiser.name,
                           attendees=[(p.name, p.email) for p in wanted.people], description=description,
                           stamp=datetime.combine(as_of, time(6, 0), UTC)),
        "text/calendar")]
    if meeting.is_panel:
        agenda_name, agenda = _panel_agenda(wanted, start, venue, papers_due, minutes_due)
        attachments.append(inline_attachment(agenda_name, agenda, "text/html"))
    elif meeting.with_agenda:
        cases = _cases_met(meeting, lead)
        agenda_path = _agenda(session, directory, lead.school, cases[0], policy, start, papers_due, minutes_due,
                              as_of, wanted)
        if agenda_path is not None:
            # The agenda's bytes travel inside the queued mail: a later change to the file cannot touch it.
            attachments.append(inline_attachment(agenda_path.name, agenda_path.read_bytes(), "text/html"))
    with_agenda = len(attachments) > 1
    subject = f"{summary}, {ukdate(start)}"
    queued = 0
    for person in wanted.people:
        text, html = render_pair(
            "invitation", meeting_name=meeting.name, panel=meeting.is_panel,
            judgement=not meeting.is_panel and meeting.kind == "progress_meeting",
            school=None if meeting.is_panel else lead.school.name, urn=None if meeting.is_panel else lead.school.urn,
            schools=[s.school.name for s in wanted.schools] if meeting.is_panel else [],
            meeting_at=start, until=booking.end, venue=venue,
            chair=_titled(policy, wanted.chair) if wanted.chair else None,
            # The others: neither the chair (named above) nor the addressee.
            invited=[_titled(policy, p) for p in wanted.people if p not in (wanted.chair, person)],
            papers_due=papers_due, minutes_due=minutes_due, agenda=with_agenda, authority=wanted.la,
            subject=subject, recipient=person)
        _, created = queue(session, key=f"{wanted.key}:{person.email}", kind="invitation", recipient=person,
                           subject=subject, text=text, html=html, for_date=as_of, domain=settings.domain,
                           attachments=attachments, urn=None if meeting.is_panel else lead.school.urn,
                           case_id=None if meeting.is_panel else _cases_met(meeting, lead)[0].id)
        queued += created
    return queued


def _agenda(session, directory, school, case, policy, start, papers_due, minutes_due, as_of, wanted):
    if papers_due is None or minutes_due is None:
        return None
    letter_school_ = letter_school(school, directory)
    if letter_school_.headteacher is None or letter_school_.chair is None:
        return None  # the agenda names the head and chair; without them the invitation goes alone
    authority = letter_authority(school.la, directory, policy)
    try:
        letter = render_letter("soc_meeting_agenda", school=letter_school_, authority=authority, on=as_of,
                               reference=next_reference(session, school.urn, "soc_meeting_agenda", as_of), meeting_at=start,
                               venue=school.name, papers_due=papers_due, minutes_due=minutes_due,
                               chair_role=wanted.meeting.chair_role if wanted.meeting.chair_role in policy.roles
                               else None)
    except ValueError:
        return None  # e.g. the authority has no assistant director on record to chair it
    row, _ = save_letter(session, letter, key=f"agenda:{case.id}:{wanted.meeting.kind}:{wanted.period.label}",
                         urn=school.urn, case_id=case.id, on=as_of)
    return Path(row.path)


PANEL_AGENDA = templating.environment().from_string("""<!DOCTYPE html>
<html lang="en-GB">
<head><meta charset="utf-8"><title>{{ name }}: agenda</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; font-size: 14px; max-width: 760px;">
<h1>{{ name }}</h1>
<p>{{ authority }}, {{ period }}</p>
<table>
<tr><th style="text-align:left">Date and time</th><td>{{ day }} at {{ at }}</td></tr>
<tr><th style="text-align:left">Venue</th><td>{{ venue }}</td></tr>
{% if chair %}<tr><th style="text-align:left">Chair</th><td>{{ chair }}</td></tr>{% endif %}
<tr><th style="text-align:left">Invited</th><td>{{ invited | join(", ") or "No one else on record" }}</td></tr>
</table>
<h2>Agenda</h2>
<ol>
<li>Apologies and notes of the last meeting.</li>
<li>Each school below in turn: the progress made since the last meeting, the support given, and what happens next.</li>
<li>Schools to add to or take off this panel's list.</li>
<li>Any other business, and the date of the next meeting.</li>
</ol>
<h2>Schools on the agenda ({{ schools | length }})</h2>
<table>
<tr><th style="text-align:left">URN</th><th style="text-align:left">School</th><th style="text-align:left">Open cases</th>{% if levels %}<th style="text-align:left">Level</th>{% endif %}</tr>
{% for s in schools %}
<tr><td>{{ s.urn }}</td><td>{{ s.name }}</td><td>{{ s.cases or "none" }}</td>{% if levels %}<td>{{ s.level }}</td>{% endif %}</tr>
{% endfor %}
</table>
{% if papers_due %}<p>Papers for the meeting by {{ papers_due }}.</p>{% endif %}
{% if minutes_due %}<p>Minutes will be circulated by {{ minutes_due }}.</p>{% endif %}
<p>The cause-for-concern register is not public: do not forward outside the authority.</p>
</body>
</html>
""")


def _panel_agenda(wanted: _Wanted, start: datetime, venue: str, papers_due: date | None,
                  minutes_due: date | None) -> tuple[str, bytes]:
    policy = wanted.policy
    labels = {level.key: level.label for level in policy.categories.levels}
    html = PANEL_AGENDA.render(
        name=wanted.meeting.name, authority=wanted.la, period=wanted.period.label, day=ukdate(start.date()),
        at=uktime(start), venue=venue, chair=_titled(policy, wanted.chair) if wanted.chair else None,
        invited=[_titled(policy, p) for p in wanted.people if p != wanted.chair],
        levels=bool(wanted.meeting.la_categories),
        schools=[{"urn": s.school.urn, "name": s.school.name,
                  "cases": ", ".join(sorted(p.replace("_", " ") for p in s.pathways)),
                  "level": labels.get(s.level or "", "")} for s in wanted.schools],
        papers_due=ukdate(papers_due) if papers_due else None, minutes_due=ukdate(minutes_due) if minutes_due else None)
    name = safe_filename(f"agenda {wanted.meeting.name} {wanted.period.label}").replace(" ", "-") + ".html"
    folder = reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / safe_filename(f"{wanted.la}-{name}")).write_text(html, encoding="utf-8")
    return name, html.encode("utf-8")


def authority_groups(las: list[str], officers: list[tuple[str, str]]) -> list[list[str]]:
    """The authorities `las` in the groups the review can do apart, in order: an authority's boroughs
    together (one service, one diary), and any two authorities that share an officer (`officers`: the LA
    each e-mail address is registered with) together, since each plans around the other's meetings. Two
    groups share nobody, so a run per group books what the run over all of them books."""
    services = {la: service_of(la) for la in las}
    parent = {s: s for s in services.values()}

    def root(service: str) -> str:
        while parent[service] != service:
            parent[service] = parent[parent[service]]
            service = parent[service]
        return service

    served: dict[str, set[str]] = defaultdict(set)
    for la, email in officers:
        if (service := service_of(la)) in parent:
            served[email.lower()].add(service)
    for shared in served.values():
        first, *rest = sorted(shared)
        for other in rest:
            parent[root(other)] = root(first)
    groups: dict[str, list[str]] = defaultdict(list)
    for la in sorted(las):
        groups[root(services[la])].append(la)
    return sorted(groups.values(), key=lambda group: group[0])


def termly_authorities(db: str | None, as_of: date, simulation: bool = False) -> list[list[str]]:
    """The authorities with an open case on `as_of`, in the groups `authority_groups` makes: what a
    fanned-out termly review runs one child for each of. Reads only."""
    check_as_of(as_of, simulation)
    with session_scope(db, writes=False) as session:
        las = session.exec(select(School.la).join(Case, Case.urn == School.urn)
                           .where(Case.closed.is_(None), Case.opened <= as_of).distinct()).all()
        officers = session.exec(select(RoleAssignment.la, Person.email)
                                .join(Person, Person.id == RoleAssignment.person_id)).all()
    return authority_groups(list(las), [(la, email) for la, email in officers])


def run_termly_review(db: str | None, as_of: date, simulation: bool = False, las: list[str] | None = None) -> dict:
    """The termly review of every authority with an open case, or of the authorities `las` only (one
    child of a fanned-out run: a group from `termly_authorities`). Returns the summary of
    `termly_summary`, with each authority's part under "authorities" for `merge_termly_summaries`."""
    check_as_of(as_of, simulation)
    settings = MailSettings.from_env()
    with session_scope(db) as session:
        chosen = [Case.closed.is_(None), Case.opened <= as_of]
        if las is not None:
            chosen.append(School.la.in_(sorted(set(las))))
        open_cases = select(Case.urn).join(School, School.urn == Case.urn).where(*chosen)
        # Every school with an open case locked (PostgreSQL) before its cases are read, as record_event
        # would lock each; then the cases are read once, and their meetings recorded together. A second
        # run over the same schools waits here, then reads the meetings the first recorded.
        lock_schools(session, session.exec(open_cases).all())
        pairs = session.exec(select(Case, School).join(School, School.urn == Case.urn).where(*chosen)
                             .order_by(School.la, School.urn, Case.id)
                             .execution_options(populate_existing=True)).all()
        by_la: dict[str, dict[str, _School]] = defaultdict(dict)
        for case, school in pairs:
            by_la[school.la].setdefault(school.urn, _School(school)).cases.append(case)
        found = sorted(by_la)
        directory = Directory(session, set(found))
        planned: list[SystemEvent] = []
        booked: list[tuple[_Wanted, diary.Booking]] = []
        unplaced: dict[str, list[dict]] = defaultdict(list)
        terms = {la: policy_for(la).terms.current_or_next_term(as_of) for la in found}
        # One diary for every authority: each is planned around the others' meetings as well as its own.
        busy = _booked(session, min(t.start for t in terms.values()) - timedelta(days=60)) if found else []
        for la in found:
            policy, term = policy_for(la), terms[la]
            wanted = _wanted(session, directory, la, policy, by_la[la], term, as_of)
            calendar = policy.calendar(DayKind.statutory)
            # School days only: the term's teaching periods (not its half-term holiday), less bank holidays
            # and the authority's closures.
            workdays = [start + timedelta(days=n) for start, end in term.teaching_periods()
                        for n in range((end - start).days + 1)]
            plan = diary.plan([r for _, r in wanted], [d for d in workdays if calendar.is_working_day(d)], busy)
            busy = [*busy, *plan.booked]
            by_key = {w.key: w for w, _ in wanted}
            for booking in plan.booked:
                w = by_key[booking.key]
                booked.append((w, booking))
                if w.meeting.is_panel:
                    continue
                for index, case in enumerate(_cases_met(w.meeting, w.schools[0])):
                    planned.append(SystemEvent(
                        w.schools[0].school, case, meeting=w.meeting.kind,
                        note=f"{w.period.label}: {w.meeting.name} on {ukdate(booking.day)} at {uktime(booking.start)}",
                        extra={"meeting_on": booking.day, "term": facts_key(w.meeting, w.period),
                               "term_end": w.period.end, "lead": index == 0}))
            for u in plan.unplaced:
                w = by_key[u.request.key]
                told = _tell_unplaced(session, settings, directory, w, u, as_of)
                unplaced[la].append({"la": la, "meeting": w.meeting.name, "period": w.period.label,
                                     "schools": [s.school.urn for s in w.schools], "reason": u.reason, "told": told})
        record_system_events(session, "schedule_meeting", planned, on=as_of, actor=ACTOR)
        invitations: dict[str, int] = defaultdict(int)
        for w, booking in booked:
            invitations[w.la] += _invite(session, settings, directory, w, booking, as_of)
        parts = []
        for la in found:
            mine = [(w, b) for w, b in booked if w.la == la]
            # The report counts the authority's own meetings (a run over several used to give each the total).
            report = write_report(session, settings, directory, la, as_of, len(mine))
            parts.append({
                "la": la, "term": report["term"], "table": report["table"], "moves": report["moves"],
                "overdue": report["overdue"], "markdown": report["markdown"], "report": report["path"],
                "meetings_scheduled": len(mine), "invitations_queued": invitations[la],
                "meetings": [{"la": w.la, "meeting": w.meeting.name, "period": w.period.label,
                              "at": b.start.isoformat(timespec="minutes"),
                              "schools": [s.school.urn for s in w.schools], "invited": [p.email for p in w.people]}
                             for w, b in mine],
                "meetings_unplaced": unplaced[la]})
    return termly_summary(as_of, parts)


def termly_summary(as_of: date, parts: list[dict]) -> dict:
    """The review's summary from each authority's part, in the order of the authorities' names: the same
    whether one run did them all or each child of a fanned-out run did some."""
    parts = sorted(parts, key=lambda part: part["la"])
    return {"as_of": as_of.isoformat(), "term": parts[0]["term"] if parts else "",
            "meetings_scheduled": sum(p["meetings_scheduled"] for p in parts),
            "invitations_queued": sum(p["invitations_queued"] for p in parts),
            "table": [r for p in parts for r in p["table"]], "moves": [m for p in parts for m in p["moves"]],
            "overdue": [o for p in parts for o in p["overdue"]],
            "markdown": "\n\n".join(p["markdown"] for p in parts), "reports": [p["report"] for p in parts],
            "meetings": [m for p in parts for m in p["meetings"]],
            "meetings_unplaced": [u for p in parts for u in p["meetings_unplaced"]],
            "authorities": parts}


def merge_termly_summaries(as_of: date, summaries: list[dict]) -> dict:
    """One summary from the children of a fanned-out review (each over its own authorities), as the run
    over all of them would have returned it."""
    parts = [part for summary in summaries for part in summary["authorities"]]
    las = [part["la"] for part in parts]
    if len(las) != len(set(las)):
        raise ValueError(f"an authority was reviewed by two children of one run: {sorted(las)}")
    return termly_summary(as_of, parts)
