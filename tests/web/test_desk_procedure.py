"""The desk's "Our procedure" page: for the head of service and the director only, in plain words."""

from __future__ import annotations

import re

import pytest

from concerns.domain.policy import BUILTIN_DIR
from tests.web.conftest import LA, Desk, add_desk_user

PROCEDURE = '''
[procedure]
title = "Framework for Schools Causing Concern"
written = "2013-01-01"

[[procedure.statements]]
section = "5.8"
says = "The compliance period ends 15 working days following the day the warning notice is given."
topic = "warning_notice"

[[procedure.statements]]
section = "2.8"
says = "Academies causing concern are for the DfE Academies Division."
topic = "sos_office"
'''


def own_pack_text(authority: str = LA) -> str:
    """The product's default policy as an authority's own pack, with the procedure above stated."""
    text = (BUILTIN_DIR / "default.toml").read_text().replace('authority = "Default authority"',
                                                               f'authority = "{authority}"')
    first = text.index("\n[")
    return text[:first] + "\n" + PROCEDURE + text[first:]


@pytest.fixture
def own_pack(tmp_path, monkeypatch):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "testshire.toml").write_text(own_pack_text())
    monkeypatch.setenv("CONCERNS_POLICY_DIR", str(folder))


def signed_in(authority, cli, email: str, role: str) -> Desk:
    rc, _, err = add_desk_user(cli, email, role, LA)
    assert rc == 0, err
    desk = Desk(authority)
    assert desk.sign_in(email=email).status_code == 303
    return desk


@pytest.mark.parametrize("role, sees", [("assistant_director", True), ("director", True),
                                        ("senior_adviser", False), ("link_adviser", False)])
def test_only_the_service_head_and_the_director_see_the_procedure_page_and_its_link(own_pack, authority, cli,
                                                                                    role, sees):
    desk = signed_in(authority, cli, f"{role}@testshire.example", role)
    page = desk.client.get("/procedure")
    week = desk.client.get("/week").text
    assert page.status_code == (200 if sees else 403)
    assert ('href="/procedure"' in week) is sees
    if not sees:
        assert "head of service and the director" in page.text and "5.8" not in page.text


def test_the_procedure_page_quotes_the_procedure_and_says_what_changed_in_words(own_pack, authority, cli):
    desk = signed_in(authority, cli, "ad@testshire.example", "assistant_director")
    html = desk.client.get("/procedure").text
    main = re.search(r"<main.*?</main>", html, re.S).group(0)
    assert "Framework for Schools Causing Concern</strong>, written 1 January 2013" in main
    assert "The compliance period ends 15 working days following the day the warning notice is given." in main
    assert "The law since 18 April 2016:</strong> Warning notice: the compliance period is the one the issuer " \
           "specifies in the notice" in main
    assert "No longer the law from 18 April 2016" in main
    assert "The law since 1 July 2022:</strong> The Secretary of State acts through the Regional Director" in main
    assert "Education and Inspections Act 2006 s60 as amended" in main
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", main), "an ISO date on the page"
    assert "warning_notice" not in main and "sos_office" not in main and "/legacy" not in main


def test_an_authority_whose_policy_states_no_procedure_is_told_how_to_add_one(authority, cli):
    desk = signed_in(authority, cli, "dee@testshire.example", "director")
    page = desk.client.get("/procedure")
    assert page.status_code == 200 and "does not yet say what its written procedure states" in page.text
