"""What the import parsers hand back: plain frozen records, no database and no Prefect.

A parser never guesses: a value it cannot read becomes a `RowError` naming the column and the value,
and the row it came from is left out of `ParseResult.rows`, so one bad row never blocks the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


class NotRecognised(ValueError):
    """The file is not a file of the kind asked for (wrong headers, empty, binary).

    Raised before any row is read, so nothing from the wrong file reaches the database.
    """


@dataclass(frozen=True, slots=True)
class InspectionRecord:
    number: str | None
    start: date | None
    end: date | None
    published: date | None
    inspection_type: str | None
    # True for a full / section 5 / graded inspection (and report cards); False for an ungraded
    # (section 8) inspection, whose outcome text is kept in grades["outcome"].
    graded: bool
    overall: int | None  # 1-4; None when not applicable (9, 0), not judged (from Sep 2024) or missing
    category: str | None  # "SM", "RSI" (SWK is read as RSI) or "NTI"
    # Sub-judgements "1".."4" keyed e.g. "quality_of_education", or report-card areas keyed e.g.
    # "curriculum_and_teaching" with values exceptional|strong_standard|expected_standard|
    # needs_attention|urgent_improvement. Judgements not made are left out, not stored as None.
    grades: dict[str, str] = field(default_factory=dict)
    safeguarding: str | None = None  # "met" | "not_met"


@dataclass(frozen=True, slots=True)
class SchoolRecord:
    urn: str  # 6 digits
    laestab: str | None  # LA code + establishment number, e.g. "9313247"
    name: str
    la_name: str | None = None
    type_name: str | None = None  # GIAS type-of-establishment name, e.g. "Academy converter"
    phase: str | None = None
    predecessor_urn: str | None = None
    religious_character: str | None = None
    diocese: str | None = None
    trust: str | None = None
    status: str | None = None  # "open" | "closed"
    open_date: date | None = None
    close_date: date | None = None
    line: int | None = None  # physical line of the row in the file it was read from
    # The postal address, for letters (GIAS only): street, locality, address3, town, county, postcode.
    address: tuple[str | None, ...] = ()


@dataclass(frozen=True, slots=True)
class OfstedRow:
    line: int  # physical line of the row in the file; the header is line 1
    school: SchoolRecord
    latest: InspectionRecord | None  # latest graded inspection
    previous: InspectionRecord | None  # the graded inspection before it
    # Latest ungraded inspection, where the layout has one (releases from 2019 on).
    ungraded: InspectionRecord | None = None


@dataclass(frozen=True, slots=True)
class LinkRecord:
    line: int
    urn: str
    link_urn: str
    link_name: str | None
    link_type: str | None  # as GIAS writes it: "Predecessor", "Successor - merged", ...
    established: date | None


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    urn: str | None
    reason: str  # names the column and the bad value


@dataclass(frozen=True, slots=True)
class ParseResult:
    layout: str
    rows: list
    errors: list[RowError]
    rows_read: int  # data rows read, good and bad (blank lines are not rows)
