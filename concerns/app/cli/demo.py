"""`concerns demo term`: the demo authority run through a term, flows and officers' steps in turn."""

from __future__ import annotations

from concerns.app.cli.arguments import Needs, command, group
from concerns.app.cli.terminal import console


def add_demo_commands(sub) -> None:
    demo = group(sub, "demo", help="the demo authority")
    term = command(demo, "term", cmd_demo_term, Needs.POLICIES,
                   help="run the demo authority through a term: flows and officers' steps")
    term.add_argument("--no-prefect", action="store_true", help="run the jobs directly, without Prefect")
    term.add_argument("--prefect-log", metavar="FILE",
                      help="write Prefect's own log here instead of the terminal")


def cmd_demo_term(args) -> None:
    from concerns.app.demo_term import run_demo_term

    run_demo_term(args.db, use_prefect=not args.no_prefect, echo=console.line, prefect_log=args.prefect_log)
