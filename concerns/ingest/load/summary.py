"""What an import did, school by school: the summary a command prints and a flow returns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path

ACTOR = "import"


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
    file_unchanged: bool = False  # the file was taken in whole before and nothing changed since: not read
    schools_unread: int = 0  # schools whose rows were taken in before and nothing changed since: not read
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
        if self.file_unchanged:
            out.insert(1, f"  the file is the one imported before and nothing has changed since: not read; its "
                          f"{self.schools_unread} schools were left as they are")
        elif self.schools_unread:
            out.insert(1, f"  {self.schools_unread} schools' rows are the ones imported before and nothing has "
                          "changed since: not read, left as they are")
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
class Tally:
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
        # Spelt out rather than looped over by name: this runs once per school, 22,000 times a national file.
        summary.inspections_recorded += self.inspections_recorded
        summary.inspections_held += self.inspections_held
        summary.cases_opened += self.cases_opened
        summary.cases_moved += self.cases_moved
        summary.cases_closed += self.cases_closed
        summary.predecessors_linked += self.predecessors_linked
        if self.skipped:
            summary.skipped.extend(r if r.line is not None else replace(r, line=line) for r in self.skipped)


class RowRefused(Exception):
    """A school's rows cannot be applied: roll its savepoint back and report the reason."""


class NotStateFunded(Exception):
    """A correct row about a school with no pathway (independent, non-maintained special ...): skipped."""

