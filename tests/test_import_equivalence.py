"""The fast Ofsted import against the step-by-step one, on a generated national sample.

The step-by-step import (`fast=False`) sends every inspection through casework.record_inspection, as an
officer's `inspection add` would; the fast one replays each school in memory and writes in bulk. Each
test runs both into two fresh databases of the same engine and compares every table, every column but
surrogate ids and timestamps (tests/support/equivalence.py), and the summaries. The Oxfordshire file is
compared the same way in test_imports.py.
"""

from __future__ import annotations

import copy
import csv
import logging
import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bench.make_national import write as write_national
from concerns.domain.judgements import Judgement, Outcome, summarise
from concerns.domain.policy import all_policies
from concerns.ingest.load import import_gias, import_ofsted
from concerns.ingest.parse.ofsted_csv import MI_2017_HEADER
from concerns.store.db import engine_for
from statemachines.bound import BoundMachine, Unreplayable, check_covered
from statemachines.case import CaseFile, SchoolFacts
from statemachines.pathways import (
    EVENTS_NEEDING_UNTIL,
    MACHINE,
    EventContext,
    EventRefused,
    build_machine,
    fire,
)
from tests.support.equivalence import differences, natural_dump, twin_database

AS_OF = date(2026, 11, 24)
SCHOOLS = 1500


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> dict[str, Path]:
    return write_national(tmp_path_factory.mktemp("national"), SCHOOLS, 2026)


@pytest.fixture(scope="module")
def regional(tmp_path_factory) -> dict[str, Path]:
    """A smaller sample for the tests that import three times over."""
    return write_national(tmp_path_factory.mktemp("regional"), 500, 2027)


def _summary(summary) -> dict:
    return {k: v for k, v in summary.to_dict().items() if k not in ("seconds", "file")}


def _import_both(fast_url: str, slow_url: str, path: Path, **kwargs) -> tuple:
    fast = import_ofsted(fast_url, path, as_of=AS_OF, **kwargs)
    slow = import_ofsted(slow_url, path, as_of=AS_OF, fast=False, **kwargs)
    assert _summary(fast) == _summary(slow)
    assert differences(natural_dump(fast_url), natural_dump(slow_url)) == []
    return fast, slow


def test_national_sample_fast_import_equals_step_by_step(national, db_url, tmp_path):
    with twin_database(db_url, tmp_path) as slow_url:
        fast, _ = _import_both(db_url, slow_url, national["ofsted"])
        # The sample moves cases every way the national file does: something real was compared.
        assert fast.schools_new == SCHOOLS and fast.rows_refused == 0
        assert min(fast.cases_opened, fast.cases_moved, fast.cases_closed, fast.deadlines_historical) > 0
        # GIAS on top of either: conversions and closures read the cases each import left.
        for kind in ("establishments", "links"):
            assert _summary(import_gias(db_url, national[kind], as_of=AS_OF)) == _summary(
                import_gias(slow_url, national[kind], as_of=AS_OF))
        assert differences(natural_dump(db_url), natural_dump(slow_url)) == []
        # The comparison itself: a single value differing (one deadline's `historical`) is reported.
        with engine_for(slow_url).begin() as connection:
            connection.execute(text("UPDATE deadline SET historical = NOT historical WHERE id = "
                                    "(SELECT min(id) FROM deadline)"))
        found = differences(natural_dump(db_url), natural_dump(slow_url))
        assert len(found) == 1 and found[0].startswith("deadline:")


def earlier_file(path: Path, out: Path) -> Path:
    """The same schools as an earlier file would give them: each previous inspection as the latest."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    moved = [name for name in MI_2017_HEADER if f"Previous {name[0].lower()}{name[1:]}" in MI_2017_HEADER]
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, MI_2017_HEADER)
        writer.writeheader()
        for row in rows:
            for name in moved:
                previous = f"Previous {name[0].lower()}{name[1:]}"
                row[name], row[previous] = row[previous], "NULL"
            writer.writerow(row)
    return out


def test_sample_reimported_over_an_earlier_file(regional, db_url, tmp_path):
    """The earlier file, then the current one: schools whose cases are open in the database go step by
    step inside the fast import, the others are replayed; the result is still the same database."""
    earlier = earlier_file(regional["ofsted"], tmp_path / "earlier.csv")
    with twin_database(db_url, tmp_path) as slow_url:
        first, _ = _import_both(db_url, slow_url, earlier)
        assert first.cases_opened > 0
        second, _ = _import_both(db_url, slow_url, regional["ofsted"])
        assert second.inspections_held > 0 and second.inspections_recorded > 0
        assert second.cases_moved > 0 and second.cases_closed > 0
        again, _ = _import_both(db_url, slow_url, regional["ofsted"])
        assert not again.changed_anything


def test_a_school_the_machine_refuses_is_refused_the_same_way(regional, db_url, tmp_path):
    """A school whose new inspection comes before its open case's last event: the replay cannot take it,
    so it goes step by step and is refused with casework's reason, as in the step-by-step import."""
    earlier = earlier_file(regional["ofsted"], tmp_path / "earlier.csv")
    with twin_database(db_url, tmp_path) as slow_url:
        _import_both(db_url, slow_url, earlier)
        for url in (db_url, slow_url):
            with engine_for(url).begin() as connection:
                # An officer records an event on every open case a year on: the file's newer inspections
                # of those schools now come before the cases' last event.
                connection.execute(text("UPDATE pathway_case SET last_event_on = :day WHERE closed IS NULL"),
                                    {"day": date(2025, 9, 1)})
        fast, _ = _import_both(db_url, slow_url, regional["ofsted"])
        assert fast.refused and all("earlier than the case's last event" in r.reason for r in fast.refused)


