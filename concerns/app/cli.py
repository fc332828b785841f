"""The `concerns` command (docs/cli-contract.md). Human output is tables; `--json` is one document on stdout.

Refused input exits 2 with one line on stderr naming the bad value, and changes nothing: each command
runs in one transaction that is rolled back on any refusal. Failures of the database itself (not
reachable, a bad URL, busy for too long) are one line too, with any password masked.

Names and notes come from people and files, so the console reads no Rich markup (a note holding
"[/bold]" is printed as typed) and every string it prints has its control characters shown as escapes
(`concerns.domain.untrusted.printable`): a stored escape sequence cannot drive the officer's terminal.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import sys
import textwrap
from collections.abc import Sequence
from datetime import date

from sqlalchemy.exc import SQLAlchemyError

from concerns.casework import cases, views
from concerns.domain.calendar import DayKind
from concerns.domain.clock import ImplausibleDate, check_as_of, today
from concerns.domain.judgements import (
    SAFEGUARDING,
    Judgement,
    JudgementError,
    parse_area_grade,
    parse_outcome,
)
from concerns.domain.policy import PolicyError, policy_for
from concerns.domain.untrusted import BadInput, printable
from concerns.store.db import (
    DatabaseSettingRefused,
    SchemaNotReady,
    carries_password,
    describe_database_error,
    mask_url,
    require_schema,
    session_scope,
    upgrade,
)
from statemachines.pathways import OFFICER_EVENTS, PATHWAYS

EXIT_REFUSED = 2
# Bounds that keep arithmetic on dates inside what a date can hold (year 9999), with room to spare.
MAX_WORKING_DAYS = 10_000
MAX_WITHIN_DAYS = 3_660
# concerns.notify.outbox.STATUSES, spelt out so that building the parser does not import the outbox
# (Jinja, mail, the desk's links: a quarter of a second of every command); a test keeps them equal.
OUTBOX_STATUSES = ("pending", "deferred", "failed", "sent")


class CommandError(Exception):
    """A refusal to report on one line."""


class RunFailed(Exception):
    """A flow run that ended Failed: exit 1 with its one-line reason (a refusal exits 2)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of usage + message
        raise CommandError(f"{message} (see `{self.prog} --help`)")


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad date {text!r}: {exc} (use YYYY-MM-DD)") from None


def non_negative(text: str) -> int:
    value = whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    if value > MAX_WITHIN_DAYS:
        raise argparse.ArgumentTypeError(f"{text!r} is more than {MAX_WITHIN_DAYS} days")
    return value


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def working_days(text: str) -> int:
    value = whole_number(text)
    if abs(value) > MAX_WORKING_DAYS:
        raise argparse.ArgumentTypeError(f"{text!r} working days is more than {MAX_WORKING_DAYS} (about 40 years)")
    return value


