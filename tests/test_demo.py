"""The demo tells a believable story: officers do their part through the term, so it ends with a few items
overdue (the ones the story leaves undone, escalated), the next term's work ahead, and every category set."""

from __future__ import annotations

from collections import Counter
from datetime import date

from concerns.app.demo import load_demo
from concerns.app.demo_term import run_demo_term
from concerns.casework.views import deadlines_view, register
from concerns.store.db import session_scope, upgrade


def test_the_demo_term_ends_like_a_good_service_a_few_items_overdue_and_the_summer_ahead(tmp_path, monkeypatch):
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    monkeypatch.setenv("CONCERNS_REPORTS", str(tmp_path / "reports"))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    with session_scope(url) as session:
        load_demo(session)
    said = []
    run_demo_term(url, use_prefect=False, echo=said.append)
    end = date(2027, 4, 5)
    with session_scope(url) as session:
        live = deadlines_view(session, end)
        rows = register(session, end)
    missed = Counter(d["urn"] for d in live if d["status"] == "missed")
    # Overdue only where the story leaves work undone (and a case whose state allows no meeting yet).
    assert set(missed) <= {"990104", "990404", "990403"} and 3 <= sum(missed.values()) <= 10, missed
    ahead = [d for d in live if d["status"] == "open" and d["due"] > end.isoformat()]
    assert len({d["urn"] for d in ahead}) >= 15, "the summer term's meetings are ahead of every open case"
    assert all(r["la_category"] for r in rows), "the demo's assistant director approved the year's categories"
    assert any("officers: kept up with" in line for line in said)


def test_the_demo_schools_dioceses_are_as_fictional_as_demoshire():
    # Demoshire's church schools must not be copied to real dioceses (Derby, Nottingham, ...).
    from concerns.app.demo import SCHOOLS

    dioceses = {body for *_, body in SCHOOLS if body and "Diocese" in body}
    assert dioceses == {"Diocese of Demoshire", "Catholic Diocese of Wenbury"}
