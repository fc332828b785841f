"""The termly report's section on the authority's procedure and the law, on both engines."""

from __future__ import annotations

import re
from datetime import date

import pytest

from concerns.jobs.termly_report import build_report
from concerns.notify.directory import Directory
from concerns.notify.outbox import mail_environment
from concerns.store.db import session_scope
from tests.test_plain_words import findings, visible_text
from tests.web.test_desk_procedure import own_pack_text

LA = "Testshire"


@pytest.fixture
def reported(db_url, tmp_path, monkeypatch):
    def report(pack: bool) -> tuple[str, str]:
        folder = tmp_path / ("policies" if pack else "none")
        folder.mkdir(exist_ok=True)
        if pack:
            (folder / "testshire.toml").write_text(own_pack_text(LA))
        monkeypatch.setenv("CONCERNS_POLICY_DIR", str(folder))
        with session_scope(db_url) as session:
            content = build_report(session, Directory(session, {LA}), LA, date(2026, 12, 1), 0)
        env = mail_environment()
        return (env.get_template("report.md.j2").render(**content),
                visible_text(env.get_template("report_body.html.j2").render(**content)))

    return report


def test_the_termly_report_says_where_the_procedure_has_fallen_behind_the_law(reported):
    markdown, html = reported(pack=True)
    for text in (markdown, html):
        section = text[text.index("Our procedure and the law"):]
        assert "Framework for Schools Causing Concern, written 1 January 2013" in section
        assert "says things the law no longer says in 2 places, as at 1 December 2026" in section
        assert "The compliance period ends 15 working days following the day the warning notice is given." in section
        assert "The law since 18 April 2016" in section and "No longer the law from 18 April 2016" in section
        assert "The law since 1 July 2022" in section and "Regional Director" in section
    problems = [f for f in findings("report", markdown) if "ISO date" in f or "rule id" in f or "snake" in f]
    assert not problems, problems
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", html)


def test_a_report_for_an_authority_without_a_stated_procedure_has_no_such_section(reported):
    markdown, html = reported(pack=False)
    assert "Our procedure and the law" not in markdown and "Our procedure and the law" not in html
