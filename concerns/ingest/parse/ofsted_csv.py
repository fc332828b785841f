"""Parser for Ofsted's management-information CSVs of state-funded school inspections.

One row per open school, with its latest inspections. Three layouts are recognised by their headers:

- "mi-2017": "Maintained schools and academies inspections and outcomes" (e.g. as at 31 Dec 2017):
  latest and previous inspection with overall effectiveness, category of concern and the common
  inspection framework sub-judgements (outcomes for pupils, quality of teaching ...).
- "state-funded-2024": "State-funded schools inspections and outcomes" releases up to 31 Aug 2025:
  latest and previous *graded* inspection with the 2019 framework's key judgements (quality of
  education, behaviour and attitudes ...), "Safeguarding is effective?", and the latest *ungraded*
  inspection. Overall effectiveness is "Not judged" for inspections from Sep 2024.
- "state-funded-2025": the monthly "latest inspections" releases from Nov 2025: the latest full
  inspection as a report card (area grades, "Safeguarding standards"), the latest graded inspection
  under the previous framework ("Latest OEIF ..."), and the latest ungraded inspection.

`latest` is the school's latest graded inspection and `previous` the graded one before it. In the 2025
layout that is the report card then the OEIF inspection, or the OEIF inspection alone when the school
has no report card yet.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress
from pathlib import Path

from concerns.domain.formatting import slashed_date
from concerns.ingest.parse.csvfile import (
    CsvTable,
    Reading,
    collector_paused,
    decode,
    field_reader,
    find_table,
    open_table,
    picker,
    read_date,
)
from concerns.ingest.parse.gias_csv import read_descriptive, read_type_name, read_urn
from concerns.ingest.parse.records import (
    InspectionRecord,
    NotRecognised,
    OfstedRow,
    ParseResult,
    RowError,
    SchoolRecord,
)

# Header spellings by field, first match wins. Headers are compared in normal form (case, spacing and
# punctuation dropped: see csvfile.normalise_header), so only real renames need listing here.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    # the school
    "urn": ("URN",),
    "laestab": ("LAESTAB",),
    "school_name": ("School name",),
    "la_name": ("Local authority",),
    "type_of_education": ("Type of education",),
    "phase": ("Phase of education", "Ofsted phase"),
    "predecessor_urn": ("Predecessor URN",),
    "religious_character": ("Designated religious character", "Religious character"),
    "trust": ("Multi-academy trust name",),
    "open_date": ("School open date", "Provider open date - QA"),
    "close_date": ("Provider closed date - QA",),
    # latest graded inspection (a report card in the 2025 layout, which calls it the latest "full" one)
    "inspection_number": (
        "Inspection number of latest graded inspection",
        "Inspection number of latest full inspection",
        "Inspection number",
    ),
    "inspection_type": ("Inspection type",),
    "inspection_start": ("Inspection start date",),
    "inspection_end": ("Inspection end date",),
    "publication_date": ("Publication date",),
    "urn_at_time": ("URN at time of latest graded inspection", "URN at time of latest full inspection"),
    "overall_effectiveness": ("Overall effectiveness", "Overall effectiveness grade"),
    "category_of_concern": ("Category of concern",),
    "outcomes_for_pupils": ("Outcomes for pupils",),
    "quality_of_teaching": ("Quality of teaching, learning and assessment",),
    "quality_of_education": ("Quality of education",),
    "behaviour_and_attitudes": ("Behaviour and attitudes",),
    "personal_development": ("Personal development, behaviour and welfare", "Personal development"),
    "leadership_and_management": ("Effectiveness of leadership and management", "Leadership and management"),
    "early_years": ("Early years provision (where applicable)", "Early years provision"),
    "sixth_form": ("16 - 19 study programmes", "Sixth form provision (where applicable)", "Sixth form provision"),
    "safeguarding": ("Safeguarding standards", "Safeguarding is effective?"),
    "rc_inclusion": ("Inclusion",),
    "rc_curriculum_and_teaching": ("Curriculum and teaching",),
    "rc_achievement": ("Achievement",),
    "rc_attendance_and_behaviour": ("Attendance and behaviour",),
    "rc_personal_development": ("Personal development and wellbeing", "Personal development and well-being"),
    "rc_leadership_and_governance": ("Leadership and governance",),
    "rc_early_years": ("Early years (where applicable)", "Early years"),
    "rc_sixth_form": ("Post-16 provision (where applicable)", "Post-16 provision", "Sixth form (where applicable)"),
    # previous graded inspection
    "previous_inspection_number": (
        "Previous graded inspection number",
        "Previous full inspection number",
        "Previous inspection number",
    ),
    "previous_inspection_start": ("Previous inspection start date",),
    "previous_inspection_end": ("Previous inspection end date",),
    "previous_publication_date": ("Previous publication date",),
    "previous_urn_at_time": ("URN at time of previous graded inspection", "URN at time of previous full inspection"),
    "previous_overall_effectiveness": (
        "Previous graded inspection overall effectiveness",
        "Previous full inspection overall effectiveness",
        "Previous overall effectiveness",
    ),
    "previous_category_of_concern": ("Previous category of concern",),
    "previous_outcomes_for_pupils": ("Previous outcomes for pupils",),
    "previous_quality_of_teaching": ("Previous quality of teaching, learning and assessment",),
    "previous_quality_of_education": ("Previous quality of education",),
    "previous_behaviour_and_attitudes": ("Previous behaviour and attitudes",),
    "previous_personal_development": (
        "Previous personal development, behaviour and welfare",
        "Previous personal development",
    ),
    "previous_leadership_and_management": ("Previous effectiveness of leadership and management",),
    "previous_early_years": ("Previous early years provision (where applicable)",),
    "previous_sixth_form": ("Previous 16 - 19 study programmes", "Previous sixth form provision (where applicable)"),
    "previous_safeguarding": ("Previous safeguarding is effective?",),
    # latest graded inspection under the framework before report cards (2025 layout)
    "oeif_inspection_number": ("Inspection number of latest OEIF graded inspection",),
    "oeif_inspection_type": ("Inspection type of latest OEIF graded inspection",),
    "oeif_inspection_start": ("Inspection start date of latest OEIF graded inspection",),
    "oeif_publication_date": ("Publication date of latest OEIF graded inspection",),
    "oeif_urn_at_time": ("URN at time of latest OEIF graded inspection",),
    "oeif_overall_effectiveness": ("Latest OEIF overall effectiveness",),
    "oeif_category_of_concern": ("Latest OEIF category of concern",),
    "oeif_quality_of_education": ("Latest OEIF quality of education",),
    "oeif_behaviour_and_attitudes": ("Latest OEIF behaviour and attitudes",),
    "oeif_personal_development": ("Latest OEIF personal development",),
    "oeif_leadership_and_management": ("Latest OEIF effectiveness of leadership and management",),
    "oeif_early_years": ("Latest OEIF early years provision (where applicable)",),
    "oeif_sixth_form": ("Latest OEIF sixth form provision (where applicable)",),
    "oeif_safeguarding": ("Latest OEIF safeguarding is effective?",),
    # latest ungraded (section 8) inspection
    "ungraded_inspection_number": (
        "Latest ungraded inspection number since last graded inspection",
        "Latest ungraded inspection number",
    ),
    "ungraded_inspection_start": ("Date of latest ungraded inspection",),
    "ungraded_publication_date": ("Ungraded inspection publication date",),
    "ungraded_urn_at_time": ("URN at time of the ungraded inspection",),
    "ungraded_outcome": ("Ungraded inspection overall outcome",),
}


@dataclass(frozen=True)
class InspectionColumns:
    """Which fields of a layout describe one inspection (None: the layout has no such column)."""

    number: str
    start: str
    published: str
    end: str | None = None
    inspection_type: str | None = None
    overall: str | None = None
    category: str | None = None
    urn_at_time: str | None = None
    grades: Mapping[str, str] = field(default_factory=dict)  # judgement key -> field, graded 1-4
    areas: Mapping[str, str] = field(default_factory=dict)  # report-card area -> field
    safeguarding: str | None = None
    outcome: str | None = None  # an ungraded inspection's outcome, e.g. "School remains Good"
    graded: bool = True

    @cached_property
    def fields(self) -> tuple[str, ...]:
        """The fields that carry this inspection's results: all empty means there is no inspection."""
        singles = (self.number, self.start, self.published, self.end, self.overall, self.category,
                   self.safeguarding, self.outcome)
        return tuple(f for f in singles if f) + tuple(self.grades.values()) + tuple(self.areas.values())

    @cached_property
    def singles(self) -> tuple[str | None, ...]:
        """The fields of InspectionRecord's single values, in its order: number, start, end, published,
        inspection type, overall, category, safeguarding (read with one map() per inspection)."""
        return (self.number, self.start, self.end, self.published, self.inspection_type, self.overall,
                self.category, self.safeguarding)

    @cached_property
    def judgements(self) -> tuple[tuple[str, str], ...]:
        """(key in InspectionRecord.grades, field) for sub-judgements and report-card areas alike."""
        return tuple(self.grades.items()) + tuple(self.areas.items())


