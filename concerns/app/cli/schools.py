"""`concerns school add|list`: the schools the authority registers."""

from __future__ import annotations

from concerns.app.cli.arguments import Needs, command, group
from concerns.app.cli.terminal import console, emit_json, table
from concerns.casework import cases
from concerns.domain.policy import policy_for
from concerns.store.db import session_scope


def add_school_commands(sub) -> None:
    school = group(sub, "school", help="register and list schools")
    add = command(school, "add", cmd_school_add, Needs.POLICIES, help="register a school")
    add.add_argument("urn")
    add.add_argument("--name", required=True)
    add.add_argument("--la", required=True, help="the local authority's name")
    add.add_argument("--type", required=True, dest="type_name", help='GIAS type, e.g. "Community school"')
    add.add_argument("--diocese")
    add.add_argument("--trust")
    add.add_argument("--religious-character")
    add.add_argument("--phase")
    ls = command(school, "list", cmd_school_list, Needs.POLICIES, help="list registered schools")
    ls.add_argument("--la")
    ls.add_argument("--json", action="store_true")


def cmd_school_add(args) -> None:
    with session_scope(args.db) as session:
        school, created = cases.add_school(
            session, args.urn, name=args.name, la=args.la, type_name=args.type_name, diocese=args.diocese,
            trust=args.trust, religious_character=args.religious_character, phase=args.phase)
        kind = "maintained" if school.maintained else "academy"
        policy = policy_for(school.la)
        verb = "Registered" if created else "Already registered (unchanged):"
        said = (f"{verb} {school.urn} {school.name} ({school.type_name}, {kind}), {school.la}, "
                f"policy {policy.key}")
    console.line(said)  # after the commit: a reader that went away cannot undo what was recorded


def cmd_school_list(args) -> None:
    from sqlmodel import select

    from models import School

    with session_scope(args.db, writes=False) as session:
        query = select(School).order_by(School.urn)
        if args.la:
            query = query.where(School.la == args.la)
        schools = session.exec(query).all()
        if args.json:
            emit_json([{"urn": s.urn, "name": s.name, "la": s.la, "type": s.type_name, "maintained": s.maintained,
                        "diocese": s.diocese, "trust": s.trust} for s in schools])
        else:
            table("Schools", ["URN", "Name", "LA", "Type", "Maintained"],
                  [(s.urn, s.name, s.la, s.type_name, "yes" if s.maintained else "academy") for s in schools])
