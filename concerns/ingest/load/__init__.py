"""Loading Ofsted and GIAS files into the database: schools, inspections, and the cases they move.

The parsers (concerns/ingest/parse) turn a file into records; this package writes them, one importer per
file kind (ofsted.py, gias_establishments.py, gias_links.py) sharing the school upsert (schools.py),
history marking (history.py), closures and conversions (settling.py) and the summary (summary.py). An
imported inspection opens, moves or closes cases under exactly the rules a typed one does (the rule in
force on the inspection's date), through the same pathway machine.

Two ways to write an Ofsted file, which give the same database (tests/test_import_equivalence.py and
test_imports.py compare every column of every table, on SQLite and PostgreSQL):
- step by step (`import_ofsted(..., fast=False)`): every inspection through
  `casework.record_inspection`, as `concerns inspection add` records one;
- fast (the default): each school's new inspections are replayed in memory (replay.py: the same
  transition table, deadline factories and extra facts, on one machine whose model is bound once) and a
  batch's rows are written with one Core executemany per table (bulk_write.py). A school whose Ofsted
  case is already open in the database, or whose replay the machine refuses, goes step by step.
The Inspection row itself is built in one place for both, `casework.inspection_values`.

How an import behaves (the issue's "safe imports"):
- A file that is not the kind asked for raises `NotRecognised` before anything is written.
- Each school goes in all or nothing: a school whose row cannot be applied (a bad value the parser
  refused, an event the state machine refuses) changes nothing, and is reported with the line it came
  from and why; every other school goes in. Schools are committed in batches, for speed; a school the
  machine refuses goes step by step, in its own savepoint, and is refused with casework's reason.
- Importing the same file again changes nothing: schools are compared field by field with the rows held
  (read in one pass), inspections are matched by Ofsted's inspection number (else the publication
  date) against the keys held (one query per 900 schools), and cases only move on new inspections.
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

from datetime import date
from pathlib import Path

from concerns.ingest.load.gias_establishments import import_gias_establishments
from concerns.ingest.load.gias_links import import_gias_links
from concerns.ingest.load.history import still_live
from concerns.ingest.load.ofsted import import_ofsted
from concerns.ingest.load.ofsted_judgements import judgement_from_record
from concerns.ingest.load.schools import BATCH_SCHOOLS
from concerns.ingest.load.summary import ACTOR, ImportSummary, Refusal
from concerns.ingest.parse import NotRecognised
from concerns.ingest.parse.gias_csv import read_gias

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



# --- one entry point for the command and the flow ---------------------------------------------------------------


def import_file(db: str | None, kind: str, path: str | Path, *, as_of: date | None = None,
                la: str | None = None) -> ImportSummary:
    """`concerns import ofsted|gias FILE`: the import of that kind."""
    if kind == "ofsted":
        return import_ofsted(db, path, as_of=as_of, la=la)
    if kind == "gias":
        return import_gias(db, path, as_of=as_of, la=la)
    raise ValueError(f"unknown import kind {kind!r}: ofsted or gias")
