"""Annual categorisation: each school's category under its authority's scheme, and the letter telling it.

The scheme is the policy file's `[[categories.levels]]`, listed best first; a school is put in the worst
level whose conditions it meets (its open cases, its latest inspection, whether it is stuck). Every
registered school gets a category; schools with a head and chair on record get the letter.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date

from sqlmodel import select

from concerns.casework import judgement_from_row
from concerns.categories import CategoryLevel
from concerns.clock import check_as_of
from concerns.db import session_scope
from concerns.formatting import ukdate
from concerns.judgements import Judgement, summarise
from concerns.letters import render_letter
from concerns.mail import MailSettings
from concerns.notify.directory import Directory, Recipient
from concerns.notify.letterdata import (
    letter_attachment,
    letter_authority,
    letter_school,
    reports_dir,
    save_letter,
)
from concerns.notify.outbox import queue, render_pair
from concerns.notify.wording import pathway as pathway_words
from concerns.policy import Policy, policy_for
from concerns.untrusted import safe_filename
from concerns.views import register
from models import Inspection, InspectionGrade, School

TABLE_COLUMNS = ("urn", "name", "la", "category", "causing_concern", "academic_year")

LEVEL_WORDS = {"good": "good or better", "ri": "requires improvement", "rsi": "requires significant improvement",
               "sm": "special measures"}


def _matches(condition: str, facts: dict) -> bool:
    kind, _, value = condition.partition(":")
    if condition == "default":
        return True
    if condition == "stuck":
        return facts["stuck"]
    if condition == "open_case":
        return bool(facts["pathways"])
    if kind == "category":
        return value in facts["categories"]
    if kind == "pathway":
        return value in facts["pathways"]
    if kind == "latest":
        latest = facts["latest"]
        if latest is None:
            return False
        if value == "outstanding":
            return latest.outcome is not None and latest.outcome.value == "outstanding"
        return facts["latest_level"] == value
    return False


def categorise(policy: Policy, facts: dict) -> CategoryLevel:
    non_default = [lv for lv in reversed(policy.categories) if any(c != "default" and _matches(c, facts)
                                                                   for c in lv.when)]
    if non_default:
        return non_default[0]
    return next(lv for lv in policy.categories if "default" in lv.when)


def _basis(facts: dict) -> list[str]:
    lines = []
    latest = facts["latest"]
    if latest is not None:
        lines.append(f"The latest graded Ofsted inspection, published {ukdate(latest.published)}: "
                     f"{LEVEL_WORDS[facts['latest_level']]}.")
    else:
        lines.append("The school has no graded Ofsted inspection on record.")
    if facts["stuck"]:
        lines.append("The two most recent inspections were both below good.")
    for pathway in sorted(facts["pathways"]):
        lines.append(f"The school is on the {pathway_words(pathway)} pathway.")
    return lines


def _latest_graded(session, as_of: date) -> dict[str, Judgement]:
    """Each school's latest graded inspection published by `as_of`, as a Judgement: what
    views._graded_history gives as its first entry, read as plain rows for the whole country (ORM objects
    for 40,000 inspections and their grades cost most of this job's time)."""
    inspection, grade = Inspection.__table__, InspectionGrade.__table__
    latest: dict[str, object] = {}
    for row in session.connection().execute(
            select(inspection.c.id, inspection.c.urn, inspection.c.published, inspection.c.inspected,
                   inspection.c.outcome, inspection.c.safeguarding, inspection.c.graded)
            .where(inspection.c.graded.is_(True), inspection.c.published <= as_of)
            .order_by(inspection.c.urn, inspection.c.published.desc(), inspection.c.id.desc())):
        latest.setdefault(row.urn, row)
    grades: dict[int, list] = defaultdict(list)
    ids = [row.id for row in latest.values()]
    for start in range(0, len(ids), 900):
        for g in session.connection().execute(select(grade.c.inspection_id, grade.c.area, grade.c.grade)
                                              .where(grade.c.inspection_id.in_(ids[start:start + 900]))):
            grades[g.inspection_id].append(g)
    return {urn: judgement_from_row(row, grades[row.id]) for urn, row in latest.items()}


def write_table_csv(table: list[dict], as_of: date) -> str:
    """The whole categorisation table as a CSV file in the reports folder (the flow's artifact shows a part)."""
    folder = reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"annual-categorisation-{safe_filename(as_of.isoformat())}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TABLE_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(table)
    return str(path)


def run_annual_categorisation(db: str | None, as_of: date, simulation: bool = False) -> dict:
    check_as_of(as_of, simulation)
    settings = MailSettings.from_env()
    table, letters, without_letter = [], 0, []
    with session_scope(db) as session:
        # Plain rows with the columns the table and letter_school read: 22,000 School objects cost a second.
        c = School.__table__.c
        schools = session.connection().execute(
            select(c.urn, c.name, c.la, c.type_name, c.maintained, c.diocese, c.religious_character, c.laestab)
            .where(c.status == "open").order_by(c.la, c.urn)).all()
        open_rows = {r["urn"]: r for r in register(session, as_of)}
        history = _latest_graded(session, as_of)
        directory = Directory(session, {s.la for s in schools})
        for school in schools:
            policy = policy_for(school.la)
            if not policy.categories:
                continue
            row = open_rows.get(school.urn)
            latest = history.get(school.urn)
            facts = {"stuck": bool(row and row["stuck"]), "pathways": {c["pathway"] for c in row["cases"]} if row else set(),
                     "categories": {row["category"]} if row else set(), "latest": latest,
                     "latest_level": summarise(latest).level if latest else None}
            level = categorise(policy, facts)
            year = policy.terms.academic_year_of(as_of)
            label = f"{year}/{(year + 1) % 100:02d}"
            table.append({"urn": school.urn, "name": school.name, "la": school.la, "category": level.label,
                          "causing_concern": level.causing_concern, "academic_year": label})
            letter_school_ = letter_school(school, directory)
            if letter_school_.headteacher is None or letter_school_.chair is None:
                without_letter.append(school.urn)
                continue
            try:
                letter = render_letter(
                    "categorisation", school=letter_school_, authority=letter_authority(school.la, directory, policy),
                    on=as_of, reference=f"{school.urn}/categorisation/{label}", academic_year=label,
                    scheme=" / ".join(lv.label for lv in policy.categories), category=level.label,
                    basis=_basis(facts), support=level.support or "Your link adviser will discuss this with you.",
                    causing_concern=level.causing_concern, review=policy.categorisation or None)
            except ValueError:
                without_letter.append(school.urn)  # e.g. no assistant director on record to sign it
                continue
            saved, created = save_letter(session, letter, key=f"categorisation:{school.urn}:{label}", urn=school.urn,
                                         case_id=None, on=as_of)
            letters += created
            if not created:
                continue  # its mails were queued with it, in the same transaction
            attachment = letter_attachment(saved)
            for party in (letter_school_.headteacher, letter_school_.chair):
                recipient = Recipient(party.name, party.email, party.role, True)
                subject = f"{school.name}: the school's category for {label}"
                text, html = render_pair("letter", recipient=recipient, title=letter.title, school=school.name,
                                         urn=school.urn, on=as_of, copy=False, authority=school.la, subject=subject)
                queue(session, key=f"letter:{saved.key}:{party.email}", kind="letter", recipient=recipient,
                      subject=subject, text=text, html=html, for_date=as_of, domain=settings.domain,
                      attachments=[attachment],
                      urn=school.urn)
    return {"as_of": as_of.isoformat(), "schools": len(table), "letters": letters, "without_letter": without_letter,
            "table": table, "table_csv": write_table_csv(table, as_of)}
