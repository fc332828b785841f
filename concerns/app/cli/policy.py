"""`concerns policy list|check`: the authorities' policy files, shipped and local."""

from __future__ import annotations

from concerns.app.cli.arguments import EXIT_REFUSED, Needs, command, group
from concerns.app.cli.terminal import console, emit_json, table


def add_policy_commands(sub) -> None:
    pol = group(sub, "policy", help="the authorities' policy files")
    plist = command(pol, "list", cmd_policy_list, Needs.NOTHING,
                    help="the policies shipped and those in $CONCERNS_POLICY_DIR")
    plist.add_argument("--json", action="store_true")
    pcheck = command(pol, "check", cmd_policy_check, Needs.NOTHING,
                     help="validate a policy file: exit 2 and one line per problem, else ok")
    pcheck.add_argument("file")


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
