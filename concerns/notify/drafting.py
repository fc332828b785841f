"""Drafting a letter on a case: render it, write it to letters/<urn>/, record it, optionally send it.

Each mail carries the letter it was queued with (its bytes, not a path), so redrafting, editing or
deleting files afterwards cannot change or break what goes out.

The officer supplies what only they can know (the matters, the actions required, the compliance date)
in a small TOML file; the school, the authority's officers, the statutory copy list, dates and wording
come from the database, the policy and the templates.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

from sqlmodel import Session, select

from concerns.casework.cases import Refused, get_school, open_case_rows
from concerns.domain.clock import Clock, ImplausibleDate, check_date
from concerns.domain.formatting import iso_basic, ukdate
from concerns.domain.letterspecs import LETTER_KINDS, LetterSpec, LetterSpecError
from concerns.domain.policy import Policy, policy_for
from concerns.domain.tomlcheck import load_toml
from concerns.domain.untrusted import BadInput, check_details
from concerns.notify import wording
from concerns.notify.directory import Directory, Recipient
from concerns.notify.letterdata import letter_attachment, letter_authority, letter_school, save_letter
from concerns.notify.outbox import queue, render_pair
from concerns.output.letters import render_letter, spec_for
from concerns.output.mail import MailSettings
from models import Case, CaseEvent, Deadline, Inspection, Letter, Notification, School


def kind_pathways(kind: str) -> tuple[str, ...] | None:
    """Which open case a letter of this kind belongs on (its file's `pathways`; None: any)."""
    return LETTER_KINDS[kind].pathways


# The dates a case knows, by the name a letter's detail gives in `from_case`: what they are, and how a
# refusal says them.
FACT_NOUNS = {
    "given_on": "warning notice",
    "compliance_end": "warning notice with its compliance period",
    "published": "inspection report",
    "inspected": "inspection",
    "statement_due": "statement of action deadline",
    "failed_on": "failure to comply with the warning notice",
    "notice_section": "warning notice",
}
CASE_FACTS = {
    "given_on": "the warning notice on the case was given on",
    "compliance_end": "the compliance period on the case ends on",
    "published": "the inspection report on the case was published on",
    "inspected": "the inspection on the case began on",
    "statement_due": "the statement of action on the case is due on",
    "failed_on": "the case records the notice as not complied with on",
    "notice_section": "the warning notice on the case was given under section",
}


# The events that give a warning notice -> the deadline kind of its compliance period.
NOTICE_PERIODS = {"warning_notice": "warning_notice_compliance", "sos_warning_notice": "warning_notice_compliance",
                  "tpc_warning_notice": "tpc_warning_notice_compliance"}


def case_facts(session: Session, case: Case) -> dict[str, date | str]:
    """The dates a letter takes from its case: the latest warning notice and its compliance period (as the
    case computed it), the inspection that opened the case, the statement of action's due date."""
    events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
    deadlines = session.exec(select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.id)).all()
    facts: dict[str, date] = {}
    notices = [e for e in events if e.event in NOTICE_PERIODS]
    if notices:
        facts["given_on"] = notices[-1].on
        facts["notice_section"] = "60A" if notices[-1].event == "tpc_warning_notice" else "60"
    # The failure to comply with the latest notice (an earlier notice's failure is not this one's).
    failed = [e for e in events if e.event == "compliance_failed" and (not notices or e.id > notices[-1].id)]
    if failed:
        facts["failed_on"] = failed[-1].on
    period_kind = NOTICE_PERIODS[notices[-1].event] if notices else "warning_notice_compliance"
    periods = [d for d in deadlines if d.kind == period_kind and d.status != "cancelled"]
    if periods:
        facts["compliance_end"] = periods[-1].due
    statements = [d for d in deadlines if d.kind == "statement_of_action" and d.status != "cancelled"]
    if statements:
        facts["statement_due"] = statements[-1].due
    inspection = session.get(Inspection, case.inspection_id) if case.inspection_id else None
    if inspection is not None:
        facts["published"] = inspection.published
        if inspection.inspected:
            facts["inspected"] = inspection.inspected
    return facts


