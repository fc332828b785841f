"""What every command is built from: the parser, the refusal, the argument types, what a command needs.

An argument type refuses with one line naming the value (argparse reports an `ArgumentTypeError` as
"argument --port: '0' is not a port ..."), before anything is opened.
"""

from __future__ import annotations

import argparse
import enum
import getpass
import os
from collections.abc import Callable
from datetime import date

EXIT_REFUSED = 2
# Bounds that keep arithmetic on dates inside what a date can hold (year 9999), with room to spare.
MAX_WORKING_DAYS = 10_000
MAX_WITHIN_DAYS = 3_660
# The TCP port numbers a server can listen on (RFC 793: a 16-bit field; 0 asks for any free port).
MAX_PORT = 65_535


class CommandError(Exception):
    """A refusal to report on one line."""


class RunFailed(Exception):
    """A flow run that ended Failed: exit 1 with its one-line reason (a refusal exits 2)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of usage + message
        raise CommandError(f"{message} (see `{self.prog} --help`)")


class Needs(enum.Enum):
    """What `main` makes sure of before it runs a command."""

    NOTHING = "nothing"  # no database, or the command makes it (init)
    SCHEMA = "schema"  # the database at the current revision
    # That, and the authorities' policies checked against the machine's events and deadline kinds and the
    # letters first (concerns.jobs.policycheck), so that a policy naming an event that does not exist is
    # refused when it loads, not when a deadline it made can never be met. The read-only views skip it:
    # it loads the letters and Jinja, a third of a read command's time, and a view acts on nothing; each
    # policy's own settings are still checked as it loads.
    POLICIES = "policies"


def command(sub, name: str, handler: Callable, needs: Needs, **kwargs) -> Parser:
    """The subparser `name`, carrying the function that runs it and what that function needs."""
    parser = sub.add_parser(name, **kwargs)
    parser.set_defaults(handler=handler, needs=needs)
    return parser


def group(sub, name: str, **kwargs):
    """A command with subcommands of its own (`concerns school add|list`): the subparsers to add them to."""
    return sub.add_parser(name, **kwargs).add_subparsers(dest=f"{name}_command", required=True, parser_class=Parser)


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad date {text!r}: {exc} (use YYYY-MM-DD)") from None


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def days_ahead(text: str) -> int:
    """A number of days ahead: 0 to MAX_WITHIN_DAYS."""
    value = whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    if value > MAX_WITHIN_DAYS:
        raise argparse.ArgumentTypeError(f"{text!r} is more than {MAX_WITHIN_DAYS} days")
    return value


def working_days(text: str) -> int:
    value = whole_number(text)
    if abs(value) > MAX_WORKING_DAYS:
        raise argparse.ArgumentTypeError(f"{text!r} working days is more than {MAX_WORKING_DAYS} (about 40 years)")
    return value


def port(text: str) -> int:
    """A TCP port to listen on: 1 to 65535 (port 0, "any free port", would leave the desk's address unknown)."""
    value = whole_number(text)
    if not 1 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1-{MAX_PORT})")
    return value


MAX_DESK_WORKERS = 16


def desk_workers(text: str) -> int:
    """How many processes answer the desk: 1 to MAX_DESK_WORKERS (more than the machine's cores only queue)."""
    value = whole_number(text)
    if not 1 <= value <= MAX_DESK_WORKERS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of desk processes (1-{MAX_DESK_WORKERS})")
    return value


def actor_of(args) -> str:
    """Who is recording: --actor, else $CONCERNS_ACTOR, else the login name."""
    return getattr(args, "actor", None) or os.environ.get("CONCERNS_ACTOR") or getpass.getuser()