def build_parser() -> Parser:
    p = Parser(prog="concerns", description="Schools causing concern: pathways, deadlines, reminders, letters.")
    p.add_argument("--db", help="database URL (else $CONCERNS_DB, else sqlite:///concerns.db)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    init = sub.add_parser("init", help="create or upgrade the database")
    init.add_argument("--demo", action="store_true", help="load the demo authority")

    school = sub.add_parser("school", help="register and list schools").add_subparsers(
        dest="school_command", required=True, parser_class=Parser)
    add = school.add_parser("add", help="register a school")
    add.add_argument("urn")
    add.add_argument("--name", required=True)
    add.add_argument("--la", required=True, help="the local authority's name")
    add.add_argument("--type", required=True, dest="type_name", help='GIAS type, e.g. "Community school"')
    add.add_argument("--diocese")
    add.add_argument("--trust")
    add.add_argument("--religious-character")
    add.add_argument("--phase")
    ls = school.add_parser("list", help="list registered schools")
    ls.add_argument("--la")
    ls.add_argument("--json", action="store_true")

    person = sub.add_parser("person", help="officers and school contacts").add_subparsers(
        dest="person_command", required=True, parser_class=Parser)
    padd = person.add_parser("add", help="add a person with a role, for one school or the whole authority")
    padd.add_argument("name")
    padd.add_argument("email")
    padd.add_argument("--role", required=True)
    padd.add_argument("--la", required=True)
    padd.add_argument("--urn", help="the school (omit for an authority-wide role)")
    padd.add_argument("--school-side", action="store_true", help="head, chair, governor: never sent confidential notes")

    insp = sub.add_parser("inspection", help="Ofsted inspections").add_subparsers(
        dest="inspection_command", required=True, parser_class=Parser)
    iadd = insp.add_parser("add", help="record an inspection outcome or report card")
    iadd.add_argument("urn")
    iadd.add_argument("--published", required=True, type=iso_date)
    iadd.add_argument("--inspected", type=iso_date)
    iadd.add_argument("--outcome", help="outstanding | good | requires_improvement | serious_weaknesses | special_measures")
    iadd.add_argument("--area", action="append", default=[], metavar="AREA=GRADE")
    iadd.add_argument("--safeguarding", choices=SAFEGUARDING)
    iadd.add_argument("--number", help="Ofsted inspection number")
    iadd.add_argument("--ungraded", action="store_true", help="an ungraded / monitoring inspection")

    ev = sub.add_parser("event", help="record an event on a school's case")
    ev.add_argument("urn")
    ev.add_argument("event", help=f"one of: {', '.join(OFFICER_EVENTS)}")
    ev.add_argument("--on", required=True, type=iso_date)
    ev.add_argument("--until", type=iso_date, help="end of a warning notice's compliance period")
    ev.add_argument("--note", default="")
    ev.add_argument("--confidential", action="store_true")
    ev.add_argument("--pathway", choices=PATHWAYS, help="which case, when the school has more than one open")
    ev.add_argument("--meeting", default="progress_meeting", help="the kind of meeting held (policy meetings)")
    ev.add_argument("--actor", help="who is recording it (default $CONCERNS_ACTOR or your login)")

    case = sub.add_parser("case", help="a school's cases").add_subparsers(
        dest="case_command", required=True, parser_class=Parser)
    show = case.add_parser("show", help="a school's cases, deadlines, events and allowed events")
    show.add_argument("urn")
    show.add_argument("--as-of", type=iso_date)
    show.add_argument("--json", action="store_true")

    reg = sub.add_parser("register", help="the register of schools with an open case")
    reg.add_argument("--as-of", type=iso_date)
    reg.add_argument("--la")
    reg.add_argument("--json", action="store_true")

    dl = sub.add_parser("deadlines", help="deadlines missed or coming up")
    dl.add_argument("--as-of", type=iso_date)
    dl.add_argument("--within", type=non_negative, help="only those due within DAYS days")
    dl.add_argument("--la")
    dl.add_argument("--json", action="store_true")

    wd = sub.add_parser("workdays", help="working-day arithmetic").add_subparsers(
        dest="workdays_command", required=True, parser_class=Parser)
    wadd = wd.add_parser("add", help="the N-th working day after DATE (counting starts the day after)")
    wadd.add_argument("date", type=iso_date)
    wadd.add_argument("n", type=working_days)
    wadd.add_argument("--kind", choices=[k.value for k in DayKind], default="statutory")
    wadd.add_argument("--la", help="the authority whose term dates and closures apply")

    rules = sub.add_parser("rules", help="the statutory rules and which one is in force on a date")
    rules.add_argument("--on", type=iso_date)
    rules.add_argument("--json", action="store_true")

    diagram = sub.add_parser("diagram", help="print the pathway state machine as a Mermaid diagram")
    diagram.add_argument("--table", action="store_true",
                         help="print the review table instead (every transition with the law it follows)")

    demo = sub.add_parser("demo", help="the demo authority").add_subparsers(
        dest="demo_command", required=True, parser_class=Parser)
    term = demo.add_parser("term", help="run the demo authority through a term: flows and officers' steps")
    term.add_argument("--no-prefect", action="store_true", help="run the jobs directly, without Prefect")
    term.add_argument("--prefect-log", metavar="FILE",
                      help="write Prefect's own log here instead of the terminal")

    letter = sub.add_parser("letter", help="draft letters from the templates").add_subparsers(
        dest="letter_command", required=True, parser_class=Parser)
    draft = letter.add_parser("draft", help="draft a letter, write it to letters/URN/ and record it on the case")
    draft.add_argument("urn")
    draft.add_argument("kind", help="confirmation_of_concern | warning_letter | warning_notice | statement_of_action "
                                    "| soc_meeting_agenda | removal_from_concern | categorisation")
    draft.add_argument("--on", required=True, type=iso_date, help="the date of the letter")
    draft.add_argument("--details", help="TOML file with the letter's details (see `concerns letter kinds`)")
    draft.add_argument("--send", action="store_true", help="queue it by e-mail to the addressees and copies")
    kinds = letter.add_parser("kinds", help="the letter kinds and the details each takes")
    kinds.add_argument("--json", action="store_true")

    imp = sub.add_parser("import", help="import an Ofsted MI CSV, or a GIAS establishments or links CSV")
    imp.add_argument("kind", choices=["ofsted", "gias"])
    imp.add_argument("file")
    imp.add_argument("--as-of", type=iso_date,
                     help="deadlines already past on this date are recorded as history (default today)")
    imp.add_argument("--la", help="import only this authority's schools (e.g. from a national file)")
    imp.add_argument("--simulation", action="store_true", help="allow an --as-of more than 7 days ahead")
    imp.add_argument("--json", action="store_true")

    run = sub.add_parser("run", help="run a flow locally")
    run.add_argument("flow", choices=["deadline-check", "termly-review", "hmi-reminders", "annual-categorisation",
                                      "send-notifications"])
    run.add_argument("--as-of", type=iso_date)
    run.add_argument("--verbose", action="store_true",
                     help="show Prefect's own log on the terminal (by default it goes to $PREFECT_HOME/concerns-runs.log)")
    run.add_argument("--simulation", action="store_true",
                     help="allow an --as-of more than 7 days ahead (the demo, a what-if on a copy of the data)")
    run.add_argument("--approved-by", metavar="NAME",
                     help="annual-categorisation: the service head's approval, given here (without it the "
                          "run proposes only; in production the run waits for approval in the Prefect UI)")
    run.add_argument("--json", action="store_true")

    add_category_commands(sub)

    outbox = sub.add_parser("outbox", help="the queue of outgoing mail").add_subparsers(
        dest="outbox_command", required=True, parser_class=Parser)
    olist = outbox.add_parser("list", help="the messages in the outbox")
    olist.add_argument("--status", choices=OUTBOX_STATUSES)
    olist.add_argument("--json", action="store_true")
    osend = outbox.add_parser("send", help="send what is due now, without Prefect (safe to run twice at once); "
                                           "exits 1 when a message failed or has waited too long")
    osend.add_argument("--json", action="store_true")
    oretry = outbox.add_parser("retry", help="put failed messages back in the queue")
    oretry.add_argument("keys", nargs="*", metavar="KEY")
    oretry.add_argument("--failed", action="store_true", help="every failed message")

    user = sub.add_parser("user", help="officers who sign in to the desk").add_subparsers(
        dest="user_command", required=True, parser_class=Parser)
    uadd = user.add_parser("add", help="add an officer (or set a new password); the password is read from stdin")
    uadd.add_argument("email")
    uadd.add_argument("--role", required=True, help="a role of the authority's policy, e.g. senior_adviser")
    uadd.add_argument("--la", required=True, help="the authority whose schools the officer sees")

    web = sub.add_parser("web", help="the officers' desk: sign in at /login, a school at /schools/URN")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web.add_argument("--port", type=non_negative, default=8000, help="port (default 8000)")

    pf = sub.add_parser("prefect", help="the Prefect side of production").add_subparsers(
        dest="prefect_command", required=True, parser_class=Parser)
    setup = pf.add_parser("setup", help="work pool, outbox limit, every deployment, and the operator's failure alert "
                                        "(on the server in PREFECT_API_URL)")
    setup.add_argument("--operator", required=True, metavar="EMAIL",
                       help="who is e-mailed when a run fails, crashes or times out")
    setup.add_argument("--no-deploy", action="store_true", help="skip `prefect deploy --all`")
    add_policy_commands(sub)
    return p


def add_category_commands(sub) -> None:
    """`concerns category ...` and `concerns fact ...`: the authority's own categorisation of its schools."""
    cat = sub.add_parser("category", help="the authority's own categorisation of its schools").add_subparsers(
        dest="category_command", required=True, parser_class=Parser)
    prop = cat.add_parser("propose", help="the policy's proposed level for each open school, with its reasons; "
                                          "nothing is written")
    prop.add_argument("--la", required=True, help="the authority")
    prop.add_argument("--year", help="the academic year, e.g. 2026/27 (default: the year of --as-of)")
    prop.add_argument("--as-of", type=iso_date)
    prop.add_argument("--json", action="store_true")
    cset = cat.add_parser("set", help="record the authority's judgement of a school's level, with a reason")
    cset.add_argument("urn")
    cset.add_argument("level", help="a level key of the authority's scheme")
    cset.add_argument("--on", required=True, type=iso_date)
    cset.add_argument("--reason", required=True)
    cset.add_argument("--year", help="the academic year, e.g. 2026/27 (default: the year of --on)")
    cset.add_argument("--actor", help="who is recording it (default $CONCERNS_ACTOR or your login)")
    cset.add_argument("--json", action="store_true")
    cshow = cat.add_parser("show", help="a school's categories, year by year, with who decided and why")
    cshow.add_argument("urn")
    cshow.add_argument("--json", action="store_true")

    fact = sub.add_parser("fact", help="dated facts about a school that the categorisation reads").add_subparsers(
        dest="fact_command", required=True, parser_class=Parser)
    fadd = fact.add_parser("add", help="record a fact from a date, e.g. new_head (the policy's [categories.facts])")
    fadd.add_argument("urn")
    fadd.add_argument("fact")
    fadd.add_argument("--on", required=True, type=iso_date, help="from when it holds")
    fadd.add_argument("--until", type=iso_date, help="when it stops holding")
    fadd.add_argument("--note", default="")
    fadd.add_argument("--actor", help="who is recording it (default $CONCERNS_ACTOR or your login)")
    flist = fact.add_parser("list", help="the facts recorded about a school")
    flist.add_argument("urn")
    flist.add_argument("--json", action="store_true")


# --- output ------------------------------------------------------------------------------------------

class Styled(str):
    """A line this module built from printable text, with its own escape codes (bold) to keep."""


class Terminal:
    """Where the human output goes: plain text, printed as given (no markup is read), control characters
    shown as escapes. Tables are aligned columns, as git and kubectl print theirs: a terminal, a pipe and
    grep read them alike. (Rich drew boxes, at a fifth of a read command's time: 0.1 s of 0.7, measured.)
    Bold only on a terminal, and never with NO_COLOR set."""

    def print(self, *objects, **_ignored) -> None:
        # Text from people and files is escaped here; what this module styled (Styled) went through
        # printable when it was made, and keeps its own escape codes.
        sys.stdout.write(" ".join(o if isinstance(o, Styled) else printable(o) for o in objects) + "\n")

    @staticmethod
    def styled() -> bool:
        return sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    def bold(self, text: str) -> Styled:
        """`text` (already printable) in bold on a terminal."""
        return Styled(f"\x1b[1m{text}\x1b[0m" if self.styled() else text)

    def width(self) -> int | None:
        """The terminal's width, or None when the output is piped (lines are never wrapped then)."""
        return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


console = Terminal()


def heading(bold: str, rest: str = "") -> Styled:
    """A line whose first part is bold; both parts are untrusted text."""
    return Styled(console.bold(printable(bold)) + printable(rest))


def emit_json(doc) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A titled table: a header, a rule, one line per row, columns two spaces apart. On a terminal too
    narrow for it the widest columns are wrapped over several lines; piped, each row stays one line."""
    cells = [[" ".join(printable(value).split()) for value in row] for row in rows]
    widths = [max(len(text) for text in column) for column in zip(columns, *cells, strict=True)]
    room = console.width()
    if room is not None:
        # The widest column gives way first, down to the next widest, then both, and so on; none below 12.
        while (excess := sum(widths) + 2 * (len(widths) - 1) - room) > 0 and max(widths) > 12:
            widest = widths.index(max(widths))
            runner_up = max((w for i, w in enumerate(widths) if i != widest), default=0)
            widths[widest] = max(12, runner_up, widths[widest] - excess) if widths[widest] > runner_up else \
                widths[widest] - 1
    console.print(console.bold(printable(title)))
    console.print(console.bold(_line([printable(c) for c in columns], widths)))
    console.print(_line(["-" * width for width in widths], widths))
    for row in cells:
        wrapped = [textwrap.wrap(text, width) or [""] for text, width in zip(row, widths, strict=True)]
        for depth in range(max(map(len, wrapped))):
            console.print(_line([part[depth] if depth < len(part) else "" for part in wrapped], widths))


def _line(texts: list[str], widths: list[int]) -> Styled:
    return Styled("  ".join(text.ljust(width) for text, width in zip(texts, widths, strict=True)).rstrip())




# --- commands ----------------------------------------------------------------------------------------


def actor_of(args) -> str:
    return getattr(args, "actor", None) or os.environ.get("CONCERNS_ACTOR") or getpass.getuser()


def cmd_init(args) -> None:
    before, after = upgrade(args.db)
    where = mask_url(args.db)
    if before == after:
        console.print(f"Database {where} is up to date (revision {after}).")
    else:
        console.print(f"Database {where} upgraded from {before or 'empty'} to revision {after}.")
    if args.demo:
        from concerns.app.demo import load_demo

        with session_scope(args.db) as session:
            summary = load_demo(session)
        console.print(summary)


def cmd_school(args) -> None:
    if args.school_command == "add":
        with session_scope(args.db) as session:
            school, created = cases.add_school(
                session, args.urn, name=args.name, la=args.la, type_name=args.type_name, diocese=args.diocese,
                trust=args.trust, religious_character=args.religious_character, phase=args.phase)
            kind = "maintained" if school.maintained else "academy"
            policy = policy_for(school.la)
            verb = "Registered" if created else "Already registered (unchanged):"
            console.print(f"{verb} {school.urn} {school.name} ({school.type_name}, {kind}), {school.la}, "
                          f"policy {policy.key}")
        return
    from sqlmodel import select

    from models import School

    with session_scope(args.db, writes=False) as session:
        query = select(School).order_by(School.urn)
        if args.la:
            query = query.where(School.la == args.la)
        schools = session.exec(query).all()
        if args.json:
            emit_json([{"urn": s.urn, "name": s.name, "la": s.la, "type": s.type_name, "maintained": s.maintained,
                        "diocese": s.diocese, "trust": s.trust} for s in schools])
        else:
            table("Schools", ["URN", "Name", "LA", "Type", "Maintained"],
                  [(s.urn, s.name, s.la, s.type_name, "yes" if s.maintained else "academy") for s in schools])


def cmd_person(args) -> None:
    from concerns.casework.people import add_person

    with session_scope(args.db) as session:
        person, assignment = add_person(session, args.name, args.email, role=args.role, la=args.la, urn=args.urn,
                                        school_side=args.school_side)
        scope = f"school {assignment.urn}" if assignment.urn else f"all of {assignment.la}"
        console.print(f"{person.name} <{person.email}> is {assignment.role} for {scope}")


def cmd_inspection(args) -> None:
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
    with session_scope(args.db) as session:
        result = cases.record_inspection(session, args.urn, judgement, number=args.number, actor=actor_of(args))
        if not result.created:
            console.print(f"That inspection of {args.urn} is already recorded; nothing changed.")
            return
        insp = result.inspection
        console.print(f"Recorded inspection of {insp.urn} published {insp.published} ({insp.regime}): level {insp.level}")
        for ev in result.events:
            t = ev.transitioned
            verb = "opened" if ev.opened else "moved"
            console.print(f"  {t.pathway} case {verb}: {t.from_state} -> {t.to_state}")
            for d in t.created:
                console.print(f"    deadline {d.kind} due {d.due} ({d.responsible})")


def cmd_event(args) -> None:
    with session_scope(args.db) as session:
        result = cases.record_event(session, args.urn, args.event, on=args.on, until=args.until, note=args.note,
                                       confidential=args.confidential, actor=actor_of(args), pathway=args.pathway,
                                       meeting=args.meeting)
        t = result.transitioned
        console.print(f"{result.urn} {t.pathway}: {t.event} on {t.on} -> {t.to_state}"
                      f"{' (case opened)' if result.opened else ''}{' (case closed)' if t.closed else ''}")
        for d in t.created:
            console.print(f"  new deadline {d.kind} due {d.due} ({d.responsible})")
        for d in t.met:
            console.print(f"  met {d.kind} (due {d.due})")
        for d in t.cancelled:
            console.print(f"  cancelled {d.kind} (due {d.due})")


def cmd_case(args) -> None:
    as_of = args.as_of or today()
    with session_scope(args.db, writes=False) as session:
        doc = views.case_view(session, args.urn, as_of)
    if args.json:
        emit_json(doc)
        return
    console.print(heading(f"{doc['urn']} {doc['name']}",
                          f" ({doc['type']}, {'maintained' if doc['maintained'] else 'academy'}), {doc['la']}; "
                          f"as of {doc['as_of']}{'; STUCK' if doc['stuck'] else ''}"
                          f"{'; coasting' if doc['coasting'] else ''}"))
    if doc.get("predecessor"):
        pre = doc["predecessor"]
        history = "; ".join(f"{c['pathway']} {c['opened']} to {c['closed'] or 'open'} ({c['outcome'] or 'open'})"
                            for c in pre["cases"]) or "no cases"
        console.print(f"Predecessor: {pre['urn']} {pre['name'] or ''}: {history}")
    for successor in doc.get("successors") or []:
        console.print(f"Successor: {successor['urn']} {successor['name']} ({successor.get('type', '')})")
    if not doc["cases"]:
        console.print("No cases.")
    for c in doc["cases"]:
        status = f"closed {c['closed']} ({c['outcome']})" if c["closed"] else "open"
        console.print()
        console.print(heading(c["pathway"], f" opened {c['opened']}, {status}: {c['state']} - {c['state_meaning']}"))
        if c["deadlines"]:
            table("Deadlines", ["Kind", "Due", "Status", "Responsible", "Rule"],
                  [(d["kind"], d["due"], d["status"], d["responsible"], d["rule"]) for d in c["deadlines"]])
        table("Events", ["On", "Event", "To", "By", "Note"],
              [(e["on"], e["event"], e["to_state"], e["actor"], ("[confidential] " if e["confidential"] else "") + e["note"])
               for e in c["events"]])
        if not c["closed"]:
            console.print(f"Allowed now: {', '.join(c['allowed_events']) or 'none'}")


def cmd_register(args) -> None:
    as_of = args.as_of or today()
    with session_scope(args.db, writes=False) as session:
        rows = views.register(session, as_of, la=args.la)
    if args.json:
        emit_json(rows)
        return
    table(f"Schools causing concern, as of {as_of}", ["URN", "Name", "Maintained", "Pathway", "State", "Category",
                                                       "Stuck", "Other cases"],
          [(r["urn"], r["name"], "yes" if r["maintained"] else "academy", r["pathway"], r["state"], r["category"],
            "yes" if r["stuck"] else "", ", ".join(c["pathway"] for c in r["cases"] if c["pathway"] != r["pathway"]))
           for r in rows])


def cmd_deadlines(args) -> None:
    as_of = args.as_of or today()
    with session_scope(args.db, writes=False) as session:
        rows = views.deadlines_view(session, as_of, within=args.within, la=args.la)
    if args.json:
        emit_json(rows)
        return
    table(f"Deadlines as of {as_of}" + (f", due within {args.within} days" if args.within is not None else ""),
          ["Due", "Days", "Status", "URN", "School", "Kind", "Responsible"],
          [(r["due"], r["days_left"], r["status"], r["urn"], r["name"], r["kind"], r["responsible"]) for r in rows])


def cmd_workdays(args) -> None:
    calendar = policy_for(args.la).calendar(args.kind)
    try:
        print(calendar.add_working_days(args.date, args.n).isoformat())
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

        print(review_table(), end="")
        return
    from statemachines.pathways import mermaid_diagram

    print(mermaid_diagram())


def cmd_letter(args) -> None:
    from concerns.output.letters import LETTER_KINDS

    if args.letter_command == "kinds":
        doc = {kind: {"title": spec.title, "details": spec.describe(), "source": spec.source}
               for kind, spec in LETTER_KINDS.items()}
        if args.json:
            emit_json(doc)
            return
        for kind, spec in doc.items():
            console.print(heading(kind, f": {spec['title']}"))
            for key, text in spec["details"].items():
                console.print(f"  {key}: {text}")
        return
    from pathlib import Path

    from concerns.notify.drafting import draft_letter, read_details

    details = read_details(Path(args.details)) if args.details else {}
    with session_scope(args.db) as session:
        row, created, queued = draft_letter(session, args.urn, args.kind, args.on, details, send=args.send)
        verb = "Drafted" if created else "Already drafted"
        console.print(f"{verb}: {row.title} -> {row.path}")
        console.print(f"  to: {', '.join(p['name'] for p in row.addressees)}")
        if row.copies:
            console.print(f"  copies: {', '.join(p['name'] for p in row.copies)}")
        if queued:
            console.print(f"  {queued} e-mail(s) queued; `concerns run send-notifications` sends them")


def cmd_demo(args) -> None:
    from concerns.app.demo_term import run_demo_term

    run_demo_term(args.db, use_prefect=not args.no_prefect, echo=console.print, prefect_log=args.prefect_log)


def cmd_import(args) -> None:
    from pathlib import Path

    from concerns.ingest.load import NotRecognised, import_file

    check_as_of(args.as_of, args.simulation)
    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"no such file: {args.file!r}")
    try:
        summary = import_file(args.db, args.kind, path, as_of=args.as_of or today(), la=args.la)
    except NotRecognised as exc:  # refused before anything was written
        raise CommandError(str(exc)) from None
    if args.json:
        emit_json(summary.to_dict())
    else:
        for line in summary.lines():
            console.print(line, markup=False, highlight=False)
    if summary.refused:
        # The good rows are in (issue 4); the exit status still tells a script some were refused.
        raise CommandError(f"{summary.rows_refused} row(s) refused, the other rows were imported; "
                           f"first: {summary.refused[0]}")


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
            console.print(f"{key}: {value}", markup=False, highlight=False)
        for key in ("unassigned", "errors", "without_letter", "alarms", "meetings_unplaced"):
            if summary.get(key):
                console.print(f"{key}: {len(summary[key])} (see --json)", markup=False)
        console.print(f"flow {args.flow} finished in {elapsed:.1f} s"
                      + (f"; Prefect's log: {log_file}" if log_file else ""), markup=False, highlight=False)
    if failure:
        raise RunFailed(failure)


def cmd_prefect(args) -> None:
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
        console.print(line, markup=False, highlight=False)


def cmd_outbox(args) -> int:
    from concerns.jobs import run_send_notifications
    from concerns.notify.alarms import LONDON
    from concerns.notify.outbox import NotRetryable, UnknownMessage, outbox_rows, retry

    if args.outbox_command == "send":
        summary = run_send_notifications(args.db)
        if args.json:
            emit_json(summary)
        else:
            console.print(f"sent {summary['sent']}, deferred {summary['deferred']}, failed {summary['failed']} "
                          f"(via {summary['via']})", markup=False, highlight=False)
            for alarm in summary["alarms"]:
                print(f"alarm: {alarm}", file=sys.stderr)
        return 1 if summary["alarms"] else 0
    if args.outbox_command == "retry":
        if bool(args.keys) == args.failed:
            raise CommandError("give the KEYs of the messages to retry, or --failed, not both or neither")
        with session_scope(args.db) as session:
            try:
                rows = retry(session, args.keys, all_failed=args.failed)
            except (UnknownMessage, NotRetryable) as exc:
                raise CommandError(str(exc)) from None
        console.print(f"{len(rows)} message(s) back in the queue; `concerns outbox send` sends them")
        return 0
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
    return 0


def cmd_category(args) -> None:
    from concerns.casework import lacategories

    if args.category_command == "set":
        from concerns.jobs.categorisation import set_category_with_letter

        done = set_category_with_letter(args.db, args.urn, args.level, args.on, args.reason, actor_of(args),
                                        year=args.year)
        if args.json:
            emit_json(done)
        else:
            was = f" (was {done['previous']})" if done["previous"] else ""
            console.print(f"{done['urn']} {done['year']}: {done['label']}{was}, decided {done['on']}; "
                          f"letter: {done['letter']}", markup=False, highlight=False)
        return
    if args.category_command == "propose":
        as_of = args.as_of or today()
        with session_scope(args.db, writes=False) as session:
            rows = lacategories.proposals(session, as_of, la=args.la,
                                          year=lacategories.check_year(args.year) if args.year else None)
        if args.json:
            emit_json([{"urn": r["urn"], "name": r["name"], "year": r["year"], "level": r["level"],
                        "label": r["label"], "reasons": r["reasons"], "decided": r["decided"]} for r in rows])
            return
        table(f"Proposed categories, {args.la}, as of {as_of}", ["URN", "School", "Year", "Proposed", "Decided",
                                                                   "Why"],
              [(r["urn"], r["name"], r["year"], r["label"], r["decided"]["label"] if r["decided"] else "",
                " ".join(r["reasons"])) for r in rows])
        return
    with session_scope(args.db, writes=False) as session:
        doc = {"urn": cases.check_urn(args.urn), "history": lacategories.history(session, args.urn)}
    if args.json:
        emit_json(doc)
        return
    table(f"Categories of {doc['urn']}", ["Year", "Level", "Decided", "By", "Why"],
          [(h["year"], h["label"], h["on"], h["by"], h["reason"]) for h in doc["history"]])


def cmd_fact(args) -> None:
    from concerns.casework import lacategories

    if args.fact_command == "add":
        with session_scope(args.db) as session:
            row = lacategories.record_fact(session, args.urn, args.fact, args.on, args.until, args.note,
                                           actor_of(args))
            console.print(f"{row.urn}: {row.fact} from {row.starts_on}"
                          f"{f' until {row.ends_on}' if row.ends_on else ''}", markup=False, highlight=False)
        return
    with session_scope(args.db, writes=False) as session:
        rows = lacategories.facts_of(session, args.urn)
    if args.json:
        emit_json(rows)
        return
    table(f"Facts recorded about {args.urn}", ["Fact", "From", "Until", "By", "Note"],
          [(r["name"], r["on"], r["until"] or "", r["by"], r["note"]) for r in rows])


def cmd_user(args) -> None:
    from concerns.app.web.accounts import add_officer

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise CommandError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    with session_scope(args.db) as session:
        officer, created = add_officer(session, args.email, role=args.role, la=args.la, password=password)
        verb = "Added" if created else "Updated (new password; signed out everywhere)"
        console.print(f"{verb} {officer.email}: {officer.role} for {officer.la}", markup=False, highlight=False)


def cmd_web(args) -> None:
    import uvicorn

    from concerns.app.web.app import create_app

    console.print(f"The officers' desk: http://{args.host}:{args.port}/login (Ctrl-C stops it)",
                  markup=False, highlight=False)
    # Behind the authority's reverse proxy, FORWARDED_ALLOW_IPS names it, so that the sign-in limit per
    # client counts browsers and not the proxy (uvicorn trusts X-Forwarded-For from 127.0.0.1 only by default).
    uvicorn.run(create_app(args.db), host=args.host, port=args.port, log_level="warning", server_header=False)


COMMANDS = {"init": cmd_init, "school": cmd_school, "person": cmd_person, "inspection": cmd_inspection,
            "event": cmd_event, "case": cmd_case, "register": cmd_register, "deadlines": cmd_deadlines,
            "workdays": cmd_workdays, "rules": cmd_rules, "diagram": cmd_diagram, "letter": cmd_letter,
            "demo": cmd_demo, "import": cmd_import,
            "run": cmd_run, "prefect": cmd_prefect, "outbox": cmd_outbox,
            "user": cmd_user, "web": cmd_web, "category": cmd_category, "fact": cmd_fact}
NEEDS_SCHEMA = {"school", "person", "inspection", "event", "case", "register", "deadlines", "import", "run",
                "letter", "demo", "outbox", "user", "web", "category", "fact"}


# --- concerns policy list | check -------------------------------------------------------------------

def add_policy_commands(sub) -> None:
    pol = sub.add_parser("policy", help="the authorities' policy files").add_subparsers(
        dest="policy_command", required=True, parser_class=Parser)
    plist = pol.add_parser("list", help="the policies shipped and those in $CONCERNS_POLICY_DIR")
    plist.add_argument("--json", action="store_true")
    pcheck = pol.add_parser("check", help="validate a policy file: exit 2 and one line per problem, else ok")
    pcheck.add_argument("file")


def cmd_policy(args) -> int:
    from pathlib import Path

    from concerns.domain.policy import BUILTIN_DIR, all_policies
    from concerns.jobs.policycheck import check_file

    if args.policy_command == "check":
        problems = check_file(Path(args.file))
        for line in problems:
            print(" ".join(printable(line).split("\n")), file=sys.stderr)
        if problems:
            return EXIT_REFUSED
        console.print("ok")
        return 0
    docs = [{"key": p.key, "authority": p.authority, "title": p.title, "source": p.source,
             "aliases": list(p.aliases), "boroughs": list(p.boroughs),
             "from": "shipped" if Path(p.path).parent == BUILTIN_DIR else "CONCERNS_POLICY_DIR",
             "path": p.path} for p in all_policies().values()]
    if args.json:
        emit_json(docs)
    else:
        table("Policies", ["Key", "Authority", "Title", "Source", "From"],
              [(d["key"], d["authority"], d["title"], d["source"], d["from"]) for d in docs])
    return 0


# Commands that act on the authorities' policies: their events, deadline kinds and letters are checked
# against the machine's and the letters' first (concerns.jobs.policycheck), so a policy naming an event that
# does not exist is refused when it loads, not when a deadline it made can never be met. The read-only
# views (case, register, deadlines, workdays) skip it: it loads the letters and Jinja, a third of a read
# command's time, and a view acts on nothing; each policy's own settings are still checked as it loads.
POLICY_READERS = {"school", "person", "inspection", "event", "import", "run", "letter", "demo", "user", "web",
                  "category", "fact"}
COMMANDS["policy"] = cmd_policy


def refuse(reason: object) -> int:
    """The one line on stderr for a refusal, whatever it quotes."""
    line = " ".join(printable(reason).split("\n"))
    print(f"concerns: error: {line}", file=sys.stderr)
    return EXIT_REFUSED


REFUSALS = (CommandError, cases.Refused, JudgementError, PolicyError, SchemaNotReady, ImplausibleDate, BadInput,
            DatabaseSettingRefused)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    db = None
    try:
        args = parser.parse_args(argv)
        db = args.db
        if args.command in POLICY_READERS:
            from concerns.jobs.policycheck import check_loaded

            check_loaded()
        if args.command in NEEDS_SCHEMA:
            require_schema(args.db)
        status = COMMANDS[args.command](args)
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


if __name__ == "__main__":
    sys.exit(main())
