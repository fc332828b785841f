"""Where an authority's procedure has fallen behind the law: the packs' [procedure], the computation, the
command, the approval form's line (the desk page and the termly report: tests/web/test_desk_procedure.py
and tests/test_termly_procedure.py)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from concerns.domain.drift import (
    LAW_TOPICS,
    Procedure,
    Statement,
    grouped,
    plain_source,
    policy_drift,
    procedure_drift,
)
from concerns.domain.policy import BUILTIN_DIR, PolicyError, all_policies, parse_policy, policy_for
from concerns.domain.rules import DEFAULT_RULES, Rule, RuleBook
from tests.test_plain_words import findings

D = date.fromisoformat
SHIPPED = ("derbyshire", "doncaster", "leicester", "luton", "triborough")
KEYS = {"authority", "procedure", "written", "section", "topic", "says", "law_now", "since", "source"}

# A small rule book of one topic: an old rule that ended, the rule that replaced it, a rule still to come.
BOOK = RuleBook([
    Rule("t/old", "warning_notice", "Fifteen working days", None, D("2016-04-17"), "Old Act s1", "V"),
    Rule("t/new", "warning_notice", "The issuer sets the period", D("2016-04-18"), D("2026-06-28"), "New Act s2", "V"),
    Rule("t/newer", "warning_notice", "The newest rule", D("2026-06-29"), None, "Newer Act s3", "V"),
])


def procedure(written: str, topic: str = "warning_notice") -> Procedure:
    return Procedure(D(written), (Statement("5.8", "15 working days to comply", topic),), "Our procedure")


def test_a_statement_written_before_a_rules_start_is_flagged_and_one_written_after_is_not():
    before = procedure_drift("A", procedure("2013-01-01"), D("2020-01-01"), BOOK)
    assert [(r.rule, r.change, r.since) for r in before] == [("t/old", "ended", D("2016-04-18")),
                                                             ("t/new", "in_force", D("2016-04-18"))]
    assert before[1].law_now == "The issuer sets the period" and before[1].source == "New Act s2"
    assert procedure_drift("A", procedure("2016-04-18"), D("2020-01-01"), BOOK) == []
    # The day before the change it is flagged; the day of it, not.
    assert [r.rule for r in procedure_drift("A", procedure("2016-04-17"), D("2020-01-01"), BOOK)] == ["t/old", "t/new"]


def test_a_rule_ended_after_the_procedure_was_written_and_before_the_reports_date_is_shown_as_changed():
    rows = procedure_drift("A", procedure("2020-01-01"), D("2026-12-01"), BOOK)
    assert [(r.rule, r.change, r.since) for r in rows] == [("t/new", "ended", D("2026-06-29")),
                                                           ("t/newer", "in_force", D("2026-06-29"))]
    assert rows[0].law_now.startswith("No longer the law: ")
    # Before the report's date the rule had not ended: nothing changed yet.
    assert procedure_drift("A", procedure("2020-01-01"), D("2026-06-28"), BOOK) == []
    # Ended before the procedure was written: not a change it missed.
    assert procedure_drift("A", procedure("2017-01-01"), D("2018-01-01"), BOOK) == []


def test_a_rule_starting_after_the_reports_date_is_not_yet_drift():
    assert procedure_drift("A", procedure("2020-01-01"), D("2026-01-01"), BOOK) == []


def test_the_shipped_packs_state_their_procedure_and_default_need_not():
    for key in SHIPPED:
        policy = policy_for(key)
        assert policy.procedure is not None and policy.procedure.statements, key
        assert {s.topic for s in policy.procedure.statements} <= set(LAW_TOPICS)
        assert policy.procedure.title == policy.title
    assert policy_for("default").procedure is None
    assert policy_drift(policy_for("default"), D("2026-12-01")) == []


def test_derbyshire_2023_is_not_behind_the_2016_warning_notice_change_and_leicester_2007_is():
    on = D("2026-12-01")
    derbyshire = policy_drift(policy_for("Derbyshire"), on)
    assert not [r for r in derbyshire if r.topic in ("warning_notice", "sos_office")]
    # Its safeguarding return (the 2023 handbook's 3 months) is behind the report-card framework of 10 Nov 2025.
    assert {r.since for r in derbyshire if r.topic == "safeguarding_return"} == {D("2025-11-10")}
    leicester = [r for r in policy_drift(policy_for("Leicester"), on) if r.topic == "warning_notice"]
    assert {r.rule for r in leicester} == {"warning_notice/legacy", "warning_notice/issuer-sets-period"}
    assert {r.since for r in leicester} == {DEFAULT_RULES.starts("warning_notice/issuer-sets-period")}


def test_the_topics_come_from_the_rule_book_and_leave_out_local_procedure():
    assert set(LAW_TOPICS) == {r.topic for r in DEFAULT_RULES.rules} - {"import_history"}


def test_what_officers_read_has_no_abbreviated_statute_or_rule_book_note():
    rows = [r for key in SHIPPED for r in policy_drift(policy_for(key), D("2026-12-01"))]
    text = json.dumps([[st, ch["title"], ch["source"]] for g in grouped(rows) for st in g["statements"]
                       for ch in st["changes"]], default=str)
    assert not [f for f in findings("drift", text) if "ISO date" not in f and "snake_case" not in f]
    assert plain_source("EIA 2006 s60 (intervals unconfirmed)") == "Education and Inspections Act 2006 s60"


# --- the pack's [procedure] checked on load ---------------------------------------------------------------

GOOD = '''authority = "Testshire"
title = "Our Procedure"

[procedure]
written = "2013-01-01"

[[procedure.statements]]
section = "5.8"
says = "15 working days to comply"
topic = "warning_notice"
'''


def problems_of(text: str) -> list[str]:
    import tomllib

    found: list[str] = []
    parse_policy(tomllib.loads(text), "testshire", "testshire.toml", found)
    return found


@pytest.mark.parametrize("change, line", [
    ('topic = "warning_notice"', "testshire.toml: procedure.statements[0].topic: 'warnings' is not a topic of the "
                                 "rule book (topics: " + ", ".join(LAW_TOPICS) + ")"),
    ('section = "5.8"', "testshire.toml: procedure.statements[0]: missing setting 'section'"),
    ('written = "2013-01-01"', "testshire.toml: procedure: missing setting 'written'"),
    ('written = "2013-01-01"', "testshire.toml: procedure.written: '1066-10-14' is before 1993, older than the law "
                               "on schools causing concern: check the year"),
    ('written = "2013-01-01"', "testshire.toml: procedure.written: '13 January 2013' is not a YYYY-MM-DD date"),
])
def test_a_bad_procedure_is_refused_in_one_line_naming_file_key_and_value(change, line):
    replacement = {"missing setting 'section'": "", "missing setting 'written'": "",
                   "warnings": 'topic = "warnings"', "1066": 'written = "1066-10-14"',
                   "13 January": 'written = "13 January 2013"'}
    new = next(v for k, v in replacement.items() if k in line)
    assert problems_of(GOOD.replace(change, new)) == [line]
    with pytest.raises(PolicyError) as exc:
        import tomllib

        parse_policy(tomllib.loads(GOOD.replace(change, new)), "testshire", "testshire.toml")
    assert str(exc.value) == line and "\n" not in str(exc.value)


def test_a_procedure_written_in_the_future_is_refused():
    future = (date.today() + timedelta(days=40)).isoformat()
    assert problems_of(GOOD.replace("2013-01-01", future)) == [
        f"testshire.toml: procedure.written: '{future}' is in the future: give the date the procedure was written "
        "or last revised"]


def test_a_good_procedure_and_a_pack_without_one_are_accepted():
    assert problems_of(GOOD) == []
    assert problems_of('authority = "Testshire"\n') == []


# --- the command ----------------------------------------------------------------------------------------


@pytest.fixture
def run(sqlite_db_url, capsys):
    from concerns.app.cli import main

    def call(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = main(["--db", sqlite_db_url, *args])
        out = capsys.readouterr()
        return rc, out.out, out.err

    return call


def test_the_json_is_one_row_per_statement_and_change_with_iso_dates(run):
    rc, out, err = run("policy", "drift", "--la", "Leicester City", "--on", "2026-12-01", "--json")
    assert rc == 0, err
    rows = json.loads(out)
    assert rows and all(set(r) >= KEYS for r in rows)
    assert {r["authority"] for r in rows} == {"Leicester"}
    assert {r["procedure"] for r in rows} == {"Policy for School Improvement"}
    assert {r["written"] for r in rows} == {"2007-09-01"}
    notice = next(r for r in rows if r["rule"] == "warning_notice/issuer-sets-period")
    assert notice["since"] == "2016-04-18" and notice["section"] == "Appendix 9, 12"
    assert notice["law_now"] == DEFAULT_RULES.get("warning_notice/issuer-sets-period").title
    rc, out, _ = run("policy", "drift", "--on", "2026-12-01", "--json")
    assert {r["authority"] for r in json.loads(out)} == {"Derbyshire", "Doncaster", "Leicester", "Luton", "Tri-borough"}


def test_the_human_output_is_grouped_by_authority_with_dates_in_words(run):
    rc, out, _ = run("policy", "drift", "--on", "2026-12-01")
    assert rc == 0
    for name in ("Derbyshire", "Doncaster", "Leicester", "Luton", "Tri-borough"):
        assert out.count(f"\n{name}: ") + out.startswith(f"{name}: ") == 1, name
    assert "written 1 September 2007" in out and "The law since 18 April 2016" in out
    assert "warning_notice/" not in out and "2016-04-18" not in out


@pytest.mark.parametrize("args, words", [
    (("--la", "Nowhereshire"), "unknown authority 'Nowhereshire'"),
    (("--on", "2026-02-30"), "bad date '2026-02-30'"),
])
def test_an_unknown_authority_or_a_bad_date_is_refused_in_one_line(run, args, words):
    rc, out, err = run("policy", "drift", *args)
    assert (rc, out) == (2, "") and words in err and err.count("\n") == 1


def test_an_authoritys_own_pack_gets_the_same_report(run, tmp_path, monkeypatch):
    (tmp_path / "testshire.toml").write_text(GOOD)
    monkeypatch.setenv("CONCERNS_POLICY_DIR", str(tmp_path))
    rc, out, err = run("policy", "drift", "--la", "Testshire", "--on", "2026-12-01", "--json")
    assert rc == 0, err
    rows = json.loads(out)
    assert [(r["procedure"], r["section"], r["rule"]) for r in rows] == [
        ("Our Procedure", "5.8", "warning_notice/legacy"), ("Our Procedure", "5.8", "warning_notice/issuer-sets-period")]
    assert "Testshire" in all_policies()["testshire"].authority


def test_the_shipped_procedures_name_no_path_outside_the_repository():
    for key in SHIPPED:
        text = (BUILTIN_DIR / f"{key}.toml").read_text()
        assert "/work/" not in text and "seeds" not in text


# --- the approval form ----------------------------------------------------------------------------------


def _proposal(la: str) -> dict:
    return {"urn": "1", "name": "A School", "la": la, "label": "Level", "level": "1", "decided": None,
            "in_force": None, "reasons": []}


def test_the_approval_form_says_when_the_categories_rest_on_a_replaced_judgement_regime():
    from flows.annual_categorisation import approval_form_text

    summary = {"proposals": [_proposal("Leicester City"), _proposal("Testshire")], "to_decide": 2,
               "already_decided": 0, "table_csv": "t.csv"}
    text = approval_form_text(summary, D("2026-12-01"))
    assert "Leicester's categories rest on a judgement regime the law has replaced" in text
    assert "overall effectiveness" in text and "Since 10 November 2025: Report card" in text
    assert "Testshire" not in text  # the default procedure states nothing
    # Before the overall grade ended there was nothing to say.
    assert "judgement regime" not in approval_form_text(summary, D("2024-01-01"))


def test_the_approval_form_is_the_category_approval_inputs_description():
    source = Path(__file__).resolve().parents[1].joinpath("flows", "annual_categorisation.py").read_text()
    assert "CategoryApproval.with_initial_data(description=approval_form_text(" in source


def test_a_rule_split_only_for_a_policy_default_is_one_change_of_the_law():
    """The rule book splits the academy-order power on 1 Sep 2026 (the DfE's default route for RSI changed),
    in the same words: a procedure written in 2023 sees one change of the law, on 29 June 2026, not three."""
    rows = [r for r in policy_drift(policy_for("Derbyshire"), D("2026-12-01")) if r.topic == "academy_order"]
    assert rows and {r.since for r in rows} == {D("2026-06-29")}
    assert sorted(r.change for r in rows if r.section == rows[0].section) == ["ended", "in_force"]