def case_for(session: Session, urn: str, kind: str) -> Case | None:
    wanted = kind_pathways(kind)
    return next((c for c in open_case_rows(session, urn) if wanted is None or c.pathway in wanted), None)


def _not_allowed(school: School, spec: LetterSpec, case: Case | None, dates: dict[str, date | str],
                 details: dict) -> str | None:
    """Why the law (or the authority's procedure) does not allow the letter now, in one line, or None."""
    facts = {**(case.facts if case is not None else {}), **dates}
    why = spec.refusal(case.state if case is not None else None, facts, details)
    if why is None:
        return None
    where = (f"; the case stands at: {wording.state(case.state)}" if case is not None
             else "; the school has no open case it belongs on")
    return f"URN {school.urn}: {spec.title} cannot be drafted now: {why}{where}"


def refusal_now(session: Session, school: School, kind: str) -> str | None:
    """Why a letter of this kind may not be drafted for the school now (its preconditions and the school's
    kind), or None: what the desk and `concerns letter kinds --urn` offer."""
    spec = spec_for(kind)
    if spec.maintained_only and not school.maintained:
        return f"URN {school.urn}: {spec.title} is given to maintained schools only"
    if spec.academy_only and school.maintained:
        return f"URN {school.urn}: {spec.title} is given about academies only"
    case = case_for(session, school.urn, kind)
    return _not_allowed(school, spec, case, case_facts(session, case) if case is not None else {}, {})


def bind_to_case(session: Session, school: School, kind: str, details: dict) -> dict:
    """The details with the dates the case knows filled in; a typed date that differs is refused in one line
    naming it. A detail the officer never types (the compliance period's end) needs the case to know it."""
    try:
        spec = spec_for(kind)
    except (ValueError, LetterSpecError) as exc:
        raise Refused(str(exc)) from None
    if (spec.maintained_only and not school.maintained) or (spec.academy_only and school.maintained):
        return details  # the letter itself refuses a school of the wrong kind
    case = case_for(session, school.urn, kind)
    facts = case_facts(session, case) if case is not None else {}
    why = _not_allowed(school, spec, case, facts, details)
    if why is not None:
        raise Refused(why)
    bound = [d for d in spec.details if d.from_case]
    out = dict(details)
    for d in bound:
        known, typed = facts.get(d.from_case), details.get(d.name)
        if known is None:
            if d.case_only:
                raise Refused(f"URN {school.urn}: the case records no {FACT_NOUNS[d.from_case]} yet: record it "
                              "on the case before drafting this letter")
            continue
        if typed is not None and typed != known:
            shown = ukdate(typed, weekday=False) if isinstance(typed, date) else repr(typed)
            said = ukdate(known, weekday=False) if isinstance(known, date) else known
            raise Refused(f"URN {school.urn}: {d.name} {shown} does not match the case: "
                          f"{CASE_FACTS[d.from_case]} {said}")
        out[d.name] = known
    return out


def letter_reference(urn: str, kind: str, on: date) -> str:
    """"Our reference" on a letter: the school's URN, the letter's initials and its date, e.g.
    "100001/WN/20261020" for a warning notice (no internal names)."""
    return f"{urn}/{LETTER_KINDS[kind].initials}/{iso_basic(on)}"


def next_reference(session: Session, urn: str, kind: str, on: date) -> str:
    """The reference for a new letter: `letter_reference`, and for a second letter of the same kind for the
    same school on the same day the next number after it ("100001/WN/20261020/2"), as its file takes the
    next free name: no two letters share a reference."""
    base = letter_reference(urn, kind, on)
    made = session.exec(select(Letter.id).where(Letter.urn == urn, Letter.kind == kind, Letter.on == on)).all()
    return base if not made else f"{base}/{len(made) + 1}"


