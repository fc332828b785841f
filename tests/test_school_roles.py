"""School-side roles (head, chair, governors, clerk) are one list, checked at every door that takes one.

A misspelt school-side role (`--role chiar --school-side`) used to be stored: that chair was then missing
from every letter and invitation, which look people up by the known roles. The list is
concerns.domain.meetings.SCHOOL_ROLES, the one school meetings invite from; `concerns person add` (the
CLI, and the demo through the same function) is the only door that records a person.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from concerns.casework.cases import Refused
from concerns.casework.people import SCHOOL_SIDE_ROLES, add_person
from concerns.domain.meetings import SCHOOL_ROLES
from concerns.store.db import session_scope
from models import Person, RoleAssignment
from tests.conftest import refused

URN = "100001"


@pytest.fixture
def school(cli) -> str:
    cli.ok("school", "add", URN, "--name", "Ash Tree Primary", "--la", "Derbyshire", "--type", "Community school")
    return URN


def test_school_side_roles_are_the_meetings_school_roles():
    assert set(SCHOOL_ROLES) == SCHOOL_SIDE_ROLES


def test_person_add_refuses_a_misspelt_school_side_role(cli, school):
    err = refused(cli, "person", "add", "Sam Reed", "chair@school.example", "--role", "chiar", "--la", "Derbyshire",
                  "--urn", school, "--school-side", naming="'chiar'")
    # The refusal names the roles the product knows, so the officer can correct it.
    assert all(role in err for role in SCHOOL_ROLES), err


def test_person_add_refuses_a_school_side_role_with_a_control_character(cli, school):
    refused(cli, "person", "add", "Sam Reed", "chair@school.example", "--role", "chair_of_governors\x07",
            "--la", "Derbyshire", "--urn", school, "--school-side", naming=r"'chair_of_governors\x07'")


def test_person_add_refuses_a_school_side_name_with_a_control_character(cli, school):
    refused(cli, "person", "add", "Sam\x1b[2J Reed", "chair@school.example", "--role", "chair_of_governors",
            "--la", "Derbyshire", "--urn", school, "--school-side", naming=r"'Sam\x1b[2J Reed'")


def test_person_add_refuses_an_officer_role_flagged_school_side(cli, school):
    # An officer's role is not a school-side role: --school-side with it is a mistake, not a new role.
    refused(cli, "person", "add", "Priya Shah", "priya@la.example", "--role", "senior_adviser", "--la", "Derbyshire",
            "--school-side", naming="'senior_adviser'")


@pytest.mark.parametrize("role", SCHOOL_ROLES)
def test_person_add_accepts_every_school_side_role(cli, school, role):
    out = cli.ok("person", "add", "Sam Reed", f"{role}@school.example", "--role", role, "--la", "Derbyshire",
                 "--urn", school, "--school-side")
    assert f"is {role} for school {school}" in out
    with session_scope(cli.url) as session:
        person = session.exec(select(Person).where(Person.email == f"{role}@school.example")).one()
        assert person.school_side


def test_add_person_refuses_an_unknown_school_side_role_and_stores_nothing(cli, school):
    with session_scope(cli.url) as session:
        with pytest.raises(Refused, match=r"school-side role 'governer' is not known; school-side roles: headteacher"):
            add_person(session, "Sam Reed", "gov@school.example", role="governer", la="Derbyshire", urn=school,
                       school_side=True)
        assert session.exec(select(Person)).all() == []
        assert session.exec(select(RoleAssignment)).all() == []
