"""`concerns policy list|check|drift`: the authorities' policy files, shipped and local, and where each
authority's own procedure has fallen behind the law (docs/policy-drift.md)."""

from __future__ import annotations

from concerns.app.cli.arguments import EXIT_REFUSED, CommandError, Needs, command, group, iso_date
from concerns.app.cli.terminal import console, emit_json, heading, table


def add_policy_commands(sub) -> None:
    pol = group(sub, "policy", help="the authorities' policy files")
    plist = command(pol, "list", cmd_policy_list, Needs.NOTHING,
                    help="the policies shipped and those in $CONCERNS_POLICY_DIR")
    plist.add_argument("--json", action="store_true")
    pcheck = command(pol, "check", cmd_policy_check, Needs.NOTHING,
                     help="validate a policy file: exit 2 and one line per problem, else ok")
    pcheck.add_argument("file")
    pdrift = command(pol, "drift", cmd_policy_drift, Needs.NOTHING,
                     help="where each authority's procedure says something the law no longer says")
    pdrift.add_argument("--la", help="one authority (by name, alias or file name); else every authority")
    pdrift.add_argument("--on", type=iso_date, help="the law as on this date (default: today)")
    pdrift.add_argument("--json", action="store_true")


def cmd_policy_check(args) -> int:
    from pathlib import Path

    from concerns.jobs.policycheck import check_file

    problems = check_file(Path(args.file))
    for line in problems:
        console.problem(line)
    if problems:
        return EXIT_REFUSED
    console.line("ok")
    return 0


def cmd_policy_list(args) -> None:
    from pathlib import Path

    from concerns.domain.policy import BUILTIN_DIR, all_policies

    docs = [{"key": p.key, "authority": p.authority, "title": p.title, "source": p.source,
             "aliases": list(p.aliases), "boroughs": list(p.boroughs),
             "from": "shipped" if Path(p.path).parent == BUILTIN_DIR else "CONCERNS_POLICY_DIR",
             "path": p.path} for p in all_policies().values()]
    if args.json:
        emit_json(docs)
    else:
        table("Policies", ["Key", "Authority", "Title", "Source", "From"],
              [(d["key"], d["authority"], d["title"], d["source"], d["from"]) for d in docs])


def _authority(la: str):
    """The policy of the authority named `la`, or a refusal naming it (never the default in its place)."""
    from concerns.domain.policy import all_policies, fold

    policies = all_policies()
    wanted = fold(la)
    for policy in policies.values():
        if wanted in {fold(policy.key), fold(policy.authority), *map(fold, policy.aliases)}:
            return policy
    known = ", ".join(p.authority for p in policies.values() if p.key != "default")
    raise CommandError(f"unknown authority {la!r} (authorities with a policy: {known})")


def cmd_policy_drift(args) -> None:
    from concerns.domain.clock import today
    from concerns.domain.drift import grouped, policy_drift
    from concerns.domain.formatting import ukdate
    from concerns.domain.policy import all_policies

    policies = [_authority(args.la)] if args.la else list(all_policies().values())
    on = args.on or today()
    rows = [row for policy in policies for row in policy_drift(policy, on)]
    if args.json:
        emit_json([row.as_json() for row in rows])
        return
    words = ukdate(on, weekday=False)
    if not rows:
        if args.la and policies[0].procedure is None:
            console.line(f"{policies[0].authority}: its policy says nothing of its procedure; add a [procedure] "
                         "section (docs/policy-drift.md).")
        else:
            who = policies[0].authority if args.la else "No authority"
            console.line(f"{who}: nothing its procedure says has fallen behind the law, as on {words}."
                         if args.la else f"{who}'s procedure has fallen behind the law, as on {words}.")
        return
    for authority in grouped(rows):
        console.line(heading(authority["authority"], f": {authority['procedure']}, written "
                                                 f"{ukdate(authority['written'], weekday=False)}"))
        console.line(f"  The law has changed since, as on {words}, on what it says in:")
        for st in authority["statements"]:
            console.line()
            console.line(f"  {st['section']} ({st['topic']})")
            console.line(f"    It says: \u201c{st['says']}\u201d")
            for ch in st["changes"]:
                since = ukdate(ch["since"], weekday=False)
                console.line(f"    No longer the law from {since}: {ch['title']}" if ch["ended"] else
                             f"    The law since {since}: {ch['title']}")
                console.line(f"      Source: {ch['source']}")
        console.line()
