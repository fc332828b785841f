"""GIAS (EduBase) establishments and links parsers.

Facts about the real files are counted here with the csv module and compared with the parser's output;
the edge cases use small files written to tmp_path.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from concerns.ingest.parse import NotRecognised, read_establishments, read_links
from concerns.ingest.parse.csvfile import parse_date
from concerns.ingest.parse.gias_csv import GIAS_TYPE_NAMES, gias_type_name

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EDUBASE = DATA / "edubase" / "edubasealldata20150407_extract.csv"
LINKS = DATA / "gias" / "links_edubasealldata20250422.csv"
TYPES = DATA / "gias" / "edubasealldata20250422-establishment-types.csv"
OFSTED = DATA / "ofsted" / (
    "maintained-schools-and-academies-inspections-and-outcomes-as-at-31-december-2017-oxfordshire.csv"
)
needs_real_data = pytest.mark.skipif(
    not EDUBASE.exists(), reason=f"the shared data folder is not beside the checkout ({DATA} is absent)"
)

ESTABLISHMENT_HEADER = [
    "URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName", "TypeOfEstablishment (name)",
    "EstablishmentStatus (name)", "PhaseOfEducation (name)", "OpenDate", "CloseDate",
    "ReligiousCharacter (name)", "Diocese (name)", "Trusts (name)",
]
LINK_HEADER = ["URN", "LinkURN", "LinkName", "LinkType", "LinkEstablishedDate"]


def read_real(path: Path) -> list[dict[str, str]]:
    """The real GIAS files are cp1252 (EduBase's 0x92 apostrophes; accents in the links file)."""
    with path.open(encoding="cp1252", newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "cp1252") -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def establishment(urn: str = "136750", **values: str) -> list[str]:
    row = {
        "URN": urn, "LA (code)": "205", "LA (name)": "Hammersmith and Fulham", "EstablishmentNumber": "4000",
        "EstablishmentName": "West London Free School", "TypeOfEstablishment (name)": "Free Schools",
        "EstablishmentStatus (name)": "Open", "PhaseOfEducation (name)": "Secondary", "OpenDate": "07-09-2011",
        "CloseDate": "", "ReligiousCharacter (name)": "Does not apply", "Diocese (name)": "Not applicable",
        "Trusts (name)": "West London Free School Academy Trust",
    } | values
    return [row[column] for column in ESTABLISHMENT_HEADER]


# --- the real EduBase 2015 extract -------------------------------------------------------------


@needs_real_data
def test_real_edubase_extract_every_row_is_read():
    expected = read_real(EDUBASE)
    result = read_establishments(EDUBASE)
    assert result.layout == "gias-establishments"
    assert result.errors == []
    assert result.rows_read == len(expected) == 323
    assert [school.urn for school in result.rows] == [row["URN"] for row in expected]


@needs_real_data
def test_real_edubase_statuses_dates_and_laestab_match_the_csv():
    expected = read_real(EDUBASE)
    result = read_establishments(EDUBASE)
    assert Counter(school.status for school in result.rows) == Counter(
        row["EstablishmentStatus (name)"].lower() for row in expected) == Counter({"open": 317, "closed": 6})
    for school, row in zip(result.rows, expected, strict=True):
        assert school.laestab == row["LA (code)"] + row["EstablishmentNumber"]
        assert school.la_name == row["LA (name)"]
        assert school.open_date == (parse_date(row["OpenDate"]) if row["OpenDate"] else None)
        assert school.close_date == (parse_date(row["CloseDate"]) if row["CloseDate"] else None)
        assert school.trust == (row["Trusts (name)"] or None)
    assert all(school.close_date for school in result.rows if school.status == "closed")


@needs_real_data
def test_real_edubase_cp1252_apostrophe_survives():
    names = [row["EstablishmentName"] for row in read_real(EDUBASE) if "\u2019" in row["EstablishmentName"]]
    assert names  # the file has 0x92 bytes, which are cp1252's right single quote
    parsed = {school.name for school in read_establishments(EDUBASE).rows}
    assert set(names) <= parsed


@needs_real_data
def test_real_edubase_legacy_type_names_become_gias_names():
    with TYPES.open(encoding="utf-8", newline="") as f:
        gias_names = {row["type-of-establishment-name"] for row in csv.DictReader(f)}
    result = read_establishments(EDUBASE)
    assert Counter(school.type_name for school in result.rows) == Counter({
        "Free schools": 200, "Studio schools": 36, "University technical college": 30,
        "Free schools alternative provision": 29, "Free schools special": 14, "Free schools 16 to 19": 14,
    })
    assert {school.type_name for school in result.rows} <= gias_names


@needs_real_data
def test_real_edubase_not_applicable_words_are_none():
    result = read_establishments(EDUBASE)
    characters = {school.religious_character for school in result.rows}
    dioceses = {school.diocese for school in result.rows}
    assert not characters & {"None", "Does not apply", ""}
    assert "Not applicable" not in dioceses
    assert "Church of England" in characters and "Diocese of Chelmsford" in dioceses


# --- the real GIAS links file ------------------------------------------------------------------


@needs_real_data
def test_real_links_file_every_row_is_read():
    expected = read_real(LINKS)
    result = read_links(LINKS)
    assert result.layout == "gias-links"
    assert result.errors == []
    assert result.rows_read == len(expected) == 33801
    assert Counter(link.link_type for link in result.rows) == Counter(row["LinkType"] for row in expected)
    assert sum(link.established is not None for link in result.rows) == sum(
        bool(row["LinkEstablishedDate"]) for row in expected)
    first = result.rows[0]
    assert (first.line, first.urn, first.link_urn, first.link_type, first.established) == (
        2, "100006", "134643", "Predecessor - merged", date(2022, 1, 1))
    assert first.link_name == "CCfL Key Stage 3 PRU"


@needs_real_data
def test_real_links_accented_names_survive_cp1252():
    accented = {row["LinkName"] for row in read_real(LINKS) if any(ord(c) > 127 for c in row["LinkName"])}
    assert accented
    assert accented <= {link.link_name for link in read_links(LINKS).rows}


@needs_real_data
def test_real_links_line_numbers_are_physical_lines():
    lines = LINKS.read_text(encoding="cp1252").splitlines()
    result = read_links(LINKS)
    for link in result.rows[::997]:
        assert lines[link.line - 1].startswith(f"{link.urn},{link.link_urn},")


@needs_real_data
@pytest.mark.parametrize("reader", [read_establishments, read_links])
@pytest.mark.parametrize("path", [OFSTED, TYPES], ids=["ofsted", "establishment-types"])
def test_other_real_files_are_not_recognised(reader, path):
    with pytest.raises(NotRecognised, match="missing required columns"):
        reader(path)


@needs_real_data
def test_links_file_is_not_an_establishments_file_and_vice_versa():
    with pytest.raises(NotRecognised, match="'EstablishmentName'"):
        read_establishments(LINKS)
    with pytest.raises(NotRecognised, match="'LinkURN'"):
        read_links(EDUBASE)


@needs_real_data
def test_type_table_is_the_gias_list():
    with TYPES.open(encoding="utf-8", newline="") as f:
        gias_names = {row["type-of-establishment-name"] for row in csv.DictReader(f)}
    assert set(GIAS_TYPE_NAMES) == gias_names


# --- type names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "gias"),
    [("Academy Converter", "Academy converter"), ("Community School", "Community school"),
     ("Voluntary Aided School", "Voluntary aided school"), ("Free School", "Free schools"),
     ("LA Nursery School", "Local authority nursery school"), ("Academy 16-19 Sponsor Led", "Academy 16 to 19 sponsor led"),
     ("Academy 16 to 19 converter", "Academy 16-19 converter"), ("Free Schools - 16-19", "Free schools 16 to 19"),
     ("Free Schools - Alternative Provision", "Free schools alternative provision"),
     ("Non-Maintained Special School", "Non-maintained special school"), ("Studio Schools", "Studio schools")],
)
def test_type_spellings_map_to_gias_names(spelling, gias):
    assert gias_type_name(spelling) == gias


