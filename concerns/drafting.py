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
import tomllib
from datetime import date
from pathlib import Path

from sqlmodel import Session, select

from concerns.casework import Refused, get_school, open_case_rows
from concerns.letters import LETTER_KINDS, render_letter
from concerns.mail import MailSettings
from concerns.notify.directory import Directory, Recipient
from concerns.notify.letterdata import letter_attachment, letter_authority, letter_school, save_letter
from concerns.notify.outbox import queue, render_pair
from concerns.policy import policy_for
from models import Letter, Notification

# Which open case a letter of each kind belongs on.
KIND_PATHWAYS = {
    "confirmation_of_concern": ("la_concern", "academy_of_concern"),
    "warning_letter": ("la_concern", "academy_of_concern"),
    "warning_notice": ("la_concern",),
    "removal_from_concern": ("la_concern",),
    "statement_of_action": ("special_measures", "serious_weaknesses"),
}


def read_details(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise Refused(f"--details {path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise Refused(f"--details {path}: {exc}") from None


def draft_letter(session: Session, urn: str, kind: str, on: date, details: dict, *, send: bool = False,
                 settings: MailSettings | None = None) -> tuple[Letter, bool, int]:
    if kind not in LETTER_KINDS:
        raise Refused(f"unknown letter kind {kind!r}; kinds: {', '.join(LETTER_KINDS)}")
    school = get_school(session, urn)
    policy = policy_for(school.la)
    directory = Directory(session, {school.la})
    try:
        letter = render_letter(kind, school=letter_school(school, directory),
                               authority=letter_authority(school.la, directory, policy), on=on,
                               reference=f"{school.urn}/{kind}/{on.isoformat()}", **details)
    except ValueError as exc:
        raise Refused(f"URN {school.urn}: {exc}") from None
    wanted = KIND_PATHWAYS.get(kind)
    case = next((c for c in open_case_rows(session, school.urn) if wanted is None or c.pathway in wanted), None)
    fingerprint = hashlib.sha256(json.dumps(details, sort_keys=True, default=str).encode()).hexdigest()[:10]
    row, created = save_letter(session, letter, key=f"{kind}:{school.urn}:{on.isoformat()}:{fingerprint}",
                               urn=school.urn, case_id=case.id if case else None, on=on)
    queued = 0
    if send:
        settings = settings or MailSettings.from_env()
        officers = {p.email for role in policy.roles for p in directory.holders(school.la, role)}
        # "The Secretary of State" has no e-mail: sent by post or through the RD's portal.
        parties = [(p, copy) for p, copy in [*((p, False) for p in letter.addressees),
                                              *((p, True) for p in letter.copies)] if p.email]
        keys = {party.email: f"letter:{row.key}:{party.email}" for party, _ in parties}
        already = set(session.exec(select(Notification.key).where(Notification.key.in_(keys.values()))).all())
        if set(keys.values()) - already:
            try:
                attachment = letter_attachment(row)  # a letter drafted earlier goes as it was drafted, or not at all
            except ValueError as exc:
                raise Refused(str(exc)) from None
        for party, copy in parties:
            if keys[party.email] in already:
                continue
            recipient = Recipient(party.name, party.email, party.role, party.email not in officers)
            subject = f"{letter.title}{' (copy)' if copy else ''}"
            text, html = render_pair("letter", recipient=recipient, title=letter.title, school=school.name,
                                     urn=school.urn, on=on, copy=copy, authority=school.la, subject=subject)
            _, made = queue(session, key=keys[party.email], kind="letter", recipient=recipient,
                            subject=subject, text=text, html=html, for_date=on, domain=settings.domain,
                            attachments=[attachment], urn=school.urn, case_id=row.case_id)
            queued += made
    return row, created, queued
