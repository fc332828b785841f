"""The `concerns` command (docs/cli-contract.md). Human output is tables; `--json` is one document on stdout.

Refused input exits 2 with one line on stderr naming the bad value, and changes nothing: each command
runs in one transaction that is rolled back on any refusal. Failures of the database itself (not
reachable, a bad URL, busy for too long) are one line too, with any password masked.

One module per group of commands, each adding its subparsers with the function that runs them and what
that function needs (`arguments.command`); `main` parses, makes sure of what the command needs, runs it
and turns refusals into their one line. The output goes through `terminal`, which shows stored text as
text: a stored escape sequence cannot drive the officer's terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from concerns.app.cli import (
    categories,
    demo,
    events,
    imports,
    install,
    jobs,
    letters,
    people,
    policy,
    register,
    rules,
    schools,
    web,
)
from concerns.app.cli.arguments import EXIT_REFUSED, CommandError, Needs, Parser, RunFailed
from concerns.app.cli.jobs import OUTBOX_STATUSES
from concerns.app.cli.terminal import console
from concerns.casework import cases
from concerns.domain.clock import ImplausibleDate
from concerns.domain.judgements import JudgementError
from concerns.domain.policy import PolicyError
from concerns.domain.untrusted import BadInput, printable
from concerns.store.db import DatabaseSettingRefused, SchemaNotReady, describe_database_error, require_schema

__all__ = ["EXIT_REFUSED", "OUTBOX_STATUSES", "build_parser", "main"]

# In the order `concerns --help` lists the commands.
COMMANDS = (
    install.add_init_command, schools.add_school_commands, people.add_person_commands,
    events.add_inspection_commands, events.add_event_command, register.add_case_commands,
    register.add_register_command, register.add_deadlines_command, rules.add_workdays_commands,
    rules.add_rules_command, rules.add_diagram_command, demo.add_demo_commands, letters.add_letter_commands,
    imports.add_import_command, jobs.add_run_command, categories.add_category_commands,
    categories.add_fact_commands, jobs.add_outbox_commands, people.add_user_commands, web.add_web_command,
    install.add_prefect_commands, policy.add_policy_commands,
)

REFUSALS = (CommandError, cases.Refused, JudgementError, PolicyError, SchemaNotReady, ImplausibleDate, BadInput,
            DatabaseSettingRefused)


def build_parser() -> Parser:
    p = Parser(prog="concerns", description="Schools causing concern: pathways, deadlines, reminders, letters.")
    p.add_argument("--db", help="database URL (else $CONCERNS_DB, else sqlite:///concerns.db)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for add_commands in COMMANDS:
        add_commands(sub)
    return p


def refuse(reason: object) -> int:
    """The one line on stderr for a refusal, whatever it quotes."""
    console.problem(f"concerns: error: {reason}")
    return EXIT_REFUSED


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    db = None
    try:
        args = parser.parse_args(argv)
        db = args.db
        if args.needs is Needs.POLICIES:
            from concerns.jobs.policycheck import check_loaded

            check_loaded()
        if args.needs is not Needs.NOTHING:
            require_schema(args.db)
        status = args.handler(args)
    except REFUSALS as exc:
        return refuse(exc)
    except SQLAlchemyError as exc:
        # Unreachable server, unusable URL, lock held too long, a change the database's own rules
        # refuse (the append-only history): one line naming the database, its password masked.
        return refuse(describe_database_error(exc, db))
    except OverflowError as exc:
        return refuse(f"a date or number is out of range: {exc}")
    except RunFailed as exc:
        print(f"concerns: the run failed: {printable(str(exc))}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`concerns register | head`): stop quietly, as other commands do; what is
        # left unflushed goes nowhere rather than into a second traceback at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return status or 0