def test_every_gias_type_name_maps_to_itself_and_unknown_names_pass_through():
    assert all(gias_type_name(name) == name for name in GIAS_TYPE_NAMES)
    assert gias_type_name("Hospital school") == "Hospital school"


# --- synthetic establishments files ------------------------------------------------------------


def test_establishments_values_and_not_applicable_words(tmp_path):
    rows = [establishment(), establishment("100001", **{"EstablishmentStatus (name)": "Proposed to open",
                                                        "ReligiousCharacter (name)": "Church of England",
                                                        "Diocese (name)": "Diocese of Oxford",
                                                        "EstablishmentNumber": "12"})]
    result = read_establishments(write_csv(tmp_path / "est.csv", ESTABLISHMENT_HEADER, rows, "utf-8-sig"))
    assert result.errors == []
    first, second = result.rows
    assert (first.urn, first.laestab, first.type_name, first.status) == ("136750", "2054000", "Free schools", "open")
    assert (first.religious_character, first.diocese, first.open_date) == (None, None, date(2011, 9, 7))
    assert (second.status, second.religious_character, second.diocese) == (None, "Church of England", "Diocese of Oxford")
    assert second.laestab == "2050012"


def test_establishments_bad_values_are_errors_with_lines(tmp_path):
    rows = [establishment("100001"), establishment("10002"), establishment("100003", CloseDate="31-02-2020"),
            establishment("100004", **{"EstablishmentStatus (name)": "Mothballed"}),
            establishment("100005", EstablishmentName="")]
    result = read_establishments(write_csv(tmp_path / "bad.csv", ESTABLISHMENT_HEADER, rows))
    assert [school.urn for school in result.rows] == ["100001"]
    assert [(e.line, e.urn, e.reason.split(":")[0]) for e in result.errors] == [
        (3, "10002", "URN"), (4, "100003", "CloseDate"), (5, "100004", "EstablishmentStatus (name)"),
        (6, "100005", "EstablishmentName"),
    ]
    assert result.errors[1].reason == "CloseDate: '31-02-2020' is not a date (dd/mm/yyyy, dd-mm-yyyy or yyyy-mm-dd)"
    assert result.errors[3].reason == "EstablishmentName: missing"