@dataclass(frozen=True)
class Layout:
    name: str
    required: tuple[str, ...]  # without these, a file is not of this layout
    graded: tuple[InspectionColumns, ...]  # newest first: latest, then previous
    ungraded: InspectionColumns | None = None


def _judgements(prefix: str, keys: tuple[str, ...]) -> dict[str, str]:
    return {key: prefix + key for key in keys}


CIF_JUDGEMENTS = ("outcomes_for_pupils", "quality_of_teaching", "leadership_and_management",
                  "personal_development", "early_years", "sixth_form")
EIF_JUDGEMENTS = ("quality_of_education", "behaviour_and_attitudes", "personal_development",
                  "leadership_and_management", "early_years", "sixth_form")
REPORT_CARD_AREAS = ("inclusion", "curriculum_and_teaching", "achievement", "attendance_and_behaviour",
                     "personal_development", "leadership_and_governance", "early_years", "sixth_form")


def _latest(judgements: tuple[str, ...]) -> InspectionColumns:
    return InspectionColumns(
        number="inspection_number", start="inspection_start", published="publication_date",
        end="inspection_end", inspection_type="inspection_type", overall="overall_effectiveness",
        category="category_of_concern", urn_at_time="urn_at_time",
        grades=_judgements("", judgements), safeguarding="safeguarding",
    )


