"""Letters from the database: who the school and authority people are, where letters are written."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from sqlmodel import Session, select

from concerns.letters import LetterAuthority, LetterParty, LetterSchool, RenderedLetter
from concerns.notify.directory import Directory
from models import Letter, School


def letters_dir() -> Path:
    return Path(os.environ.get("CONCERNS_LETTERS", "letters"))


def reports_dir() -> Path:
    return Path(os.environ.get("CONCERNS_REPORTS", "reports"))


def _party(directory: Directory, la: str, role: str, urn: str | None, title: str) -> LetterParty | None:
    people = directory.holders(la, role, urn)
    if not people:
        return None
    return LetterParty(people[0].name, title, people[0].email)


def letter_school(school: School, directory: Directory) -> LetterSchool:
    return LetterSchool(
        urn=school.urn, name=school.name, la=school.la, type_name=school.type_name, maintained=school.maintained,
        diocese=school.diocese, religious_character=school.religious_character,
        headteacher=_party(directory, school.la, "headteacher", school.urn, "Headteacher"),
        chair=_party(directory, school.la, "chair_of_governors", school.urn, "Chair of governors"),
        laestab=school.laestab)


def letter_authority(la: str, directory: Directory, policy) -> LetterAuthority:
    officers = {}
    for role, spec in policy.roles.items():
        party = _party(directory, la, role, None, spec.title)
        if party:
            officers[role] = party
    # Policies name their roles differently; letters sign by the common role keys.
    aliases = {"senior_adviser": ("senior_officer", "sim"), "link_adviser": ("step", "sip")}
    for common, others in aliases.items():
        if common not in officers:
            found = next((officers[o] for o in others if o in officers), None)
            if found:
                officers[common] = found
    return LetterAuthority(name=la if la.lower().endswith(("council", "authority")) else f"{la} Council",
                           officers=officers)


def save_letter(session: Session, letter: RenderedLetter, *, key: str, urn: str, case_id: int | None, on: date
                ) -> tuple[Letter, bool]:
    """Write the letter under letters/<urn>/ and record it on the case with who it went to. Idempotent."""
    existing = session.exec(select(Letter).where(Letter.key == key)).first()
    if existing is not None:
        return existing, False
    folder = letters_dir() / urn
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{letter.filename_stem}.html"
    path.write_text(letter.html, encoding="utf-8")
    (folder / f"{letter.filename_stem}.txt").write_text(letter.text, encoding="utf-8")
    row = Letter(key=key, urn=urn, case_id=case_id, kind=letter.kind, title=letter.title, on=on, path=str(path),
                 addressees=[{"name": p.name, "role": p.role, "email": p.email} for p in letter.addressees],
                 copies=[{"name": p.name, "role": p.role, "email": p.email} for p in letter.copies])
    session.add(row)
    session.flush()
    return row, True
