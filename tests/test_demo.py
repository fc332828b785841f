"""The demo tells a believable story: officers do their part through the term, so it ends with a few items
overdue (the ones the story leaves undone, escalated), the next term's work ahead, and every category set."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from concerns.app.demo import load_demo
from concerns.app.demo_term import run_demo_term
from concerns.casework.views import deadlines_view, register
from concerns.store.db import session_scope, upgrade

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_term(tmp_path_factory):
    """One run of the demo's term for every test here (it is slow): its database URL and what it said."""
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("CONCERNS_LETTERS", str(folder / "letters"))
        monkeypatch.setenv("CONCERNS_REPORTS", str(folder / "reports"))
        monkeypatch.setenv("CONCERNS_OUTBOX", str(folder / "outbox"))
        url = f"sqlite:///{folder / 'demo.db'}"
        upgrade(url)
        with session_scope(url) as session:
            load_demo(session)
        said: list[str] = []
        run_demo_term(url, use_prefect=False, echo=said.append)
    return url, said


def test_the_demo_term_ends_like_a_good_service_a_few_items_overdue_and_the_summer_ahead(demo_term):
    url, said = demo_term
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


ESCALATED = re.compile(r"go\s+overdue\s+and\s+are\s+escalated:\s+(.+?\.)(?:\s|$)", re.S)


def test_the_docs_name_exactly_the_demo_schools_whose_items_are_escalated(demo_term):
    from sqlmodel import select

    from concerns.app.demo import SCHOOLS
    from models import Deadline, DeadlineNotice

    url, _ = demo_term
    with session_scope(url) as session:
        urns = set(session.exec(select(Deadline.urn).join(DeadlineNotice, DeadlineNotice.deadline_id == Deadline.id)
                                .where(DeadlineNotice.step == "escalated")).all())
    names = {name for urn, name, *_ in SCHOOLS}
    escalated = {name for urn, name, *_ in SCHOOLS if urn in urns}
    assert escalated
    for doc in ("docs/demo.md", "README.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        found = ESCALATED.findall(text)
        assert len(found) == 1, f"{doc} says once which demo schools are escalated"
        said = " ".join(found[0].split())
        assert {name for name in names if name in said} == escalated, (doc, said)


def test_the_demo_schools_dioceses_are_as_fictional_as_demoshire():
    # Demoshire's church schools must not be copied to real dioceses (Derby, Nottingham, ...).
    from concerns.app.demo import SCHOOLS

    dioceses = {body for *_, body in SCHOOLS if body and "Diocese" in body}
    assert dioceses == {"Diocese of Demoshire", "Catholic Diocese of Wenbury"}
