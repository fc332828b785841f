"""`concerns person add` (officers and school contacts, with their roles) and `concerns user add` (the
officers who sign in to the desk)."""

from __future__ import annotations

import getpass
import sys

from concerns.app.cli.arguments import CommandError, Needs, command, group
from concerns.app.cli.terminal import console
from concerns.domain.meetings import SCHOOL_ROLES
from concerns.store.db import session_scope


def add_person_commands(sub) -> None:
    person = group(sub, "person", help="officers and school contacts")
    padd = command(person, "add", cmd_person_add, Needs.POLICIES,
                   help="add a person with a role, for one school or the whole authority")
    padd.add_argument("name")
    padd.add_argument("email")
    padd.add_argument("--role", required=True, help="a role of the authority's policy, or for the school: "
                      + ", ".join(SCHOOL_ROLES))
    padd.add_argument("--la", required=True)
    padd.add_argument("--urn", help="the school (omit for an authority-wide role)")
    padd.add_argument("--school-side", action="store_true", help="head, chair, governor: never sent confidential notes")


def add_user_commands(sub) -> None:
    user = group(sub, "user", help="officers who sign in to the desk")
    uadd = command(user, "add", cmd_user_add, Needs.POLICIES,
                   help="add an officer (or set a new password); the password is read from stdin")
    uadd.add_argument("email")
    uadd.add_argument("--role", required=True, help="a role of the authority's policy, e.g. senior_adviser")
    uadd.add_argument("--la", required=True, help="the authority whose schools the officer sees")
    uadd.add_argument("--no-password", action="store_true",
                      help="signs in only with the council's provider (OpenID Connect): no password is read")


def cmd_person_add(args) -> None:
    from concerns.casework.people import add_person

    with session_scope(args.db) as session:
        person, assignment = add_person(session, args.name, args.email, role=args.role, la=args.la, urn=args.urn,
                                        school_side=args.school_side)
        scope = f"school {assignment.urn}" if assignment.urn else f"all of {assignment.la}"
        said = f"{person.name} <{person.email}> is {assignment.role} for {scope}"
    console.line(said)  # after the commit


def cmd_user_add(args) -> None:
    from concerns.app.web.accounts import add_officer

    if args.no_password:
        from concerns.app.web.accounts import add_provider_officer

        with session_scope(args.db) as session:
            officer, created = add_provider_officer(session, args.email, role=args.role, la=args.la)
            verb = "Added" if created else "Updated (no password; signed out everywhere)"
            console.line(f"{verb} {officer.email}: {officer.role} for {officer.la}, signs in with the council's provider")
        return
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise CommandError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    with session_scope(args.db) as session:
        officer, created = add_officer(session, args.email, role=args.role, la=args.la, password=password)
        verb = "Added" if created else "Updated (new password; signed out everywhere)"
        said = f"{verb} {officer.email}: {officer.role} for {officer.la}"
    console.line(said)  # after the commit
