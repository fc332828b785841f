"""Start of each term: schedule every open case's progress meeting and report on the term.

For each open case the term's meeting is scheduled (an audited `schedule_meeting` event that creates
the meeting, papers-due, minutes-due and progress-judgement deadlines the policy asks for), the
attendees are invited (with an .ics, and the School of Concern agenda where the policy has papers and
minutes dates), and a termly report is written: counts by pathway and state, moves since the last
term, overdue items. The report is for officers and members: confidential notes never appear in it.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, StrictUndefined
from sqlmodel import Session, select

from concerns.calendar import DayKind
from concerns.casework import SystemEvent, lock_schools, record_system_events
from concerns.clock import check_as_of
from concerns.db import session_scope
from concerns.jobs.termly_report import write_report
from concerns.letters import render_letter
from concerns.mail import MailSettings, meeting_invitation
from concerns.notify.directory import Directory, Recipient
from concerns.notify.letterdata import letter_authority, letter_school, reports_dir, save_letter
from concerns.notify.outbox import inline_attachment, queue, render_pair
from concerns.policy import policy_for
from concerns.terms import Term
from concerns.untrusted import safe_filename
from concerns.views import deadlines_view
from models import Case, CaseEvent, School
from statemachines.pathways import SYSTEM_TRIGGERS

LONDON = ZoneInfo("Europe/London")
MEETING_TIME = time(10, 0)
MEETING_LENGTH = timedelta(hours=2)
ACTOR = "termly-review"


def meeting_date(term: Term, as_of: date, calendar, papers_days: int | None) -> date:
    """About four weeks before the term ends (room for minutes inside the term), on a Wednesday,
    never sooner than the papers need (plus a week to prepare them)."""
    target = term.end - timedelta(days=28)
    earliest = as_of + timedelta(days=(papers_days or 0) + 7)
    day = max(target, earliest, term.start)
    day += timedelta(days=(2 - day.weekday()) % 7)  # the next Wednesday
    day = calendar.next_working_day(day)
    return min(day, term.end) if calendar.is_working_day(min(day, term.end)) else day


def _invite(session: Session, settings: MailSettings, directory: Directory, school: School, case: Case, policy,
            term: Term, meeting_on: date, as_of: date) -> int:
    meeting = policy.meeting("progress_meeting")
    name = meeting.name if meeting else "Progress meeting"
    start = datetime.combine(meeting_on, MEETING_TIME, LONDON)
    officers = [p for role in (meeting.responsible if meeting else "senior_adviser", "link_adviser",
                               "assistant_director") for p in directory.holders(school.la, role, school.urn)]
    school_side = directory.school_side(school.la, school.urn)
    people: dict[str, Recipient] = {p.email: p for p in [*officers, *school_side]}
    if not people:
        return 0
    organiser = officers[0] if officers else next(iter(people.values()))
    attachments = [inline_attachment(
        "invitation.ics",
        meeting_invitation(uid=f"meeting-{case.id}-{term.label.replace(' ', '-').replace('/', '-')}@concerns",
                           summary=f"{name}: {school.name}", start=start, end=start + MEETING_LENGTH,
                           location=school.name, organiser_email=organiser.email, organiser_name=organiser.name,
                           attendees=[(p.name, p.email) for p in people.values()],
                           description=f"{name} for {school.name} ({school.urn}), {term.label}.",
                           stamp=datetime.combine(as_of, time(6, 0), UTC)),
        "text/calendar")]
    papers_due = minutes_due = None
    if meeting and meeting.papers_due_days_before is not None and meeting.minutes_due_days_after is not None:
        papers_due = meeting_on - timedelta(days=meeting.papers_due_days_before)
        minutes_due = meeting_on + timedelta(days=meeting.minutes_due_days_after)
        agenda = _agenda(session, directory, school, case, policy, start, papers_due, minutes_due, as_of, term)
        if agenda is not None:
            # The agenda's bytes travel inside the queued mail: a later change to the file cannot touch it.
            attachments.append(inline_attachment(agenda.name, agenda.read_bytes(), "text/html"))
    queued = 0
    for person in people.values():
        subject = f"{name}: {school.name}, {meeting_on.strftime('%A %d %B %Y')}"
        text, html = render_pair("invitation", meeting_name=name, school=school.name, urn=school.urn, meeting_at=start,
                                 venue=school.name, papers_due=papers_due, minutes_due=minutes_due,
                                 authority=school.la, subject=subject, recipient=person,
                                 agenda_attached=any(a["mimetype"] == "text/html" for a in attachments))
        _, created = queue(session, key=f"invite:{case.id}:{term.label}:{person.email}", kind="invitation",
                           recipient=person, subject=subject, text=text, html=html, for_date=as_of,
                           domain=settings.domain, attachments=attachments, urn=school.urn, case_id=case.id)
        queued += created
    return queued


def _agenda(session, directory, school, case, policy, start, papers_due, minutes_due, as_of, term):
    letter_school_ = letter_school(school, directory)
    if letter_school_.headteacher is None or letter_school_.chair is None:
        return None  # the agenda names the head and chair; without them the invitation goes alone
    authority = letter_authority(school.la, directory, policy)
    try:
        letter = render_letter("soc_meeting_agenda", school=letter_school_, authority=authority, on=as_of,
                               reference=f"{school.urn}/{case.id}/{term.label}", meeting_at=start,
                               venue=school.name, papers_due=papers_due, minutes_due=minutes_due)
    except ValueError:
        return None  # e.g. the authority has no assistant director on record to chair it
    row, _ = save_letter(session, letter, key=f"agenda:{case.id}:{term.label}", urn=school.urn, case_id=case.id,
                         on=as_of)
    return Path(row.path)


REPORT = Environment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True).from_string(
    """# Termly report: schools causing concern, {{ la }}, {{ term }}

