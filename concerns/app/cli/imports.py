"""`concerns import ofsted|gias FILE`: Ofsted's management information and GIAS's establishments and
links, loaded onto the cases."""

from __future__ import annotations

from concerns.app.cli.arguments import CommandError, Needs, command, iso_date
from concerns.app.cli.terminal import console, emit_json
from concerns.domain.clock import check_as_of, today


def add_import_command(sub) -> None:
    imp = command(sub, "import", cmd_import, Needs.POLICIES,
                  help="import an Ofsted MI CSV, or a GIAS establishments or links CSV")
    imp.add_argument("kind", choices=["ofsted", "gias"])
    imp.add_argument("file")
    imp.add_argument("--as-of", type=iso_date,
                     help="deadlines already past on this date are recorded as history (default today)")
    imp.add_argument("--la", help="import only this authority's schools (e.g. from a national file)")
    imp.add_argument("--simulation", action="store_true", help="allow an --as-of more than 7 days ahead")
    imp.add_argument("--json", action="store_true")


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
            console.line(line)
    if summary.refused:
        # Each school goes in all or nothing, and a refused one holds back no other (concerns.ingest.load):
        # the good rows are in, and the exit status still tells a script that some rows were refused.
        raise CommandError(f"{summary.rows_refused} row(s) refused, the other rows were imported; "
                           f"first: {summary.refused[0]}")
