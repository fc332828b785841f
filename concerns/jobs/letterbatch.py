"""The annual categorisation's letters, written in batches, each letter exactly once.

The decisions are recorded first, all in one transaction (concerns.jobs.categorisation.record_categories);
what is left is rendering: a PDF costs 0.3-0.8 s, so a 730-school authority's letters take minutes and
England's 22,000 hours in one process. So the letters are orders ({"category": id of the decision, "basis":
the reasons the letter gives}) cut into batches, and `write_letter_batch` writes one batch given its orders
and `as_of`, in any process on any machine that reaches the database (flows/letter_batches.py runs them).

A batch can be retried after a crash, or run twice at once, and still writes each letter once and queues
each mail once. The database decides, never memory:

- each letter has a unique key (school, kind, academic year; an in-year change, its decision too) and is
  inserted with "insert, or skip if the key is there" in a short transaction of its own, with its mails
  (each keyed by the letter and the address, unique in the outbox) in that same transaction;
- its files are rendered beforehand into temporary files beside their final names, and renamed into
  place (atomic) only by the transaction whose insert won, just before it commits. A crash before the
  commit leaves at most a file no row names, under the letter's own name, which the retry's rename
  replaces: one file per letter, never a "-2" beside it.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from concerns.casework.cases import Refused
from concerns.casework.lacategories import APPROVED, Decision
from concerns.domain.categories import CategoryLevel, scheme_in_words
from concerns.domain.clock import check_as_of
from concerns.domain.formatting import ukdate
from concerns.domain.letterparties import LetterSchool
from concerns.domain.policy import Policy, policy_for
from concerns.notify.directory import Directory, Recipient
from concerns.notify.drafting import next_reference
from concerns.notify.letterdata import letter_authority, letter_school, letters_dir
from concerns.notify.outbox import inline_attachment, queue, render_pair
from concerns.output.letters import RenderedLetter, render_letter
from concerns.output.mail import MailSettings
from concerns.output.mail.pdf import html_to_pdf
from concerns.store.db import session_scope
from models import LaCategory, Letter, School
from models._base import utcnow

# How many letters a batch holds: below 10 a batch's own start (a Prefect task or flow run, a database
# connection, the policies and the directory read) costs more than its letters; above 500 a batch takes
# minutes, so one crash repeats much and the last batches leave the other processes idle.
BATCH_SIZE_RANGE = (10, 500)
DEFAULT_BATCH_SIZE = 50
# A basis is a few sentences; more than this many points, or points this long, is not a letter's basis.
MAX_BASIS_POINTS = 40
MAX_POINT_CHARS = 2000

# "Insert, or skip if the key is there", in each engine's own words.
INSERT_OR_SKIP = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


def check_batch_size(size: object) -> int:
    """The number of letters a batch holds, or Refused in one line naming the value."""
    low, high = BATCH_SIZE_RANGE
    if isinstance(size, bool) or not isinstance(size, int) or not low <= size <= high:
        raise Refused(f"letter batch size {size!r}: a batch holds between {low} and {high} letters")
    return size


def check_orders(orders: Iterable[object]) -> list[dict]:
    """Letter orders as they come from a flow's parameters: each a decision's id and the letter's basis, or
    Refused in one line naming the first order that is not."""
    checked = []
    for order in orders:
        category = order.get("category") if isinstance(order, dict) else None
        basis = order.get("basis") if isinstance(order, dict) else None
        if isinstance(category, bool) or not isinstance(category, int) or category < 1:
            raise Refused(f"letter order {order!r}: no decision's id (a whole number from 1)")
        if not isinstance(basis, list) or len(basis) > MAX_BASIS_POINTS or not all(
                isinstance(point, str) and len(point) <= MAX_POINT_CHARS for point in basis):
            raise Refused(f"letter order for decision {category}: its basis is not a short list of sentences")
        checked.append({"category": category, "basis": list(basis)})
    return checked


def in_batches(orders: list[dict], size: int, shares: int = 1) -> list[list[dict]]:
    """The orders cut into batches of at most `size`, in order. With `shares` (the processes that will take
    them), as many batches as a multiple of `shares` (or one per order, if fewer), their sizes within one of
    each other: each process then writes as many letters as the other, where batches of exactly `size` and a
    short last one leave one process idle at the end (730 letters in batches of 50 over two processes: 16
    batches of 45 or 46, where 15 would give one process 380 letters and the other 350)."""
    size = check_batch_size(size)
    if shares <= 1:
        return [orders[start:start + size] for start in range(0, len(orders), size)]
    count = -(-len(orders) // size)
    count = min(len(orders), -(-count // shares) * shares)
    base, extra = divmod(len(orders), count) if count else (0, 0)
    out, start = [], 0
    for i in range(count):
        end = start + base + (1 if i < extra else 0)
        out.append(orders[start:end])
        start = end
    return out


# --- one letter: rendered, then saved once ------------------------------------------------------------


def render_category_letter(session: Session, directory: Directory, school, policy: Policy, decision: Decision,
                           basis: list[str], on: date) -> tuple[LetterSchool, RenderedLetter] | str:
    """The category letter to the school's headteacher and chair, rendered, nothing saved: the school as the
    letter sees it and the letter, or why there is none."""
    level: CategoryLevel = policy.categories.level(decision.row.level)
    party_school = letter_school(school, directory)
    if party_school.headteacher is None or party_school.chair is None:
        return "no headteacher or chair on record"
    kind = policy.categories.change_letter if decision.previous is not None else "categorisation"
    try:
        letter = render_letter(
            kind, school=party_school, authority=letter_authority(school.la, directory, policy), on=on,
            # Each letter its own reference: an in-year change is not the year's letter.
            reference=next_reference(session, school.urn, kind, on), academic_year=decision.row.year,
            scheme=scheme_in_words(policy.categories), category=level.label, basis=basis,
            support=level.support or "Your link adviser will discuss this with you.",
            causing_concern=level.causing_concern, review=policy.categorisation or None,
            replaces=None if decision.previous is None else
            f"{decision.previous.label}, given on {ukdate(decision.previous.decided_on, weekday=False)}")
    except ValueError as exc:
        return str(exc)  # e.g. nobody on record to sign it
    return party_school, letter


def category_letter_key(decision: Decision) -> str:
    """The letter's unique key: the year's letter once per school and year; an in-year change once per decision."""
    row = decision.row
    return f"categorisation:{row.urn}:{row.year}" if decision.previous is None \
        else f"categorisation:{row.urn}:{row.year}:{row.id}"


def queue_category_mails(session: Session, settings: MailSettings, school, party_school: LetterSchool,
                         letter: RenderedLetter, letter_key: str, year: str, on: date, attachment: dict) -> None:
    """The letter's mails to the headteacher and the chair, each keyed by the letter and the address."""
    for party in (party_school.headteacher, party_school.chair):
        recipient = Recipient(party.name, party.email, party.role, True)
        subject = f"{school.name}: the school's category for {year}"
        text, html = render_pair("letter", recipient=recipient, title=letter.name, school=school.name,
                                 urn=school.urn, on=on, copy=False, authority=school.la, subject=subject)
        queue(session, key=f"letter:{letter_key}:{party.email}", kind="letter", recipient=recipient,
              subject=subject, text=text, html=html, for_date=on, domain=settings.domain,
              attachments=[attachment], urn=school.urn)