def _previous(judgements: tuple[str, ...]) -> InspectionColumns:
    return InspectionColumns(
        number="previous_inspection_number", start="previous_inspection_start",
        published="previous_publication_date", end="previous_inspection_end",
        overall="previous_overall_effectiveness", category="previous_category_of_concern",
        urn_at_time="previous_urn_at_time", grades=_judgements("previous_", judgements),
        safeguarding="previous_safeguarding",
    )


UNGRADED = InspectionColumns(
    number="ungraded_inspection_number", start="ungraded_inspection_start",
    published="ungraded_publication_date", urn_at_time="ungraded_urn_at_time",
    outcome="ungraded_outcome", graded=False,
)

REPORT_CARD = InspectionColumns(
    number="inspection_number", start="inspection_start", published="publication_date",
    end="inspection_end", inspection_type="inspection_type", category="category_of_concern",
    urn_at_time="urn_at_time", areas=_judgements("rc_", REPORT_CARD_AREAS), safeguarding="safeguarding",
)

OEIF = InspectionColumns(
    number="oeif_inspection_number", start="oeif_inspection_start", published="oeif_publication_date",
    inspection_type="oeif_inspection_type", overall="oeif_overall_effectiveness",
    category="oeif_category_of_concern", urn_at_time="oeif_urn_at_time",
    grades=_judgements("oeif_", EIF_JUDGEMENTS), safeguarding="oeif_safeguarding",
)

SCHOOL_REQUIRED = ("urn", "school_name")

