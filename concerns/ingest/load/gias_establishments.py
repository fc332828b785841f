"""The GIAS establishments importer: schools upserted, then the closed and replaced settled."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from concerns.domain.clock import today
from concerns.ingest.load.history import mark_history, max_deadline_id
from concerns.ingest.load.schools import (
    BATCH_SCHOOLS,
    Schools,
    chunks,
    fold,
    schools_to_settle,
)
from concerns.ingest.load.settling import settle_replaced_and_closed
from concerns.ingest.load.summary import ImportSummary, NotStateFunded, Refusal, RowRefused, Tally
from concerns.ingest.parse import (
    ParseResult,
    SchoolRecord,
    read_establishments,
)
from concerns.store.db import session_scope


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
    wanted = fold(la) if la else None
    records: dict[str, SchoolRecord] = {}
    for record in parsed.rows:
        if wanted and record.la_name and fold(record.la_name) != wanted:
            summary.rows_other_la += 1
        elif record.status is None:
            summary.skipped.append(Refusal(record.line, record.urn, "proposed to open: not a school yet"))
        else:
            records[record.urn] = record
    urns = list(records)
    lines = {urn: record.line for urn, record in records.items()}
    with session_scope(db) as session:
        schools = Schools(session, urns)
        for part in chunks(urns, batch):
            # Only a school's own values can be wrong here (no case moves), and they are all checked
            # before anything is written: no savepoints needed.
            new, changed, tallies = [], [], []
            for urn in part:
                try:
                    kind, values = schools.plan(records[urn], la)
                except NotStateFunded as exc:
                    summary.skipped.append(Refusal(lines.get(urn), urn, str(exc)))
                    continue
                except RowRefused as exc:
                    summary.refused.append(Refusal(lines.get(urn), urn, str(exc)))
                    continue
                if kind == "new":
                    new.append(values)
                elif kind == "changed":
                    changed.append((urn, values))
                tallies.append(Tally(school=kind))
            schools.insert_many(new)
            schools.update_many(changed)
            session.commit()
            for tally in tallies:
                tally.merge_into(summary)
        mark_from = max_deadline_id(session)
        _, closed = schools_to_settle(session, urns)
        touched = settle_replaced_and_closed(session, schools, summary, {}, closed, dict(lines))
        summary.deadlines_historical += mark_history(session, mark_from, touched, as_of)
    summary.seconds = time.perf_counter() - started
    return summary