As of {{ as_of }}. {{ total }} school{{ "s" if total != 1 }} with an open case.

## Open cases by pathway and state

| Pathway | State | Cases |
|---|---|---|
{% for row in table %}
| {{ row.pathway }} | {{ row.state }} | {{ row.cases }} |
{% endfor %}

## Moves since {{ since }}

{% if moves %}
| On | URN | School | Pathway | Event | From | To |
|---|---|---|---|---|---|---|
{% for m in moves %}
| {{ m.on }} | {{ m.urn }} | {{ m.name }} | {{ m.pathway }} | {{ m.event }} | {{ m.from_state }} | {{ m.to_state }} |
{% endfor %}
{% else %}
None.
{% endif %}

## Overdue

{% if overdue %}
| Due | URN | School | Deadline | Responsible |
|---|---|---|---|---|
{% for d in overdue %}
| {{ d.due }} | {{ d.urn }} | {{ d.name }} | {{ d.kind }} | {{ d.responsible }} |
{% endfor %}
{% else %}
Nothing overdue.
{% endif %}

## Meetings scheduled this term

{{ scheduled }} progress meeting{{ "s" if scheduled != 1 }} scheduled by this review; each asks for a formal judgement of progress.
""")


def _previous_term_start(policy, term: Term) -> date:
    terms = [t for y in (term.academic_year - 1, term.academic_year) for t in policy.terms.year(y)]
    index = next(i for i, t in enumerate(terms) if t.start == term.start)
    return terms[index - 1].start if index else term.start


def run_termly_review(db: str | None, as_of: date, simulation: bool = False) -> dict:
    check_as_of(as_of, simulation)
    settings = MailSettings.from_env()
    with session_scope(db) as session:
        open_cases = select(Case.urn).where(Case.closed.is_(None), Case.opened <= as_of)
        # Every school with an open case locked (PostgreSQL) before its cases are read, as record_event
        # would lock each; then the cases are read once, and their meetings recorded together.
        lock_schools(session, session.exec(open_cases).all())
        pairs = session.exec(select(Case, School).join(School, School.urn == Case.urn).where(
            Case.closed.is_(None), Case.opened <= as_of).order_by(School.la, School.urn, Case.id)
            .execution_options(populate_existing=True)).all()
        las = sorted({school.la for _, school in pairs})
        directory = Directory(session, set(las))
        planned, meetings = [], []
        for case, school in pairs:
            policy = policy_for(school.la)
            term = policy.terms.current_or_next_term(as_of)
            if term.label in (case.facts or {}).get("meetings", {}):
                continue
            meeting = policy.meeting("progress_meeting")
            meeting_on = meeting_date(term, as_of, policy.calendar(DayKind.statutory),
                                      meeting.papers_due_days_before if meeting else None)
            planned.append(SystemEvent(
                school, case, note=f"{term.label}: {meeting.name if meeting else 'progress meeting'} on {meeting_on}",
                extra={"meeting_on": meeting_on, "term": term.label, "term_end": term.end}))
            meetings.append((school, case, policy, term, meeting_on))
        record_system_events(session, "schedule_meeting", planned, on=as_of, actor=ACTOR)
        scheduled, invitations = len(planned), 0
        for school, case, policy, term, meeting_on in meetings:
            invitations += _invite(session, settings, directory, school, case, policy, term, meeting_on, as_of)
        reports = [write_report(session, settings, directory, la, as_of, scheduled) for la in las]
    first = reports[0] if reports else {"term": "", "table": [], "moves": [], "overdue": [], "markdown": ""}
    return {"as_of": as_of.isoformat(), "term": first["term"], "meetings_scheduled": scheduled,
            "invitations_queued": invitations, "table": [r for rep in reports for r in rep["table"]],
            "moves": [m for rep in reports for m in rep["moves"]], "overdue": [o for rep in reports for o in rep["overdue"]],
            "markdown": "\n\n".join(rep["markdown"] for rep in reports), "reports": [rep["path"] for rep in reports]}


def _report(session: Session, settings: MailSettings, directory: Directory, la: str, as_of: date,
            scheduled: int) -> dict:
    policy = policy_for(la)
    term = policy.terms.current_or_next_term(as_of)
    since = _previous_term_start(policy, term)
    open_cases = session.exec(select(Case).join(School, School.urn == Case.urn).where(
        School.la == la, Case.closed.is_(None), Case.opened <= as_of)).all()
    counts = Counter((c.pathway, c.state) for c in open_cases)
    table = [{"la": la, "pathway": p, "state": s, "cases": n} for (p, s), n in sorted(counts.items())]
    events = session.exec(select(CaseEvent, School, Case).join(School, School.urn == CaseEvent.urn)
                          .join(Case, Case.id == CaseEvent.case_id)
                          .where(School.la == la, CaseEvent.on >= since, CaseEvent.on <= as_of)
                          .order_by(CaseEvent.on, CaseEvent.id)).all()
    # Moves are state changes and openings; notes are left out (the report goes to members, and some
    # notes are confidential).
    moves = [{"on": e.on.isoformat(), "urn": s.urn, "name": s.name, "pathway": c.pathway, "event": e.event,
              "from_state": e.from_state, "to_state": e.to_state}
             for e, s, c in events if e.event not in SYSTEM_TRIGGERS and e.from_state != e.to_state]
    overdue = [{k: d[k] for k in ("due", "urn", "name", "kind", "responsible", "pathway")}
               for d in deadlines_view(session, as_of, la=la) if d["status"] == "missed"]
    markdown = REPORT.render(la=la, term=term.label, as_of=as_of.isoformat(), total=len({c.urn for c in open_cases}),
                             table=table, since=since.isoformat(), moves=moves, overdue=overdue,
                             scheduled=scheduled)
    folder = reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"termly-{safe_filename(la)}-{safe_filename(term.label)}.md"
    path.write_text(markdown, encoding="utf-8")
    for person in directory.holders(la, "assistant_director"):
        subject = f"Termly report: schools causing concern, {term.label}"
        text, html = render_pair("report", recipient=person, intro=f"The termly report for {term.label} is attached.",
                                 report_text=markdown, report_html="", authority=la, subject=subject)
        queue(session, key=f"termly-report:{la}:{term.label}:{person.email}", kind="report", recipient=person,
              subject=subject, text=text, html=html, for_date=as_of, domain=settings.domain,
              attachments=[inline_attachment(path.name, markdown.encode("utf-8"), "text/markdown")])
    return {"term": term.label, "table": table, "moves": moves, "overdue": overdue, "markdown": markdown,
            "path": str(path)}