# Most specific first. The columns that decide a category of concern are required, so a renamed one
# stops the import (NotRecognised) instead of silently reading every school as "no category".
LAYOUTS = (
    Layout(
        name="state-funded-2025",
        required=SCHOOL_REQUIRED + (
            "inspection_start", "publication_date", "category_of_concern", "safeguarding",
            "rc_inclusion", "rc_curriculum_and_teaching", "rc_achievement", "rc_attendance_and_behaviour",
            "rc_personal_development", "rc_leadership_and_governance",
            "oeif_inspection_start", "oeif_overall_effectiveness", "oeif_category_of_concern",
        ),
        graded=(REPORT_CARD, OEIF),
        ungraded=UNGRADED,
    ),
    Layout(
        name="state-funded-2024",
        required=SCHOOL_REQUIRED + (
            "inspection_start", "publication_date", "overall_effectiveness", "category_of_concern",
            "quality_of_education", "previous_overall_effectiveness", "previous_category_of_concern",
        ),
        graded=(_latest(EIF_JUDGEMENTS), _previous(EIF_JUDGEMENTS)),
        ungraded=UNGRADED,
    ),
    Layout(
        name="mi-2017",
        required=SCHOOL_REQUIRED + (
            "inspection_start", "publication_date", "overall_effectiveness", "category_of_concern",
            "outcomes_for_pupils", "previous_overall_effectiveness", "previous_category_of_concern",
        ),
        graded=(_latest(CIF_JUDGEMENTS), _previous(CIF_JUDGEMENTS)),
    ),
)
_LAYOUT_BY_NAME = {layout.name: layout for layout in LAYOUTS}


# --- values -------------------------------------------------------------------------------------

# Overall effectiveness: 9 and 0 mean "not applicable"; "Not judged" is written for graded
# inspections from Sep 2024, which no longer give an overall grade.
OVERALL_NOT_GIVEN = frozenset({"9", "0", "not judged", "not applicable"})
# Sub-judgements also use 8: in the 2017 Oxfordshire file it appears only in the early-years columns, and
# only for inspections made between Jan and Jun 2012. Its meaning is not documented where we looked; it
# is read as "no grade given" rather than refusing 31 real rows.
JUDGEMENT_NOT_GIVEN = OVERALL_NOT_GIVEN | {"8"}
GRADES_1_TO_4 = frozenset({"1", "2", "3", "4"})


def parse_overall(text: str) -> int | None:
    if text in GRADES_1_TO_4:
        return int(text)
    if text.lower() in OVERALL_NOT_GIVEN:
        return None
    raise ValueError(f"{text!r} is not a grade (1-4, 9 = not applicable)")


def parse_judgement(text: str) -> str | None:
    if text in GRADES_1_TO_4:
        return text
    if text.lower() in JUDGEMENT_NOT_GIVEN:
        return None
    raise ValueError(f"{text!r} is not a grade (1-4; 8, 9 = not applicable)")


REPORT_CARD_GRADES = frozenset(
    {"exceptional", "strong_standard", "expected_standard", "needs_attention", "urgent_improvement"}
)


_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")


def _word_key(text: str) -> str:
    return _NOT_ALPHANUMERIC.sub("_", text.lower()).strip("_")


def parse_area_grade(text: str) -> str | None:
    """A report-card grade as its key ("Strong standard" -> "strong_standard").

    "Not applicable" (a school without early years or a sixth form) is None.
    """
    key = _word_key(text)
    if key in REPORT_CARD_GRADES:
        return key
    if key in {"not_applicable", "not_judged", "9"}:
        return None
    raise ValueError(
        f"{text!r} is not a report-card grade "
        "(exceptional, strong standard, expected standard, needs attention, urgent improvement)"
    )


# Category of concern: the codes Ofsted MI uses, and the words. Serious weaknesses is the old name of
# "requires significant improvement" (EA 2005 s.44), so SWK is read as RSI.
CATEGORIES = {
    "sm": "SM",
    "special_measures": "SM",
    "swk": "RSI",
    "serious_weaknesses": "RSI",
    "rsi": "RSI",
    "requires_significant_improvement": "RSI",
    "nti": "NTI",
    "notice_to_improve": "NTI",
    "not_applicable": None,
}


def parse_category(text: str) -> str | None:
    try:
        return CATEGORIES[_word_key(text)]
    except KeyError:
        raise ValueError(f"{text!r} is not a category of concern (SM, SWK, RSI, NTI or blank)") from None


# "Safeguarding is effective?" says Yes/No; report cards' "Safeguarding standards" say Met/Not met.
SAFEGUARDING = {"yes": "met", "met": "met", "no": "not_met", "not_met": "not_met",
                "9": None, "not_applicable": None, "not_judged": None}


