"""Loading Ofsted and GIAS files into the database: schools, inspections, and the cases they move.

The parsers (concerns/importers) turn a file into records; this module writes them, through the same
casework functions an officer's commands use, so an imported inspection opens, moves or closes cases
under exactly the rules a typed one does (the rule in force on the inspection's date).

How an import behaves (the issue's "safe imports"):
- A file that is not the kind asked for raises `NotRecognised` before anything is written.
- Each school goes in all or nothing: a school whose row cannot be applied (a bad value the parser
  refused, an event the state machine refuses) changes nothing, and is reported with the line it came
  from and why; every other school goes in. Schools are committed in batches, for speed; a batch in which
  the machine refuses something is rolled back and written again one savepoint per school.
- Importing the same file again changes nothing: schools are compared field by field, inspections are
  matched by Ofsted's inspection number (else the publication date), and cases only move on new
  inspections.
- History is not news: a deadline the import creates that was already past on `as_of` is marked
  `historical` (no reminder, no `missed`, no escalation) unless it is still live, see `still_live`.

Decisions (each also in the issue report):
- Overall effectiveness 4 with no category code (files before categories were coded, or a blank
  cell) is read as serious weaknesses: inadequate always means one of the two categories, and of the
  two it claims the lesser; special measures is only recorded where the file says SM.
- Sep 2024 - Nov 2025 inspections have no overall grade: the worst key judgement stands in for it.
- Ungraded (section 8) inspections are not recorded: they do not change a school's grade, and an
  ungraded visit that finds serious concerns is converted into a graded one, which the file then lists.
- An Ofsted MI file lists a new academy's predecessor's inspection under the academy's URN until the
  academy is inspected itself; it is recorded as the file gives it (the academy's record, which also
  carries the predecessor URN), so the register matches the file.
- GIAS: a school that is not state-funded (independent, non-maintained special, further education ...)
  is skipped with its reason, not refused: it is a correct row about a school the LA has no pathway for.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, insert, or_, update
from sqlmodel import Session, select

from concerns.casework import (
    Refused,
    inspection_key,
    open_case_rows,
    record_authority_policy,
    record_event,
    record_inspection,
)
from concerns.clock import today
from concerns.db import session_scope
from concerns.importers import (
    InspectionRecord,
    LinkRecord,
    NotRecognised,
    OfstedRow,
    ParseResult,
    SchoolRecord,
    read_establishments,
    read_links,
    read_ofsted,
)
from concerns.importers.gias_csv import read_gias
from concerns.judgements import (
    AREAS,
    CATEGORY_OUTCOME,
    OVERALL_GRADE_OUTCOME,
    Grade,
    Judgement,
    JudgementError,
    Outcome,
    regime_on,
    summarise,
)
from concerns.schooltypes import UnknownSchoolType, canonical_type, is_maintained
from models import Case, Deadline, Inspection, InspectionGrade, School
from models._base import utcnow

__all__ = [
    "ACTOR",
    "ImportSummary",
    "NotRecognised",
    "Refusal",
    "import_file",
    "import_gias",
    "import_gias_establishments",
    "import_gias_links",
    "import_ofsted",
    "judgement_from_record",
    "still_live",
]

ACTOR = "import"
SOURCE = "ofsted-import"  # Inspection.source of the inspections an Ofsted import records
# Schools per committed batch: large enough that commits (an fsync each on SQLite) cost little, small
# enough that a crash loses little work (a rerun completes it: imports are idempotent).
BATCH_SCHOOLS = 500
# SQLite allows 999 bound parameters per statement before 3.32; IN lists are chunked below that.
CHUNK = 900
# How long a past-due deadline on a still-open case stays news: about one school term (13 weeks).
LIVE_WINDOW = timedelta(weeks=13)


# --- the summary --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """A row (or school) that was not imported, or was only partly: where, which school, and why."""

    line: int | None
    urn: str | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        return f"{where}{f' URN {self.urn}' if self.urn else ''}: {self.reason}"


@dataclass
class ImportSummary:
    """What an import did: printed by the command (`lines()`), returned by the flow (`to_dict()`)."""

    kind: str  # ofsted | gias-establishments | gias-links
    file: str
    layout: str = ""
    as_of: date | None = None
    rows_read: int = 0
    rows_other_la: int = 0  # rows of other authorities, left out when `la` was given
    schools_new: int = 0
    schools_changed: int = 0
    schools_unchanged: int = 0
    inspections_recorded: int = 0
    inspections_held: int = 0  # already in the database: not recorded again
    cases_opened: int = 0
    cases_moved: int = 0  # events on cases that stayed open (new state, or same state with new deadlines)
    cases_closed: int = 0
    deadlines_historical: int = 0
    predecessors_linked: int = 0  # academies whose predecessor_urn this import set
    refused: list[Refusal] = field(default_factory=list)  # bad rows: nothing of that school went in
    skipped: list[Refusal] = field(default_factory=list)  # correct rows deliberately left out, and why
    seconds: float = 0.0

    @property
    def rows_refused(self) -> int:
        return len({(r.line, r.urn) for r in self.refused})

    @property
    def changed_anything(self) -> bool:
        return any((self.schools_new, self.schools_changed, self.inspections_recorded, self.cases_opened,
                    self.cases_moved, self.cases_closed, self.deadlines_historical, self.predecessors_linked))

    def to_dict(self) -> dict:
        doc = asdict(self)
        doc["as_of"] = self.as_of.isoformat() if self.as_of else None
        doc["rows_refused"] = self.rows_refused
        doc["refused"] = [asdict(r) for r in self.refused]
        doc["skipped"] = [asdict(r) for r in self.skipped]
        doc["seconds"] = round(self.seconds, 3)
        return doc

    def lines(self, *, limit: int = 20) -> list[str]:
        """A human summary; refusals and skips are listed up to `limit` each, then counted."""
        out = [
            f"{self.kind} import of {Path(self.file).name} ({self.layout or 'layout unknown'}), as of "
            f"{self.as_of.isoformat() if self.as_of else '-'}: {self.seconds:.1f} s",
            f"  rows read: {self.rows_read}; refused: {self.rows_refused}; skipped: {len(self.skipped)}"
            + (f"; other authorities: {self.rows_other_la}" if self.rows_other_la else ""),
            f"  schools: {self.schools_new} new, {self.schools_changed} changed, {self.schools_unchanged} unchanged",
        ]
        if self.kind == "ofsted":
            out.append(f"  inspections: {self.inspections_recorded} recorded, {self.inspections_held} already held")
        out.append(f"  cases: {self.cases_opened} opened, {self.cases_moved} moved, {self.cases_closed} closed")
        out.append(f"  deadlines already past, recorded as history: {self.deadlines_historical}")
        if self.predecessors_linked:
            out.append(f"  academies linked to their predecessor: {self.predecessors_linked}")
        for title, items in (("refused", self.refused), ("skipped", self.skipped)):
            if items:
                out.append(f"  {title}:")
                out += [f"    {item}" for item in items[:limit]]
                if len(items) > limit:
                    out.append(f"    ... and {len(items) - limit} more")
        return out


@dataclass
class _Tally:
    """One school's contribution, kept apart until its savepoint commits (a rollback discards it)."""

    school: str = ""  # new | changed | unchanged
    inspections_recorded: int = 0
    inspections_held: int = 0
    cases_opened: int = 0
    cases_moved: int = 0
    cases_closed: int = 0
    predecessors_linked: int = 0
    skipped: list[Refusal] = field(default_factory=list)

    def add_events(self, events: Iterable) -> None:
        for ev in events:
            if ev.opened:
                self.cases_opened += 1
            elif ev.transitioned.closed:
                self.cases_closed += 1
            else:
                self.cases_moved += 1

    def merge_into(self, summary: ImportSummary, line: int | None = None) -> None:
        if self.school:
            setattr(summary, f"schools_{self.school}", getattr(summary, f"schools_{self.school}") + 1)
        for name in ("inspections_recorded", "inspections_held", "cases_opened", "cases_moved", "cases_closed",
                     "predecessors_linked"):
            setattr(summary, name, getattr(summary, name) + getattr(self, name))
        summary.skipped.extend(r if r.line is not None else replace(r, line=line) for r in self.skipped)