def test_establishments_renamed_headers_still_match(tmp_path):
    header = ["urn", "LA code", "la name", "Establishment number", "Establishment Name", "Type of establishment",
              "Establishment status", "Phase of education", "Open date", "Close date", "Religious character",
              "Diocese", "Trust name"]
    result = read_establishments(write_csv(tmp_path / "renamed.csv", header, [establishment()]))
    assert result.errors == []
    school = result.rows[0]
    assert (school.name, school.laestab, school.type_name, school.phase) == (
        "West London Free School", "2054000", "Free schools", "Secondary")


def test_empty_and_binary_files_are_not_establishments(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(NotRecognised, match="empty"):
        read_establishments(empty)
    binary = tmp_path / "edubase.zip"
    binary.write_bytes(b"PK\x03\x04\x00\x00" + bytes(300))
    with pytest.raises(NotRecognised, match="binary"):
        read_establishments(binary)


# --- synthetic links files ---------------------------------------------------------------------


def test_links_bad_urns_and_dates_are_errors_and_good_rows_come_through(tmp_path):
    rows = [["100006", "134643", "Sch\u00f4ol", "Predecessor", ""], ["100007", "", "X", "Successor", ""],
            ["100008", "1346", "X", "Successor", ""], ["100009", "134645", "X", "Successor", "2021-09-01"],
            ["100010", "134646", "X", "Successor", "30-02-2021"]]
    result = read_links(write_csv(tmp_path / "links.csv", LINK_HEADER, rows))
    assert [(link.urn, link.link_name, link.established) for link in result.rows] == [
        ("100006", "Sch\u00f4ol", None), ("100009", "X", date(2021, 9, 1))]
    assert [(e.line, e.urn, e.reason) for e in result.errors] == [
        (3, "100007", "LinkURN: missing"),
        (4, "100008", "LinkURN: '1346' is not a URN (6 digits)"),
        (6, "100010", "LinkEstablishedDate: '30-02-2021' is not a date (dd/mm/yyyy, dd-mm-yyyy or yyyy-mm-dd)"),
    ]
    assert result.rows_read == 5
