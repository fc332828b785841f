"""Each term: remind link advisers which schools expect HMI monitoring, and in what window.

Schools in a category (special measures, requires significant improvement, academies included) and
schools on a monitoring programme (report-card `needs attention`) expect Ofsted monitoring each term;
the window is the authority's term. Each case is reminded once per term (recorded on the case), and
each adviser gets one mail listing their schools.
"""

from __future__ import annotations

import copy
from datetime import date

from sqlmodel import select

from concerns.domain.clock import check_as_of
from concerns.domain.policy import policy_for
from concerns.notify.directory import Directory
from concerns.notify.outbox import queue, render_pair
from concerns.output.mail import MailSettings
from concerns.store.db import session_scope
from models import Case, Deadline, Notification, School

MONITORED_CATEGORIES = {"SM", "RSI", "NA"}

CATEGORY_NAMES = {"SM": "special measures", "RSI": "requires significant improvement",
                  "NA": "needs attention (monitoring programme)"}


def run_hmi_reminders(db: str | None, as_of: date, simulation: bool = False) -> dict:
    check_as_of(as_of, simulation)
    settings = MailSettings.from_env()
    reminded, mails, unassigned = 0, 0, []
    with session_scope(db) as session:
        pairs = session.exec(select(Case, School).join(School, School.urn == Case.urn).where(
            Case.closed.is_(None), Case.opened <= as_of, Case.origin == "ofsted")).all()
        directory = Directory(session, {s.la for _, s in pairs})
        # The next expected monitoring date of every case, in one query rather than one per case.
        expected_by: dict[int, date] = {}
        for case_id, due in session.exec(select(Deadline.case_id, Deadline.due).where(
                Deadline.kind == "hmi_monitoring", Deadline.status == "open").order_by(Deadline.due.desc())):
            expected_by[case_id] = due  # descending, so the earliest due date is kept
        per_adviser: dict[str, tuple] = {}
        for case, school in pairs:
            category = (case.facts or {}).get("category")
            if category not in MONITORED_CATEGORIES:
                continue
            policy = policy_for(school.la)
            term = policy.terms.current_or_next_term(as_of)
            facts = copy.deepcopy(case.facts or {})
            if term.label in facts.get("hmi_reminded", []):
                continue
            expected = expected_by.get(case.id)
            _, people = directory.reach(school.la, policy.responsible_for("hmi_monitoring"), school.urn)
            officers = [p for p in people if not p.school_side]
            if not officers:
                unassigned.append(f"{school.urn} {school.name}")
                continue
            item = {"urn": school.urn, "name": school.name, "category": CATEGORY_NAMES[category],
                    "expected_by": expected}
            for person in officers:
                # Signed for the authority of the adviser's first school, as a digest is.
                per_adviser.setdefault(person.email, (person, term, school.la, []))[3].append(item)
            facts.setdefault("hmi_reminded", []).append(term.label)
            case.facts = facts
            session.add(case)
            reminded += 1
        for email, (person, term, la, items) in sorted(per_adviser.items()):
            subject = f"HMI monitoring expected in {term.label}: {len(items)} school{'s' if len(items) != 1 else ''}"
            text, html = render_pair("hmi_reminder", recipient=person, officer=person.name, term=term.label,
                                     start=term.start, end=term.end, items=items, authority=la, subject=subject)
            n = len(session.exec(select(Notification.id).where(Notification.kind == "hmi_reminder",
                                                               Notification.recipient_email == email,
                                                               Notification.for_date == as_of)).all())
            _, created = queue(session, key=f"hmi:{email}:{term.label}:{as_of.isoformat()}:{n + 1}",
                               kind="hmi_reminder", recipient=person, subject=subject, text=text, html=html,
                               for_date=as_of,
                               domain=settings.domain)
            mails += created
    return {"as_of": as_of.isoformat(), "cases_reminded": reminded, "mails_queued": mails, "unassigned": unassigned}
