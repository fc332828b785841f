"""The product's jobs from the command line: `concerns run FLOW` (a flow run locally) and
`concerns outbox list|send|retry` (the queue of outgoing mail)."""

from __future__ import annotations

import os
import sys

from concerns.app.cli.arguments import CommandError, Needs, RunFailed, command, group, iso_date
from concerns.app.cli.terminal import console, emit_json, table
from concerns.domain.clock import check_as_of
from concerns.store.db import carries_password, session_scope

# concerns.notify.outbox.STATUSES, spelt out so that building the parser does not import the outbox
# (Jinja, mail, the desk's links: a quarter of a second of every command); a test keeps them equal.
OUTBOX_STATUSES = ("pending", "deferred", "failed", "sent")
FLOWS = ("deadline-check", "termly-review", "hmi-reminders", "annual-categorisation", "send-notifications")


def add_run_command(sub) -> None:
    run = command(sub, "run", cmd_run, Needs.POLICIES, help="run a flow locally")
    run.add_argument("flow", choices=FLOWS)
    run.add_argument("--as-of", type=iso_date)
    run.add_argument("--verbose", action="store_true",
                     help="show Prefect's own log on the terminal (by default it goes to $PREFECT_HOME/concerns-runs.log)")
    run.add_argument("--simulation", action="store_true",
                     help="allow an --as-of more than 7 days ahead (the demo, a what-if on a copy of the data)")
    run.add_argument("--approved-by", metavar="NAME",
                     help="annual-categorisation: the service head's approval, given here (without it the "
                          "run proposes only; in production the run waits for approval in the Prefect UI)")
    run.add_argument("--json", action="store_true")


def add_outbox_commands(sub) -> None:
    outbox = group(sub, "outbox", help="the queue of outgoing mail")
    olist = command(outbox, "list", cmd_outbox_list, Needs.SCHEMA, help="the messages in the outbox")
    olist.add_argument("--status", choices=OUTBOX_STATUSES)
    olist.add_argument("--json", action="store_true")
    osend = command(outbox, "send", cmd_outbox_send, Needs.SCHEMA,
                    help="send what is due now, without Prefect (safe to run twice at once); "
                         "exits 1 when a message failed or has waited too long")
    osend.add_argument("--json", action="store_true")
    oretry = command(outbox, "retry", cmd_outbox_retry, Needs.SCHEMA, help="put failed messages back in the queue")
    oretry.add_argument("keys", nargs="*", metavar="KEY")
    oretry.add_argument("--failed", action="store_true", help="every failed message")


def cmd_run(args) -> None:
    import time
    from pathlib import Path

    from flows import FlowRunFailed, run_local

    check_as_of(args.as_of, args.simulation)  # refused here, before Prefect is started
    # The flow checks again, and so takes `simulation` only when it is asked for.
    simulation = {"simulation": True} if args.simulation else {}
    if args.flow == "annual-categorisation":
        # Without a server there is no UI to approve in: propose only, unless approved here.
        if args.approved_by:
            simulation["approved_by"] = args.approved_by
        elif not os.environ.get("PREFECT_API_URL"):
            simulation["wait_for_approval"] = False
    elif args.approved_by:
        raise CommandError("--approved-by is for annual-categorisation only")
    db = args.db
    if db and carries_password(db):
        # Flow parameters are stored in Prefect's database: hand the URL over in the environment
        # instead, where the flow's default (CONCERNS_DB) finds it.
        os.environ["CONCERNS_DB"], db = db, None
    log_file = None
    if not args.verbose:
        log_file = Path(os.environ.get("PREFECT_HOME") or ".prefect") / "concerns-runs.log"
    started = time.perf_counter()
    try:
        summary = run_local(args.flow, args.as_of, db, log_file=log_file, **simulation)
    except FlowRunFailed as exc:
        # Not a refusal: the run happened and did its work, but something needs the operator.
        summary = exc.summary
        failure = str(exc)
    else:
        failure = None
    elapsed = time.perf_counter() - started
    if args.json:
        emit_json(summary)
    else:
        shown = {k: v for k, v in summary.items()
                 if not isinstance(v, list | dict) or k in ("by_step", "notifications")}
        for key, value in shown.items():
            console.line(f"{key}: {value}")
        for key in ("unassigned", "errors", "without_letter", "alarms", "meetings_unplaced"):
            if summary.get(key):
                console.line(f"{key}: {len(summary[key])} (see --json)")
        console.line(f"flow {args.flow} finished in {elapsed:.1f} s"
                     + (f"; Prefect's log: {log_file}" if log_file else ""))
    if failure:
        raise RunFailed(failure)


def cmd_outbox_send(args) -> int:
    from concerns.jobs import run_send_notifications

    summary = run_send_notifications(args.db)
    if args.json:
        emit_json(summary)
    else:
        console.line(f"sent {summary['sent']}, deferred {summary['deferred']}, failed {summary['failed']} "
                     f"(via {summary['via']})")
        for alarm in summary["alarms"]:
            print(f"alarm: {alarm}", file=sys.stderr)
    return 1 if summary["alarms"] else 0


def cmd_outbox_retry(args) -> None:
    from concerns.notify.outbox import NotRetryable, UnknownMessage, retry

    if bool(args.keys) == args.failed:
        raise CommandError("give the KEYs of the messages to retry, or --failed, not both or neither")
    with session_scope(args.db) as session:
        try:
            rows = retry(session, args.keys, all_failed=args.failed)
        except (UnknownMessage, NotRetryable) as exc:
            raise CommandError(str(exc)) from None
    console.line(f"{len(rows)} message(s) back in the queue; `concerns outbox send` sends them")


def cmd_outbox_list(args) -> None:
    from concerns.notify.alarms import LONDON
    from concerns.notify.outbox import outbox_rows

    with session_scope(args.db) as session:
        rows = outbox_rows(session, args.status)
    # When the sender may next take it; sent and failed messages are not waiting for anything.
    docs = [{"key": n.key, "to": n.recipient_email, "subject": n.subject, "status": n.status, "attempts": n.attempts,
             "last_error": n.last_error,
             "next_attempt": n.next_attempt.astimezone(LONDON).isoformat(timespec="seconds")
             if n.status in ("pending", "deferred") else None} for n in rows]
    if args.json:
        emit_json(docs)
    else:
        table(f"Outbox{f' ({args.status})' if args.status else ''}",
              ["Key", "To", "Subject", "Status", "Tries", "Next attempt", "Last error"],
              [(d["key"], d["to"], d["subject"], d["status"], d["attempts"], (d["next_attempt"] or "")[:16],
                d["last_error"]) for d in docs])
