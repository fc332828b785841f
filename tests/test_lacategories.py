"""The authority's categorisation as a recorded judgement, through the command line, on both engines:
proposed with reasons (nothing written), set by an officer with a reason (audited, append-only in the
database), shown as history, in force on the register and the case, and a letter when the level changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from concerns.domain.policy import _load_all, _policy_for
from concerns.store.db import engine_for
from tests.conftest import table_dump
from tests.test_input import refused

URN = "100001"
OTHER = "100002"

# A small authority with its own scheme and facts (policy folder of the authority's own).
RUTLAND = """
authority = "Rutland"
[roles]
adviser = { title = "School improvement adviser", acts_as = "link_adviser", manager = "lead" }
lead = { title = "Lead adviser", acts_as = "case_lead", manager = "assistant_director" }
assistant_director = { title = "Assistant director", manager = "director" }
director = { title = "Director of children's services" }
[categories]
timing = "each autumn, reviewed termly"
change_letter = "categorisation"
[categories.facts]
new_head = "New or acting headteacher"
[[categories.levels]]
key = "A"
label = "A: no concern"
when = ["latest:outstanding", "latest:good", "default"]
[[categories.levels]]
key = "B"
label = "B: some concern"
when = ["inspected:ri within 4 years"]
[[categories.levels]]
key = "C"
label = "C: causing concern"
causing_concern = true
when = ["category:SM", "category:RSI", "category:LA"]
[[categories.modifiers]]
when = "fact:new_head within 1 year"
shift = 1
reason = "A new or acting head took up post in the last year."
"""


@pytest.fixture
def rutland(cli, tmp_path, monkeypatch):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "rutland.toml").write_text(RUTLAND)
    monkeypatch.setenv("CONCERNS_POLICY_DIR", str(folder))
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    _load_all.cache_clear()
    cli.ok("school", "add", URN, "--name", "Ash Tree Primary", "--la", "Rutland", "--type", "Community school")
    cli.ok("school", "add", OTHER, "--name", "Beech Academy", "--la", "Rutland", "--type", "Academy converter")
    cli.ok("inspection", "add", URN, "--published", "2024-05-10", "--outcome", "requires_improvement")
    cli.ok("inspection", "add", OTHER, "--published", "2023-01-12", "--outcome", "outstanding")
    for urn, who in ((URN, "Mrs Asha Patel"), (OTHER, "Mr Ben Osei")):
        cli.ok("person", "add", who, f"{urn}@heads.example", "--role", "headteacher", "--urn", urn,
               "--la", "Rutland", "--school-side")
        cli.ok("person", "add", f"Chair of {urn}", f"{urn}@chairs.example", "--role", "chair_of_governors",
               "--urn", urn, "--la", "Rutland", "--school-side")
    cli.ok("person", "add", "Dana Fox", "ad@rutland.example", "--role", "assistant_director", "--la", "Rutland")
    yield tmp_path
    _load_all.cache_clear()


def test_propose_gives_each_school_a_level_with_its_reasons_and_writes_nothing(cli, rutland):
    before = table_dump(cli.url)
    rows = {r["urn"]: r for r in cli.json("category", "propose", "--la", "Rutland", "--as-of", "2026-10-01")}
    assert table_dump(cli.url) == before
    assert set(rows) == {URN, OTHER}
    assert {k: rows[URN][k] for k in ("level", "label", "year")} == {"level": "B", "label": "B: some concern",
                                                                       "year": "2026/27"}
    assert rows[URN]["reasons"] == ["An Ofsted inspection published 10 May 2024 judged it as requiring improvement."]
    assert rows[OTHER]["level"] == "A"  # outstanding is not "good": it matched by its own condition
    assert rows[OTHER]["reasons"] == [
        "Its latest graded Ofsted inspection, published 12 January 2023, judged it outstanding."]


def test_a_fact_an_officer_records_moves_the_proposal(cli, rutland):
    cli.ok("fact", "add", OTHER, "new_head", "--on", "2026-09-01", "--note", "Acting head while the head is seconded")
    (row,) = [r for r in cli.json("category", "propose", "--la", "Rutland", "--as-of", "2026-10-01")
              if r["urn"] == OTHER]
    assert row["level"] == "B" and row["reasons"][-1] == "A new or acting head took up post in the last year."
    assert cli.json("fact", "list", OTHER)[0] | {} == {
        "fact": "new_head", "name": "New or acting headteacher", "on": "2026-09-01", "until": None,
        "note": "Acting head while the head is seconded", "by": "test officer"}
    refused(cli, "fact", "add", OTHER, "new_chair", "--on", "2026-09-01", naming="'new_chair'")


def test_set_records_the_judgement_with_reason_and_officer_and_show_keeps_the_history(cli, rutland):
    cli.ok("category", "set", URN, "B", "--on", "2026-10-05", "--reason", "Agreed with the head at the autumn visit")
    cli.ok("category", "set", URN, "C", "--on", "2027-01-20", "--reason", "Safeguarding audit not returned",
           "--actor", "Dana Fox")
    doc = cli.json("category", "show", URN)
    assert doc == {"urn": URN, "history": [
        {"year": "2026/27", "level": "B", "label": "B: some concern", "on": "2026-10-05",
         "reason": "Agreed with the head at the autumn visit", "by": "test officer", "source": "officer"},
        {"year": "2026/27", "level": "C", "label": "C: causing concern", "on": "2027-01-20",
         "reason": "Safeguarding audit not returned", "by": "Dana Fox", "source": "officer"}]}
    # In force as of a date: the register (schools with an open case) and the case view show it.
    cli.ok("event", URN, "raise_concern", "--on", "2027-01-10")
    (row,) = cli.json("register", "--as-of", "2027-01-15")
    assert row["la_category"] == {"year": "2026/27", "level": "B", "label": "B: some concern"}
    (row,) = cli.json("register", "--as-of", "2027-01-21")
    assert row["la_category"] == {"year": "2026/27", "level": "C", "label": "C: causing concern"}
    assert cli.json("case", "show", URN, "--as-of", "2026-10-01")["la_category"] is None


def test_an_in_year_change_writes_a_letter_to_head_and_chair(cli, rutland):
    cli.ok("category", "set", URN, "B", "--on", "2026-10-05", "--reason", "Agreed at the autumn visit")
    out = cli.ok("category", "set", URN, "C", "--on", "2027-01-20", "--reason", "Safeguarding audit not returned")
    assert "letter: written" in out
    letters = sorted((rutland / "letters" / URN).glob("*categorisation.html"))
    assert len(letters) == 2
    latest = letters[-1].read_text()
    assert "C: causing concern" in latest and "It replaces\nthe category B: some concern, given on 5 October 2026" in latest
    # The same level again changes nothing the school is told.
    out = cli.ok("category", "set", URN, "C", "--on", "2027-01-25", "--reason", "Confirmed at the panel")
    assert "no letter" in out and len(list((rutland / "letters" / URN).glob("*categorisation.html"))) == 2


def _reference(path: Path) -> str:
    return re.search(r"<th>Our reference</th><td>([^<]+)</td>", path.read_text())[1]


def test_each_category_letter_has_its_own_reference(cli, rutland):
    # The year's letter and an in-year change, on other days and on the same day: never one reference twice.
    cli.ok("category", "set", URN, "B", "--on", "2026-10-05", "--reason", "Agreed at the autumn visit")
    cli.ok("category", "set", URN, "C", "--on", "2026-10-05", "--reason", "Safeguarding audit not returned")
    cli.ok("category", "set", URN, "A", "--on", "2027-01-20", "--reason", "Safeguarding audit returned and sound")
    letters = sorted((rutland / "letters" / URN).glob("*categorisation*.html"))
    refs = sorted(_reference(p) for p in letters)
    assert refs == [f"{URN}/C/20261005", f"{URN}/C/20261005/2", f"{URN}/C/20270120"]


def test_refusals_name_the_value_and_change_nothing(cli, rutland):
    refused(cli, "category", "set", URN, "Z", "--on", "2026-10-05", "--reason", "x", naming="'Z'")
    refused(cli, "category", "set", URN, "B", "--on", "2026-10-05", "--reason", "  ", naming="--reason")
    refused(cli, "category", "set", URN, "B", "--on", "2026-10-05", "--reason", "x", "--year", "2026/28",
            naming="'2026/28'")
    refused(cli, "category", "set", "999999", "B", "--on", "2026-10-05", "--reason", "x", naming="999999")
    cli.ok("category", "set", URN, "B", "--on", "2026-10-05", "--reason", "Agreed")
    refused(cli, "category", "set", URN, "C", "--on", "2026-10-01", "--reason", "Earlier", naming="2026-10-05")


def test_the_database_itself_keeps_the_history(cli, rutland):
    cli.ok("category", "set", URN, "B", "--on", "2026-10-05", "--reason", "Agreed")
    cli.ok("fact", "add", URN, "new_head", "--on", "2026-09-01")
    before = table_dump(cli.url)
    engine = engine_for(cli.url)
    for statement in ("UPDATE la_category SET level = 'A'", "DELETE FROM la_category",
                      "UPDATE school_fact SET fact = 'x'", "DELETE FROM school_fact"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert table_dump(cli.url) == before


def test_the_annual_run_proposes_on_each_authoritys_own_date(cli, rutland, tmp_path, monkeypatch):
    from datetime import date

    from concerns.jobs import run_annual_categorisation

    (tmp_path / "policies" / "rutland.toml").write_text(RUTLAND.replace('timing = "each autumn, reviewed termly"',
                                                                        'timing = "each November"\nproposed_on = "11-02"'))
    monkeypatch.setenv("CONCERNS_REPORTS", str(tmp_path / "reports"))
    _load_all.cache_clear()
    _policy_for.cache_clear()
    assert run_annual_categorisation(cli.url, date(2026, 10, 5))["schools"] == 0  # not Rutland's day yet
    due = run_annual_categorisation(cli.url, date(2026, 11, 2), approved_by="Dana Fox")
    assert due["schools"] == due["recorded"] == 2
    # Decided: the next week's run finds nothing to decide.
    assert run_annual_categorisation(cli.url, date(2026, 11, 9))["to_decide"] == 0
