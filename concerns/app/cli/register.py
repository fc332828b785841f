"""The read-only views of the cases: `concerns case show`, `concerns register`, `concerns deadlines`.

They act on nothing, so they do not check the policies against the machine and the letters first
(`Needs.SCHEMA`, not `Needs.POLICIES`).
"""

from __future__ import annotations

from concerns.app.cli.arguments import Needs, command, days_ahead, group, iso_date
from concerns.app.cli.terminal import console, emit_json, heading, table
from concerns.casework import views
from concerns.domain.clock import today
from concerns.store.db import session_scope


def add_case_commands(sub) -> None:
    case = group(sub, "case", help="a school's cases")
    show = command(case, "show", cmd_case_show, Needs.SCHEMA,
                   help="a school's cases, deadlines, events and allowed events")
    show.add_argument("urn")
    show.add_argument("--as-of", type=iso_date)
    show.add_argument("--json", action="store_true")


def add_register_command(sub) -> None:
    reg = command(sub, "register", cmd_register, Needs.SCHEMA, help="the register of schools with an open case")
    reg.add_argument("--as-of", type=iso_date)
    reg.add_argument("--la")
    reg.add_argument("--json", action="store_true")


def add_deadlines_command(sub) -> None:
    dl = command(sub, "deadlines", cmd_deadlines, Needs.SCHEMA, help="deadlines missed or coming up")
    dl.add_argument("--as-of", type=iso_date)
    dl.add_argument("--within", type=days_ahead, help="only those due within DAYS days")
    dl.add_argument("--la")
    dl.add_argument("--json", action="store_true")


def cmd_case_show(args) -> None:
    as_of = args.as_of or today()
    with session_scope(args.db, writes=False) as session:
        doc = views.case_view(session, args.urn, as_of)
    if args.json:
        emit_json(doc)
        return
    console.line(heading(f"{doc['urn']} {doc['name']}",
                         f" ({doc['type']}, {'maintained' if doc['maintained'] else 'academy'}), {doc['la']}; "
                         f"as of {doc['as_of']}{'; STUCK' if doc['stuck'] else ''}"
                         f"{'; coasting' if doc['coasting'] else ''}"))
    if doc.get("predecessor"):
        pre = doc["predecessor"]
        history = "; ".join(f"{c['pathway']} {c['opened']} to {c['closed'] or 'open'} ({c['outcome'] or 'open'})"
                            for c in pre["cases"]) or "no cases"
        console.line(f"Predecessor: {pre['urn']} {pre['name'] or ''}: {history}")
    for successor in doc.get("successors") or []:
        console.line(f"Successor: {successor['urn']} {successor['name']} ({successor.get('type', '')})")
    if not doc["cases"]:
        console.line("No cases.")
    for c in doc["cases"]:
        status = f"closed {c['closed']} ({c['outcome']})" if c["closed"] else "open"
        console.line()
        console.line(heading(c["pathway"], f" opened {c['opened']}, {status}: {c['state']} - {c['state_meaning']}"))
        if c["deadlines"]:
            table("Deadlines", ["Kind", "Due", "Status", "Responsible", "Rule"],
                  [(d["kind"], d["due"], d["shown"], d["responsible"], d["rule"]) for d in c["deadlines"]])
        table("Events", ["On", "Event", "To", "By", "Note"],
              [(e["on"], e["event"], e["to_state"], e["actor"], ("[confidential] " if e["confidential"] else "") + e["note"])
               for e in c["events"]])
        if not c["closed"]:
            console.line(f"Allowed now: {', '.join(c['allowed_events']) or 'none'}")


def cmd_register(args) -> None:
    as_of = args.as_of or today()
    with session_scope(args.db, writes=False) as session:
        rows = views.register(session, as_of, la=args.la)
    if args.json:
        emit_json(rows)
        return
    table(f"Schools causing concern, as of {as_of}", ["URN", "Name", "Maintained", "Pathway", "State", "Category",
                                                       "Stuck", "Other cases"],
          [(r["urn"], r["name"], "yes" if r["maintained"] else "academy", r["pathway"], r["state"], r["category"],
            "yes" if r["stuck"] else "", ", ".join(c["pathway"] for c in r["cases"] if c["pathway"] != r["pathway"]))
           for r in rows])


def cmd_deadlines(args) -> None:
    as_of = args.as_of or today()
    with session_scope(args.db, writes=False) as session:
        rows = views.deadlines_view(session, as_of, within=args.within, la=args.la)
    if args.json:
        emit_json(rows)
        return
    table(f"Deadlines as of {as_of}" + (f", due within {args.within} days" if args.within is not None else ""),
          ["Due", "Days", "Status", "URN", "School", "Kind", "Responsible"],
          [(r["due"], r["days_left"], r["shown"], r["urn"], r["name"], r["kind"], r["responsible"]) for r in rows])