def parse_safeguarding(text: str) -> str | None:
    try:
        return SAFEGUARDING[_word_key(text)]
    except KeyError:
        raise ValueError(f"{text!r} is not a safeguarding judgement (Yes/No, Met/Not met)") from None


read_overall = field_reader(parse_overall)
read_judgement = field_reader(parse_judgement)
read_area_grade = field_reader(parse_area_grade)
read_category = field_reader(parse_category)
read_safeguarding = field_reader(parse_safeguarding)


def _inspection_readers(columns: InspectionColumns) -> dict[str, Callable[[str], object]]:
    readers = {f: read_date for f in (columns.start, columns.end, columns.published) if f}
    readers |= {f: reader for f, reader in ((columns.overall, read_overall), (columns.category, read_category),
                                            (columns.safeguarding, read_safeguarding),
                                            (columns.urn_at_time, read_urn)) if f}
    readers |= {f: read_judgement for f in columns.grades.values()}
    readers |= {f: read_area_grade for f in columns.areas.values()}
    return readers


# How each field is read (text when not listed), derived from the layouts so the two cannot disagree.
READERS: dict[str, Callable[[str], object]] = {
    "urn": read_urn,
    "predecessor_urn": read_urn,
    "type_of_education": read_type_name,
    "phase": read_descriptive,
    "religious_character": read_descriptive,
    "trust": read_descriptive,
    "open_date": read_date,
    "close_date": read_date,
}
for _layout in LAYOUTS:
    for _columns in _layout.graded + ((_layout.ungraded,) if _layout.ungraded else ()):
        READERS |= _inspection_readers(_columns)


# --- rows ---------------------------------------------------------------------------------------


def read_ofsted(path: str | Path, *, data: bytes | None = None, only: Collection[int] | None = None) -> ParseResult:
    """OfstedRow rows from an Ofsted MI CSV; NotRecognised (before reading any row) if it is not one.

    `data`: the file's bytes, already read; `only`: the physical lines to read (see csvfile.open_table)."""
    table = open_table(
        path,
        "an Ofsted management-information CSV",
        COLUMN_ALIASES,
        {layout.name: layout.required for layout in LAYOUTS},
        data=data,
        only=only,
    )
    layout = _LAYOUT_BY_NAME[table.layout]
    reading = Reading(table, READERS, SCHOOL_REQUIRED)
    with collector_paused():
        rows, errors, read = table.read(reading, _row_builder(layout, reading), _newest_first(layout, table, reading))
        rows, conflicts = _without_conflicts(rows)
    return ParseResult(table.layout, rows, sorted(errors + conflicts, key=lambda e: e.line), read)


def header_line(data: bytes, lines: int = 64) -> int | None:
    """The physical line (from 1) of an Ofsted MI CSV's header, read from its first `lines` lines only;
    None if they hold none (read_ofsted would then say why)."""
    try:
        table = find_table(Path("file"), decode(b"".join(data.splitlines(keepends=True)[:lines])), "", COLUMN_ALIASES,
                           {layout.name: layout.required for layout in LAYOUTS})
    except NotRecognised:
        return None
    return table.header_line


def _newest_first(layout: Layout, table: CsvTable, reading: Reading) -> Callable[[int, tuple], list[str]]:
    """A row's problem when its "previous" inspection is dated after its "latest": one of the two is wrong,
    and which inspection decides the school's category cannot be known."""
    pairs = [(reading.at(getattr(older, when)), reading.at(getattr(newer, when)),
              table.column_name(getattr(older, when)), table.column_name(getattr(newer, when)))
             for newer, older in zip(layout.graded, layout.graded[1:], strict=False) for when in ("start", "published")]

    def check(line: int, values: tuple) -> list[str]:
        for older_at, newer_at, older_name, newer_name in pairs:
            later, earlier = values[older_at], values[newer_at]
            if later and earlier and later > earlier:
                return [f"{older_name} {slashed_date(later)} is after {newer_name} {slashed_date(earlier)}: the previous "
                        "inspection cannot be later than the latest"]
        return []

    return check