@dataclass
class _Prepared:
    """A letter rendered and waiting in temporary files for its transaction."""
    key: str
    school: object
    party_school: LetterSchool
    letter: RenderedLetter
    year: str
    html_tmp: Path
    text_tmp: Path
    pdf: bytes


def _temporary_prefix(stem: str, key: str) -> str:
    """The hidden name every attempt at this letter gives its temporary files: the letter's stem and its key's
    hash (two letters may share a stem, never a key)."""
    return f".{stem}.{hashlib.sha256(key.encode('utf-8')).hexdigest()[:12]}."


def _write_temporary(folder: Path, prefix: str, letter: RenderedLetter) -> tuple[Path, Path]:
    """The letter's HTML and text in temporary files of this attempt's own (hidden, ending .tmp), flushed to
    disk, beside where they will be renamed to."""
    folder.mkdir(parents=True, exist_ok=True)
    attempt = uuid.uuid4().hex
    html_tmp, text_tmp = folder / f"{prefix}{attempt}.html.tmp", folder / f"{prefix}{attempt}.txt.tmp"
    for path, content in ((html_tmp, letter.html.encode("utf-8")), (text_tmp, letter.text.encode("utf-8"))):
        with path.open("xb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    return html_tmp, text_tmp


def _free_stem(session: Session, folder: Path, stem: str, key: str) -> str:
    """The letter's file name: its stem, or stem-2, stem-3 ... when another letter (another key) already
    holds the name. Asked of the letters recorded, not of the disk: a file no row names is an attempt
    that crashed before its commit, and this letter's rename replaces it."""
    taken = set(session.exec(select(Letter.path).where(Letter.urn == Path(folder).name, Letter.key != key)).all())
    n = 1
    while True:
        name = stem if n == 1 else f"{stem}-{n}"
        if str(folder / f"{name}.html") not in taken:
            return name
        n += 1


def _save_once(db: str | None, settings: MailSettings, item: _Prepared, on: date,
               checkpoint: Callable[[str], None]) -> bool:
    """Insert the letter's row if its key is new, rename its files into place and queue its mails, all in one
    transaction; False (and the temporary files removed) when another attempt has written it already."""
    folder = item.html_tmp.parent
    with session_scope(db) as session:
        name = _free_stem(session, folder, item.letter.filename_stem, item.key)
        html_path, text_path = folder / f"{name}.html", folder / f"{name}.txt"
        letter = item.letter
        row = {"key": item.key, "urn": item.school.urn, "case_id": None, "kind": letter.kind, "title": letter.title,
               "on": on, "path": str(html_path), "sha256": hashlib.sha256(letter.html.encode("utf-8")).hexdigest(),
               "addressees": [{"name": p.name, "role": p.role, "email": p.email} for p in letter.addressees],
               "copies": [{"name": p.name, "role": p.role, "email": p.email} for p in letter.copies],
               "created_at": utcnow()}
        dialect = session.connection().dialect.name
        # On PostgreSQL a concurrent insert of the same key waits here for the other transaction's end,
        # then skips; on SQLite the write lock (BEGIN IMMEDIATE) already makes the attempts take turns.
        inserted = session.connection().execute(
            INSERT_OR_SKIP[dialect](Letter.__table__).values(**row)
            .on_conflict_do_nothing(index_elements=["key"]).returning(Letter.__table__.c.id)).first()
        if inserted is None:
            item.html_tmp.unlink(missing_ok=True)
            item.text_tmp.unlink(missing_ok=True)
            return False
        os.replace(item.text_tmp, text_path)
        os.replace(item.html_tmp, html_path)
        checkpoint("renamed")
        # The letter inside each mail, as PDF to print and file and as drafted (HTML), named as its file is.
        attachment = {"parts": [inline_attachment(f"{name}.pdf", item.pdf, "application/pdf"),
                                inline_attachment(f"{name}.html", letter.html.encode("utf-8"), "text/html")]}
        queue_category_mails(session, settings, item.school, item.party_school, letter, item.key, item.year, on,
                             attachment)
        checkpoint("queued")
    # Left-overs of attempts at this letter that crashed before their rename. Another attempt still running
    # finds the row now and skips; its own files are removed with missing_ok.
    for stray in folder.glob(f"{_temporary_prefix(letter.filename_stem, item.key)}*.tmp"):
        stray.unlink(missing_ok=True)
    return True


def _school_rows(session: Session, urns: list[str]) -> dict[str, object]:
    """What the letters use of each school, as plain rows (the address and trust included)."""
    c = School.__table__.c
    out = {}
    for start in range(0, len(urns), 900):
        for row in session.connection().execute(
                select(c.urn, c.name, c.la, c.type_name, c.maintained, c.diocese, c.religious_character, c.laestab,
                       c.trust, c.street, c.locality, c.address3, c.town, c.county, c.postcode)
                .where(c.urn.in_(urns[start:start + 900]))):
            out[row.urn] = row
    return out


def _previous(session: Session, row: LaCategory) -> LaCategory | None:
    """The decision for the same school and year that `row` replaced, if any (as decided_for_year ordered
    them when `row` was recorded)."""
    earlier = session.exec(select(LaCategory).where(LaCategory.urn == row.urn, LaCategory.year == row.year,
                                                    LaCategory.id < row.id)
                           .order_by(LaCategory.decided_on, LaCategory.id)).all()
    return earlier[-1] if earlier else None


def letters_owed(session: Session, decided: list[tuple[dict, LaCategory]]) -> list[dict]:
    """Orders for the year's approved proposals (each with its proposal) whose letter was never written."""
    approved = [(p, row) for p, row in decided if row.source == APPROVED]
    keys = {f"categorisation:{row.urn}:{row.year}": (p, row) for p, row in approved}
    written: set[str] = set()
    listed = list(keys)
    for start in range(0, len(listed), 900):
        written.update(session.exec(select(Letter.key).where(Letter.key.in_(listed[start:start + 900]))).all())
    return [{"category": row.id, "basis": list(p["reasons"])} for key, (p, row) in keys.items() if key not in written]


def letters_in_database(db: str | None, orders: list[dict]) -> dict:
    """What the batches left, read back from the database: how many of the orders' letters are written, and
    the schools whose decision asked for a letter that is not there (no headteacher or chair on record, or
    a batch that did not finish: a rerun of the categorisation writes those)."""
    orders = check_orders(orders)
    letters, without_letter = 0, []
    with session_scope(db, writes=False) as session:
        for start in range(0, len(orders), 900):
            ids = [order["category"] for order in orders[start:start + 900]]
            rows = session.exec(select(LaCategory).where(LaCategory.id.in_(ids))).all()
            decisions = [d for d in (Decision(row, _previous(session, row)) for row in rows) if d.changed]
            keys = {category_letter_key(d): d.row.urn for d in decisions}
            found = set(session.exec(select(Letter.key).where(Letter.key.in_(list(keys)))).all())
            letters += len(found)
            without_letter += [urn for key, urn in keys.items() if key not in found]
    return {"letters": letters, "without_letter": sorted(without_letter)}


def _no_checkpoint(_stage: str) -> None:
    """In production nothing happens between the steps; a test puts a crash there."""


def write_letter_batch(db: str | None, orders: list[dict], as_of: date, simulation: bool = False,
                       checkpoint: Callable[[str], None] = _no_checkpoint) -> dict:
    """Write one batch of category letters and queue their mails: each letter whose key is not yet in the
    database is rendered (HTML, then the PDF its mails carry) and saved with its mails in a transaction of its
    own. A letter already written (a retry, or another batch given the same orders) is counted, not repeated.

    `checkpoint(stage)` is called after each letter's files are renamed into place ("renamed", still
    uncommitted), after its mails are queued ("queued", still uncommitted) and after its commit ("written").
    """
    check_as_of(as_of, simulation)
    orders = check_orders(orders)
    settings = MailSettings.from_env()
    written, already, without_letter = 0, 0, []
    prepared: list[_Prepared] = []
    # Everything the letters need, read in one read-only session: on SQLite it takes no write lock, so the
    # other batches write meanwhile.
    with session_scope(db, writes=False) as session:
        ids = [order["category"] for order in orders]
        rows = {row.id: row for row in session.exec(select(LaCategory).where(LaCategory.id.in_(ids)))}
        missing = [i for i in ids if i not in rows]
        if missing:
            raise Refused(f"letter batch: no decision with id {missing[0]} in the database")
        schools = _school_rows(session, sorted({r.urn for r in rows.values()}))
        directory = Directory(session, {s.la for s in schools.values()})
        done = set(session.exec(select(Letter.key).where(Letter.urn.in_(list(schools)))).all())
        for order in orders:
            row = rows[order["category"]]
            decision = Decision(row, _previous(session, row))
            if not decision.changed:
                continue  # the same level again: no letter
            key = category_letter_key(decision)
            if key in done:
                already += 1
                continue
            school = schools[row.urn]
            rendered = render_category_letter(session, directory, school, policy_for(school.la), decision,
                                              order["basis"], as_of)
            if isinstance(rendered, str):
                without_letter.append(row.urn)
                continue
            party_school, letter = rendered
            prepared.append(_Prepared(key, school, party_school, letter, row.year, Path(), Path(), b""))
    for item in prepared:
        # The PDF is the costly part (0.3-0.8 s): made outside any transaction, from the very bytes written.
        item.pdf = html_to_pdf(item.letter.html.encode("utf-8"), title=item.letter.title)
        item.html_tmp, item.text_tmp = _write_temporary(
            letters_dir() / item.school.urn, _temporary_prefix(item.letter.filename_stem, item.key), item.letter)
        if _save_once(db, settings, item, as_of, checkpoint):
            written += 1
            checkpoint("written")
        else:
            already += 1
    return {"as_of": as_of.isoformat(), "orders": len(orders), "letters": written, "already_written": already,
            "without_letter": without_letter}

