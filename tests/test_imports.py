"""Ofsted and GIAS imports into the database (the concerns.ingest.load package).

The register after importing the real Oxfordshire 2017 file is compared with counts derived here from
the file itself with the csv module: which schools are in a category, maintained or academy and on
which pathway, which are RI, which are stuck. Edge cases use small files written to tmp_path.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlmodel import select

from concerns.casework import cases
from concerns.casework.views import case_view, register
from concerns.domain.judgements import Judgement, Outcome
from concerns.domain.rules import DEFAULT_RULES
from concerns.ingest.load import (
    NotRecognised,
    import_file,
    import_gias,
    import_ofsted,
    still_live,
)
from concerns.ingest.load import ofsted as ofsted_import
from concerns.ingest.load.history import LIVE_WINDOW
from concerns.notify.reminders import deadline_check
from concerns.store.db import engine_for, session_scope
from models import AuthorityPolicy, Case, Deadline, Inspection, School
from tests.support.equivalence import differences, natural_dump, twin_database

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OXFORDSHIRE = DATA / "ofsted" / (
    "maintained-schools-and-academies-inspections-and-outcomes-as-at-31-december-2017-oxfordshire.csv"
)
EDUBASE = DATA / "edubase" / "edubasealldata20150407_extract.csv"
AS_OF = date(2026, 11, 22)
D = date.fromisoformat


def real(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"the shared data file {path} is not beside the checkout")
    return path


# --- what the Oxfordshire file says, read with the csv module -------------------------------------------

MAINTAINED_WORDS = ("community", "voluntary", "foundation", "la nursery", "pupil referral")
ACADEMY_WORDS = ("academy", "free school", "studio school", "university technical college")
CATEGORY_CODES = {"SM", "SWK", "RSI", "NTI"}


def governance(type_of_education: str) -> str | None:
    """maintained | academy | None (not state-funded: non-maintained special, independent)."""
    folded = type_of_education.strip().lower()
    if folded.startswith("non-maintained"):
        return None
    if folded.startswith(ACADEMY_WORDS):
        return "academy"
    if folded.startswith(MAINTAINED_WORDS):
        return "maintained"
    raise AssertionError(f"type not classified by the test: {type_of_education!r}")


def category(cell: str) -> str | None:
    code = cell.strip().upper()
    return code if code in CATEGORY_CODES else None


def file_facts(path: Path) -> dict:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if governance(r["Type of education"])]
    in_category = {r["URN"]: (governance(r["Type of education"]), category(r["Category of concern"]))
                   for r in rows if category(r["Category of concern"])}
    ri = {r["URN"] for r in rows if r["Overall effectiveness"] == "3" and not category(r["Category of concern"])}
    stuck = {r["URN"] for r in rows if r["URN"] in ri and (
        r["Previous overall effectiveness"] in ("3", "4") or category(r["Previous category of concern"]))}
    maintained = {r["URN"]: governance(r["Type of education"]) == "maintained" for r in rows}
    return {"rows": rows, "in_category": in_category, "ri": ri, "stuck": stuck, "maintained": maintained}


@pytest.fixture
def oxfordshire(db_url):
    summary = import_ofsted(db_url, real(OXFORDSHIRE), as_of=AS_OF)
    return db_url, summary


def test_oxfordshire_register_matches_the_file(oxfordshire):
    db_url, summary = oxfordshire
    facts = file_facts(OXFORDSHIRE)
    assert summary.rows_read == 299 and summary.rows_refused == 0
    # The two non-maintained special schools are correct rows about schools with no pathway: skipped.
    assert summary.schools_new == len(facts["rows"]) == 297
    assert len(summary.skipped) == 2 and all("not a state-funded school type" in s.reason for s in summary.skipped)
    with session_scope(db_url) as session:
        rows = {r["urn"]: r for r in register(session, AS_OF)}
    assert set(rows) == set(facts["in_category"]) | facts["ri"]

    # Schools in a category: maintained SM -> special measures, maintained SWK -> serious weaknesses,
    # an academy in either -> academy of concern; the register's category is the file's (SWK is RSI).
    assert len(facts["in_category"]) == 5
    for urn, (kind, code) in facts["in_category"].items():
        row = rows[urn]
        assert row["maintained"] is (kind == "maintained")
        expected = ("academy_of_concern" if kind == "academy"
                    else {"SM": "special_measures", "SWK": "serious_weaknesses"}[code])
        assert (row["pathway"], row["category"]) == (expected, {"SWK": "RSI"}.get(code, code)), urn

    # RI schools (overall 3, no category), maintained or academy, on the requires-improvement pathway.
    assert len(facts["ri"]) == 26
    for urn in facts["ri"]:
        assert (rows[urn]["pathway"], rows[urn]["category"]) == ("requires_improvement", "RI"), urn
        assert rows[urn]["maintained"] is facts["maintained"][urn]
    assert {u for u in facts["ri"] if facts["maintained"][u]} == {
        u for u, r in rows.items() if r["pathway"] == "requires_improvement" and r["maintained"]}

    # Stuck: RI at the latest and below good (3, 4 or a category) at the one before.
    assert {u for u, r in rows.items() if r["stuck"]} == facts["stuck"]
    assert len(facts["stuck"]) == 8


def test_oxfordshire_inspections_and_schools_are_recorded(oxfordshire):
    db_url, summary = oxfordshire
    facts = file_facts(OXFORDSHIRE)
    # Every latest and previous inspection with a judgement, once (the file's 9 and 32 NULLs are none).
    expected = sum(1 for r in facts["rows"] for col in ("Overall effectiveness", "Previous overall effectiveness")
                   if r[col] in ("1", "2", "3", "4"))
    assert summary.inspections_recorded == expected
    with session_scope(db_url) as session:
        assert session.exec(select(func.count()).select_from(Inspection)).one() == expected
        school = session.get(School, "142350")  # Finstock CE Primary, an academy converter
        assert (school.type_name, school.maintained, school.la, school.laestab, school.predecessor_urn) == (
            "Academy converter", False, "Oxfordshire", "9313040", "123095")
        assert school.opened_on == D("2015-10-01")
        assert session.get(AuthorityPolicy, "Oxfordshire") is not None
        sm = session.exec(select(Case).where(Case.urn == "123245")).one()  # maintained, SM in 2017
        assert sm.state == "sm_statement_due" and sm.facts["academy_order"]


@pytest.mark.parametrize("held_read", ["by URN", "whole table"])
def test_importing_the_same_file_twice_changes_nothing(oxfordshire, held_read, monkeypatch):
    db_url, first = oxfordshire
    assert first.changed_anything
    before = _snapshot(db_url)
    # A file naming most of the schools held reads what is held in one pass over the table, else by URN.
    monkeypatch.setattr(ofsted_import, "in_one_pass", lambda connection, schools: held_read == "whole table")
    second = import_ofsted(db_url, OXFORDSHIRE, as_of=AS_OF, reuse=False)  # read and compared, not skipped
    assert (second.schools_new, second.schools_changed, second.inspections_recorded, second.cases_opened,
            second.cases_moved, second.cases_closed, second.deadlines_historical) == (0, 0, 0, 0, 0, 0, 0)
    assert second.schools_unchanged == first.schools_new
    assert second.inspections_held == first.inspections_recorded
    assert not second.changed_anything
    assert _snapshot(db_url) == before


def test_what_is_held_reads_the_same_by_urn_and_from_the_whole_table(oxfordshire, monkeypatch):
    db_url, _ = oxfordshire
    with session_scope(db_url) as session:
        urns = list(session.exec(select(School.urn)))[::2] + ["999999"]  # some of them, and one not held
        monkeypatch.setattr(ofsted_import, "in_one_pass", lambda connection, schools: False)
        by_urn = ofsted_import._held_inspections(session, urns)
        monkeypatch.setattr(ofsted_import, "in_one_pass", lambda connection, schools: True)
        whole = ofsted_import._held_inspections(session, urns)
    assert by_urn and whole == by_urn
    assert all(type(published) is date for held in whole.values() for _, published in held)


def _snapshot(db_url: str) -> dict:
    with engine_for(db_url).connect() as connection:
        return {table: connection.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()
                for table in ("school", "inspection", "inspection_grade", "pathway_case", "case_event", "deadline",
                              "authority_policy")}


def test_fast_path_writes_what_record_inspection_writes(tmp_path, db_url):
    """The fast import (schools replayed in memory, rows written in bulk) yields exactly the database the
    step-by-step one does (every inspection through cases.record_inspection): every table, every
    column but surrogate ids and timestamps, on the same engine; and the same summary."""
    with twin_database(db_url, tmp_path) as slow_url:
        fast = import_ofsted(db_url, real(OXFORDSHIRE), as_of=AS_OF)
        slow = import_ofsted(slow_url, OXFORDSHIRE, as_of=AS_OF, fast=False)
        assert fast.cases_opened and fast.cases_closed and fast.deadlines_historical  # something to compare
        assert _summary(fast) == _summary(slow)
        assert differences(natural_dump(db_url), natural_dump(slow_url)) == []


def _summary(summary) -> dict:
    return {k: v for k, v in summary.to_dict().items() if k not in ("seconds", "file")}


# --- refused rows and files ------------------------------------------------------------------------------


def mi_header() -> list[str]:
    """The mi-2017 layout's 51 headers, as the benchmark's generator writes them (checked below)."""
    from bench.make_national import MI_2017_HEADER

    return MI_2017_HEADER


def test_the_generator_writes_the_oxfordshire_header_exactly():
    with real(OXFORDSHIRE).open(encoding="utf-8", newline="") as fh:
        assert next(csv.reader(fh)) == mi_header()


def mi_row(urn: str, *, name: str = "Test School", type_: str = "Community School", la: str = "Testshire",
           number: str = "", start: str = "NULL", published: str = "NULL", overall: str = "NULL",
           cat: str = "", prev_number: str = "NULL", prev_published: str = "NULL", prev_overall: str = "NULL",
           prev_cat: str = "") -> list[str]:
    values = dict.fromkeys(mi_header(), "NULL")
    values.update({
        "URN": urn, "LAESTAB": "9999999", "School name": name, "Local authority": la, "Type of education": type_,
        "Phase of education": "Primary", "Inspection number": number or "NULL", "Inspection start date": start,
        "Publication date": published, "Overall effectiveness": overall, "Category of concern": cat,
        "Previous inspection number": prev_number, "Previous publication date": prev_published,
        "Previous overall effectiveness": prev_overall, "Previous category of concern": prev_cat,
    })
    return list(values.values())


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_bad_rows_are_refused_with_their_line_and_the_good_rows_go_in(tmp_path, db_url):
    path = write_csv(tmp_path / "mi.csv", mi_header(), [
        mi_row("900001", number="N1", start="01/03/2024", published="20/03/2024", overall="2"),  # line 2
        mi_row("900002", number="N2", start="01/03/2024", published="20/03/2024", overall="7"),  # 3: grade
        mi_row("", number="N3", start="01/03/2024", published="20/03/2024", overall="2"),  # 4: no URN
        mi_row("900004", number="N4", start="31/02/2024", published="20/03/2024", overall="3"),  # 5: date
        mi_row("900005", number="N5", start="05/03/2024", published="01/03/2024", overall="3"),  # 6: order
        mi_row("900006", number="N6", start="01/03/2024", published="20/03/2024", overall="3"),  # line 7
        mi_row("900007", type_="Independent School", number="N7", start="01/03/2024", published="20/03/2024",
               overall="4", cat="SM"),  # line 8: not state-funded, skipped
        mi_row("900008", number="N8", start="01/03/2024", published="20/03/2024", overall="4"),  # 4, no code
    ])
    summary = import_ofsted(db_url, path, as_of=AS_OF)
    refused = {r.line: r for r in summary.refused}
    assert set(refused) == {3, 4, 5, 6}
    assert refused[3].urn == "900002" and "'7' is not a grade" in refused[3].reason
    assert refused[4].urn is None and "URN" in refused[4].reason
    assert "'31/02/2024' is not a date" in refused[5].reason
    assert refused[6].urn == "900005" and "after its publication date" in refused[6].reason
    assert [(s.line, s.urn) for s in summary.skipped] == [(8, "900007")]
    assert (summary.rows_read, summary.rows_refused, summary.schools_new) == (8, 4, 3)
    assert any("line 3 URN 900002" in line for line in summary.lines())
    with session_scope(db_url) as session:
        assert sorted(s.urn for s in session.exec(select(School))) == ["900001", "900006", "900008"]
        cases = {c.urn: c.pathway for c in session.exec(select(Case))}
    # Overall 4 with no category code is read as serious weaknesses (the lesser category).
    assert cases == {"900006": "requires_improvement", "900008": "serious_weaknesses"}


def test_a_report_published_years_ahead_is_refused_by_its_line_and_the_rest_go_in(tmp_path, db_url):
    path = write_csv(tmp_path / "mi.csv", mi_header(), [
        mi_row("900011", number="N11", start="01/03/2024", published="20/03/2024", overall="3"),  # line 2
        mi_row("900012", number="N12", start="01/03/2200", published="20/03/2200", overall="4", cat="SM"),  # 3
    ])
    summary = import_ofsted(db_url, path, as_of=AS_OF)
    (refused,) = summary.refused
    assert (refused.line, refused.urn) == (3, "900012") and "2200-03-20" in refused.reason
    assert "more than a year after today" in refused.reason
    with session_scope(db_url) as session:
        assert [c.urn for c in session.exec(select(Case))] == ["900011"]


def test_a_school_the_machine_refuses_changes_nothing_and_the_others_go_in(tmp_path, db_url):
    # Held: an SM inspection, then the statement of action sent on 20 Oct. The file brings a report
    # published on 10 Oct, after the latest held inspection but before the case's last event.
    with session_scope(db_url) as session:
        cases.add_school(session, "900101", name="Held School", la="Testshire", type_name="Community school")
        session.flush()
        cases.record_inspection(session, "900101", Judgement(published=D("2026-10-01"),
                                                                outcome=Outcome.special_measures))
        cases.record_event(session, "900101", "submit_statement_of_action", on=D("2026-10-20"))
    path = write_csv(tmp_path / "mi.csv", mi_header(), [
        mi_row("900100", number="M0", start="01/09/2026", published="01/10/2026", overall="3"),
        mi_row("900101", number="M1", start="01/09/2026", published="10/10/2026", overall="3",
               prev_number="NULL", prev_published="01/10/2026", prev_overall="4", prev_cat="SM"),
        mi_row("900102", number="M2", start="01/09/2026", published="01/10/2026", overall="2"),
    ])
    summary = import_ofsted(db_url, path, as_of=AS_OF)
    assert [(r.line, r.urn) for r in summary.refused] == [(3, "900101")]
    assert "earlier than the case's last event" in summary.refused[0].reason
    assert (summary.schools_new, summary.schools_unchanged, summary.inspections_recorded) == (2, 0, 2)
    with session_scope(db_url) as session:
        held = session.exec(select(Inspection).where(Inspection.urn == "900101")).all()
        assert [i.published for i in held] == [D("2026-10-01")]
        assert session.get(School, "900100") is not None and session.get(School, "900102") is not None


@pytest.mark.parametrize("content", [
    b"",
    b"URN,LinkURN,LinkName,LinkType,LinkEstablishedDate\n100001,100002,X,Successor,\n",
    b"name,value\nfoo,1\n",
    b"PK\x03\x04\x00\x00binary",
])
def test_a_file_that_is_not_an_ofsted_csv_is_refused_before_anything_is_written(tmp_path, db_url, content):
    path = tmp_path / "not-ofsted.csv"
    path.write_bytes(content)
    before = _snapshot(db_url)
    with pytest.raises(NotRecognised, match="not-ofsted.csv is not an Ofsted"):
        import_ofsted(db_url, path, as_of=AS_OF)
    assert _snapshot(db_url) == before


def test_a_file_that_is_not_a_gias_csv_is_refused_before_anything_is_written(tmp_path, db_url):
    path = write_csv(tmp_path / "mi.csv", mi_header(), [
        mi_row("900001", number="N1", start="01/03/2024", published="20/03/2024", overall="2")])
    before = _snapshot(db_url)
    with pytest.raises(NotRecognised, match="not a GIAS establishments CSV"):
        import_gias(db_url, path, as_of=AS_OF)
    assert _snapshot(db_url) == before


def test_import_file_dispatches_and_filters_by_authority(tmp_path, db_url):
    path = write_csv(tmp_path / "mi.csv", mi_header(), [
        mi_row("900201", la="Testshire", number="L1", start="01/03/2024", published="20/03/2024", overall="3"),
        mi_row("900202", la="Otherton", number="L2", start="01/03/2024", published="20/03/2024", overall="3"),
    ])
    summary = import_file(db_url, "ofsted", path, as_of=AS_OF, la="testshire")
    assert (summary.schools_new, summary.rows_other_la) == (1, 1)
    assert summary.to_dict()["rows_other_la"] == 1


# --- history is not news ---------------------------------------------------------------------------------


def test_history_is_not_news(oxfordshire):
    db_url, summary = oxfordshire
    assert summary.deadlines_historical > 0
    with session_scope(db_url) as session:
        deadlines = session.exec(select(Deadline)).all()
        past = [d for d in deadlines if d.due < AS_OF]
        assert past and all(d.historical for d in past)
        assert {d.status for d in past if d.historical} <= {"open", "met", "cancelled"}  # never "missed"
        assert sum(d.historical for d in deadlines) == summary.deadlines_historical
        # Shown as history, not as missed, wherever an officer looks.
        urn = next(d.urn for d in past if d.historical)
        shown = [x for c in case_view(session, urn, AS_OF)["cases"] for x in c["deadlines"] if x["historical"]]
        assert shown and {x["status"] for x in shown} <= {"historical", "met", "cancelled"}
        for day in (AS_OF, date(2026, 11, 23), date(2026, 12, 1)):
            result = deadline_check(session, day)
            assert (result.items, result.marked_missed) == ([], 0)
        session.rollback()
    # The daily job itself (digests and all) finds nothing to send either.
    from concerns.jobs import run_deadline_check

    done = run_deadline_check(db_url, AS_OF)
    assert (done["reminders"], done["marked_missed"], done["digests_queued"]) == (0, 0, 0)


def test_a_live_deadline_is_still_news(tmp_path, db_url):
    # A school put in special measures this month: its statement of action fell due last week (past on
    # import, but within the term on an open case): live. The 2019 case closed long ago: history.
    path = write_csv(tmp_path / "mi.csv", mi_header(), [
        mi_row("900301", number="S1", start="20/10/2026", published="02/11/2026", overall="4", cat="SM"),
        mi_row("900302", number="S2", start="01/03/2021", published="20/03/2021", overall="2",
               prev_number="S3", prev_published="20/03/2019", prev_overall="4", prev_cat="SM"),
    ])
    summary = import_ofsted(db_url, path, as_of=AS_OF)
    with session_scope(db_url) as session:
        soa = session.exec(select(Deadline).where(Deadline.urn == "900301",
                                                  Deadline.kind == "statement_of_action")).one()
        assert soa.due < AS_OF and not soa.historical
        old = session.exec(select(Deadline).where(Deadline.urn == "900302")).all()
        assert old and all(d.historical for d in old)
        assert summary.deadlines_historical == len(old)
        result = deadline_check(session, AS_OF)
        assert {(i.urn, i.kind, i.step) for i in result.items} >= {("900301", "statement_of_action", "missed")}
        assert all(i.urn == "900301" for i in result.items)
        session.rollback()


def test_still_live():
    assert still_live(D("2027-01-01"), False, AS_OF)  # future: always
    assert still_live(D("2026-11-10"), True, AS_OF)  # past, open case, this term
    assert not still_live(D("2026-11-10"), False, AS_OF)  # past, case closed
    assert not still_live(D("2026-05-01"), True, AS_OF)  # past, open case, over a term ago


def test_live_window_is_the_rule_books_and_ends_on_its_day():
    assert LIVE_WINDOW == timedelta(weeks=DEFAULT_RULES.get("imports/live-window").params["weeks"]) == timedelta(weeks=13)
    first_live = AS_OF - LIVE_WINDOW  # 2026-08-23
    assert still_live(first_live, True, AS_OF)  # the day the window opens
    assert not still_live(first_live - timedelta(days=1), True, AS_OF)  # the day before


# --- GIAS ----------------------------------------------------------------------------------------------------


def test_gias_establishments_from_the_edubase_extract(db_url):
    path = real(EDUBASE)
    with path.open(encoding="cp1252", newline="") as fh:
        rows = list(csv.DictReader(fh))
    summary = import_gias(db_url, path, as_of=AS_OF)
    assert summary.kind == "gias-establishments"
    assert (summary.rows_read, summary.schools_new, summary.rows_refused) == (len(rows), len(rows), 0)
    with session_scope(db_url) as session:
        schools = {s.urn: s for s in session.exec(select(School))}
    closed = {r["URN"]: D("-".join(reversed(r["CloseDate"].split("-"))))
              for r in rows if r["EstablishmentStatus (name)"] == "Closed"}
    assert {u: s.closed_on for u, s in schools.items() if s.status == "closed"} == closed
    assert all(not s.maintained for s in schools.values())  # free schools, UTCs, studio schools
    for r in rows:
        school = schools[r["URN"]]
        assert school.la == r["LA (name)"]
        assert school.laestab == r["LA (code)"] + r["EstablishmentNumber"].zfill(4)
        religious = r["ReligiousCharacter (name)"]
        assert school.religious_character == (religious if religious not in ("", "None", "Does not apply") else None)
        assert school.trust == (r["Trusts (name)"] or None)
    again = import_gias(db_url, path, as_of=AS_OF)
    assert (again.schools_new, again.schools_changed, again.schools_unchanged) == (0, 0, len(rows))


ESTABLISHMENT_HEADER = ["URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName",
                        "TypeOfEstablishment (name)", "EstablishmentStatus (name)", "PhaseOfEducation (name)",
                        "OpenDate", "CloseDate", "ReligiousCharacter (name)", "Diocese (name)", "Trusts (name)"]
LINK_HEADER = ["URN", "LinkURN", "LinkName", "LinkType", "LinkEstablishedDate"]


def test_a_maintained_school_in_special_measures_converts_to_an_academy(tmp_path, oxfordshire):
    db_url, _ = oxfordshire
    # 123245, a community school in special measures in the 2017 file, becomes a sponsored academy.
    establishments = write_csv(tmp_path / "edubase.csv", ESTABLISHMENT_HEADER, [
        ["123245", "931", "Oxfordshire", "2000", "Old Community School", "Community school", "Closed",
         "Primary", "", "31-05-2018", "Does not apply", "Not applicable", ""],
        ["149001", "931", "Oxfordshire", "2001", "New Sponsored Academy", "Academy sponsor led", "Open",
         "Primary", "01-06-2018", "", "Does not apply", "Not applicable", "Good Schools Trust"],
    ], encoding="cp1252")
    first = import_gias(db_url, establishments, as_of=AS_OF)
    assert (first.schools_new, first.schools_changed) == (1, 1)
    # The establishments file alone cannot say the school converted: its case is left open, and said so.
    assert [s.urn for s in first.skipped] == ["123245"] and "left open" in first.skipped[0].reason
    links = write_csv(tmp_path / "links.csv", LINK_HEADER, [
        ["123245", "149001", "New Sponsored Academy", "Successor", "01-06-2018"],
        ["149001", "123245", "Old Community School", "Predecessor", "01-06-2018"],
    ], encoding="cp1252")
    summary = import_gias(db_url, links, as_of=AS_OF)
    assert summary.kind == "gias-links"
    assert (summary.predecessors_linked, summary.cases_closed, summary.rows_refused) == (1, 1, 0)
    with session_scope(db_url) as session:
        academy = session.get(School, "149001")
        assert (academy.predecessor_urn, academy.maintained, academy.trust) == ("123245", False, "Good Schools Trust")
        case = session.exec(select(Case).where(Case.urn == "123245")).one()
        assert (case.pathway, case.state, case.outcome, case.closed) == (
            "special_measures", "closed", "converted", D("2018-06-01"))
        assert not session.exec(select(Deadline).where(Deadline.case_id == case.id,
                                                       Deadline.status == "open")).all()
        # From the academy, its predecessor's history is one step away, and shown with it.
        history = case_view(session, academy.predecessor_urn, AS_OF)
        assert history["cases"][0]["events"][-1]["event"] == "convert_to_academy"
        shown = case_view(session, "149001", AS_OF)
        assert shown["predecessor"]["urn"] == "123245"
        assert (shown["predecessor"]["cases"][0]["pathway"], shown["predecessor"]["cases"][0]["outcome"]) == (
            "special_measures", "converted")
        assert [s["urn"] for s in history["successors"]] == ["149001"]
        assert all(r["urn"] != "123245" for r in register(session, AS_OF))
    again = import_gias(db_url, links, as_of=AS_OF)
    assert not again.changed_anything


def test_links_to_an_unknown_successor_are_refused_and_closed_schools_are_swept(tmp_path, oxfordshire):
    db_url, _ = oxfordshire
    # 139532 (academy, SWK) and 123049 (community, RI) have open cases in the 2017 file.
    with session_scope(db_url) as session:
        session.get(School, "123049").status = "closed"
        session.get(School, "123049").closed_on = D("2019-08-31")
    links = write_csv(tmp_path / "links.csv", LINK_HEADER, [
        ["123245", "149999", "Unknown Academy", "Successor", "01-09-2019"],
        ["100001", "100002", "Neither is ours", "Successor", ""],
        ["123049", "149998", "A merger", "Successor - merged", "01-09-2019"],
    ], encoding="cp1252")
    summary = import_gias(db_url, links, as_of=AS_OF)
    assert [(r.line, r.urn) for r in summary.refused] == [(2, "123245")]
    assert "149999" in summary.refused[0].reason and "not registered" in summary.refused[0].reason
    with session_scope(db_url) as session:
        # The refused link changed nothing: the SM case is still open.
        assert session.exec(select(Case).where(Case.urn == "123245", Case.closed.is_(None))).one()
        # The sweep: 123049 closed in 2019 with no academy successor, so its open RI case closed then.
        swept = session.exec(select(Case).where(Case.urn == "123049")).all()
        assert not [c for c in swept if c.closed is None]
        assert [(c.pathway, c.outcome) for c in swept if c.closed == D("2019-08-31")] == [
            ("requires_improvement", "school_closed")]


# --- the current layout: report cards, and graded inspections with no overall grade ----------------------

STATE_FUNDED_2025 = [
    "URN", "LAESTAB", "School name", "Type of education", "Local authority", "Inspection number of latest full inspection",
    "Inspection start date", "Publication date", "Category of concern", "Safeguarding standards", "Inclusion",
    "Curriculum and teaching", "Achievement", "Attendance and behaviour", "Personal development and wellbeing",
    "Leadership and governance", "Inspection number of latest OEIF graded inspection",
    "Inspection start date of latest OEIF graded inspection", "Publication date of latest OEIF graded inspection",
    "Latest OEIF category of concern", "Latest OEIF overall effectiveness", "Latest OEIF quality of education",
    "Latest OEIF behaviour and attitudes", "Latest OEIF personal development",
    "Latest OEIF effectiveness of leadership and management",
]


def card_row(urn: str, type_: str, *, card: dict[str, str] | None = None, oeif: tuple[str, ...] = ()) -> list[str]:
    values = dict.fromkeys(STATE_FUNDED_2025, "NULL") | {
        "URN": urn, "School name": f"School {urn}", "Type of education": type_, "Local authority": "Testshire"}
    if card:
        values |= {"Inspection number of latest full inspection": f"RC{urn}", "Inspection start date": "10/02/2026",
                   "Publication date": card.pop("published"), "Category of concern": card.pop("category", ""),
                   "Safeguarding standards": "Met"}
        values |= {area: "Expected standard" for area in STATE_FUNDED_2025[10:16]} | card
    if oeif:
        published, overall, quality = oeif
        values |= {"Inspection number of latest OEIF graded inspection": f"OE{urn}",
                   "Inspection start date of latest OEIF graded inspection": "01/" + published[3:],
                   "Publication date of latest OEIF graded inspection": published,
                   "Latest OEIF category of concern": "", "Latest OEIF overall effectiveness": overall,
                   "Latest OEIF quality of education": quality, "Latest OEIF behaviour and attitudes": "2",
                   "Latest OEIF personal development": "2", "Latest OEIF effectiveness of leadership and management": "2"}
    return list(values.values())


def test_report_cards_and_key_judgements_from_the_current_layout(tmp_path, db_url):
    path = write_csv(tmp_path / "latest.csv", STATE_FUNDED_2025, [
        card_row("900401", "Community school", card={"published": "10/03/2026", "Achievement": "Needs attention"},
                 oeif=("10/05/2023", "2", "2")),
        card_row("900402", "Academy converter", card={"published": "10/03/2026", "category": "SM",
                                                      "Achievement": "Urgent improvement",
                                                      "Leadership and governance": "Urgent improvement"}),
        # Sep 2024 - Nov 2025: no overall grade; the worst key judgement (RI) stands in for it.
        card_row("900403", "Community school", oeif=("01/03/2025", "Not judged", "3")),
        card_row("900404", "Community school", oeif=("01/03/2025", "Not judged", "2")),
    ])
    summary = import_ofsted(db_url, path, as_of=AS_OF)
    assert summary.layout == "state-funded-2025" and summary.rows_refused == 0
    assert summary.inspections_recorded == 5
    with session_scope(db_url) as session:
        rows = {r["urn"]: (r["pathway"], r["category"]) for r in register(session, AS_OF)}
        card = session.exec(select(Inspection).where(Inspection.urn == "900402")).one()
        assert (card.regime, card.category, card.level) == ("report_card", "SM", "sm")
    assert rows == {"900401": ("requires_improvement", "NA"), "900402": ("academy_of_concern", "SM"),
                    "900403": ("requires_improvement", "RI")}


# --- what a file could not say is refused by line; the rest goes in -------------------------------------


def csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue()


def test_a_file_that_could_not_say_some_rows_refuses_them_by_line_and_imports_the_rest(tmp_path, cli):
    inspected = {"start": "01/03/2024", "published": "20/03/2024"}
    lines = [
        csv_line(mi_header()),
        csv_line(mi_row("900001", number="N1", overall="2", **inspected)),  # line 2
        csv_line(mi_row("900002", number="N2", overall="3", **inspected)).replace("Test School", '"Test School'),
        csv_line(mi_row("900003", number="N3", overall="2", **inspected)),  # line 4: swallowed by line 3
        csv_line(mi_row("900004", number="N4", overall="2", **inspected)),  # 5 and 6: one inspection,
        csv_line(mi_row("900004", number="N4", overall="4", **inspected)),  # two outcomes
        csv_line(mi_row("900006", number="N6", overall="3", prev_number="P6", prev_published="01/04/2024",
                        prev_overall="2", **inspected)),  # line 7: previous published after the latest
        csv_line(mi_row("900007", name="St Mary’s", number="N7", overall="2", **inspected)),  # 8: cp1252
        csv_line(mi_row("900008", name="Sainte-Thérèse", number="N8", overall="2", **inspected)),  # 9: UTF-8
        csv_line(mi_row("900009", name="St Ann\x81s", number="N9", overall="2", **inspected)),  # 10: neither
        csv_line(mi_row("900010", name="Smith, Jones Academy", number="N10", overall="2", **inspected)),  # 11
    ]
    encodings = {8: "cp1252", 10: "latin-1"}
    path = tmp_path / "mi.csv"
    path.write_bytes(b"".join(line.encode(encodings.get(n, "utf-8")) for n, line in enumerate(lines, start=1)))

    rc, out, err = cli("import", "ofsted", str(path), "--as-of", AS_OF.isoformat(), "--json")
    assert rc == 2 and "5 row(s) refused, the other rows were imported" in err
    refused = {r["line"]: r for r in json.loads(out)["refused"]}
    assert set(refused) == {3, 5, 6, 7, 10}
    assert refused[3]["urn"] == "900002" and refused[3]["reason"].startswith("a quote left open")
    assert refused[5]["reason"].startswith("lines 5 and 6 give URN 900004")
    assert refused[6]["reason"].startswith("lines 6 and 5 give URN 900004")
    assert refused[7]["reason"].startswith("Previous publication date 01/04/2024 is after Publication date 20/03/2024")
    assert refused[10]["reason"].startswith("line 10: byte 0x81")
    with session_scope(cli.url) as session:
        names = {s.urn: s.name for s in session.exec(select(School))}
    assert names == {"900001": "Test School", "900003": "Test School", "900007": "St Mary’s",
                     "900008": "Sainte-Thérèse", "900010": "Smith, Jones Academy"}


def test_a_gias_file_is_read_once_and_its_rows_keep_their_lines(tmp_path, db_url, monkeypatch):
    path = write_csv(tmp_path / "edubase.csv", ESTABLISHMENT_HEADER, [
        ["149101", "931", "Oxfordshire", "2101", "Open Academy", "Academy converter", "Open", "Primary",
         "01-06-2018", "", "Does not apply", "Not applicable", ""],
        ["149102", "931", "Oxfordshire", "2102", "Proposed School", "Free schools", "Proposed to open",
         "Primary", "", "", "Does not apply", "Not applicable", ""],
        ["14910X", "931", "Oxfordshire", "2103", "Bad URN", "Community school", "Open", "Primary", "", "",
         "Does not apply", "Not applicable", ""],
    ], encoding="cp1252")
    reads = []
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or read_bytes(self))
    summary = import_gias(db_url, path, as_of=AS_OF)
    assert reads == [path]
    assert [(s.line, s.urn) for s in summary.skipped] == [(3, "149102")]
    assert [(r.line, r.urn) for r in summary.refused] == [(4, "14910X")]
    assert summary.schools_new == 1


def test_changed_schools_written_in_bulk_are_seen_by_the_session(db_url):
    """Schools.update_many writes with Core executemany; a School the session already holds must not go
    on showing the old values (a later step of the same import reads it through the ORM)."""
    from concerns.ingest.load.schools import Schools

    with session_scope(db_url) as session:
        cases.add_school(session, "900301", name="Old Name", la="Testshire", type_name="Community school")
        cases.add_school(session, "900302", name="Other", la="Testshire", type_name="Community school")
    with session_scope(db_url) as session:
        held = session.get(School, "900301")
        assert held.name == "Old Name"
        Schools(session, ["900301", "900302"]).update_many([("900301", {"name": "New Name"}),
                                                             ("900302", {"name": "Renamed", "phase": "Primary"})])
        assert held.name == "New Name"
        assert (session.get(School, "900302").name, session.get(School, "900302").phase) == ("Renamed", "Primary")
    with session_scope(db_url) as session:
        assert session.get(School, "900301").name == "New Name"