# What an inspection found: two rows that date one inspection alike but differ in any of these disagree.
OUTCOME = (("overall effectiveness", "overall"), ("category of concern", "category"),
           ("safeguarding", "safeguarding"))


def _differences(one: InspectionRecord, other: InspectionRecord) -> list[str]:
    """What two records of one inspection say differently, e.g. "overall effectiveness 2 / 4"."""
    found = [(name, getattr(one, attr), getattr(other, attr)) for name, attr in OUTCOME]
    found += [(key.replace("_", " "), one.grades.get(key), other.grades.get(key))
              for key in sorted(one.grades.keys() | other.grades.keys())]
    return [f"{name} {a or 'none'} / {b or 'none'}" for name, a, b in found if a != b]


def _without_conflicts(rows: list[OfstedRow]) -> tuple[list[OfstedRow], list[RowError]]:
    """Rows that give one school's inspection (same URN, same start and publication dates) different
    outcomes: each is refused naming the other's line, since which is right cannot be told from the file.
    Rows that repeat a school and agree are kept (the import records each inspection once)."""
    # Only a school listed on more than one row can disagree with itself: most files list each once.
    listed = Counter(row.school.urn for row in rows)
    seen: dict[tuple, list[tuple[OfstedRow, InspectionRecord]]] = defaultdict(list)
    for row in rows:
        if listed[row.school.urn] < 2:
            continue
        for record in (row.latest, row.previous, row.ungraded):
            if record is not None:
                seen[(row.school.urn, record.graded, record.start, record.published)].append((row, record))
    refused: dict[int, RowError] = {}
    for (urn, _, start, published), found in seen.items():
        first_row, first = found[0]
        for row, record in found[1:]:
            if row is first_row or (first.number and record.number and first.number != record.number):
                continue  # two inspections on one day are two inspections, not a conflict
            differ = _differences(first, record)
            if not differ:
                continue
            when = f"the inspection of {_as_written(start)} published {_as_written(published)}"
            for this, other in ((first_row, row), (row, first_row)):
                refused.setdefault(this.line, RowError(
                    this.line, urn, f"lines {this.line} and {other.line} give URN {urn} {when} different "
                                    f"outcomes ({'; '.join(differ)}): neither row was read"))
    return [row for row in rows if row.line not in refused], list(refused.values())


def _as_written(day) -> str:
    return slashed_date(day) if day else "(no date)"


# Building the records: getters over the positions of a row's values (csvfile.Reading), worked out once
# per file, so that a row costs a few C-level itemgetter calls rather than a dict lookup per field.

def _row_builder(layout: Layout, reading: Reading) -> Callable[[int, tuple], OfstedRow]:
    """OfstedRow from a row's line and values, for files of `layout` read as `reading` says."""
    graded = tuple(_inspection_builder(columns, reading) for columns in layout.graded)
    ungraded = _inspection_builder(layout.ungraded, reading) if layout.ungraded else None
    school = _school_builder(layout, reading)

    def build(line: int, values: tuple) -> OfstedRow:
        found = _graded_inspections(values, graded)
        return OfstedRow(
            line=line,
            school=school(values),
            latest=found[0] if found else None,
            previous=found[1] if len(found) > 1 else None,
            ungraded=ungraded(values) if ungraded else None,
        )

    return build


def _graded_inspections(values: tuple, builders: tuple) -> list[InspectionRecord]:
    """The row's graded inspections, newest first, each once."""
    found: list[InspectionRecord] = []
    for build in builders:
        inspection = build(values)
        if inspection is None:
            continue
        if found and inspection.number and inspection.number == found[-1].number:
            # One inspection under two headings (a 2025-layout school whose latest "full" inspection
            # is its OEIF one): it is still one inspection; keep the heading that says more about it.
            if len(inspection.grades) > len(found[-1].grades):
                found[-1] = inspection
            continue
        found.append(inspection)
    return found


def _getter(reading: Reading, fields: Iterable[str | None]) -> Callable[[tuple], tuple]:
    """The values of `fields` (None for a field the file lacks, or None itself), as a tuple."""
    return picker([reading.at(f) for f in fields])


