"""Putting the product in place: `concerns init` (the database) and `concerns prefect setup` (the
Prefect side of production)."""

from __future__ import annotations

from concerns.app.cli.arguments import CommandError, Needs, command, group
from concerns.app.cli.terminal import console
from concerns.store.db import mask_url, session_scope, upgrade


def add_init_command(sub) -> None:
    init = command(sub, "init", cmd_init, Needs.NOTHING, help="create or upgrade the database")
    init.add_argument("--demo", action="store_true", help="load the demo authority")


def add_prefect_commands(sub) -> None:
    pf = group(sub, "prefect", help="the Prefect side of production")
    setup = command(pf, "setup", cmd_prefect_setup, Needs.NOTHING,
                    help="work pool, outbox limit, every deployment, and the operator's failure alert "
                         "(on the server in PREFECT_API_URL)")
    setup.add_argument("--operator", required=True, metavar="EMAIL",
                       help="who is e-mailed when a run fails, crashes or times out")
    setup.add_argument("--no-deploy", action="store_true", help="skip `prefect deploy --all`")


def cmd_init(args) -> None:
    before, after = upgrade(args.db)
    where = mask_url(args.db)
    if before == after:
        console.line(f"Database {where} is up to date (revision {after}).")
    else:
        console.line(f"Database {where} upgraded from {before or 'empty'} to revision {after}.")
    if args.demo:
        from concerns.app.demo import load_demo

        with session_scope(args.db) as session:
            summary = load_demo(session)
        console.line(summary)


def cmd_prefect_setup(args) -> None:
    import asyncio

    from flows import prefect_env_defaults

    operator = args.operator.strip()
    if "@" not in operator or any(c.isspace() for c in operator):
        raise CommandError(f"--operator {args.operator!r} is not an e-mail address")
    prefect_env_defaults()
    from flows.setup import setup_prefect

    try:
        report = asyncio.run(setup_prefect(operator, deploy=not args.no_deploy))
    except RuntimeError as exc:
        raise CommandError(str(exc)) from None
    for line in report.done:
        console.line(line)
