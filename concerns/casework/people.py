"""Officers and school contacts, and who holds which role for which school."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from concerns.casework.cases import Refused, check_urn, get_school
from concerns.domain.meetings import SCHOOL_ROLES
from concerns.domain.policy import names_of, policy_for, service_of
from concerns.domain.untrusted import BadInput, check_email, check_name
from models import Person, RoleAssignment

# School-side roles: the people a confidential note must never reach (docs/decisions/0021-confidential-notes.md).
# One list, the one school meetings invite from (concerns.domain.meetings.SCHOOL_ROLES).
SCHOOL_SIDE_ROLES = frozenset(SCHOOL_ROLES)


def add_person(session: Session, name: str, email: str, *, role: str, la: str, urn: str | None = None,
               school_side: bool = False) -> tuple[Person, RoleAssignment]:
    try:
        email = check_email(email)
        name = check_name(name, "name")
        la = check_name(la, "--la")
        role = check_name(role, "--role")
    except BadInput as exc:
        raise Refused(str(exc)) from None
    policy = policy_for(la)
    school_side = school_side or role in SCHOOL_SIDE_ROLES
    if school_side and role not in SCHOOL_SIDE_ROLES:
        # A misspelt head or chair would be stored and then missing from every letter and invitation.
        raise Refused(f"school-side role {role!r} is not known; school-side roles: {', '.join(SCHOOL_ROLES)}")
    if not school_side and role not in policy.roles:
        raise Refused(f"role {role!r} is not in the {policy.key} policy; roles: "
                      f"{', '.join([*policy.roles, *SCHOOL_ROLES])}")
    if urn is not None:
        urn = check_urn(urn)
        get_school(session, urn)
    person = session.exec(select(Person).where(Person.email == email)).first()
    if person is None:
        person = Person(name=name, email=email, la=la, school_side=school_side)
        session.add(person)
        session.flush()
    elif person.school_side != school_side:
        raise Refused(f"{email} is already recorded as {'school-side' if person.school_side else 'an officer'}")
    assignment = session.exec(select(RoleAssignment).where(
        RoleAssignment.person_id == person.id, RoleAssignment.role == role, RoleAssignment.la == la,
        RoleAssignment.urn == urn if urn else RoleAssignment.urn.is_(None))).first()
    if assignment is None:
        assignment = RoleAssignment(person_id=person.id, role=role, la=la, urn=urn)
        session.add(assignment)
        session.flush()
    return person, assignment


def holders(session: Session, la: str, role: str, urn: str | None) -> list[Person]:
    """Who holds `role` for a school: its own assignment first, else the authority-wide holder.

    An officer registered under any name of the LA's service holds the role for all of it: one
    registration with the Tri-borough service serves Westminster's schools as well as its own."""
    service = service_of(la)
    names = sorted({n.lower() for n in names_of(la)})

    def held(*where) -> list[Person]:
        rows = session.exec(select(Person, RoleAssignment.la).join(RoleAssignment).where(
            RoleAssignment.role == role, func.lower(RoleAssignment.la).in_(names), *where).order_by(Person.id)).all()
        return [person for person, held_in in rows if service_of(held_in) == service]

    if urn:
        rows = held(RoleAssignment.urn == urn)
        if rows:
            return rows
    return held(RoleAssignment.urn.is_(None))
