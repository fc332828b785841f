"""What happens to a school: `concerns inspection add` (an Ofsted judgement, which may open or move a
case) and `concerns event` (an officer's step on a case)."""

from __future__ import annotations

from concerns.app.cli.arguments import CommandError, Needs, actor_of, command, group, iso_date
from concerns.app.cli.terminal import console
from concerns.casework import cases
from concerns.domain.judgements import SAFEGUARDING, Judgement, parse_area_grade, parse_outcome
from concerns.store.db import session_scope
from statemachines.pathways import OFFICER_EVENTS, PATHWAYS


def add_inspection_commands(sub) -> None:
    insp = group(sub, "inspection", help="Ofsted inspections")
    iadd = command(insp, "add", cmd_inspection_add, Needs.POLICIES,
                   help="record an inspection outcome or report card")
    iadd.add_argument("urn")
    iadd.add_argument("--published", required=True, type=iso_date)
    iadd.add_argument("--inspected", type=iso_date)
    iadd.add_argument("--outcome", help="outstanding | good | requires_improvement | serious_weaknesses | special_measures")
    iadd.add_argument("--area", action="append", default=[], metavar="AREA=GRADE")
    iadd.add_argument("--safeguarding", choices=SAFEGUARDING)
    iadd.add_argument("--number", help="Ofsted inspection number")
    iadd.add_argument("--ungraded", action="store_true", help="an ungraded / monitoring inspection")


def add_event_command(sub) -> None:
    ev = command(sub, "event", cmd_event, Needs.POLICIES, help="record an event on a school's case")
    ev.add_argument("urn")
    ev.add_argument("event", help=f"one of: {', '.join(OFFICER_EVENTS)}")
    ev.add_argument("--on", required=True, type=iso_date)
    ev.add_argument("--until", type=iso_date, help="end of a warning notice's compliance period")
    ev.add_argument("--note", default="")
    ev.add_argument("--confidential", action="store_true")
    ev.add_argument("--pathway", choices=PATHWAYS, help="which case, when the school has more than one open")
    ev.add_argument("--meeting", default="progress_meeting", help="the kind of meeting held (policy meetings)")
    ev.add_argument("--actor", help="who is recording it (default $CONCERNS_ACTOR or your login)")


def cmd_inspection_add(args) -> None:
    if bool(args.outcome) == bool(args.area):
        raise CommandError("give either --outcome or one or more --area AREA=GRADE (report card), not both or neither")
    areas = dict(parse_area_grade(a) for a in args.area)
    if len(areas) != len(args.area):
        raise CommandError("an --area is given twice")
    from concerns.domain.rules import DEFAULT_RULES, short_date

    report_cards_from = DEFAULT_RULES.starts("judgements/report-cards")
    if areas and args.published < report_cards_from:
        raise CommandError(f"report cards began on {short_date(report_cards_from)}; "
                           f"--published {args.published.isoformat()} is earlier: use --outcome")
    outcome = parse_outcome(args.outcome) if args.outcome else None
    judgement = Judgement(published=args.published, inspected=args.inspected, outcome=outcome, areas=areas,
                          safeguarding=args.safeguarding, graded=not args.ungraded)
    lines: list[str] = []
    with session_scope(args.db) as session:
        result = cases.record_inspection(session, args.urn, judgement, number=args.number, actor=actor_of(args))
        if not result.created:
            lines.append(f"That inspection of {args.urn} is already recorded; nothing changed.")
        else:
            insp = result.inspection
            lines.append(f"Recorded inspection of {insp.urn} published {insp.published} ({insp.regime}): "
                         f"level {insp.level}")
            for ev in result.events:
                t = ev.transitioned
                verb = "opened" if ev.opened else "moved"
                lines.append(f"  {t.pathway} case {verb}: {t.from_state} -> {t.to_state}")
                lines.extend(f"    deadline {d.kind} due {d.due} ({d.responsible})" for d in t.created)
    for line in lines:  # after the commit
        console.line(line)


def cmd_event(args) -> None:
    with session_scope(args.db) as session:
        result = cases.record_event(session, args.urn, args.event, on=args.on, until=args.until, note=args.note,
                                    confidential=args.confidential, actor=actor_of(args), pathway=args.pathway,
                                    meeting=args.meeting)
        t = result.transitioned
        lines = [f"{result.urn} {t.pathway}: {t.event} on {t.on} -> {t.to_state}"
                 f"{' (case opened)' if result.opened else ''}{' (case closed)' if t.closed else ''}"]
        lines.extend(f"  new deadline {d.kind} due {d.due} ({d.responsible})" for d in t.created)
        lines.extend(f"  met {d.kind} (due {d.due})" for d in t.met)
        lines.extend(f"  cancelled {d.kind} (due {d.due})" for d in t.cancelled)
    for line in lines:  # after the commit
        console.line(line)
