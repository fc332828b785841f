"""Digests of what an Ofsted import took in, so that a re-import leaves alone what it already has.

An unchanged file is hashed, not parsed; in a changed one only the schools whose rows changed are parsed
and replayed. A digest may only let work be skipped that would give the same answer today, so each
covers everything an import's outcome for those rows depends on besides the database:

- the rows' bytes (per school: the SHA-256 of each of its lines; per file: of the whole file);
- the file's header and anything above it (which column is which), and `la` (a row naming no authority
  is taken as the LA's);
- the product: its version, and the source of the code that reads rows and decides what they do (the
  parser, the loaders, the casework, the rule book in concerns/domain and the machine in
  statemachines/), so a changed rule book or machine, even unreleased, skips nothing;
- every authority's policy file (the built-in ones and $CONCERNS_POLICY_DIR's): a school's policy is
  only known once its row is read, so all of them are covered, and a changed policy skips nothing.

What the database adds is kept true by the database itself (migration 0008): a school's digest, and
every file digest, is deleted by trigger when the school's row or one of its inspections is changed or
deleted. Inserting an inspection does not matter: the rows a digest stands for are all held, and a held
inspection is never judged again, whatever came after it. `as_of` and today are not covered: they only
decide what becomes of new inspections and deadlines, and a skipped school has none (a row once taken
is never refused later for a date too far ahead, since today only moves on). A digest is recorded only
for a school taken in with nothing refused or skipped, and a file digest only when all its schools
were, so what a re-import would report again (refusals, skips) is always read again. Closures and
conversions (settling.py) depend on other schools' cases, so they are worked out on every import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from contextlib import suppress
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sqlalchemy import Connection, delete, select

import concerns.casework
import concerns.domain
import concerns.ingest
import statemachines
from concerns.domain.policy import all_policies, fold
from concerns.ingest.load.schools import chunks
from concerns.store.db import insert_rows
from models import ImportedFile, ImportedSchool
from models._base import utcnow

KIND = "ofsted"
_FILE = ImportedFile.__table__
_SCHOOL = ImportedSchool.__table__


@cache
def _product() -> bytes:
    """The product version and the source of the packages that decide an import's outcome."""
    digest = hashlib.sha256()
    with suppress(PackageNotFoundError):  # a checkout that is not installed: the sources still count
        digest.update(f"concerns {version('concerns')}\n".encode())
    for package in (concerns.domain, concerns.ingest, concerns.casework, statemachines):
        folder = Path(package.__file__).parent
        for path in sorted(folder.rglob("*.py")):
            digest.update(f"{path.relative_to(folder.parent).as_posix()}\n".encode())
            digest.update(path.read_bytes())
    return digest.digest()


def context(la: str | None) -> bytes:
    """What besides its rows decides an import's outcome: the product, every policy file, `la`."""
    digest = hashlib.sha256(_product())
    for key, policy in sorted(all_policies().items()):
        digest.update(f"policy {key}\n".encode())
        digest.update(Path(policy.path).read_bytes() if getattr(policy, "path", None) else repr(policy).encode())
    digest.update(f"la {fold(la) if la else ''}\n".encode())
    return digest.digest()


def file_digest(context_digest: bytes, data: bytes) -> str:
    return hashlib.sha256(context_digest + data).hexdigest()


def line_digests(data: bytes, header_line: int) -> dict[int, str] | None:
    """physical line number -> digest of each non-blank line after the header; None when a line holds an
    odd number of quotes (a quoted field may then run over lines, and a row is not one line)."""
    found: dict[int, str] = {}
    sha256 = hashlib.sha256
    for number, line in enumerate(data.splitlines()[header_line:], start=header_line + 1):
        if not line.strip():
            continue
        if line.count(b'"') % 2:
            return None
        found[number] = sha256(line).hexdigest()[:32]
    return found


def school_digest(school_context: bytes, lines: Iterable[str]) -> str:
    return hashlib.sha256(school_context + " ".join(sorted(lines)).encode()).hexdigest()


def header_context(context_digest: bytes, data: bytes, header_line: int) -> bytes:
    """The context of a file's rows: the import's, and the file's lines up to its header."""
    return hashlib.sha256(context_digest + b"\n".join(data.splitlines()[:header_line])).digest()


def known_file(connection: Connection, digest: str) -> tuple[str, int, str] | None:
    """(layout, rows, schools) of the file if it was taken in whole and nothing has changed since."""
    return connection.execute(select(_FILE.c.layout, _FILE.c.rows, _FILE.c.schools)
                              .where(_FILE.c.kind == KIND, _FILE.c.digest == digest)).first()


def known_schools(connection: Connection) -> dict[str, tuple[str, str]]:
    """URN -> (digest, line digests) of every school whose rows are known."""
    return {urn: (digest, lines) for urn, digest, lines in connection.execute(
        select(_SCHOOL.c.urn, _SCHOOL.c.digest, _SCHOOL.c.lines).where(_SCHOOL.c.kind == KIND))}


def record_schools(connection: Connection, schools: dict[str, tuple[str, list[str]]]) -> None:
    """Record URN -> (digest, line digests) of schools taken in, replacing what was recorded of them."""
    if not schools:
        return
    urns = list(schools)
    for chunk in chunks(urns):
        connection.execute(delete(_SCHOOL).where(_SCHOOL.c.kind == KIND, _SCHOOL.c.urn.in_(chunk)))
    insert_rows(connection, _SCHOOL, ("kind", "urn", "digest", "lines"),
                [(KIND, urn, digest, " ".join(lines)) for urn, (digest, lines) in schools.items()],
                same={"recorded_at": utcnow()})


def record_file(connection: Connection, digest: str, layout: str, rows: int, schools: dict[str, int],
                expected: dict[str, str]) -> bool:
    """Record the file as taken in whole, if every one of its schools still has the digest `expected` of it
    (another writer may have changed one since its batch was committed). Returns whether it was recorded."""
    query = select(_SCHOOL.c.urn, _SCHOOL.c.digest).where(_SCHOOL.c.kind == KIND)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(read=True)  # a change after this check waits for the commit
    held = dict(connection.execute(query).all())
    if any(held.get(urn) != value for urn, value in expected.items()):
        return False
    connection.execute(delete(_FILE).where(_FILE.c.kind == KIND, _FILE.c.digest == digest))
    insert_rows(connection, _FILE, ("kind", "digest", "layout", "rows", "schools"),
                [(KIND, digest, layout, rows, "\n".join(f"{urn} {line}" for urn, line in schools.items()))],
                same={"recorded_at": utcnow()})
    return True
