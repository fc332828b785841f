"""The Ofsted MI importer: a file's schools and their inspections, through the pathway machine."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session, select

from concerns.casework.cases import (
    record_inspection,
)
from concerns.domain.clock import FAR_FUTURE, OFSTED_BEGAN, Clock, FixedClock, check_date, today
from concerns.domain.judgements import (
    Judgement,
)
from concerns.domain.policy import Policy, policy_for
from concerns.ingest.load import digests
from concerns.ingest.load.bulk_write import FirstNotices, write_replayed
from concerns.ingest.load.history import mark_history, max_deadline_id
from concerns.ingest.load.ofsted_judgements import judgement_from_record
from concerns.ingest.load.replay import BoundMachine, Unreplayable, replay_school
from concerns.ingest.load.schools import (
    BATCH_SCHOOLS,
    Schools,
    chunks,
    fold,
    in_one_pass,
    schools_to_settle,
)
from concerns.ingest.load.settling import in_savepoint, settle_replaced_and_closed
from concerns.ingest.load.summary import ACTOR, ImportSummary, NotStateFunded, Refusal, RowRefused, Tally
from concerns.ingest.parse import (
    InspectionRecord,
    OfstedRow,
    read_ofsted,
)
from concerns.ingest.parse.csvfile import collector_paused
from concerns.ingest.parse.ofsted_csv import header_line
from concerns.store.db import session_scope
from models import Case, Inspection
from statemachines.case import SchoolFacts

# The school's columns the machine reads, in SchoolFacts' order (built positionally, once per school).
_FACT_COLUMNS = tuple(f.name for f in fields(SchoolFacts))
SOURCE = "ofsted-import"  # Inspection.source of the inspections an Ofsted import records


# --- Ofsted ---------------------------------------------------------------------------------------------


def import_ofsted(db: str | None, path: str | Path, *, as_of: date | None = None, la: str | None = None,
                  batch: int = BATCH_SCHOOLS, fast: bool = True, reuse: bool = True) -> ImportSummary:
    """Import an Ofsted management-information CSV (any layout read_ofsted knows).

    `la`: import only that authority's schools (rows naming another are counted, not imported; rows
    naming none are taken as the LA's). `as_of` (default today) decides which deadlines are history.
    `fast` False: every inspection through record_inspection, one savepoint per school; True: replayed
    in memory and written in bulk where that gives the same rows (see _OfstedWriter; the tests compare
    the two). `reuse` (the default): what an earlier import took in and nothing has changed since is left
    alone, unread (digests.py: a file, else each school's rows); False reads everything. Either way the
    digests of what this import took in are recorded. Raises NotRecognised, before writing anything,
    when the file is not an Ofsted MI CSV.
    """
    started = time.perf_counter()
    as_of = as_of or today()
    data = Path(path).read_bytes()
    context = digests.context(la)
    whole = digests.file_digest(context, data)
    # The fast way builds some hundred thousand small objects, none in a reference cycle, over a heap
    # holding the whole file: with the cycle collector paused it takes a fifth less CPU (measured on the
    # national file). The step-by-step way runs long and makes ORM objects, so it keeps the collector.
    with collector_paused() if fast else nullcontext(), session_scope(db) as session:
        connection = session.connection()
        known = digests.known_file(connection, whole) if reuse else None
        if known is not None:
            layout, _, listed = known
            summary = ImportSummary("ofsted", str(path), layout, as_of, file_unchanged=True)
            first_line = {urn: int(line) for urn, line in map(str.split, listed.splitlines())}
            summary.schools_unread = len(first_line)
            _settle(session, Schools(session, ()), summary, list(first_line), first_line, as_of)
            return _finished(summary, started)
        header = header_line(data)
        lines = digests.line_digests(data, header) if header is not None else None
        school_context = digests.header_context(context, data, header) if lines is not None else b""
        unread: dict[str, int] = {}  # URN -> first line, of the schools left alone
        only = None
        if reuse and lines is not None:
            unread, only = _unchanged_schools(session, path, data, lines, school_context)
        parsed = read_ofsted(path, data=data, only=only)  # NotRecognised here: nothing has been written
        summary = ImportSummary("ofsted", str(path), parsed.layout, as_of, rows_read=parsed.rows_read,
                                schools_unread=len(unread))
        summary.refused += [Refusal(e.line, e.urn, e.reason) for e in parsed.errors]
        by_urn: dict[str, list[OfstedRow]] = defaultdict(list)
        wanted = fold(la) if la else None
        for row in parsed.rows:
            if wanted and row.school.la_name and fold(row.school.la_name) != wanted:
                summary.rows_other_la += 1
                continue
            by_urn[row.school.urn].append(row)
        refused_urns = {e.urn for e in parsed.errors if e.urn}
        urns = list(by_urn)
        schools = Schools(session, urns)
        writer = _OfstedWriter(session, schools, urns, la)
        recorded: dict[str, str] = {}  # URN -> the digest recorded of its rows
        for part in chunks(urns, batch):
            plans = []
            noted = len(summary.refused), len(summary.skipped)
            for urn in part:
                rows = by_urn[urn]
                if urn in refused_urns:
                    # Another row of the same school was refused: take none of it rather than half.
                    summary.refused.append(Refusal(rows[0].line, urn, "another row of this school was refused"))
                    continue
                try:
                    plans.append(writer.plan(rows))
                except NotStateFunded as exc:
                    summary.skipped.append(Refusal(rows[0].line, urn, str(exc)))
                except (RowRefused, ValueError) as exc:
                    summary.refused.append(Refusal(rows[0].line, urn, str(exc)))
            step_by_step = writer.replay_and_write(plans, summary) if fast else plans
            if step_by_step:
                # One school at a time, each in its savepoint: a school the machine refuses changes nothing.
                mark_from = max_deadline_id(session)
                for plan in step_by_step:
                    in_savepoint(session, schools, summary, plan.urn, plan.line,
                                 lambda tally, plan=plan: writer.write_school(plan, tally))
                summary.deadlines_historical += mark_history(session, mark_from, {p.urn for p in step_by_step},
                                                             as_of)
            if lines is not None:
                # The rows of each school taken in whole, recorded with its writes (a later change to the
                # school deletes them by trigger).
                left_out = {r.urn for r in summary.refused[noted[0]:] + summary.skipped[noted[1]:]}
                taken = {urn: [lines[row.line] for row in by_urn[urn]] for urn in part
                         if urn not in left_out and urn not in refused_urns}
                taken = {urn: (digests.school_digest(school_context, found), found) for urn, found in taken.items()}
                digests.record_schools(session.connection(), taken)
                recorded.update((urn, value[0]) for urn, value in taken.items())
            session.commit()
        first_line = {urn: by_urn[urn][0].line for urn in urns} | unread
        clean = not summary.refused and not summary.skipped and not summary.rows_other_la
        _settle(session, schools, summary, [*urns, *unread], first_line, as_of)
        if clean and lines is not None:
            # Taken in whole: the file itself is known (if no school of it has changed since its batch).
            held = digests.known_schools(session.connection())
            expected = recorded | {urn: held[urn][0] for urn in unread if urn in held}
            if len(expected) == len(first_line) and digests.record_file(
                    session.connection(), whole, parsed.layout, parsed.rows_read + len(unread), first_line, expected):
                session.commit()
    return _finished(summary, started)


def _settle(session: Session, schools: Schools, summary: ImportSummary, urns: list[str],
            first_line: dict[str, int], as_of: date) -> None:
    """Once every school of the file is in: the predecessors its academies replaced, and the schools it
    says have closed."""
    mark_from = max_deadline_id(session)
    successors, closed = schools_to_settle(session, urns)
    lines = {urn: first_line[urn] for urn in closed}
    lines |= {pred: first_line[academy.urn] for pred, academy in successors.items()}
    touched = settle_replaced_and_closed(session, schools, summary, successors, closed, lines)
    summary.deadlines_historical += mark_history(session, mark_from, touched, as_of)


def _finished(summary: ImportSummary, started: float) -> ImportSummary:
    # By line: the replayed schools of a batch are tallied before those that went step by step.
    summary.refused.sort(key=_by_line)
    summary.skipped.sort(key=_by_line)
    summary.seconds = time.perf_counter() - started
    return summary


def _unchanged_schools(session: Session, path: str | Path, data: bytes, lines: dict[int, str],
                       school_context: bytes) -> tuple[dict[str, int], set[int] | None]:
    """(URN -> first line of each school whose rows are known and unchanged, the lines left to parse)."""
    held = digests.known_schools(session.connection())
    if not held:
        return {}, None
    owner = {line: urn for urn, (_, found) in held.items() for line in found.split()}
    by_school: dict[str, list[int]] = defaultdict(list)
    new_lines = []
    for number, digest in lines.items():
        urn = owner.get(digest)
        if urn is None:
            new_lines.append(number)
        else:
            by_school[urn].append(number)
    changed: set[str] = set()
    if new_lines:
        # Which schools the new lines are of: read them alone first.
        first = read_ofsted(path, data=data, only=new_lines)
        changed = {row.school.urn for row in first.rows} | {e.urn for e in first.errors if e.urn}
    unread = {}
    for urn, numbers in by_school.items():
        if urn in changed or digests.school_digest(school_context, (lines[n] for n in numbers)) != held[urn][0]:
            changed.add(urn)
        else:
            unread[urn] = numbers[0]
    read = set(new_lines)
    read.update(n for urn in changed for n in by_school.get(urn, ()))
    return unread, read


def _by_line(refusal: Refusal) -> tuple[int, str]:
    return (refusal.line if refusal.line is not None else 0, refusal.urn or "")


def _held_inspections(session: Session, urns: list[str]) -> dict[str, list[tuple[str, date]]]:
    """Ofsted's number (the key) and the publication date of each inspection held for these schools."""
    held: dict[str, list[tuple[str, date]]] = defaultdict(list)
    connection = session.connection()
    if in_one_pass(connection, len(urns)):
        # As the driver gives them (SQLAlchemy's handling of 40,000 rows cost two thirds of the read,
        # measured): SQLite's dates come as ISO text, PostgreSQL's as dates.
        wanted = set(urns)
        for urn, key, published in connection.exec_driver_sql("SELECT urn, key, published FROM inspection").all():
            if urn in wanted:
                held[urn].append((key, published if type(published) is date else date.fromisoformat(published)))
        return held
    table = Inspection.__table__
    query = select(table.c.urn, table.c.key, table.c.published)
    for chunk in chunks(urns):
        for urn, key, published in connection.execute(query.where(table.c.urn.in_(chunk))):
            held[urn].append((key, published))
    return held


def _with_open_ofsted_case(session: Session, urns: Iterable[str]) -> set[str]:
    # Open cases are a few thousand in the whole country: one query, then the file's among them.
    wanted = set(urns)
    return {urn for urn in session.exec(select(Case.urn).where(Case.closed.is_(None), Case.origin == "ofsted"))
            if urn in wanted}


@dataclass
class _SchoolPlan:
    """One school's part of the file, read and checked, nothing written yet."""

    urn: str
    line: int
    school: tuple[str, dict]  # Schools.plan
    inspections: list[tuple[int, InspectionRecord, Judgement, str | None]]  # new ones, oldest first
    skipped: list[Refusal]
    held: int  # inspections of the file already in the database


class _OfstedWriter:
    """Writes one file's schools and inspections; the state it needs is loaded once, in bulk.

    Two ways, which tests/test_import_equivalence.py and test_imports.py show give the same database,
    every column of every table:
    - step by step (`write_school`): every inspection through casework.record_inspection, one school per
      savepoint, so a school the machine refuses changes nothing and is reported with casework's reason;
    - replayed (`replay_and_write`, the default): the schools of a batch with no Ofsted case open are
      replayed in memory (replay.py) and written with one statement per table (bulk_write.py). A school
      with an Ofsted case already open (its cases live in the database), or one the replay cannot
      reproduce (the machine refuses an event), is handed back to go step by step.
    """

    def __init__(self, session: Session, schools: Schools, urns: list[str], la: str | None):
        self.session = session
        self.schools = schools
        self.la = la
        self.held = _held_inspections(session, urns)
        self.open_ofsted = _with_open_ofsted_case(session, urns)
        self.machine = BoundMachine()
        self.notices = FirstNotices()
        self.policies: dict[str, Policy] = {}  # by LA name: policy_for looks up its folders on every call
        # Today, read once for the whole file, as a plain datetime: the system clock names the zone, which
        # pendulum loads from disk on every call (0.13 ms; 40,000 inspections in a national file), and
        # pendulum's dates add a year slowly too.
        self.clock = FixedClock(datetime.combine(today(), datetime.min.time()))

    def plan(self, rows: list[OfstedRow]) -> _SchoolPlan:
        """Read one school's rows against what is held. Raises RowRefused / NotStateFunded."""
        urn = rows[0].school.urn
        school = self.schools.plan(rows[-1].school, self.la, says_open=False)
        held = self.held.get(urn, ())
        held_keys = {key for key, _ in held}
        # An inspection held under Ofsted's number is not judged again: nothing of it is used, and a file
        # imported again is nearly all such inspections (a third of the re-import's time went on them).
        records = [record for row in rows for record in (row.previous, row.latest) if record is not None]
        held_numbers = {record.number for record in records if record.number in held_keys}
        plan = _SchoolPlan(urn, rows[0].line, school, [], [], len(held_numbers))
        if all(record.number in held_numbers for record in records):
            return plan  # every inspection of the file held already: nothing more to read
        held_published = {published for _, published in held}
        latest_held = max(held_published, default=None)
        for line, record, judgement, category in school_inspections(rows, self.clock, held_numbers):
            # Matched by Ofsted's number (above), else by publication date: one school is not given two
            # reports on one day, and an inspection typed in by hand (no number) must not be recorded twice.
            if judgement.published in held_published:
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

    def replay_and_write(self, plans: list[_SchoolPlan], summary: ImportSummary) -> list[_SchoolPlan]:
        """Replay and write the batch's schools in bulk; returns the plans left to go step by step."""
        replayed, step_by_step, tallies = [], [], []
        for plan in plans:
            tally = Tally(school=plan.school[0], inspections_held=plan.held, skipped=list(plan.skipped))
            if plan.inspections:
                if plan.urn in self.open_ofsted:
                    step_by_step.append(plan)
                    continue
                facts, policy = self._facts(plan)
                try:
                    school = replay_school(self.machine, facts, policy, plan.inspections, source=SOURCE,
                                           actor=ACTOR)
                except Unreplayable:
                    step_by_step.append(plan)
                    continue
                replayed.append(school)
                done = school.tally  # spelt out: once per school, 22,000 times a national file
                tally.inspections_recorded, tally.cases_opened = done.inspections_recorded, done.cases_opened
                tally.cases_moved, tally.cases_closed = done.cases_moved, done.cases_closed
            tallies.append(tally)
        handed_back = {id(p) for p in step_by_step}
        written = [p for p in plans if id(p) not in handed_back]
        self.schools.insert_many([p.school[1] for p in written if p.school[0] == "new"])
        self.schools.update_many([(p.urn, p.school[1]) for p in written if p.school[0] == "changed"])
        summary.deadlines_historical += write_replayed(self.session.connection(), replayed, summary.as_of,
                                                       self.notices)
        for tally in tallies:
            tally.merge_into(summary)
        return step_by_step

    def _facts(self, plan: _SchoolPlan) -> tuple[SchoolFacts, Policy]:
        """The school as record_inspection would read it, once this plan's values are written."""
        values = plan.school[1]
        held = self.schools.get(plan.urn)
        if held is None:
            facts = SchoolFacts(*map(values.get, _FACT_COLUMNS))
        else:
            held_values = held._mapping  # by key: a Row's attribute access costs several times more
            facts = SchoolFacts(*(values[name] if name in values else held_values[name] for name in _FACT_COLUMNS))
        if facts.la not in self.policies:
            self.policies[facts.la] = policy_for(facts.la)
        return facts, self.policies[facts.la]

    def write_school(self, plan: _SchoolPlan, tally: Tally) -> None:
        kind, values = plan.school
        self.schools.write(plan.urn, kind, values)
        tally.school = kind
        tally.inspections_held += plan.held
        tally.skipped.extend(plan.skipped)
        for _, record, judgement, category in plan.inspections:
            result = record_inspection(self.session, plan.urn, judgement, number=record.number,
                                       category_code=category, inspection_type=record.inspection_type,
                                       source=SOURCE, actor=ACTOR)
            tally.add_events(result.events)
            tally.inspections_recorded += 1


def school_inspections(rows: list[OfstedRow], clock: Clock | None = None, leave_out: Collection[str] = ()
                       ) -> list[tuple[int, InspectionRecord, Judgement, str | None]]:
    """The rows' graded inspections with a judgement, each once, oldest first (the machine's order).

    `clock` says what today is (the system clock by default): a publication date more than a year after
    it is refused. Inspections whose Ofsted number is in `leave_out` are neither read nor returned."""
    found: dict[str, tuple[int, InspectionRecord, Judgement, str | None]] = {}
    latest_plausible = today(clock) + FAR_FUTURE  # check_date's bound for an inspection, once per school
    for row in rows:
        for record in (row.previous, row.latest):
            if record is None or record.number in leave_out:
                continue
            try:
                judged = judgement_from_record(record)
                if judged is not None and not OFSTED_BEGAN <= judged[0].published <= latest_plausible:
                    # A report "published" years ahead is a typo; recorded, it would refuse every real event.
                    check_date(judged[0].published, "inspection", "publication date", clock)
            except ValueError as exc:
                raise RowRefused(f"line {row.line}: {exc}") from None
            if judged is None:
                continue  # an inspection block with no judgement in it: nothing to record
            judgement, category = judged
            found.setdefault(record.number or judgement.published.isoformat(),
                             (row.line, record, judgement, category))
    return sorted(found.values(), key=lambda i: (i[2].published, i[2].on, i[1].number or ""))
