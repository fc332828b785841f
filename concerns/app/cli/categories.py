"""`concerns category propose|set|show` and `concerns fact add|list`: the authority's own categorisation
of its schools, and the dated facts about a school that it reads."""

from __future__ import annotations

from concerns.app.cli.arguments import Needs, actor_of, command, group, iso_date
from concerns.app.cli.terminal import console, emit_json, table
from concerns.casework import cases
from concerns.domain.clock import today
from concerns.store.db import session_scope


def add_category_commands(sub) -> None:
    cat = group(sub, "category", help="the authority's own categorisation of its schools")
    prop = command(cat, "propose", cmd_category_propose, Needs.POLICIES,
                   help="the policy's proposed level for each open school, with its reasons; nothing is written")
    prop.add_argument("--la", required=True, help="the authority")
    prop.add_argument("--year", help="the academic year, e.g. 2026/27 (default: the year of --as-of)")
    prop.add_argument("--as-of", type=iso_date)
    prop.add_argument("--json", action="store_true")
    cset = command(cat, "set", cmd_category_set, Needs.POLICIES,
                   help="record the authority's judgement of a school's level, with a reason")
    cset.add_argument("urn")
    cset.add_argument("level", help="a level key of the authority's scheme")
    cset.add_argument("--on", required=True, type=iso_date)
    cset.add_argument("--reason", required=True)
    cset.add_argument("--year", help="the academic year, e.g. 2026/27 (default: the year of --on)")
    cset.add_argument("--actor", help="who is recording it (default $CONCERNS_ACTOR or your login)")
    cset.add_argument("--json", action="store_true")
    cshow = command(cat, "show", cmd_category_show, Needs.POLICIES,
                    help="a school's categories, year by year, with who decided and why")
    cshow.add_argument("urn")
    cshow.add_argument("--json", action="store_true")


def add_fact_commands(sub) -> None:
    fact = group(sub, "fact", help="dated facts about a school that the categorisation reads")
    fadd = command(fact, "add", cmd_fact_add, Needs.POLICIES,
                   help="record a fact from a date, e.g. new_head (the policy's [categories.facts])")
    fadd.add_argument("urn")
    fadd.add_argument("fact")
    fadd.add_argument("--on", required=True, type=iso_date, help="from when it holds")
    fadd.add_argument("--until", type=iso_date, help="when it stops holding")
    fadd.add_argument("--note", default="")
    fadd.add_argument("--actor", help="who is recording it (default $CONCERNS_ACTOR or your login)")
    flist = command(fact, "list", cmd_fact_list, Needs.POLICIES, help="the facts recorded about a school")
    flist.add_argument("urn")
    flist.add_argument("--json", action="store_true")


def cmd_category_set(args) -> None:
    from concerns.jobs.categorisation import set_category_with_letter

    done = set_category_with_letter(args.db, args.urn, args.level, args.on, args.reason, actor_of(args),
                                    year=args.year)
    if args.json:
        emit_json(done)
    else:
        was = f" (was {done['previous']})" if done["previous"] else ""
        console.line(f"{done['urn']} {done['year']}: {done['label']}{was}, decided {done['on']}; "
                     f"letter: {done['letter']}")


def cmd_category_propose(args) -> None:
    from concerns.casework import lacategories

    as_of = args.as_of or today()
    with session_scope(args.db, writes=False) as session:
        rows = lacategories.proposals(session, as_of, la=args.la,
                                      year=lacategories.check_year(args.year) if args.year else None)
    if args.json:
        emit_json([{"urn": r["urn"], "name": r["name"], "year": r["year"], "level": r["level"],
                    "label": r["label"], "reasons": r["reasons"], "decided": r["decided"]} for r in rows])
        return
    table(f"Proposed categories, {args.la}, as of {as_of}", ["URN", "School", "Year", "Proposed", "Decided", "Why"],
          [(r["urn"], r["name"], r["year"], r["label"], r["decided"]["label"] if r["decided"] else "",
            " ".join(r["reasons"])) for r in rows])


def cmd_category_show(args) -> None:
    from concerns.casework import lacategories

    with session_scope(args.db, writes=False) as session:
        doc = {"urn": cases.check_urn(args.urn), "history": lacategories.history(session, args.urn)}
    if args.json:
        emit_json(doc)
        return
    table(f"Categories of {doc['urn']}", ["Year", "Level", "Decided", "By", "Why"],
          [(h["year"], h["label"], h["on"], h["by"], h["reason"]) for h in doc["history"]])


def cmd_fact_add(args) -> None:
    from concerns.casework import lacategories

    with session_scope(args.db) as session:
        row = lacategories.record_fact(session, args.urn, args.fact, args.on, args.until, args.note,
                                       actor_of(args))
        said = f"{row.urn}: {row.fact} from {row.starts_on}{f' until {row.ends_on}' if row.ends_on else ''}"
    console.line(said)  # after the commit


def cmd_fact_list(args) -> None:
    from concerns.casework import lacategories

    with session_scope(args.db, writes=False) as session:
        rows = lacategories.facts_of(session, args.urn)
    if args.json:
        emit_json(rows)
        return
    table(f"Facts recorded about {args.urn}", ["Fact", "From", "Until", "By", "Note"],
          [(r["name"], r["on"], r["until"] or "", r["by"], r["note"]) for r in rows])
