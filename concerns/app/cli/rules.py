"""The law as the product holds it: `concerns rules` (the statutory rules and when each applies),
`concerns workdays add` (working-day arithmetic) and `concerns diagram` (the pathway state machine)."""

from __future__ import annotations

from concerns.app.cli.arguments import CommandError, Needs, command, group, iso_date, working_days
from concerns.app.cli.terminal import console, emit_json, table
from concerns.domain.calendar import DayKind
from concerns.domain.policy import policy_for


def add_workdays_commands(sub) -> None:
    wd = group(sub, "workdays", help="working-day arithmetic")
    wadd = command(wd, "add", cmd_workdays_add, Needs.NOTHING,
                   help="the N-th working day after DATE (counting starts the day after)")
    wadd.add_argument("date", type=iso_date)
    wadd.add_argument("n", type=working_days)
    wadd.add_argument("--kind", choices=[k.value for k in DayKind], default="statutory")
    wadd.add_argument("--la", help="the authority whose term dates and closures apply")


def add_rules_command(sub) -> None:
    rules = command(sub, "rules", cmd_rules, Needs.NOTHING,
                    help="the statutory rules and which one is in force on a date")
    rules.add_argument("--on", type=iso_date)
    rules.add_argument("--json", action="store_true")


def add_diagram_command(sub) -> None:
    diagram = command(sub, "diagram", cmd_diagram, Needs.NOTHING,
                      help="print the pathway state machine as a Mermaid diagram")
    diagram.add_argument("--table", action="store_true",
                         help="print the review table instead (every transition with the law it follows)")


def cmd_workdays_add(args) -> None:
    calendar = policy_for(args.la).calendar(args.kind)
    try:
        console.line(calendar.add_working_days(args.date, args.n).isoformat())
    except OverflowError:
        raise CommandError(f"{args.n} working days from {args.date.isoformat()} is beyond the year 9999") from None


def cmd_rules(args) -> None:
    from concerns.domain.rules import DEFAULT_RULES

    on = args.on
    rules = [r for r in DEFAULT_RULES.rules if on is None or r.applies_on(on)]
    if args.json:
        emit_json([{"id": r.id, "topic": r.topic, "title": r.title, "from": r.applies_from, "to": r.applies_to,
                    "source": r.source, "confidence": r.confidence, "params": dict(r.params)} for r in rules])
        return
    table(f"Rules{' in force on ' + on.isoformat() if on else ''}", ["Rule", "Applies", "Confidence", "Source"],
          [(f"{r.id}: {r.title}", r.period, r.confidence, r.source) for r in rules])


def cmd_diagram(args) -> None:
    if args.table:
        from statemachines.review import review_table

        console.line(review_table().removesuffix("\n"))  # the table's own last line ends it
        return
    from statemachines.pathways import mermaid_diagram

    console.line(mermaid_diagram())