def _inspection_builder(columns: InspectionColumns, reading: Reading) -> Callable[[tuple], InspectionRecord | None]:
    """One inspection from its columns; None when none has a value (e.g. a school not yet inspected)."""
    results = _getter(reading, columns.fields)
    keys = tuple(key for key, _ in columns.judgements)
    judgements = _getter(reading, (f for _, f in columns.judgements))
    outcome_at = reading.at(columns.outcome)
    singles = _getter(reading, columns.singles)
    is_graded = columns.graded

    def build(values: tuple) -> InspectionRecord | None:
        # Not-applicable values (9, "Not judged") read as None: a block of only those is no inspection.
        if not any(results(values)):
            return None
        grades = judgements(values)
        # The judgements made, in the columns' order; those not made (None) are left out.
        grades = dict(compress(zip(keys, grades, strict=True), grades))
        if outcome := values[outcome_at]:
            grades["outcome"] = outcome
        number, start, end, published, inspection_type, overall, category, safeguarding = singles(values)
        return InspectionRecord(number, start, end, published, inspection_type, is_graded, overall, category,
                                grades, safeguarding)

    return build


def _school_builder(layout: Layout, reading: Reading) -> Callable[[tuple], SchoolRecord]:
    details = _getter(reading, ("urn", "laestab", "school_name", "la_name", "type_of_education", "phase",
                                "predecessor_urn", "religious_character", "trust", "open_date", "close_date"))
    # The URN each inspection was carried out under, where it is not the school's own: its predecessor.
    # A new academy keeps its predecessor's grade until it is inspected itself, and later layouts say so
    # with "URN at time of ..." columns rather than a "Predecessor URN" column.
    blocks = layout.graded + ((layout.ungraded,) if layout.ungraded else ())
    inspected_under = _getter(reading, (columns.urn_at_time for columns in blocks))

    def build(values: tuple) -> SchoolRecord:
        (urn, laestab, name, la_name, type_name, phase, predecessor_urn, religious_character, trust, open_date,
         close_date) = details(values)
        if not predecessor_urn:
            predecessor_urn = next((earlier for earlier in inspected_under(values) if earlier and earlier != urn),
                                   None)
        return SchoolRecord(
            urn=urn,
            laestab=laestab,
            name=name,
            la_name=la_name,
            type_name=type_name,
            phase=phase,
            predecessor_urn=predecessor_urn,
            religious_character=religious_character,
            trust=trust,
            # These files list the schools open at the "as at" date (Ofsted's methodology notes); a
            # provider close date, where the layout has one, means it has closed since.
            status="closed" if close_date else "open",
            open_date=open_date,
            close_date=close_date,
        )

    return build


# The "mi-2017" layout's header exactly as the shared Oxfordshire file has it (51 columns), for
# writers of files in that layout (the national benchmark's generator) and for tests.
MI_2017_HEADER = [
    "Web Link", "Organisation ID", "URN", "LAESTAB", "School name", "Region", "Ofsted region",
    "Local authority", "Parliamentary constituency", "Postcode", "Type of education", "Phase of education",
    "Sixth form", "Predecessor URN", "Number of warning notices issued in 2017/18 academic year",
    "Total number of pupils", "Deprivation index", "Inspection number", "Inspection start date",
    "Inspection end date", "Publication date", "Inspection type", "Inspection type grouping",
    "Event type grouping", "Overall effectiveness", "Category of concern", "Outcomes for pupils",
    "Quality of teaching, learning and assessment", "Effectiveness of leadership and management",
    "Personal development, behaviour and welfare", "Early years provision (where applicable)",
    "16 - 19 study programmes", "Previous inspection number", "Previous inspection start date",
    "Previous inspection end date", "Previous publication date", "Previous overall effectiveness",
    "Previous category of concern", "Previous outcomes for pupils",
    "Previous quality of teaching, learning and assessment",
    "Previous effectiveness of leadership and management",
    "Previous personal development, behaviour and welfare",
    "Previous early years provision (where applicable)", "Previous 16 - 19 study programmes",
    "Provider open date - QA", "Provider open reason - QA", "Provider closed date - QA",
    "Provider closed reason - QA", "OB number on Roll", "Withdrawn date", "Previous withdrawn date",
]
