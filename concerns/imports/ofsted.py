"""The Ofsted MI importer: a file's schools and their inspections, through the pathway machine."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session, select

from concerns.casework import (
    Refused,
    inspection_key,
    record_inspection,
)
from concerns.clock import today
from concerns.db import session_scope
from concerns.importers import (
    InspectionRecord,
    OfstedRow,
    read_ofsted,
)
from concerns.imports.history import mark_history, max_deadline_id
from concerns.imports.ofsted_judgements import judgement_from_record
from concerns.imports.schools import (
    BATCH_SCHOOLS,
    Schools,
    chunks,
    fold,
    schools_to_settle,
)
from concerns.imports.settling import in_savepoint, settle_replaced_and_closed
from concerns.imports.summary import ACTOR, ImportSummary, NotStateFunded, Refusal, RowRefused, Tally
from concerns.judgements import (
    Judgement,
    JudgementError,
    regime_on,
    summarise,
)
from models import Case, Inspection, InspectionGrade
from models._base import utcnow

SOURCE = "ofsted-import"  # Inspection.source of the inspections an Ofsted import records


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
    wanted = fold(la) if la else None
    for row in parsed.rows:
        if wanted and row.school.la_name and fold(row.school.la_name) != wanted:
            summary.rows_other_la += 1
            continue
        by_urn[row.school.urn].append(row)
    refused_urns = {e.urn for e in parsed.errors if e.urn}
    urns = list(by_urn)
    with session_scope(db) as session:
        schools = Schools(session, urns)
        writer = _OfstedWriter(session, schools, urns, la, fast=fast)
        for part in chunks(urns, batch):
            mark_from = max_deadline_id(session)
            plans = []
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
            if not (fast and writer.write_batch(plans, summary)):
                # One at a time, each in its savepoint: a school the machine refuses changes nothing.
                for plan in plans:
                    in_savepoint(session, schools, summary, plan.urn, plan.line,
                                  lambda tally, plan=plan: writer.write_school(plan, tally))
            summary.deadlines_historical += mark_history(session, mark_from, set(part), as_of)
            session.commit()
        # Once every school of the file is in: the predecessors its academies replaced, and the schools it
        # says have closed.
        mark_from = max_deadline_id(session)
        successors, closed = schools_to_settle(session, urns)
        lines = {urn: by_urn[urn][0].line for urn in closed}
        lines |= {pred: by_urn[academy.urn][0].line for pred, academy in successors.items()}
        touched = settle_replaced_and_closed(session, schools, summary, successors, closed, lines)
        summary.deadlines_historical += mark_history(session, mark_from, touched, as_of)
    summary.seconds = time.perf_counter() - started
    return summary


def _held_inspections(session: Session, urns: list[str]) -> dict[str, list[tuple[str, date]]]:
    held: dict[str, list[tuple[str, date]]] = defaultdict(list)
    for chunk in chunks(urns):
        for urn, key, published in session.exec(select(Inspection.urn, Inspection.key, Inspection.published)
                                                .where(Inspection.urn.in_(chunk))):
            held[urn].append((key, published))
    return held


def _with_open_ofsted_case(session: Session, urns: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(list(urns)):
        found.update(session.exec(select(Case.urn).where(Case.urn.in_(chunk), Case.closed.is_(None),
                                                         Case.origin == "ofsted")).all())
    return found


@dataclass
class _SchoolPlan:
    """One school's part of the file, read and checked, nothing written yet."""

    urn: str
    line: int
    school: tuple[str, dict]  # Schools.plan
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

    def __init__(self, session: Session, schools: Schools, urns: list[str], la: str | None, *, fast: bool):
        self.session = session
        self.schools = schools
        self.la = la
        self.fast = fast
        self.held = _held_inspections(session, urns)
        self.open_ofsted = _with_open_ofsted_case(session, urns)

    def plan(self, rows: list[OfstedRow]) -> _SchoolPlan:
        """Read one school's rows against what is held. Raises RowRefused / NotStateFunded."""
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
                tally = Tally(school=plan.school[0])
                if plan.school[0] == "changed":
                    self.schools.write(plan.urn, "changed", plan.school[1])
                self._inspect(plan, tally, pending)
                tallies.append(tally)
            self._insert(pending)
            self.session.flush()
        except (RowRefused, Refused, JudgementError, ValueError):
            self.session.rollback()
            self.schools.forget()
            self.open_ofsted = opened_before
            return False
        for tally in tallies:
            tally.merge_into(summary)
        return True

    def write_school(self, plan: _SchoolPlan, tally: Tally) -> None:
        kind, values = plan.school
        self.schools.write(plan.urn, kind, values)
        tally.school = kind
        pending: list[tuple] = []
        self._inspect(plan, tally, pending)
        self._insert(pending)

    def _inspect(self, plan: _SchoolPlan, tally: Tally, pending: list[tuple]) -> None:
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
                    raise RowRefused(f"line {row.line}: {exc}") from None
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

