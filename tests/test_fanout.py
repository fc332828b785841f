"""The termly review and the categorisation proposal fanned out per authority (issue 22).

What a fanned-out run must keep: the same summary, table and report as one process over every authority;
each case's meeting scheduled once and each invitation queued once when two children for one authority run
at once, and when a child is retried after failing half way. The authorities are copies of the demo
authority (bench/fanout.py), each with its own schools and people. The job-level tests run on both
engines; the flows run in Prefect's test harness, started once for this module.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from bench.fanout import load_demo_clones
from concerns.jobs.categorisation import merge_proposals, proposal_authorities, propose_categories
from concerns.jobs.termly import (
    authority_groups,
    merge_termly_summaries,
    run_termly_review,
    termly_authorities,
)
from concerns.store.db import session_scope, upgrade
from models import CaseEvent, Notification

AS_OF = date(2026, 11, 22)  # the demo authority's "today"
COMPARED = ("term", "meetings_scheduled", "invitations_queued", "table", "moves", "overdue", "markdown",
            "meetings", "meetings_unplaced")


@pytest.fixture
def twins(request, tmp_path, monkeypatch):
    """Two databases on one engine (SQLite files, then PostgreSQL) with the same three demo copies, the
    first two sharing an officer: what one process does to one, the fan-out does to the other."""
    from tests.conftest import _require_postgres

    monkeypatch.setenv("CONCERNS_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    engine = request.param
    urls, dropped = [], []
    if engine == "sqlite":
        first = tmp_path / "a.db"
        upgrade(f"sqlite:///{first}")
        _load(f"sqlite:///{first}")
        from concerns.store.db import dispose_engines

        dispose_engines()  # the last connection closed: the write-ahead log is in the file copied
        shutil.copyfile(first, tmp_path / "b.db")
        urls = [f"sqlite:///{first}", f"sqlite:///{tmp_path / 'b.db'}"]
    else:
        _require_postgres()
        from tests.support.databases import drop_postgres_database, fresh_postgres_database

        for _ in range(2):
            url, name = fresh_postgres_database()
            urls.append(url)
            dropped.append(name)
            _load(url)
    try:
        yield urls
    finally:
        if dropped:
            from concerns.store.db import dispose_engines

            dispose_engines()
            for name in dropped:
                drop_postgres_database(name)


def _load(url: str) -> None:
    from concerns.casework.people import add_person

    load_demo_clones(url, 3)
    with session_scope(url) as session:
        # One adviser serves the first two copies: they plan around each other's meetings, so they are
        # one child.
        for la in ("Demoshire 01", "Demoshire 02"):
            add_person(session, "Sam Hale", "sam.hale@shared.example", role="senior_adviser", la=la)


def _meetings_per_case(url: str) -> Counter:
    with session_scope(url, writes=False) as session:
        return Counter(session.exec(select(CaseEvent.case_id).where(CaseEvent.event == "schedule_meeting")).all())


def _invitation_keys(url: str) -> list[str]:
    with session_scope(url, writes=False) as session:
        return sorted(session.exec(select(Notification.key).where(Notification.kind == "invitation")).all())


engines = pytest.mark.parametrize("twins", ["sqlite", "postgresql"], indirect=True)


# --- which authorities go together -------------------------------------------------------------------

def test_authorities_that_share_nobody_are_children_of_their_own():
    officers = [("Luton", "a@luton.example"), ("Derbyshire", "b@derbyshire.example")]
    assert authority_groups(["Luton", "Derbyshire", "Doncaster"], officers) == [
        ["Derbyshire"], ["Doncaster"], ["Luton"]]


def test_authorities_that_share_an_officer_or_a_service_are_one_child():
    # Tri-borough's boroughs are one service with one diary; Luton and Doncaster share an adviser (the
    # address written differently), so each must be planned around the other's meetings.
    officers = [("Luton", "Pat@Advice.example"), ("Doncaster", "pat@advice.example"),
                ("Tri-borough", "x@triborough.example"), ("Nowhere", "pat@advice.example")]
    groups = authority_groups(["Westminster", "Luton", "Kensington and Chelsea", "Doncaster", "Derbyshire"],
                              officers)
    assert groups == [["Derbyshire"], ["Doncaster", "Luton"], ["Kensington and Chelsea", "Westminster"]]


# --- the same report -----------------------------------------------------------------------------------

@engines
def test_children_at_once_give_the_report_one_process_gives(twins):
    one, fanned = twins
    single = run_termly_review(one, AS_OF, True)
    groups = termly_authorities(fanned, AS_OF, True)
    assert groups == [["Demoshire 01", "Demoshire 02"], ["Demoshire 03"]]
    children: list[dict] = [{}] * len(groups)

    def child(index: int) -> None:
        children[index] = run_termly_review(fanned, AS_OF, True, groups[index])

    threads = [threading.Thread(target=child, args=(i,)) for i in range(len(groups))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = merge_termly_summaries(AS_OF, list(reversed(children)))  # the order children finish in
    assert single["meetings_scheduled"] > 0 and single["invitations_queued"] > 0
    assert {key: merged[key] for key in COMPARED} == {key: single[key] for key in COMPARED}
    assert _invitation_keys(one) == _invitation_keys(fanned)
    # Each authority's report counts its own meetings, not the run's.
    first = next(part for part in single["authorities"] if part["la"] == "Demoshire 01")
    assert f"{first['meetings_scheduled']} progress meetings arranged" in first["markdown"]
    assert first["meetings_scheduled"] < single["meetings_scheduled"]


def test_a_merge_refuses_an_authority_done_by_two_children():
    part = {"la": "Luton", "term": "", "table": [], "moves": [], "overdue": [], "markdown": "", "report": "",
            "meetings_scheduled": 0, "invitations_queued": 0, "meetings": [], "meetings_unplaced": []}
    with pytest.raises(ValueError, match="two children"):
        merge_termly_summaries(AS_OF, [{"authorities": [part]}, {"authorities": [part]}])


# --- exactly once --------------------------------------------------------------------------------------

@engines
def test_two_children_for_one_authority_at_once_schedule_and_invite_once(twins):
    one, fanned = twins
    single = run_termly_review(one, AS_OF, True, ["Demoshire 03"])
    start = threading.Barrier(2)
    results: list[dict] = []

    def child() -> None:
        start.wait()
        results.append(run_termly_review(fanned, AS_OF, True, ["Demoshire 03"]))

    threads = [threading.Thread(target=child) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    # One of them did the term's work; the other, waiting on the first's locks, found it done.
    assert sorted(r["meetings_scheduled"] for r in results) == [0, single["meetings_scheduled"]]
    assert sorted(r["invitations_queued"] for r in results) == [0, single["invitations_queued"]]
    per_case = _meetings_per_case(fanned)
    assert per_case and set(per_case.values()) == {1} and per_case == _meetings_per_case(one)
    assert _invitation_keys(fanned) == _invitation_keys(one)


@engines
def test_a_child_retried_after_failing_half_way_schedules_and_invites_once(twins, monkeypatch):
    import concerns.jobs.termly as termly

    one, fanned = twins
    single = run_termly_review(one, AS_OF, True, ["Demoshire 03"])
    real = termly.write_report

    def fails(*args, **kwargs):
        # After every meeting is recorded and every invitation queued in the child's transaction.
        raise ConnectionError("the database went away half way through the report")

    monkeypatch.setattr(termly, "write_report", fails)
    with pytest.raises(ConnectionError):
        run_termly_review(fanned, AS_OF, True, ["Demoshire 03"])
    assert _meetings_per_case(fanned) == Counter() and _invitation_keys(fanned) == []  # nothing left behind
    monkeypatch.setattr(termly, "write_report", real)
    again = run_termly_review(fanned, AS_OF, True, ["Demoshire 03"])
    assert {k: again[k] for k in COMPARED} == {k: single[k] for k in COMPARED}
    assert set(_meetings_per_case(fanned).values()) == {1} and _meetings_per_case(fanned) == _meetings_per_case(one)
    assert _invitation_keys(fanned) == _invitation_keys(one)


# --- the categorisation proposal ---------------------------------------------------------------------

@engines
def test_proposals_per_authority_merge_into_the_one_process_table(twins):
    one, fanned = twins
    single = propose_categories(one, AS_OF, simulation=True)
    single_csv = Path(single["table_csv"]).read_text(encoding="utf-8")  # the merge writes the same file
    due = proposal_authorities(fanned, AS_OF, True)
    assert due["groups"] == [["Demoshire 01"], ["Demoshire 02"], ["Demoshire 03"]]
    children = [propose_categories(fanned, AS_OF, group[0], None, True, False) for group in due["groups"]]
    assert all(child["table_csv"] is None for child in children)  # the parent writes the one file
    merged = merge_proposals(AS_OF, due["order"], list(reversed(children)))
    assert single["schools"] > 0
    assert {k: merged[k] for k in ("schools", "to_decide", "already_decided", "proposals", "table")} == \
        {k: single[k] for k in ("schools", "to_decide", "already_decided", "proposals", "table")}
    assert Path(merged["table_csv"]).read_text(encoding="utf-8") == single_csv and single_csv.count("\n") > 3


def test_proposals_merge_in_the_databases_order_of_names_even_when_an_authority_has_several():
    # Tri-borough's boroughs are one child; its rows go back among the others in the order of LA names.
    def row(urn, la):
        return {"urn": urn, "name": urn, "la": la, "year": "2026/27", "level": "1", "label": "One",
                "causing_concern": False, "reasons": [], "in_force": None, "decided": None}

    tri = {"proposals": [row("1", "Hammersmith and Fulham"), row("2", "Westminster")]}
    luton = {"proposals": [row("3", "Luton")]}
    merged = merge_proposals(AS_OF, ["Hammersmith and Fulham", "Luton", "Westminster"], [tri, luton])
    assert [p["urn"] for p in merged["proposals"]] == ["1", "3", "2"]


# --- the flows -----------------------------------------------------------------------------------------

async def _artifacts(flow_run_id) -> dict:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.key: a.data for a in found}


def _run(flow, **parameters):
    state = asyncio.run(flow(return_state=True, **parameters))
    assert state.is_completed(), state.message
    return asyncio.run(state.aresult()), asyncio.run(_artifacts(state.state_details.flow_run_id))


@pytest.mark.prefect
@pytest.mark.parametrize("twins", ["sqlite"], indirect=True)
def test_the_termly_review_on_a_pool_of_processes_publishes_what_one_process_publishes(prefect_server, twins):
    from flows.termly_review import termly_review_flow

    one, fanned = twins
    single, single_artifacts = _run(termly_review_flow, as_of=AS_OF, db=one, simulation=True)
    merged, artifacts = _run(termly_review_flow, as_of=AS_OF, db=fanned, simulation=True, fan_out="processes",
                             processes=2)
    assert {k: merged[k] for k in COMPARED} == {k: single[k] for k in COMPARED}
    assert artifacts == single_artifacts
    assert json.loads(artifacts["termly-review"]) == single["table"] and single["meetings_scheduled"] > 0
    assert _invitation_keys(fanned) == _invitation_keys(one)


@pytest.mark.prefect
@pytest.mark.parametrize("twins", ["sqlite"], indirect=True)
def test_the_categorisation_proposal_on_a_pool_of_processes_publishes_what_one_process_publishes(
        prefect_server, twins):
    from flows.annual_categorisation import annual_categorisation_flow

    one, fanned = twins
    single, single_artifacts = _run(annual_categorisation_flow, as_of=AS_OF, db=one, simulation=True,
                                    wait_for_approval=False)
    merged, artifacts = _run(annual_categorisation_flow, as_of=AS_OF, db=fanned, simulation=True,
                             wait_for_approval=False, fan_out="processes", processes=2)
    assert merged == single and single["schools"] > 0 and merged["awaiting_approval"]
    assert artifacts == single_artifacts


@pytest.mark.prefect
@pytest.mark.parametrize("flow_name", ["termly_review", "annual_categorisation"])
@pytest.mark.parametrize(("parameters", "naming"), [
    ({"fan_out": "threads"}, "the parameter fan_out is 'threads'"),
    ({"fan_out": "processes", "processes": 0}, "the parameter processes is '0'"),
    ({"fan_out": "processes", "processes": 64}, "the parameter processes is '64'"),
])
def test_a_fan_out_the_flow_does_not_know_is_refused_in_one_line(prefect_server, tmp_path, flow_name,
                                                                  parameters, naming):
    import importlib

    flow = getattr(importlib.import_module(f"flows.{flow_name}"), f"{flow_name}_flow")
    url = f"sqlite:///{tmp_path / 'untouched.db'}"
    state = asyncio.run(flow(as_of=AS_OF, db=url, simulation=True, return_state=True, **parameters))
    assert state.is_failed() and naming in state.message and "\n" not in state.message
    assert not (tmp_path / "untouched.db").exists()  # refused before anything was opened


@pytest.mark.prefect
@pytest.mark.parametrize("las", [[], ["Luton\x1b[2J"], [""]])
def test_a_child_flow_refuses_authorities_that_are_not_names(prefect_server, tmp_path, las):
    from flows.termly_review import termly_review_authority_flow

    state = asyncio.run(termly_review_authority_flow(las=las, as_of=AS_OF, db=f"sqlite:///{tmp_path / 'x.db'}",
                                                     simulation=True, return_state=True))
    assert state.is_failed() and "las" in state.message and "\n" not in state.message


@pytest.mark.prefect
@pytest.mark.parametrize("twins", ["sqlite", "postgresql"], indirect=True)
def test_prefect_retries_a_child_that_failed_half_way_and_it_schedules_and_invites_once(prefect_server, twins,
                                                                                        monkeypatch):
    from prefect import flow

    import concerns.jobs.termly as termly
    from flows.termly_review import termly_review_authority_task

    one, fanned = twins
    single = run_termly_review(one, AS_OF, True, ["Demoshire 03"])
    real, calls = termly.write_report, []

    def fails_once(*args, **kwargs):
        calls.append(args[3])
        if len(calls) == 1:
            raise ConnectionError("the database went away half way through the report")
        return real(*args, **kwargs)

    monkeypatch.setattr(termly, "write_report", fails_once)
    child = termly_review_authority_task.with_options(retry_delay_seconds=0)  # the delays are minutes

    @flow
    async def parent() -> dict:
        return await child(fanned, AS_OF, ["Demoshire 03"], True)

    again = asyncio.run(parent())
    assert calls == ["Demoshire 03", "Demoshire 03"]  # failed once, retried by Prefect once
    assert {k: again[k] for k in COMPARED} == {k: single[k] for k in COMPARED}
    assert set(_meetings_per_case(fanned).values()) == {1} and _meetings_per_case(fanned) == _meetings_per_case(one)
    assert _invitation_keys(fanned) == _invitation_keys(one)
