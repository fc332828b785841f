"""Letters from the database: who the school and authority people are, where letters are written.

A letter, once drafted, never changes: each gets a file of its own (created exclusively, so no later
letter can overwrite it), under an absolute path, with the SHA-256 of what was written recorded beside
it. Mails carry the letter's bytes themselves, so what is sent cannot drift from what was drafted.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from datetime import date
from pathlib import Path

from sqlmodel import Session, select

from concerns.domain.letterparties import LetterParty, LetterSchool
from concerns.domain.lettersettings import check_letter_settings
from concerns.domain.letterspecs import letter_specs
from concerns.domain.policy import FUNCTIONS
from concerns.notify.directory import Directory
from concerns.notify.outbox import inline_attachment
from concerns.output.letters import LetterAuthority, RenderedLetter
from concerns.output.mail.pdf import html_to_pdf
from models import Letter, School


def letters_dir() -> Path:
    """Resolved when a letter is drafted: a relative setting must not mean another folder at send time."""
    return Path(os.environ.get("CONCERNS_LETTERS", "letters")).expanduser().resolve()


def reports_dir() -> Path:
    return Path(os.environ.get("CONCERNS_REPORTS", "reports"))


def _party(directory: Directory, la: str, role: str, urn: str | None, title: str) -> LetterParty | None:
    people = directory.holders(la, role, urn)
    if not people:
        return None
    return LetterParty(people[0].name, title, people[0].email)


def postal_address(school: School) -> str | None:
    """The school's postal address as GIAS gives it, one line per part (empty parts left out)."""
    parts = [getattr(school, f, None) for f in ("street", "locality", "address3", "town", "county", "postcode")]
    lines = [p.strip() for p in parts if p and p.strip()]
    return "\n".join(lines) or None


def letter_school(school: School, directory: Directory) -> LetterSchool:
    """The school as a letter sees it. `school` may be a School or a plain row with fewer columns (the
    annual categorisation reads only what its table and letters use): the address and trust are optional."""
    address = postal_address(school)

    def party(role: str, title: str) -> LetterParty | None:
        found = _party(directory, school.la, role, school.urn, title)
        return LetterParty(found.name, found.role, found.email, address) if found else None

    return LetterSchool(
        urn=school.urn, name=school.name, la=school.la, type_name=school.type_name, maintained=school.maintained,
        diocese=school.diocese, religious_character=school.religious_character,
        headteacher=party("headteacher", "Headteacher"),
        chair=party("chair_of_governors", "Chair of governors"),
        address=address, laestab=school.laestab, trust=getattr(school, "trust", None))


def letter_authority(la: str, directory: Directory, policy) -> LetterAuthority:
    """The authority's officers by the policy's role keys, which role plays each function, and the policy's
    own letter settings (checked here against its roles and the letters there are)."""
    check_letter_settings(policy.letters, policy.roles, letter_specs())
    officers = {}
    for role, spec in policy.roles.items():
        party = _party(directory, la, role, None, spec.title)
        if party:
            officers[role] = party
    roles = {function: policy.role_for(function) for function in FUNCTIONS}
    for role in {*roles.values()} - set(officers):
        party = _party(directory, la, role, None, policy.title_of(role))
        if party:
            officers[role] = party
    return LetterAuthority(name=la if la.lower().endswith(("council", "authority")) else f"{la} Council",
                           officers=officers, roles=roles, settings=policy.letters,
                           policy_file=f"the {policy.key} policy")


def _write_new(folder: Path, stem: str, letter: RenderedLetter) -> Path:
    """Write the letter to the first free name <stem>.html, <stem>-2.html, ... and its .txt beside it.

    Mode "x" creates the file or fails if it exists, atomically: two drafts at the same moment cannot
    take the same name, and no letter's file is ever overwritten.
    """
    for n in itertools.count(1):
        name = stem if n == 1 else f"{stem}-{n}"
        html, text = folder / f"{name}.html", folder / f"{name}.txt"
        try:
            html_file = html.open("xb")
        except FileExistsError:
            continue
        with html_file:
            try:
                text_file = text.open("x", encoding="utf-8")
            except FileExistsError:
                html_file.close()
                html.unlink()  # a stray .txt holds this name: leave it and take the next
                continue
            with text_file:
                html_file.write(letter.html.encode("utf-8"))
                text_file.write(letter.text)
        return html


def save_letter(session: Session, letter: RenderedLetter, *, key: str, urn: str, case_id: int | None, on: date
                ) -> tuple[Letter, bool]:
    """Write the letter under letters/<urn>/ and record it on the case with who it went to. Idempotent."""
    existing = session.exec(select(Letter).where(Letter.key == key)).first()
    if existing is not None:
        return existing, False
    folder = letters_dir() / urn
    folder.mkdir(parents=True, exist_ok=True)
    path = _write_new(folder, letter.filename_stem, letter)
    row = Letter(key=key, urn=urn, case_id=case_id, kind=letter.kind, title=letter.title, on=on, path=str(path),
                 sha256=hashlib.sha256(letter.html.encode("utf-8")).hexdigest(),
                 addressees=[{"name": p.name, "role": p.role, "email": p.email} for p in letter.addressees],
                 copies=[{"name": p.name, "role": p.role, "email": p.email} for p in letter.copies])
    session.add(row)
    session.flush()
    return row, True


def letter_content(row: Letter) -> bytes:
    """The letter exactly as drafted: its file, refused if missing or no longer what was written."""
    try:
        content = Path(row.path).read_bytes()
    except FileNotFoundError:
        raise ValueError(f"letter {row.key}: its file {row.path} is missing") from None
    if row.sha256 is not None and hashlib.sha256(content).hexdigest() != row.sha256:
        raise ValueError(f"letter {row.key}: {row.path} has changed since it was drafted "
                         f"(sha256 {row.sha256[:12]}... expected)")
    return content


def letter_attachment(row: Letter) -> dict:
    """The letter inside the queued mail: as a PDF to print and file, and as drafted (HTML), both made
    from the letter's own bytes, so a later change or deletion of the file cannot touch what is sent.

    One entry for the mail's attachment list that carries both files (`parts`); the sender attaches
    each (concerns.notify.delivery). The PDF goes first: it is what a recipient should open.
    """
    content = letter_content(row)
    html_name = Path(row.path).name
    pdf = html_to_pdf(content, title=row.title)
    return {"parts": [inline_attachment(f"{Path(html_name).stem}.pdf", pdf, "application/pdf"),
                      inline_attachment(html_name, content, "text/html")]}