class _RowRefused(Exception):
    """A school's rows cannot be applied: roll its savepoint back and report the reason."""


class _NotStateFunded(Exception):
    """A correct row about a school with no pathway (independent, non-maintained special ...): skipped."""


# --- Ofsted judgements -----------------------------------------------------------------------------------

_GRADE_VALUES = frozenset(g.value for g in Grade)


def judgement_from_record(record: InspectionRecord) -> tuple[Judgement, str | None] | None:
    """The Judgement an MI inspection record stands for, and its category code; None if it has none.

    Category SM -> special measures; RSI (SWK) / NTI -> serious weaknesses; else overall 1/2/3 ->
    outstanding / good / requires improvement; overall 4 with no category -> serious weaknesses (see the
    module notes); no overall grade (Sep 2024 on) -> the worst key judgement. Report cards -> areas.
    Raises ValueError, naming the value, for an inspection that cannot be placed in time.
    """
    if record.published is None:
        if record.overall is None and record.category is None and not record.grades:
            return None
        which = f"inspection {record.number}" if record.number else "an inspection"
        raise ValueError(f"{which} has grades but no publication date")
    if record.start and record.start > record.published:
        raise ValueError(f"inspection start date {record.start.isoformat()} is after its publication date "
                         f"{record.published.isoformat()}")
    areas = {k: Grade(v) for k, v in record.grades.items() if k in AREAS and v in _GRADE_VALUES}
    if areas:
        return (Judgement(published=record.published, inspected=record.start, areas=areas,
                          safeguarding=record.safeguarding, graded=record.graded), record.category)
    outcome = _outcome(record)
    if outcome is None:
        return None
    return (Judgement(published=record.published, inspected=record.start, outcome=outcome,
                      safeguarding=record.safeguarding, graded=record.graded), record.category)


