"""Ofsted management-information CSV parser (and the CSV handling it shares with the GIAS parser).

Facts about the real Oxfordshire 2017 file are counted here with the csv module, independently of the
parser, and compared with what the parser returns. The edge cases use small files written to tmp_path.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from concerns.ingest.parse import NotRecognised, read_ofsted
from concerns.ingest.parse.csvfile import normalise_header, parse_date
from concerns.ingest.parse.gias_csv import GIAS_TYPE_NAMES
from concerns.ingest.parse.ofsted_csv import MI_2017_HEADER

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OXFORDSHIRE = DATA / "ofsted" / (
    "maintained-schools-and-academies-inspections-and-outcomes-as-at-31-december-2017-oxfordshire.csv"
)
needs_real_data = pytest.mark.skipif(
    not OXFORDSHIRE.exists(),
    reason=f"the shared data folder is not beside the checkout ({OXFORDSHIRE} is absent)",
)


# The columns of the "state-funded schools - latest inspections" releases up to 31 Aug 2025.
STATE_FUNDED_2024_HEADER = [
    "Web link", "URN", "LAESTAB", "School name", "Ofsted phase", "Type of education", "School open date",
    "Designated religious character", "Local authority",
    "Latest ungraded inspection number since last graded inspection",
    "URN at time of the ungraded inspection", "Date of latest ungraded inspection",
    "Ungraded inspection publication date", "Ungraded inspection overall outcome",
    "Inspection number of latest graded inspection", "Inspection type", "Inspection start date",
    "Inspection end date", "Publication date", "URN at time of latest graded inspection",
    "Overall effectiveness", "Category of concern", "Quality of education", "Behaviour and attitudes",
    "Personal development", "Effectiveness of leadership and management", "Safeguarding is effective?",
    "Early years provision (where applicable)", "Sixth form provision (where applicable)",
    "Previous graded inspection number", "Previous inspection start date", "Previous inspection end date",
    "Previous publication date", "URN at time of previous graded inspection",
    "Previous graded inspection overall effectiveness", "Previous category of concern",
    "Previous quality of education", "Previous behaviour and attitudes", "Previous personal development",
    "Previous effectiveness of leadership and management", "Previous safeguarding is effective?",
    "Previous early years provision (where applicable)", "Previous sixth form provision (where applicable)",
]

# The monthly "latest inspections" releases from Nov 2025 (report cards, latest OEIF, latest ungraded).
STATE_FUNDED_2025_HEADER = [
    "Web Link (opens in new window)", "URN", "LAESTAB", "School name", "Ofsted phase", "Type of education",
    "School open date", "Designated religious character", "Local authority", "Multi-academy trust name",
    "Inspection number of latest full inspection", "Inspection type", "Inspection start date",
    "Publication date", "URN at time of latest full inspection", "Category of concern",
    "Safeguarding standards", "Inclusion", "Curriculum and teaching", "Achievement",
    "Attendance and behaviour", "Personal development and wellbeing", "Early years (where applicable)",
    "Post-16 provision (where applicable)", "Leadership and governance",
    "Inspection number of latest OEIF graded inspection", "Inspection type of latest OEIF graded inspection",
    "Inspection start date of latest OEIF graded inspection",
    "Publication date of latest OEIF graded inspection", "URN at time of latest OEIF graded inspection",
    "Latest OEIF category of concern", "Latest OEIF overall effectiveness", "Latest OEIF quality of education",
    "Latest OEIF behaviour and attitudes", "Latest OEIF personal development",
    "Latest OEIF effectiveness of leadership and management", "Latest OEIF  safeguarding is effective?",
    "Latest OEIF early years provision (where applicable)",
    "Latest OEIF sixth form provision (where applicable)", "Latest ungraded inspection number",
    "Date of latest ungraded inspection", "Ungraded inspection publication date",
    "URN at time of the ungraded inspection", "Ungraded inspection overall outcome",
    "Most recent category of concern",
]


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    """A CSV with `header`; each row gives some columns, the rest are NULL as Ofsted writes them."""
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(column, "NULL") for column in header])
    return path


def mi_2017_row(urn: str = "123166", **values: str) -> dict[str, str]:
    """A plausible 2017-layout row; keyword names are the headers with spaces as underscores."""
    row = {
        "URN": urn, "LAESTAB": "9313247", "School name": "St Nicolas CE Primary School",
        "Local authority": "Oxfordshire", "Type of education": "Voluntary Controlled School",
        "Phase of education": "Primary", "Inspection number": "ITS426502",
        "Inspection start date": "19/11/2013", "Inspection end date": "20/11/2013",
        "Publication date": "11/12/2013", "Inspection type": "S5 Inspection", "Overall effectiveness": "2",
        "Category of concern": "", "Outcomes for pupils": "2", "Quality of teaching, learning and assessment": "2",
        "Effectiveness of leadership and management": "2", "Personal development, behaviour and welfare": "9",
        "Early years provision (where applicable)": "2", "16 - 19 study programmes": "9",
        "Previous inspection number": "ITS380610", "Previous inspection start date": "02/11/2011",
        "Previous inspection end date": "03/11/2011", "Previous publication date": "24/11/2011",
        "Previous overall effectiveness": "3", "Previous category of concern": "",
        "Previous outcomes for pupils": "3",
    }
    row.update({name.replace("_", " "): value for name, value in values.items()})
    return row


def oxfordshire_rows() -> list[dict[str, str]]:
    with OXFORDSHIRE.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# --- the real Oxfordshire 2017 file ------------------------------------------------------------


@needs_real_data
def test_real_file_every_row_is_read_without_errors():
    expected = oxfordshire_rows()
    result = read_ofsted(OXFORDSHIRE)
    assert result.layout == "mi-2017"
    assert result.errors == []
    assert result.rows_read == len(expected) == 299
    assert [row.school.urn for row in result.rows] == [row["URN"] for row in expected]


@needs_real_data
def test_real_file_categories_of_concern_match_a_count_with_the_csv_module():
    expected = oxfordshire_rows()

    def counted(column: str) -> Counter:
        words = Counter(row[column] for row in expected if row[column] not in ("", "NULL"))
        # The parser reads SWK (serious weaknesses) as RSI, its statutory name.
        return Counter({("RSI" if word == "SWK" else word): n for word, n in words.items()})

    result = read_ofsted(OXFORDSHIRE)
    latest = Counter(r.latest.category for r in result.rows if r.latest and r.latest.category)
    previous = Counter(r.previous.category for r in result.rows if r.previous and r.previous.category)
    assert latest == counted("Category of concern") == Counter({"SM": 4, "RSI": 1})
    assert previous == counted("Previous category of concern") == Counter({"SM": 13, "RSI": 2, "NTI": 1})


@needs_real_data
def test_real_file_overall_effectiveness_matches_and_uninspected_schools_have_no_latest():
    expected = oxfordshire_rows()
    result = read_ofsted(OXFORDSHIRE)
    for row, raw in zip(result.rows, expected, strict=True):
        if raw["Overall effectiveness"] == "NULL":
            assert row.latest is None  # a new school, not yet inspected
        else:
            assert row.latest.overall == int(raw["Overall effectiveness"])
            assert row.latest.graded is True
            assert row.latest.start == parse_date(raw["Inspection start date"])
        if raw["Previous overall effectiveness"] == "NULL":
            assert row.previous is None
        else:
            assert row.previous.overall == int(raw["Previous overall effectiveness"])
    assert sum(row.latest is None for row in result.rows) == 9


@needs_real_data
def test_real_file_line_numbers_are_physical_lines():
    lines = OXFORDSHIRE.read_text(encoding="utf-8").splitlines()
    result = read_ofsted(OXFORDSHIRE)
    assert result.rows[0].line == 2
    for row in result.rows:
        assert f",{row.school.urn}," in lines[row.line - 1]


@needs_real_data
def test_real_file_school_details():
    expected = {row["URN"]: row for row in oxfordshire_rows()}
    result = read_ofsted(OXFORDSHIRE)
    by_urn = {row.school.urn: row for row in result.rows}
    finstock = by_urn["142350"]
    assert finstock.school.type_name == "Academy converter"
    assert finstock.school.predecessor_urn == "123095"
    assert finstock.school.open_date == date(2015, 10, 1)
    assert finstock.latest.grades == {
        "outcomes_for_pupils": "2", "quality_of_teaching": "2", "leadership_and_management": "2",
    }  # personal development, early years and 16-19 are 9: not applicable, so left out
    with_predecessor = {urn for urn, raw in expected.items() if raw["Predecessor URN"] != "NULL"}
    assert {urn for urn, row in by_urn.items() if row.school.predecessor_urn} == with_predecessor
    assert all(row.school.la_name == "Oxfordshire" and row.school.laestab for row in result.rows)


@needs_real_data
def test_real_file_types_become_gias_type_names():
    types_file = DATA / "gias" / "edubasealldata20250422-establishment-types.csv"
    with types_file.open(encoding="utf-8", newline="") as f:
        gias_names = {row["type-of-establishment-name"] for row in csv.DictReader(f)}
    result = read_ofsted(OXFORDSHIRE)
    assert {row.school.type_name for row in result.rows} <= gias_names
    assert set(GIAS_TYPE_NAMES) == gias_names
    ofsted_to_gias = {(raw["Type of education"], row.school.type_name)
                      for raw, row in zip(oxfordshire_rows(), result.rows, strict=True)}
    assert ("LA Nursery School", "Local authority nursery school") in ofsted_to_gias
    assert ("Free School", "Free schools") in ofsted_to_gias
    assert ("Studio School", "Studio schools") in ofsted_to_gias


@needs_real_data
@pytest.mark.parametrize(
    "path",
    [
        DATA / "gias" / "links_edubasealldata20250422.csv",
        DATA / "gias" / "edubasealldata20250422-establishment-types.csv",
        DATA / "edubase" / "edubasealldata20150407_extract.csv",
        DATA / "SOURCES.md",
    ],
    ids=["gias-links", "establishment-types", "edubase", "markdown"],
)
def test_other_real_files_are_not_recognised(path):
    with pytest.raises(NotRecognised, match="missing required columns .*'School name'"):
        read_ofsted(path)


# --- encodings, missing values, grades ---------------------------------------------------------


def test_cp1252_file_with_accents_and_dashes_parses(tmp_path):
    name = "Sainte-Thérèse St Mary’s – Primary"
    path = write_csv(tmp_path / "cp1252.csv", MI_2017_HEADER, [mi_2017_row(**{"School name": name})], "cp1252")
    assert b"Th\xe9r\xe8se St Mary\x92s \x96 Primary" in path.read_bytes()  # not valid UTF-8
    result = read_ofsted(path)
    assert result.errors == []
    assert result.rows[0].school.name == name


def test_utf8_file_with_bom_parses(tmp_path):
    path = write_csv(tmp_path / "bom.csv", MI_2017_HEADER, [mi_2017_row()], "utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfWeb Link")
    result = read_ofsted(path)
    assert result.layout == "mi-2017"
    assert result.rows[0].school.urn == "123166"


def test_null_na_and_blank_are_missing(tmp_path):
    row = mi_2017_row(**{"Early years provision (where applicable)": "N/A", "Outcomes for pupils": "na",
                         "Predecessor URN": "NULL", "Inspection end date": "", "LAESTAB": "null"})
    result = read_ofsted(write_csv(tmp_path / "missing.csv", MI_2017_HEADER, [row]))
    assert result.errors == []
    school, latest = result.rows[0].school, result.rows[0].latest
    assert school.predecessor_urn is None and school.laestab is None
    assert latest.end is None
    assert "early_years" not in latest.grades and "outcomes_for_pupils" not in latest.grades


def test_school_with_every_inspection_column_null_has_no_inspections(tmp_path):
    row = {"URN": "144398", "School name": "New Academy", "Type of education": "Academy Converter"}
    result = read_ofsted(write_csv(tmp_path / "new.csv", MI_2017_HEADER, [row]))
    assert result.errors == []
    assert result.rows[0].latest is None and result.rows[0].previous is None


@pytest.mark.parametrize("not_applicable", ["9", "0", "NULL", "", "Not judged"])
def test_overall_grade_9_0_null_blank_mean_not_applicable(tmp_path, not_applicable):
    row = mi_2017_row(**{"Overall effectiveness": not_applicable})
    result = read_ofsted(write_csv(tmp_path / "na.csv", MI_2017_HEADER, [row]))
    assert result.errors == []
    assert result.rows[0].latest.overall is None


def test_bad_grade_is_an_error_on_its_line_and_good_rows_still_come_through(tmp_path):
    rows = [mi_2017_row("100001"), mi_2017_row("100002", **{"Overall effectiveness": "7"}),
            mi_2017_row("100003"), mi_2017_row("100004", **{"Previous outcomes for pupils": "Brilliant"})]
    result = read_ofsted(write_csv(tmp_path / "bad.csv", MI_2017_HEADER, rows))
    assert [row.school.urn for row in result.rows] == ["100001", "100003"]
    assert [(e.line, e.urn, e.reason) for e in result.errors] == [
        (3, "100002", "Overall effectiveness: '7' is not a grade (1-4, 9 = not applicable)"),
        (5, "100004", "Previous outcomes for pupils: 'Brilliant' is not a grade (1-4; 8, 9 = not applicable)"),
    ]
    assert result.rows_read == 4


def test_impossible_date_is_an_error_naming_column_and_value(tmp_path):
    row = mi_2017_row(**{"Inspection start date": "31/02/2017"})
    result = read_ofsted(write_csv(tmp_path / "date.csv", MI_2017_HEADER, [row]))
    assert result.rows == []
    [error] = result.errors
    assert error.line == 2
    assert error.reason.startswith("Inspection start date: '31/02/2017' is not a date")


def test_unknown_category_word_is_an_error(tmp_path):
    rows = [mi_2017_row(**{"Category of concern": "Coasting"}), mi_2017_row("100002", **{"Category of concern": "SWK"})]
    result = read_ofsted(write_csv(tmp_path / "cat.csv", MI_2017_HEADER, rows))
    assert [e.reason for e in result.errors] == [
        "Category of concern: 'Coasting' is not a category of concern (SM, SWK, RSI, NTI or blank)"
    ]
    assert result.rows[0].latest.category == "RSI"


@pytest.mark.parametrize(
    ("urn", "reason"),
    [("NULL", "URN: missing"), ("12345", "URN: '12345' is not a URN (6 digits)"),
     ("12345X", "URN: '12345X' is not a URN (6 digits)")],
)
def test_missing_or_malformed_urn_is_an_error(tmp_path, urn, reason):
    result = read_ofsted(write_csv(tmp_path / "urn.csv", MI_2017_HEADER, [mi_2017_row(urn), mi_2017_row("100002")]))
    assert [(e.line, e.reason) for e in result.errors] == [(2, reason)]
    assert result.errors[0].urn == (None if urn == "NULL" else urn)
    assert [row.school.urn for row in result.rows] == ["100002"]


def test_every_problem_in_a_row_is_reported(tmp_path):
    row = mi_2017_row(**{"Overall effectiveness": "5", "Publication date": "2013-13-01", "School name": ""})
    result = read_ofsted(write_csv(tmp_path / "many.csv", MI_2017_HEADER, [row]))
    assert {e.reason.split(":")[0] for e in result.errors} == {
        "School name", "Overall effectiveness", "Publication date"}
    assert {e.line for e in result.errors} == {2}


# --- headers and lines -------------------------------------------------------------------------


def test_renamed_and_respaced_headers_still_match(tmp_path):
    renamed = {"URN": "  urn ", "School name": "SCHOOL NAME", "Overall effectiveness": "Overall effectiveness grade",
               "Category of concern": "Category-of-concern", "Previous overall effectiveness": "Previous  overall effectiveness",
               "Inspection start date": "Inspection Start Date"}
    header = [renamed.get(column, column) for column in MI_2017_HEADER]
    row = {renamed.get(column, column): value for column, value in mi_2017_row(**{"Category of concern": "SM"}).items()}
    result = read_ofsted(write_csv(tmp_path / "renamed.csv", header, [row]))
    assert result.errors == []
    latest = result.rows[0].latest
    assert (latest.overall, latest.category, latest.start) == (2, "SM", date(2013, 11, 19))


def test_line_numbers_count_newlines_inside_quoted_fields(tmp_path):
    rows = [mi_2017_row("100001", **{"School name": "Line one\nline two\nline three"}),
            mi_2017_row("100002", **{"Overall effectiveness": "7"}), mi_2017_row("100003")]
    path = write_csv(tmp_path / "multiline.csv", MI_2017_HEADER, rows)
    result = read_ofsted(path)
    assert [row.line for row in result.rows] == [2, 6]
    assert result.rows[0].school.name == "Line one\nline two\nline three"
    assert [(e.line, e.urn) for e in result.errors] == [(5, "100002")]
    assert ",100002," in path.read_text().splitlines()[4]


def test_title_line_above_the_header_is_skipped_and_lines_stay_physical(tmp_path):
    body = write_csv(tmp_path / "body.csv", MI_2017_HEADER, [mi_2017_row()]).read_text()
    path = tmp_path / "titled.csv"
    path.write_text("Management information - as at 31 December 2017\n\n" + body)
    result = read_ofsted(path)
    assert result.layout == "mi-2017"
    assert result.rows[0].line == 4


def test_blank_lines_are_not_rows_but_still_count_as_lines(tmp_path):
    path = write_csv(tmp_path / "blank.csv", MI_2017_HEADER, [mi_2017_row("100001")])
    with path.open("a", newline="") as f:
        f.write("\r\n,,,\r\n")
        csv.writer(f).writerow([mi_2017_row("100002", **{"Overall effectiveness": "x"}).get(c, "NULL")
                                for c in MI_2017_HEADER])
    result = read_ofsted(path)
    assert result.rows_read == 2
    assert result.errors[0].line == 5


def test_row_shorter_than_the_header_is_an_error(tmp_path):
    path = write_csv(tmp_path / "short.csv", MI_2017_HEADER, [mi_2017_row("100001")])
    with path.open("a") as f:
        f.write("http://x,1,100002,931,Truncated School\n")
    result = read_ofsted(path)
    assert len(result.rows) == 1
    [error] = result.errors
    assert (error.line, error.urn) == (3, "100002")
    assert "the row has 5 fields but the header has 51" in error.reason


# --- files that are not Ofsted MI --------------------------------------------------------------


def test_random_text_file_is_not_recognised(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Dear colleague,\nplease find attached the list of schools.\n")
    with pytest.raises(NotRecognised) as raised:
        read_ofsted(path)
    message = str(raised.value)
    assert "notes.txt is not an Ofsted management-information CSV" in message
    assert "'URN'" in message and "'School name'" in message and "'Category of concern'" in message


def test_empty_file_is_not_recognised(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(NotRecognised, match="empty"):
        read_ofsted(path)


def test_binary_file_is_not_recognised(tmp_path):
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)))
    with pytest.raises(NotRecognised, match="binary"):
        read_ofsted(path)


def test_header_only_file_is_recognised_with_no_rows(tmp_path):
    result = read_ofsted(write_csv(tmp_path / "header.csv", MI_2017_HEADER, []))
    assert (result.layout, result.rows, result.errors, result.rows_read) == ("mi-2017", [], [], 0)


def test_missing_category_column_is_not_recognised_rather_than_read_as_no_category(tmp_path):
    header = [column for column in MI_2017_HEADER if column != "Category of concern"]
    with pytest.raises(NotRecognised, match="'Category of concern'"):
        read_ofsted(write_csv(tmp_path / "nocat.csv", header, [mi_2017_row()]))


# --- the current layouts -----------------------------------------------------------------------


def test_state_funded_2024_layout_latest_previous_and_ungraded(tmp_path):
    row = {
        "URN": "140001", "School name": "Oak Academy", "Type of education": "Academy converter",
        "Ofsted phase": "Primary", "Designated religious character": "Does not apply",
        "Inspection number of latest graded inspection": "10300001", "Inspection type": "S5 Inspection",
        "Inspection start date": "12/03/2025", "Publication date": "30/04/2025",
        "URN at time of latest graded inspection": "140001", "Overall effectiveness": "Not judged",
        "Category of concern": "SWK", "Quality of education": "4", "Behaviour and attitudes": "3",
        "Personal development": "3", "Effectiveness of leadership and management": "4",
        "Safeguarding is effective?": "No", "Early years provision (where applicable)": "9",
        "Previous graded inspection number": "10100001", "Previous inspection start date": "01/02/2022",
        "Previous publication date": "10/03/2022", "URN at time of previous graded inspection": "123456",
        "Previous graded inspection overall effectiveness": "3", "Previous category of concern": "NULL",
        "Previous quality of education": "3", "Previous safeguarding is effective?": "Yes",
        "Latest ungraded inspection number since last graded inspection": "NULL",
    }
    result = read_ofsted(write_csv(tmp_path / "2024.csv", STATE_FUNDED_2024_HEADER, [row], "cp1252"))
    assert result.layout == "state-funded-2024"
    assert result.errors == []
    parsed = result.rows[0]
    assert parsed.latest.overall is None  # "Not judged": no overall grade from Sep 2024
    assert parsed.latest.category == "RSI"
    assert parsed.latest.safeguarding == "not_met"
    assert parsed.latest.grades == {"quality_of_education": "4", "behaviour_and_attitudes": "3",
                                    "personal_development": "3", "leadership_and_management": "4"}
    assert (parsed.previous.overall, parsed.previous.safeguarding) == (3, "met")
    assert parsed.previous.published == date(2022, 3, 10)
    assert parsed.ungraded is None
    assert parsed.school.predecessor_urn == "123456"  # the previous inspection was of the predecessor
    assert parsed.school.religious_character is None


REPORT_CARD = {
    "Inspection number of latest full inspection": "10400001", "Inspection type": "S5 Inspection",
    "Inspection start date": "13/01/2026", "Publication date": "09/02/2026",
    "URN at time of latest full inspection": "150001", "Category of concern": "RSI",
    "Safeguarding standards": "Met", "Inclusion": "Expected standard", "Curriculum and teaching": "Needs attention",
    "Achievement": "Urgent improvement", "Attendance and behaviour": "Strong standard",
    "Personal development and wellbeing": "Exceptional", "Early years (where applicable)": "Not applicable",
    "Post-16 provision (where applicable)": "Expected standard", "Leadership and governance": "Expected standard",
}
OEIF = {
    "Inspection number of latest OEIF graded inspection": "10200001",
    "Inspection type of latest OEIF graded inspection": "S5 Inspection",
    "Inspection start date of latest OEIF graded inspection": "05/06/2023",
    "Publication date of latest OEIF graded inspection": "20/07/2023",
    "URN at time of latest OEIF graded inspection": "150001", "Latest OEIF category of concern": "NULL",
    "Latest OEIF overall effectiveness": "3", "Latest OEIF quality of education": "3",
    "Latest OEIF behaviour and attitudes": "2", "Latest OEIF personal development": "2",
    "Latest OEIF effectiveness of leadership and management": "3",
    "Latest OEIF  safeguarding is effective?": "Yes",
    "Latest OEIF early years provision (where applicable)": "9",
    "Latest OEIF sixth form provision (where applicable)": "3",
}
UNGRADED = {
    "Latest ungraded inspection number": "10300009", "Date of latest ungraded inspection": "01/10/2024",
    "Ungraded inspection publication date": "04/11/2024", "URN at time of the ungraded inspection": "150001",
    "Ungraded inspection overall outcome": "School remains Good",
}


def test_state_funded_2025_layout_report_card_then_oeif(tmp_path):
    school = {"URN": "150001", "School name": "Ash Church of England Academy", "Type of education": "Academy converter",
              "Multi-academy trust name": "Ash Trust"}
    result = read_ofsted(write_csv(tmp_path / "2025.csv", STATE_FUNDED_2025_HEADER,
                                   [school | REPORT_CARD | OEIF | UNGRADED], "cp1252"))
    assert result.layout == "state-funded-2025"
    assert result.errors == []
    row = result.rows[0]
    assert row.school.trust == "Ash Trust"
    latest, previous, ungraded = row.latest, row.previous, row.ungraded
    assert (latest.number, latest.graded, latest.overall, latest.category) == ("10400001", True, None, "RSI")
    assert latest.safeguarding == "met"
    assert latest.grades == {
        "inclusion": "expected_standard", "curriculum_and_teaching": "needs_attention",
        "achievement": "urgent_improvement", "attendance_and_behaviour": "strong_standard",
        "personal_development": "exceptional", "sixth_form": "expected_standard",
        "leadership_and_governance": "expected_standard",
    }  # early years "Not applicable" is left out
    assert (previous.number, previous.overall, previous.category, previous.safeguarding) == ("10200001", 3, None, "met")
    assert previous.grades["sixth_form"] == "3" and "early_years" not in previous.grades
    assert (ungraded.graded, ungraded.start, ungraded.grades) == (False, date(2024, 10, 1),
                                                                  {"outcome": "School remains Good"})


def test_state_funded_2025_school_without_report_card_has_oeif_as_latest(tmp_path):
    school = {"URN": "150002", "School name": "Elm Primary", "Type of education": "Community school"}
    oeif = OEIF | {"URN at time of latest OEIF graded inspection": "123999",
                   "Latest OEIF overall effectiveness": "4", "Latest OEIF category of concern": "SM"}
    result = read_ofsted(write_csv(tmp_path / "2025.csv", STATE_FUNDED_2025_HEADER, [school | oeif]))
    row = result.rows[0]
    assert (row.latest.number, row.latest.overall, row.latest.category) == ("10200001", 4, "SM")
    assert row.previous is None and row.ungraded is None
    assert row.school.predecessor_urn == "123999"


def test_state_funded_2025_bad_report_card_grade_and_safeguarding_are_errors(tmp_path):
    school = {"URN": "150003", "School name": "Birch School"}
    card = REPORT_CARD | {"Achievement": "Brilliant", "Safeguarding standards": "Mostly"}
    result = read_ofsted(write_csv(tmp_path / "2025.csv", STATE_FUNDED_2025_HEADER, [school | card]))
    assert result.rows == []
    assert sorted(e.reason.split(":")[0] for e in result.errors) == ["Achievement", "Safeguarding standards"]


# --- shared CSV handling -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("19/11/2013", date(2013, 11, 19)), ("1/9/2013", date(2013, 9, 1)), ("01-09-2015", date(2015, 9, 1)),
     ("2015-09-01", date(2015, 9, 1)), ("29/02/2024", date(2024, 2, 29))],
)
def test_dates_in_the_three_formats(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["31/02/2017", "29/02/2023", "2017/02/01", "13-13-2013", "yesterday", "2015-9"])
def test_impossible_or_unknown_dates_are_refused_naming_the_value(text):
    with pytest.raises(ValueError, match=repr(text)):
        parse_date(text)


@pytest.mark.parametrize(
    ("header", "normal"),
    [("Latest OEIF  safeguarding is effective?", "latest_oeif_safeguarding_is_effective"),
     ("TypeOfEstablishment (name)", "type_of_establishment_name"), ("LinkURN", "link_urn"),
     ("16 - 19 study programmes", "16_19_study_programmes"), (" URN ", "urn")],
)
def test_header_normal_form(header, normal):
    assert normalise_header(header) == normal


# --- what a file could not say: unbalanced quotes, conflicting rows, dates out of order, encodings ------


def mi_line(urn: str, **values: str) -> str:
    """One mi-2017 row as the csv module writes it, line ending included."""
    out = io.StringIO()
    csv.writer(out).writerow([mi_2017_row(urn, **values).get(column, "NULL") for column in MI_2017_HEADER])
    return out.getvalue()


def mi_file(path: Path, lines: list[str | bytes], encoding: str = "utf-8") -> Path:
    """A file of the header then `lines` as given: text in `encoding`, bytes exactly as they are."""
    out = io.StringIO()
    csv.writer(out).writerow(MI_2017_HEADER)
    header = out.getvalue()
    path.write_bytes(b"".join(line if isinstance(line, bytes) else line.encode(encoding)
                              for line in [header, *lines]))
    return path


def with_open_quote(line: str) -> str:
    """The row with a quote opened before its school name and never closed."""
    return line.replace("St Nicolas CE Primary School", '"St Nicolas CE Primary School', 1)


def test_an_unbalanced_quote_refuses_its_row_and_the_rows_it_swallowed_are_read(tmp_path):
    path = mi_file(tmp_path / "quote.csv", [
        mi_line("100001"),  # line 2
        with_open_quote(mi_line("100002")),  # line 3: would swallow lines 4 and 5
        mi_line("100003"),  # line 4
        mi_line("100004", **{"School name": "Smith, Jones and Co Academy"}),  # line 5: quoted; closes the quote
        mi_line("100005"),  # line 6
    ])
    result = read_ofsted(path)
    assert [(row.line, row.school.urn) for row in result.rows] == [(2, "100001"), (4, "100003"), (5, "100004"),
                                                                    (6, "100005")]
    assert result.rows[2].school.name == "Smith, Jones and Co Academy"
    [error] = result.errors
    assert (error.line, error.urn) == (3, "100002")
    assert error.reason.startswith("a quote left open: the field starting 'St Nicolas CE Primary School,")
    assert "runs on to line 5" in error.reason
    assert result.rows_read == 5


def test_a_quote_left_open_to_the_end_of_the_file_refuses_only_its_row(tmp_path):
    path = mi_file(tmp_path / "eof.csv", [mi_line("100001"), mi_line("100002"), with_open_quote(mi_line("100003"))])
    result = read_ofsted(path)
    assert [row.line for row in result.rows] == [2, 3]
    assert [(e.line, e.urn) for e in result.errors] == [(4, "100003")]
    assert "runs on to the end of the file" in result.errors[0].reason
    swallowing = mi_file(tmp_path / "early.csv", [with_open_quote(mi_line("100001")), mi_line("100002"),
                                                   mi_line("100003")])
    result = read_ofsted(swallowing)
    assert [row.line for row in result.rows] == [3, 4]
    assert [(e.line, e.urn) for e in result.errors] == [(2, "100001")]
    assert "runs on to the end of the file" in result.errors[0].reason


def test_one_inspection_with_two_outcomes_in_one_file_refuses_both_rows_naming_both_lines(tmp_path):
    path = mi_file(tmp_path / "dup.csv", [
        mi_line("100001", **{"Overall effectiveness": "2"}),  # line 2
        mi_line("100002"),  # line 3
        mi_line("100001", **{"Overall effectiveness": "4", "Category of concern": "SM"}),  # line 4
        mi_line("100003"), mi_line("100003"),  # lines 5, 6: a repeated row that agrees is not a conflict
    ])
    result = read_ofsted(path)
    assert [(row.line, row.school.urn) for row in result.rows] == [(3, "100002"), (5, "100003"), (6, "100003")]
    assert [(e.line, e.urn) for e in result.errors] == [(2, "100001"), (4, "100001")]
    assert result.errors[0].reason == (
        "lines 2 and 4 give URN 100001 the inspection of 19/11/2013 published 11/12/2013 different outcomes "
        "(overall effectiveness 2 / 4; category of concern none / SM): neither row was read")
    assert result.errors[1].reason.startswith("lines 4 and 2 give URN 100001")


def test_a_previous_inspection_dated_after_the_latest_refuses_the_row_naming_both_dates(tmp_path):
    path = mi_file(tmp_path / "order.csv", [
        mi_line("100001", **{"Previous inspection start date": "02/11/2015", "Previous publication date": "24/11/2015"}),
        mi_line("100002"),
    ])
    result = read_ofsted(path)
    assert [row.school.urn for row in result.rows] == ["100002"]
    assert [(e.line, e.urn, e.reason) for e in result.errors] == [(2, "100001", (
        "Previous inspection start date 02/11/2015 is after Inspection start date 19/11/2013: "
        "the previous inspection cannot be later than the latest"))]


def test_a_file_of_mixed_encodings_is_decided_line_by_line_and_doubtful_lines_are_refused(tmp_path):
    path = mi_file(tmp_path / "mixed.csv", [
        mi_line("100001", **{"School name": "Sainte-Thérèse Primary"}),  # line 2: UTF-8
        mi_line("100002", **{"School name": "St Mary’s – Primary"}).encode("cp1252"),  # line 3: cp1252
        mi_line("100003", **{"School name": "École St Mary\x92s"}).encode("utf-8").replace(b"\xc2\x92", b"\x92"),
        mi_line("100004", **{"School name": "St Ann's"}).replace("'", "\x81").encode("latin-1"),  # undefined
        mi_line("100005", **{"School name": "Ysgol Gymraeg Aberystwyth"}),  # line 6: ASCII
    ])
    assert b"Th\xc3\xa9r\xc3\xa8se" in path.read_bytes() and b"Mary\x92s \x96 Primary" in path.read_bytes()
    result = read_ofsted(path)
    assert [(row.line, row.school.name) for row in result.rows] == [
        (2, "Sainte-Thérèse Primary"), (3, "St Mary’s – Primary"), (6, "Ysgol Gymraeg Aberystwyth")]
    assert [(e.line, e.urn, e.reason) for e in result.errors] == [
        (4, "100003", "line 4: mixes UTF-8 and Windows-1252 bytes (byte 0x92 in 'cole St Mary\\x92s,NULL,NULL'): "
                      "cannot be read for certain"),
        (5, "100004", "line 5: byte 0x81 in '13247,St Ann\\x81s,NULL,NULL' is neither UTF-8 nor Windows-1252"),
    ]


def test_a_whole_cp1252_file_with_an_undefined_byte_refuses_that_line_only(tmp_path):
    path = mi_file(tmp_path / "cp.csv", [
        mi_line("100001", **{"School name": "St Mary’s"}).encode("cp1252"),
        mi_line("100002", **{"School name": "St Ann's"}).replace("'", "\x8d").encode("latin-1"),
    ])
    result = read_ofsted(path)
    assert [(row.line, row.school.name) for row in result.rows] == [(2, "St Mary’s")]
    assert [(e.line, e.urn) for e in result.errors] == [(3, "100002")]
    assert "byte 0x8D" in result.errors[0].reason


# --- what the reading's caches must not change ---------------------------------


def test_padded_values_read_as_the_bare_value_and_padded_missing_spellings_are_missing(tmp_path):
    # Values are cached by the text as written, so " 2 " and "2" are two entries that must read alike.
    rows = [mi_2017_row("100001"),
            mi_2017_row("100002", **{"Overall effectiveness": " 2 ", "Inspection start date": " 19/11/2013",
                                     "Category of concern": " NuLl ", "Local authority": "  Oxfordshire ",
                                     "LAESTAB": " n/A "})]
    result = read_ofsted(write_csv(tmp_path / "padded.csv", MI_2017_HEADER, rows))
    assert result.errors == []
    first, second = result.rows
    assert (second.latest.overall, second.latest.start, second.latest.category) == (2, date(2013, 11, 19), None)
    assert (second.school.la_name, second.school.laestab) == ("Oxfordshire", None)
    assert second.latest == first.latest and second.school.la_name == first.school.la_name


@pytest.mark.parametrize("name", ["  ", "NULL", "n/a", " Na "])
def test_a_required_text_field_blank_or_a_missing_spelling_is_missing(tmp_path, name):
    result = read_ofsted(write_csv(tmp_path / "name.csv", MI_2017_HEADER, [mi_2017_row(**{"School name": name})]))
    assert [(e.line, e.urn, e.reason) for e in result.errors] == [(2, "123166", "School name: missing")]


def test_a_row_whose_first_cell_is_blank_is_still_read(tmp_path):
    path = mi_file(tmp_path / "first.csv", [" " + mi_line("100001")[len("NULL"):],
                                            "," * (len(MI_2017_HEADER) - 1) + "\n",
                                            mi_line("100002")])
    result = read_ofsted(path)
    assert [(row.line, row.school.urn) for row in result.rows] == [(2, "100001"), (4, "100002")]
    assert result.rows_read == 2


def test_a_file_read_twice_gives_the_same_result_and_refusals(tmp_path):
    # The value caches outlive a file: a refusal cached from the first read is reported again, by the
    # second file's own column name and line.
    rows = [mi_2017_row("100001", **{"Overall effectiveness": "7"}), mi_2017_row("100002"),
            mi_2017_row("12345", **{"Previous outcomes for pupils": "Brilliant"})]
    first = read_ofsted(write_csv(tmp_path / "one.csv", MI_2017_HEADER, rows))
    assert first == read_ofsted(tmp_path / "one.csv")
    renamed = ["Overall effectiveness grade" if c == "Overall effectiveness" else c for c in MI_2017_HEADER]
    renamed_rows = [{("Overall effectiveness grade" if k == "Overall effectiveness" else k): v for k, v in row.items()}
                    for row in rows]
    second = read_ofsted(write_csv(tmp_path / "two.csv", renamed, renamed_rows))
    assert [(e.line, e.urn, e.reason) for e in second.errors] == [
        (2, "100001", "Overall effectiveness grade: '7' is not a grade (1-4, 9 = not applicable)"),
        (4, "12345", "URN: '12345' is not a URN (6 digits)"),
        (4, "12345", "Previous outcomes for pupils: 'Brilliant' is not a grade (1-4; 8, 9 = not applicable)"),
    ]
    assert second.rows == first.rows


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_only_cr_and_lf_end_lines_not_the_other_unicode_line_breaks(tmp_path, encoding):
    # str.splitlines would also split at \v, \f, \x1c-\x1e, NEL and U+2028/U+2029: csv and a text editor
    # do not, so neither must the line numbers.
    odd = "Vertical\vForm\fGroup\x1dNext\x85Line\u2028Para\u2029End" if encoding == "utf-8" else "St Mary’s\vForm\fGroup\x1dEnd"
    path = mi_file(tmp_path / "breaks.csv", [mi_line("100001", **{"School name": odd}), "\r\n",
                                             mi_line("100002").replace("\r\n", "\r"), mi_line("100003")], encoding)
    result = read_ofsted(path)
    assert result.errors == []
    assert [(row.line, row.school.urn) for row in result.rows] == [(2, "100001"), (4, "100002"), (5, "100003")]
    assert result.rows[0].school.name == odd


def test_a_quote_left_open_in_front_of_more_than_csvs_field_limit_refuses_its_row_and_reads_the_rest(tmp_path):
    # The open field outgrows csv's field size limit (128 KiB) before the file ends: csv raises instead
    # of giving a record, and that line is refused the same way, reading starting again after it.
    rows = [mi_line(f"{100003 + n}") for n in range(500)]
    assert sum(map(len, rows)) > csv.field_size_limit()
    path = mi_file(tmp_path / "limit.csv", [mi_line("100001"), with_open_quote(mi_line("100002")), *rows])
    result = read_ofsted(path)
    assert [(e.line, e.urn) for e in result.errors] == [(3, "100002")]
    assert result.errors[0].reason.startswith("cannot be read as CSV from this line (field larger than field limit")
    assert [row.line for row in result.rows] == [2, *range(4, 504)]
    assert result.rows_read == 502