def _one_school_changed(path: Path, out: Path) -> tuple[Path, str]:
    """The file with one school's name changed, and its latest inspection's grade (held already under its
    number: not judged again, by either import)."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    row = next(r for r in rows if r["Overall effectiveness"] in ("1", "2"))
    row["School name"] = row["School name"] + " (renamed)"
    row["Overall effectiveness"], row["Category of concern"] = "4", "SM"
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, MI_2017_HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return out, row["URN"]


def test_a_reimport_reads_only_what_changed_and_writes_what_a_full_import_writes(regional, db_url, tmp_path):
    """An unchanged file is not read again; a file with one school changed reads and replays that school
    only; and the database is the same as when the changed file is read in full onto the same history."""
    changed, urn = _one_school_changed(regional["ofsted"], tmp_path / "changed.csv")
    with twin_database(db_url, tmp_path) as full_url:
        for url in (db_url, full_url):
            first = import_ofsted(url, regional["ofsted"], as_of=AS_OF)
            assert not first.file_unchanged and first.schools_unread == 0
        again = import_ofsted(db_url, regional["ofsted"], as_of=AS_OF)
        assert again.file_unchanged and again.rows_read == 0 and not again.changed_anything
        assert again.schools_unread == first.schools_new
        assert "not read" in "\n".join(again.lines())
        one = import_ofsted(db_url, changed, as_of=AS_OF)
        full = import_ofsted(full_url, changed, as_of=AS_OF, reuse=False)
        assert (one.rows_read, one.schools_unread, one.schools_changed) == (1, first.schools_new - 1, 1)
        assert full.rows_read == first.rows_read and full.schools_unread == 0
        assert (one.schools_changed, one.inspections_recorded, one.cases_opened) == (
            full.schools_changed, full.inspections_recorded, full.cases_opened)
        assert differences(natural_dump(db_url), natural_dump(full_url)) == []
        # Both know the changed file now: imported again, it is not read.
        assert import_ofsted(full_url, changed, as_of=AS_OF).file_unchanged
        # An officer edits the school: its digest, and the file's, are forgotten; only it is read again.
        with engine_for(db_url).begin() as connection:
            connection.execute(text("UPDATE school SET name = 'Edited by hand' WHERE urn = :urn"), {"urn": urn})
        edited = import_ofsted(db_url, changed, as_of=AS_OF)
        assert not edited.file_unchanged and (edited.rows_read, edited.schools_changed) == (1, 1)
        with engine_for(db_url).connect() as connection:
            name = connection.execute(text("SELECT name FROM school WHERE urn = :urn"), {"urn": urn}).scalar_one()
        assert name.endswith(" (renamed)")


def test_another_policy_or_authority_skips_nothing(regional, db_url, tmp_path, monkeypatch):
    """The digest covers the policy files and `la`: a changed policy reads the file again."""
    import_ofsted(db_url, regional["ofsted"], as_of=AS_OF)
    assert import_ofsted(db_url, regional["ofsted"], as_of=AS_OF).file_unchanged
    from concerns.domain.policy import all_policies
    from concerns.ingest.load import digests
    before = digests.context(None)
    assert digests.context("Derbyshire") != before
    policies = tmp_path / "policies"
    policies.mkdir()
    default = Path(all_policies()["default"].path)
    (policies / "default.toml").write_bytes(default.read_bytes() + b"\n# edited\n")
    monkeypatch.setenv("CONCERNS_POLICY_DIR", str(policies))
    assert digests.context(None) != before
    again = import_ofsted(db_url, regional["ofsted"], as_of=AS_OF)
    assert not again.file_unchanged and again.schools_unread == 0 and again.rows_read > 0


# --- the replay's machine: the same steps as pathways.fire, without the library's logging -----------------

_OUTCOME_OF = {"judged_good": Outcome.good, "judged_requires_improvement": Outcome.requires_improvement,
               "judged_serious_weaknesses": Outcome.serious_weaknesses, "judged_special_measures": Outcome.special_measures}


def _walk_context(trigger: str, on: date, rng: random.Random) -> EventContext:
    if trigger in _OUTCOME_OF:
        judgement = Judgement(published=on, outcome=_OUTCOME_OF[trigger])
        return EventContext(trigger, on, judgement=judgement, summary=summarise(judgement), actor="walk")
    until = on + timedelta(days=rng.choice((20, 45, 90))) if trigger in EVENTS_NEEDING_UNTIL else None
    # The termly review says when the meeting it schedules is held (statemachines.deadlines.scheduled_meeting).
    extra = {"meeting_on": on + timedelta(days=rng.randrange(7, 60))} if trigger == "schedule_meeting" else {}
    return EventContext(trigger, on, until=until, actor="walk", extra=extra)


@pytest.mark.parametrize("maintained", [True, False])
def test_the_bound_machine_takes_the_steps_pathways_fire_takes(maintained):
    """Random walks over the whole table, every shipped policy: each event fired on one case through
    BoundMachine (the replay's, no `transitions` trigger wrapper) and on its twin through pathways.fire (the
    library's trigger) is taken or refused alike, with the same result and the same case after it."""
    school = (SchoolFacts("100001", "Ash Tree Primary", "Derbyshire", "Community school", True) if maintained
              else SchoolFacts("100002", "Oak Academy", "Derbyshire", "Academy converter", False))
    rng = random.Random(22 + maintained)
    machine = BoundMachine()
    taken, refused, states = 0, 0, set()
    for policy in all_policies().values():
        for _ in range(40):
            bound, library = CaseFile(), CaseFile()
            on = date(2015, 9, 1) + timedelta(days=rng.randrange(3000))
            for _ in range(14):
                triggers = sorted(MACHINE.get_triggers(library.state))
                if not triggers:
                    break
                if rng.random() < 0.1:  # now and then an event the state does not take at all
                    triggers = sorted(MACHINE.events)
                ctx = _walk_context(rng.choice(triggers), on, rng)
                try:
                    expected = fire(library, school, policy, ctx)
                except EventRefused:
                    expected = None
                try:
                    got = machine.fire(bound, school, policy, ctx)
                except Unreplayable:
                    got = None
                    bound = copy.deepcopy(library)  # the import throws a refused case away; the twin is unchanged
                assert got == expected, (policy.key, ctx)
                assert bound == library, (policy.key, ctx)
                taken, refused = taken + (got is not None), refused + (got is None)
                states.add(library.state)
                on += timedelta(days=rng.randrange(1, 120))
    # The walks went far: most of the states open to the school reached (an academy's cases stay off the
    # maintained schools' pathways), and refusals compared as well as steps.
    assert taken > 800 and refused > 80 and len(states) >= (20 if maintained else 10), (taken, refused, len(states))


def test_the_bound_machine_refuses_a_machine_using_what_it_does_not_reproduce():
    """A callback BoundMachine would skip (here an enter callback, a transition's own, a prepare) fails
    when the machine is built, not silently on an event."""
    check_covered(build_machine())  # the table as it is: covered
    for change in (lambda m: m.states["ri_plan_agreed"].add_callback("enter", "plan_effects"),
                   lambda m: m.events["judged_good"].transitions["ri_plan_agreed"][0].before.append("plan_effects"),
                   lambda m: m.prepare_event.append("plan_effects")):
        machine = build_machine()
        change(machine)
        with pytest.raises(RuntimeError, match="does not reproduce"):
            check_covered(machine)


def test_the_replay_logs_nothing_and_keeps_the_librarys_warnings(caplog, monkeypatch):
    """Fired through BoundMachine, an event sends nothing to the `transitions` loggers even at debug level
    (pathways.fire's trigger sends a dozen records); the library's own warnings still reach the log."""
    # A logging configuration applied earlier in the run (Prefect's, uvicorn's) may have disabled the
    # library's loggers or stopped them propagating to caplog's handler: both put back for this test.
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("transitions")]:
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
    school = SchoolFacts("100001", "Ash Tree Primary", "Derbyshire", "Community school", True)
    policy = all_policies()["derbyshire"]
    on = date(2026, 11, 4)
    judgement = Judgement(published=on, outcome=Outcome.special_measures)
    ctx = EventContext("judged_special_measures", on, judgement=judgement, summary=summarise(judgement))
    with caplog.at_level(logging.DEBUG, logger="transitions"):
        BoundMachine().fire(CaseFile(), school, policy, ctx)
        assert [r for r in caplog.records if r.name.startswith("transitions")] == []
        fire(CaseFile(), school, policy, ctx)
        assert len([r for r in caplog.records if r.name.startswith("transitions")]) > 5
    caplog.clear()
    machine = build_machine()
    with caplog.at_level(logging.WARNING, logger="transitions"):
        # A model that already has an attribute named as a trigger: the library warns it will not bind it.
        machine.add_model(type("Taken", (), {"judged_good": 1})(), initial="start")
    assert any(r.levelno == logging.WARNING and "judged_good" in r.getMessage() for r in caplog.records)