def _outcome(record: InspectionRecord) -> Outcome | None:
    if record.category:
        return CATEGORY_OUTCOME[record.category]
    overall = record.overall
    if overall is None:
        numeric = [int(v) for v in record.grades.values() if v in ("1", "2", "3", "4")]
        overall = max(numeric) if numeric else None
    if overall is None:
        return None
    return OVERALL_GRADE_OUTCOME.get(overall, Outcome.serious_weaknesses)


# --- history is not news ------------------------------------------------------------------------------


def still_live(due: date, case_open: bool, as_of: date) -> bool:
    """Whether a deadline is still news on `as_of` (only asked of deadlines an import creates).

    Future deadlines (due on or after as_of) always are. A past-due one is live only while its case is
    still open and it fell due within the last term (LIVE_WINDOW, 13 weeks): e.g. the statement of action
    for a report published last month, not yet recorded as sent, is a real omission an officer must
    chase; the statement of action for a school that went into special measures two years ago, or the
    monitoring window of a case closed since, is history, and reminding anyone of it would be noise.
    """
    if due >= as_of:
        return True
    return case_open and due >= as_of - LIVE_WINDOW


def _mark_history(session: Session, after_id: int, urns: set[str], as_of: date) -> int:
    """Mark historical the deadlines created since `after_id` for these schools that are not live."""
    session.flush()
    rows = session.exec(select(Deadline.id, Deadline.urn, Deadline.due, Case.closed)
                        .join(Case, Case.id == Deadline.case_id)
                        .where(Deadline.id > after_id, Deadline.due < as_of, Deadline.historical.is_(False))).all()
    ids = [d_id for d_id, urn, due, closed in rows if urn in urns and not still_live(due, closed is None, as_of)]
    for chunk in _chunks(ids):
        session.execute(update(Deadline).where(Deadline.id.in_(chunk)).values(historical=True))
    return len(ids)


def _max_deadline_id(session: Session) -> int:
    return session.exec(select(func.max(Deadline.id))).one() or 0


# --- schools ----------------------------------------------------------------------------------------------


def _chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _fold(name: str) -> str:
    return " ".join(name.replace("-", " ").split()).casefold()


def _preload_schools(session: Session, urns: Iterable[str]) -> dict[str, School]:
    urns = list(dict.fromkeys(urns))
    found: dict[str, School] = {}
    for chunk in _chunks(urns):
        for school in session.exec(select(School).where(School.urn.in_(chunk))):
            found[school.urn] = school
    return found


_INSERT_SCHOOL = insert(School.__table__)


class _Schools:
    """The schools of one import: the ones already held, loaded in bulk; new ones inserted with Core
    statements (an ORM School costs more to build than to insert, at 22,000 a file)."""

    def __init__(self, session: Session, urns: Iterable[str]):
        self.session = session
        self.by_urn = _preload_schools(session, urns)  # held before the import (ORM objects)
        self.policies_recorded: set[str] = set()

    def get(self, urn: str) -> School | None:
        return self.by_urn.get(urn)

    def plan(self, record: SchoolRecord, la: str | None, *, says_open: bool = True) -> tuple[str, dict]:
        """What the record does to the school: ("new", row values), ("changed", changes) or ("unchanged",
        {}). Raises _RowRefused (cannot register it) or _NotStateFunded. Writes nothing.

        `says_open` False: the file's "open" is only implied (an Ofsted MI file lists the schools open at
        its date), so it sets the status of a new school but never reopens one another source closed.
        """
        existing = self.by_urn.get(record.urn)
        try:
            type_name = canonical_type(record.type_name) if record.type_name else None
        except UnknownSchoolType:
            raise _NotStateFunded(f"not a state-funded school type ({record.type_name}): no pathway applies") from None
        la_name = record.la_name or la
        values = {"name": record.name, "la": la_name, "type_name": type_name, "laestab": record.laestab,
                  "phase": record.phase, "religious_character": record.religious_character,
                  "diocese": record.diocese, "trust": record.trust, "predecessor_urn": record.predecessor_urn,
                  "status": record.status, "opened_on": record.open_date, "closed_on": record.close_date}
        if type_name:
            values["maintained"] = is_maintained(type_name)
        # A value the file does not give is left as it is: an Ofsted file says nothing of the diocese, a
        # GIAS extract may lack a column, and neither should blank what another source set.
        values = {k: v for k, v in values.items() if v is not None}
        if existing is None:
            if not type_name:
                raise _RowRefused("Type of education: missing, and the school is not yet registered")
            if not la_name:
                raise _RowRefused("Local authority: missing, and the school is not yet registered")
            now = utcnow()
            row = dict.fromkeys(_SCHOOL_COLUMNS) | {"status": "open"} | values
            return "new", row | {"urn": record.urn, "created_at": now, "updated_at": now}
        if not says_open and values.get("status") == "open":
            del values["status"]
        changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
        return ("changed", changed) if changed else ("unchanged", {})

    def write(self, urn: str, kind: str, values: dict) -> None:
        if kind == "new":
            self._record_policy(values["la"])
            self.session.connection().execute(_INSERT_SCHOOL, values)
        elif kind == "changed":
            existing = self.by_urn[urn]
            if "la" in values:
                self._record_policy(values["la"])
            for k, v in values.items():
                setattr(existing, k, v)
            existing.updated_at = utcnow()

    def insert_many(self, rows: list[dict]) -> None:
        for la in dict.fromkeys(row["la"] for row in rows):
            self._record_policy(la)
        if rows:
            self.session.connection().execute(_INSERT_SCHOOL, rows)

    def _record_policy(self, la: str) -> None:
        if la not in self.policies_recorded:
            record_authority_policy(self.session, la)
            self.session.flush()  # the policy row before any school of its LA
            self.policies_recorded.add(la)

    def forget(self) -> None:
        """After a rollback: a policy recorded inside it is gone too (recording one again is harmless)."""
        self.policies_recorded.clear()


