"""The GIAS links importer: predecessors linked, replaced schools converted, closed ones swept."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from sqlmodel import Session, select

from concerns.domain.clock import today
from concerns.ingest.load.history import mark_history, max_deadline_id
from concerns.ingest.load.schools import (
    Schools,
    fold,
    preload_schools,
)
from concerns.ingest.load.settling import in_savepoint, settle, urns_with_open_cases
from concerns.ingest.load.summary import ImportSummary, Refusal, RowRefused, Tally
from concerns.ingest.parse import (
    LinkRecord,
    ParseResult,
    read_links,
)
from concerns.store.db import session_scope
from models import Case, School
from models._base import utcnow

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
    wanted = fold(la) if la else None
    with session_scope(db) as session:
        # ORM Schools: a successor's predecessor_urn is set on the object itself.
        held = preload_schools(session, [urn for pair in pairs for urn in pair])
        schools = Schools(session, ())
        with_cases = urns_with_open_cases(session, [pred for pred, _ in pairs if pred in held])
        mark_from = max_deadline_id(session)
        touched: set[str] = set()
        for (pred_urn, succ_urn), link in pairs.items():
            pred, succ = held.get(pred_urn), held.get(succ_urn)
            if pred is None and succ is None:
                continue  # neither school is ours
            if wanted and not any(s is not None and fold(s.la) == wanted for s in (pred, succ)):
                summary.rows_other_la += 1
                continue
            if pred_urn not in with_cases and (succ is None or succ.predecessor_urn is not None):
                continue  # nothing to change: no savepoint needed

            def apply(tally: Tally, pred=pred, succ=succ, link=link, pred_urn=pred_urn, succ_urn=succ_urn) -> None:
                if succ is not None and succ.predecessor_urn is None:
                    succ.predecessor_urn = pred_urn
                    succ.updated_at = utcnow()
                    tally.predecessors_linked += 1
                    tally.school = "changed"
                if pred is None or pred_urn not in with_cases:
                    return
                if succ is None:
                    raise RowRefused(f"URN {pred_urn} has open cases and its successor URN {succ_urn} "
                                      f"({link.link_name or 'no name'}) is not registered: import the GIAS "
                                      "establishments file first")
                if pred.maintained and not succ.maintained:
                    settle(session, pred, tally, successor=succ, on=link.established)

            if in_savepoint(session, schools, summary, pred_urn, link.line, apply):
                touched.update({pred_urn, succ_urn})
        session.commit()
        touched |= _sweep_closed(session, schools, summary, wanted)
        summary.deadlines_historical += mark_history(session, mark_from, touched, as_of)
    summary.seconds = time.perf_counter() - started
    return summary


def _sweep_closed(session: Session, schools: Schools, summary: ImportSummary, wanted: str | None) -> set[str]:
    """Close the cases still open on schools recorded as closed (see import_gias_links)."""
    closed = session.exec(select(School).where(
        School.status == "closed", School.urn.in_(select(Case.urn).where(Case.closed.is_(None))))).all()
    touched: set[str] = set()
    for school in closed:
        if wanted and fold(school.la) != wanted:
            continue

        def apply(tally: Tally, school: School = school) -> None:
            settle(session, school, tally, sweep=True)

        if in_savepoint(session, schools, summary, school.urn, None, apply):
            touched.add(school.urn)
    session.commit()
    return touched