def read_details(path: Path) -> dict:
    """The details in the TOML file at `path`, or Refused in one line (no such file, not TOML, too deep)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise Refused(f"--details {path}: no such file") from None
    return load_toml(raw, f"--details {path}", Refused)


def check_letter(on: date, details: dict, clock: Clock | None = None) -> None:
    """The one door for a letter's date and details, whichever way they came (the desk's form, a --details
    file, a letter sent later from the desk): Refused, naming the value, before anything is rendered."""
    try:
        check_date(on, "letter", "date of the letter", clock)
        check_details(details, "letter details", lambda day, what: check_date(day, "detail", what, clock))
    except (BadInput, ImplausibleDate) as exc:
        raise Refused(str(exc)) from None


def draft_letter(session: Session, urn: str, kind: str, on: date, details: dict, *, send: bool = False,
                 settings: MailSettings | None = None, clock: Clock | None = None) -> tuple[Letter, bool, int]:
    """Draft (and with `send`, queue) a letter. `clock` is the caller's today for the date windows: the
    desk's own (CONCERNS_TODAY, the demo's day) so that a letter it previewed is not refused when saved."""
    if kind not in LETTER_KINDS:
        raise Refused(f"unknown letter kind {kind!r}; kinds: {', '.join(LETTER_KINDS)}")
    check_letter(on, details, clock)
    school = get_school(session, urn)
    policy = policy_for(school.la)
    directory = Directory(session, {school.la})
    typed, details = details, bind_to_case(session, school, kind, details)
    try:
        letter = render_letter(kind, school=letter_school(school, directory),
                               authority=letter_authority(school.la, directory, policy), on=on,
                               reference=next_reference(session, school.urn, kind, on), **details)
    except ValueError as exc:
        raise Refused(f"URN {school.urn}: {exc}") from None
    case = case_for(session, school.urn, kind)
    fingerprint = hashlib.sha256(json.dumps(typed, sort_keys=True, default=str).encode()).hexdigest()[:10]
    row, created = save_letter(session, letter, key=f"{kind}:{school.urn}:{on.isoformat()}:{fingerprint}",
                               urn=school.urn, case_id=case.id if case else None, on=on)
    queued = queue_letter(session, row, school, settings=settings, policy=policy, directory=directory) if send else 0
    return row, created, queued


def queue_letter(session: Session, row: Letter, school: School, *, settings: MailSettings | None = None,
                 policy: Policy | None = None, directory: Directory | None = None) -> int:
    """Queue a drafted letter by e-mail, as drafted: its own file, to the addressees and copies recorded when it
    was drafted (so a letter drafted on the command line is sent from the desk as it was written). Each
    recipient once, whichever way (`--send`, the desk) it was sent first; returns how many were queued."""
    settings = settings or MailSettings.from_env()
    policy = policy or policy_for(school.la)
    directory = directory or Directory(session, {school.la})
    officers = {p.email for role in policy.roles for p in directory.holders(school.la, role)}
    # "The Secretary of State" has no e-mail: sent by post or through the RD's portal.
    parties = [(p, copy) for p, copy in [*((p, False) for p in row.addressees), *((p, True) for p in row.copies)]
               if p.get("email")]
    keys = {party["email"]: f"letter:{row.key}:{party['email']}" for party, _ in parties}
    already = set(session.exec(select(Notification.key).where(Notification.key.in_(keys.values()))).all())
    if set(keys.values()) - already:
        try:
            attachment = letter_attachment(row)  # a letter drafted earlier goes as it was drafted, or not at all
        except ValueError as exc:
            raise Refused(str(exc)) from None
    name = LETTER_KINDS[row.kind].title if row.kind in LETTER_KINDS else row.title
    queued = 0
    for party, copy in parties:
        if keys[party["email"]] in already:
            continue
        recipient = Recipient(party["name"], party["email"], party["role"], party["email"] not in officers)
        subject = f"{row.title}{' (copy)' if copy else ''}"
        text, html = render_pair("letter", recipient=recipient, title=name, school=school.name,
                                 urn=school.urn, on=row.on, copy=copy, authority=school.la, subject=subject)
        _, made = queue(session, key=keys[party["email"]], kind="letter", recipient=recipient,
                        subject=subject, text=text, html=html, for_date=row.on, domain=settings.domain,
                        attachments=[attachment], urn=school.urn, case_id=row.case_id)
        already.add(keys[party["email"]])  # one address as addressee and copy: one mail
        queued += made
    return queued