_SCHOOL_COLUMNS = tuple(c.name for c in School.__table__.columns)


def _schools_to_settle(session: Session, urns: Sequence[str]) -> tuple[dict[str, School], list[str]]:
    """Among a file's schools: academies naming a predecessor (predecessor URN -> academy), and the closed."""
    successors: dict[str, School] = {}
    closed: list[str] = []
    for chunk in _chunks(urns):
        for school in session.exec(select(School).where(
                School.urn.in_(chunk), or_(School.predecessor_urn.is_not(None), School.status == "closed"))):
            if school.predecessor_urn and not school.maintained:
                successors[school.predecessor_urn] = school
            if school.status == "closed":
                closed.append(school.urn)
    return successors, closed


# --- closures and conversions ----------------------------------------------------------------------------


def _urns_with_open_cases(session: Session, urns: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(list(dict.fromkeys(urns))):
        found.update(session.exec(select(Case.urn).where(Case.urn.in_(chunk), Case.closed.is_(None))).all())
    return found


def _close_cases(session: Session, school: School, *, on: date, event: str, note: str, tally: _Tally) -> None:
    """Close every open case of the school with `event` (convert_to_academy or close_school) on `on`."""
    for row in open_case_rows(session, school.urn):
        try:
            result = record_event(session, school.urn, event, on=on, actor=ACTOR, pathway=row.pathway, note=note)
        except Refused as exc:
            raise _RowRefused(str(exc)) from None
        tally.add_events([result])


def _successor_academy(session: Session, school: School, hint: School | None) -> School | None:
    """The academy known to have replaced this maintained school: `hint` (from the file being imported),
    else a school in the database naming it as its predecessor."""
    if not school.maintained:
        return None
    candidates = [hint] if hint is not None else session.exec(
        select(School).where(School.predecessor_urn == school.urn)).all()
    return next((s for s in candidates if s is not None and not s.maintained), None)


def _settle(session: Session, school: School, tally: _Tally, *, successor: School | None = None,
            on: date | None = None, sweep: bool = False) -> bool:
    """Close the open cases of a school that an academy has replaced, or that has closed.

    - A maintained school an academy replaced: `convert_to_academy` on `on` (the link's date), else the
      academy's open date, else the school's close date. The academy's record names its predecessor, so
      its history stays one step away.
    - A closed school with no academy successor: with `sweep` (the links import, which knows every
      successor) `close_school` on its close date; otherwise its cases are left open and it is reported,
      because an establishments file alone cannot say whether the school converted or just closed.
    Returns whether cases were closed.
    """
    academy = _successor_academy(session, school, successor)
    if academy is not None:
        on = on or academy.opened_on or school.closed_on
        if on is None:
            raise _RowRefused(f"replaced by academy {academy.urn}, but neither the link, the academy's open date "
                              "nor the school's close date gives the conversion date")
        _close_cases(session, school, on=on, event="convert_to_academy",
                     note=f"Converted to an academy: {academy.name} (URN {academy.urn})", tally=tally)
        return True
    if school.status != "closed":
        return False
    if not sweep:
        closed = f" on {school.closed_on.isoformat()}" if school.closed_on else ""
        tally.skipped.append(Refusal(None, school.urn, f"closed{closed} with open cases, left open for now: the "
                                     "GIAS links import closes them (as converted, or as closed)"))
        return False
    if school.closed_on is None:
        raise _RowRefused("closed with open cases but no close date: record close_school by hand")
    _close_cases(session, school, on=school.closed_on, event="close_school",
                 note=f"School closed on {school.closed_on.isoformat()} (GIAS)", tally=tally)
    return True


def _settle_replaced_and_closed(session: Session, schools: _Schools, summary: ImportSummary,
                                successors: dict[str, School], closed: Iterable[str],
                                lines: dict[str, int | None]) -> set[str]:
    """After a school pass: predecessors the file's academies replaced, and schools it says closed."""
    candidates = _urns_with_open_cases(session, [*successors, *closed])
    held = _preload_schools(session, candidates)
    touched: set[str] = set()
    for urn in candidates:
        school = held[urn]

        def apply(tally: _Tally, school: School = school) -> None:
            _settle(session, school, tally, successor=successors.get(school.urn))

        if _in_savepoint(session, schools, summary, urn, lines.get(urn), apply):
            touched.add(urn)
    session.commit()
    return touched


def _in_savepoint(session: Session, schools: _Schools, summary: ImportSummary, urn: str, line: int | None,
                  apply: Callable[[_Tally], object]) -> bool:
    """Apply one school's changes in a savepoint: all of them, or (refused) none, with the reason."""
    tally = _Tally()
    savepoint = session.begin_nested()
    try:
        apply(tally)
        session.flush()
    except _NotStateFunded as exc:  # raised before anything of the school was written
        savepoint.rollback()
        summary.skipped.append(Refusal(line, urn, str(exc)))
        return False
    except (_RowRefused, Refused, JudgementError, ValueError) as exc:
        savepoint.rollback()
        schools.forget()
        summary.refused.append(Refusal(line, urn, str(exc)))
        return False
    savepoint.commit()
    tally.merge_into(summary, line)
    return True


# --- Ofsted ---------------------------------------------------------------------------------------------


def import_ofsted(db: str | None, path: str | Path, *, as_of: date | None = None, la: str | None = None,
                  batch: int = BATCH_SCHOOLS, fast: bool = True) -> ImportSummary:
    """Import an Ofsted management-information CSV (any layout read_ofsted knows).

    `la`: import only that authority's schools (rows naming another are counted, not imported; rows
    naming none are taken as the LA's). `as_of` (default today) decides which deadlines are history.
    `fast` False: every inspection through record_inspection, one savepoint per school (see
    _OfstedWriter; the tests compare the two). Raises NotRecognised, before writing anything, when the
    file is not an Ofsted MI CSV.
    """
    started = time.perf_counter()
    as_of = as_of or today()
    parsed = read_ofsted(path)  # NotRecognised here: nothing has been written
    summary = ImportSummary("ofsted", str(path), parsed.layout, as_of, rows_read=parsed.rows_read)
    summary.refused += [Refusal(e.line, e.urn, e.reason) for e in parsed.errors]
    by_urn: dict[str, list[OfstedRow]] = defaultdict(list)
    wanted = _fold(la) if la else None
    for row in parsed.rows:
        if wanted and row.school.la_name and _fold(row.school.la_name) != wanted:
            summary.rows_other_la += 1
            continue
        by_urn[row.school.urn].append(row)
    refused_urns = {e.urn for e in parsed.errors if e.urn}
    urns = list(by_urn)
    with session_scope(db) as session:
        schools = _Schools(session, urns)
        writer = _OfstedWriter(session, schools, urns, la, fast=fast)
        for part in _chunks(urns, batch):
            mark_from = _max_deadline_id(session)
            plans = []
            for urn in part:
                rows = by_urn[urn]
                if urn in refused_urns:
                    # Another row of the same school was refused: take none of it rather than half.
                    summary.refused.append(Refusal(rows[0].line, urn, "another row of this school was refused"))
                    continue
                try:
                    plans.append(writer.plan(rows))
                except _NotStateFunded as exc:
                    summary.skipped.append(Refusal(rows[0].line, urn, str(exc)))
                except (_RowRefused, ValueError) as exc:
                    summary.refused.append(Refusal(rows[0].line, urn, str(exc)))
            if not (fast and writer.write_batch(plans, summary)):
                # One at a time, each in its savepoint: a school the machine refuses changes nothing.
                for plan in plans:
                    _in_savepoint(session, schools, summary, plan.urn, plan.line,
                                  lambda tally, plan=plan: writer.write_school(plan, tally))
            summary.deadlines_historical += _mark_history(session, mark_from, set(part), as_of)
            session.commit()
        # Once every school of the file is in: the predecessors its academies replaced, and the schools it
        # says have closed.
        mark_from = _max_deadline_id(session)
        successors, closed = _schools_to_settle(session, urns)
        lines = {urn: by_urn[urn][0].line for urn in closed}
        lines |= {pred: by_urn[academy.urn][0].line for pred, academy in successors.items()}
        touched = _settle_replaced_and_closed(session, schools, summary, successors, closed, lines)
        summary.deadlines_historical += _mark_history(session, mark_from, touched, as_of)
    summary.seconds = time.perf_counter() - started
    return summary


def _held_inspections(session: Session, urns: list[str]) -> dict[str, list[tuple[str, date]]]:
    held: dict[str, list[tuple[str, date]]] = defaultdict(list)
    for chunk in _chunks(urns):
        for urn, key, published in session.exec(select(Inspection.urn, Inspection.key, Inspection.published)
                                                .where(Inspection.urn.in_(chunk))):
            held[urn].append((key, published))
    return held


def _with_open_ofsted_case(session: Session, urns: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(list(urns)):
        found.update(session.exec(select(Case.urn).where(Case.urn.in_(chunk), Case.closed.is_(None),
                                                         Case.origin == "ofsted")).all())
    return found


@dataclass
class _SchoolPlan:
    """One school's part of the file, read and checked, nothing written yet."""

    urn: str
    line: int
    school: tuple[str, dict]  # _Schools.plan
    inspections: list[tuple[int, InspectionRecord, Judgement, str | None]]  # new ones, oldest first
    skipped: list[Refusal]
    held: int  # inspections of the file already in the database


_INSERT_INSPECTION = insert(Inspection.__table__)
_INSERT_INSPECTION_RETURNING = insert(Inspection.__table__).returning(Inspection.__table__.c.id,
                                                                      sort_by_parameter_order=True)
_INSERT_GRADE = insert(InspectionGrade.__table__)


class _OfstedWriter:
    """Writes one file's schools and inspections; the state it needs is loaded once, in bulk.

    Speed (the national file has ~22,000 rows and ~43,000 inspections):
    - Most inspections are good or outstanding on a school with no Ofsted case open. For those
      `record_inspection` would insert the inspection and then find nothing to carry (no case to move,
      none to open), so they are inserted here, in the same form, many rows per statement. Every
      inspection that can open, move or close a case goes through `record_inspection` and the machine.
    - A batch is first written without savepoints (two statements per school saved); should the machine
      refuse anything in it, the batch is rolled back and written again one school per savepoint, so a
      refused school still changes nothing. tests/test_imports.py checks that both ways, and the
      all-`record_inspection` way, give the same database.
    """

    def __init__(self, session: Session, schools: _Schools, urns: list[str], la: str | None, *, fast: bool):
        self.session = session
        self.schools = schools
        self.la = la
        self.fast = fast
        self.held = _held_inspections(session, urns)
        self.open_ofsted = _with_open_ofsted_case(session, urns)

    def plan(self, rows: list[OfstedRow]) -> _SchoolPlan:
        """Read one school's rows against what is held. Raises _RowRefused / _NotStateFunded."""
        urn = rows[0].school.urn
        school = self.schools.plan(rows[-1].school, self.la, says_open=False)
        held = self.held.get(urn, ())
        held_keys = {key for key, _ in held}
        held_published = {published for _, published in held}
        latest_held = max(held_published, default=None)
        plan = _SchoolPlan(urn, rows[0].line, school, [], [], 0)
        for line, record, judgement, category in self._inspections(rows):
            # Matched by Ofsted's number, else by publication date: one school is not given two reports on
            # one day, and an inspection typed in by hand (no number) must not be recorded twice.
            if (record.number and record.number in held_keys) or judgement.published in held_published:
                plan.held += 1
            elif latest_held and judgement.published < latest_held:
                # The database already has a later inspection of this school: cases cannot be moved back
                # in time (history is not rewritten), so the older one stays out.
                plan.skipped.append(Refusal(line, urn, f"inspection {record.number or ''} published "
                                            f"{judgement.published.isoformat()} is older than the school's "
                                            f"latest recorded inspection ({latest_held.isoformat()}); not recorded"))
            else:
                plan.inspections.append((line, record, judgement, category))
        return plan

    def write_batch(self, plans: list[_SchoolPlan], summary: ImportSummary) -> bool:
        """Write a batch without savepoints; False (all rolled back) if the machine refused anything."""
        tallies = []
        opened_before = set(self.open_ofsted)
        try:
            self.schools.insert_many([p.school[1] for p in plans if p.school[0] == "new"])
            pending: list[tuple] = []
            for plan in plans:
                tally = _Tally(school=plan.school[0])
                if plan.school[0] == "changed":
                    self.schools.write(plan.urn, "changed", plan.school[1])
                self._inspect(plan, tally, pending)
                tallies.append(tally)
            self._insert(pending)
            self.session.flush()
        except (_RowRefused, Refused, JudgementError, ValueError):
            self.session.rollback()
            self.schools.forget()
            self.open_ofsted = opened_before
            return False
        for tally in tallies:
            tally.merge_into(summary)
        return True

    def write_school(self, plan: _SchoolPlan, tally: _Tally) -> None:
        kind, values = plan.school
        self.schools.write(plan.urn, kind, values)
        tally.school = kind
        pending: list[tuple] = []
        self._inspect(plan, tally, pending)
        self._insert(pending)

    def _inspect(self, plan: _SchoolPlan, tally: _Tally, pending: list[tuple]) -> None:
        tally.inspections_held += plan.held
        tally.skipped.extend(plan.skipped)
        for _, record, judgement, category in plan.inspections:
            summary = summarise(judgement)
            if self.fast and summary.level == "good" and plan.urn not in self.open_ofsted:
                pending.append((plan.urn, record, judgement, summary, category))
            else:
                result = record_inspection(self.session, plan.urn, judgement, number=record.number,
                                           category_code=category, inspection_type=record.inspection_type,
                                           source=SOURCE, actor=ACTOR)
                tally.add_events(result.events)
                # record_inspection fires the judgement on every open Ofsted case of the school (and
                # opens one if none stays open), so its events say which stay open; no query needed.
                if any(not ev.transitioned.closed for ev in result.events):
                    self.open_ofsted.add(plan.urn)
                elif result.events:
                    self.open_ofsted.discard(plan.urn)
            tally.inspections_recorded += 1

    @staticmethod
    def _inspections(rows: list[OfstedRow]) -> list[tuple[int, InspectionRecord, Judgement, str | None]]:
        """The rows' graded inspections with a judgement, each once, oldest first (the machine's order)."""
        found: dict[str, tuple[int, InspectionRecord, Judgement, str | None]] = {}
        for row in rows:
            for record in (row.previous, row.latest):
                if record is None:
                    continue
                try:
                    judged = judgement_from_record(record)
                except ValueError as exc:
                    raise _RowRefused(f"line {row.line}: {exc}") from None
                if judged is None:
                    continue  # an inspection block with no judgement in it: nothing to record
                judgement, category = judged
                found.setdefault(record.number or judgement.published.isoformat(),
                                 (row.line, record, judgement, category))
        return sorted(found.values(), key=lambda i: (i[2].published, i[2].on, i[1].number or ""))

    def _insert(self, pending: list[tuple]) -> None:
        """The inspection rows record_inspection would write for inspections that move no case."""
        if not pending:
            return
        now = utcnow()
        rows = [dict(
            urn=urn, key=inspection_key(record.number, judgement.published, judgement.inspected),
            number=record.number, inspected=judgement.inspected, inspected_end=None, published=judgement.published,
            regime="report_card" if judgement.is_report_card else regime_on(judgement.on),
            outcome=judgement.outcome.value if judgement.outcome else None,
            category=category or {"sm": "SM", "rsi": "RSI"}.get(summary.level), level=summary.level,
            safeguarding=judgement.safeguarding, graded=judgement.graded, inspection_type=record.inspection_type,
            source=SOURCE, created_at=now) for urn, record, judgement, summary, category in pending]
        # Core statements on the session's connection: no ORM objects and no autoflush, which at this
        # volume cost more than the inserts themselves.
        connection = self.session.connection()
        with_areas = [i for i, (_, _, judgement, _, _) in enumerate(pending) if judgement.areas]
        if not with_areas:
            connection.execute(_INSERT_INSPECTION, rows)
            return
        ids = connection.execute(_INSERT_INSPECTION_RETURNING, rows).scalars().all()
        connection.execute(_INSERT_GRADE, [{"inspection_id": ids[i], "area": area, "grade": str(grade)}
                                           for i in with_areas for area, grade in pending[i][2].areas.items()])


# --- GIAS ---------------------------------------------------------------------------------------------------


def import_gias(db: str | None, path: str | Path, *, as_of: date | None = None, la: str | None = None,
                batch: int = BATCH_SCHOOLS) -> ImportSummary:
    """Import a GIAS establishments CSV or a GIAS links CSV, told apart by the header.

    The file is read once. Raises NotRecognised (nothing written) when the file is neither.
    """
    parsed = read_gias(path)
    if parsed.layout == "gias-links":
        return import_gias_links(db, path, as_of=as_of, la=la, parsed=parsed)
    return import_gias_establishments(db, path, as_of=as_of, la=la, batch=batch, parsed=parsed)


def import_gias_establishments(db: str | None, path: str | Path, *, as_of: date | None = None,
                               la: str | None = None, batch: int = BATCH_SCHOOLS,
                               parsed: ParseResult | None = None) -> ImportSummary:
    """Upsert schools from a GIAS (EduBase) all-establishments CSV.

    Type (GIAS name: maintained or academy), LA, LAESTAB, phase, religious character, diocese, trust,
    open / closed and the dates. A closed school with open cases: converted when the academy that replaced
    it is known, else reported and left for the links import. "Proposed to open" rows are skipped.
    """
    started = time.perf_counter()
    as_of = as_of or today()
    parsed = parsed or read_establishments(path)
    summary = ImportSummary("gias-establishments", str(path), parsed.layout, as_of, rows_read=parsed.rows_read)
    summary.refused += [Refusal(e.line, e.urn, e.reason) for e in parsed.errors]
    wanted = _fold(la) if la else None
    records: dict[str, SchoolRecord] = {}
    for record in parsed.rows:
        if wanted and record.la_name and _fold(record.la_name) != wanted:
            summary.rows_other_la += 1
        elif record.status is None:
            summary.skipped.append(Refusal(record.line, record.urn, "proposed to open: not a school yet"))
        else:
            records[record.urn] = record
    urns = list(records)
    lines = {urn: record.line for urn, record in records.items()}
    with session_scope(db) as session:
        schools = _Schools(session, urns)
        for part in _chunks(urns, batch):
            # Only a school's own values can be wrong here (no case moves), and they are all checked
            # before anything is written: no savepoints needed.
            new, tallies = [], []
            for urn in part:
                try:
                    kind, values = schools.plan(records[urn], la)
                except _NotStateFunded as exc:
                    summary.skipped.append(Refusal(lines.get(urn), urn, str(exc)))
                    continue
                except _RowRefused as exc:
                    summary.refused.append(Refusal(lines.get(urn), urn, str(exc)))
                    continue
                if kind == "new":
                    new.append(values)
                else:
                    schools.write(urn, kind, values)
                tallies.append(_Tally(school=kind))
            schools.insert_many(new)
            session.commit()
            for tally in tallies:
                tally.merge_into(summary)
        mark_from = _max_deadline_id(session)
        _, closed = _schools_to_settle(session, urns)
        touched = _settle_replaced_and_closed(session, schools, summary, {}, closed, dict(lines))
        summary.deadlines_historical += _mark_history(session, mark_from, touched, as_of)
    summary.seconds = time.perf_counter() - started
    return summary


# GIAS link types that mean "this school became that one", one to one. Merges, amalgamations and splits
# are many to one or one to many: they set no predecessor and convert nothing; the schools they close
# are closed by the sweep at the end of the links import.
SUCCESSOR_TYPES = frozenset({"successor"})
PREDECESSOR_TYPES = frozenset({"predecessor"})


def import_gias_links(db: str | None, path: str | Path, *, as_of: date | None = None,
                      la: str | None = None, parsed: ParseResult | None = None) -> ImportSummary:
    """Apply a GIAS links CSV: predecessor -> successor URNs, and what they mean for open cases.

    For each one-to-one link (a Successor or a Predecessor row, read from either side):
    - a successor we hold with no predecessor yet gets `predecessor_urn`, so its `case show` reaches the
      predecessor's history;
    - a maintained predecessor with open cases replaced by an academy we hold: the cases close with
      `convert_to_academy` on the link's date, else the academy's open date;
    - a predecessor with open cases whose successor we do not hold is refused with the reason (import
      the establishments file first): an unknown school is not guessed to be an academy.
    Then the sweep: every school recorded as closed that still has open cases has them closed with
    `close_school` on its close date (or converted, if an academy names it as predecessor): the links
    file covers the country, so a closed school it gives no academy for closed without converting.
    """
    started = time.perf_counter()
    as_of = as_of or today()
    parsed = parsed or read_links(path)
    summary = ImportSummary("gias-links", str(path), parsed.layout, as_of, rows_read=parsed.rows_read)
    summary.refused += [Refusal(e.line, e.urn, e.reason) for e in parsed.errors]
    pairs: dict[tuple[str, str], LinkRecord] = {}
    for link in parsed.rows:
        kind = (link.link_type or "").strip().casefold()
        if kind in SUCCESSOR_TYPES:
            pair = (link.urn, link.link_urn)
        elif kind in PREDECESSOR_TYPES:
            pair = (link.link_urn, link.urn)
        else:
            continue
        known = pairs.get(pair)
        if known is None or (known.established is None and link.established is not None):
            pairs[pair] = link
    wanted = _fold(la) if la else None
    with session_scope(db) as session:
        schools = _Schools(session, [urn for pair in pairs for urn in pair])
        with_cases = _urns_with_open_cases(session, [pred for pred, _ in pairs if schools.get(pred)])
        mark_from = _max_deadline_id(session)
        touched: set[str] = set()
        for (pred_urn, succ_urn), link in pairs.items():
            pred, succ = schools.get(pred_urn), schools.get(succ_urn)
            if pred is None and succ is None:
                continue  # neither school is ours
            if wanted and not any(s is not None and _fold(s.la) == wanted for s in (pred, succ)):
                summary.rows_other_la += 1
                continue
            if pred_urn not in with_cases and (succ is None or succ.predecessor_urn is not None):
                continue  # nothing to change: no savepoint needed

            def apply(tally: _Tally, pred=pred, succ=succ, link=link, pred_urn=pred_urn, succ_urn=succ_urn) -> None:
                if succ is not None and succ.predecessor_urn is None:
                    succ.predecessor_urn = pred_urn
                    succ.updated_at = utcnow()
                    tally.predecessors_linked += 1
                    tally.school = "changed"
                if pred is None or pred_urn not in with_cases:
                    return
                if succ is None:
                    raise _RowRefused(f"URN {pred_urn} has open cases and its successor URN {succ_urn} "
                                      f"({link.link_name or 'no name'}) is not registered: import the GIAS "
                                      "establishments file first")
                if pred.maintained and not succ.maintained:
                    _settle(session, pred, tally, successor=succ, on=link.established)

            if _in_savepoint(session, schools, summary, pred_urn, link.line, apply):
                touched.update({pred_urn, succ_urn})
        session.commit()
        touched |= _sweep_closed(session, schools, summary, wanted)
        summary.deadlines_historical += _mark_history(session, mark_from, touched, as_of)
    summary.seconds = time.perf_counter() - started
    return summary


def _sweep_closed(session: Session, schools: _Schools, summary: ImportSummary, wanted: str | None) -> set[str]:
    """Close the cases still open on schools recorded as closed (see import_gias_links)."""
    closed = session.exec(select(School).where(
        School.status == "closed", School.urn.in_(select(Case.urn).where(Case.closed.is_(None))))).all()
    touched: set[str] = set()
    for school in closed:
        if wanted and _fold(school.la) != wanted:
            continue

        def apply(tally: _Tally, school: School = school) -> None:
            _settle(session, school, tally, sweep=True)

        if _in_savepoint(session, schools, summary, school.urn, None, apply):
            touched.add(school.urn)
    session.commit()
    return touched


# --- one entry point for the command and the flow ---------------------------------------------------------------


def import_file(db: str | None, kind: str, path: str | Path, *, as_of: date | None = None,
                la: str | None = None) -> ImportSummary:
    """`concerns import ofsted|gias FILE`: the import of that kind."""
    if kind == "ofsted":
        return import_ofsted(db, path, as_of=as_of, la=la)
    if kind == "gias":
        return import_gias(db, path, as_of=as_of, la=la)
    raise ValueError(f"unknown import kind {kind!r}: ofsted or gias")
