"""`concerns letter draft` (a letter from its template, recorded on the case) and `concerns letter kinds`."""

from __future__ import annotations

import argparse

from concerns.app.cli.arguments import Needs, command, group, iso_date
from concerns.app.cli.terminal import console, emit_json, heading
from concerns.store.db import session_scope


class LetterKind(argparse.Action):
    """The KIND of `letter draft`. Its help lists the letter kinds in force (the product's and the
    authority's own in $CONCERNS_POLICY_DIR/letters), read when the help is shown: reading the letter
    files whenever the parser is built would cost every command that time."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values)

    @property
    def help(self) -> str:
        from concerns.domain.letterspecs import LETTER_KINDS, LetterSpecError

        try:
            return " | ".join(LETTER_KINDS)
        except LetterSpecError as exc:
            # argparse fills in %(name)s in a help text: a "%" in the error is doubled to stay as it is.
            return f"a letter kind (the letter files cannot be read: {exc})".replace("%", "%%")

    @help.setter
    def help(self, _text: str | None) -> None:
        """argparse sets `help` when it makes the action; the list above is what is shown."""


def add_letter_commands(sub) -> None:
    letter = group(sub, "letter", help="draft letters from the templates")
    draft = command(letter, "draft", cmd_letter_draft, Needs.POLICIES,
                    help="draft a letter, write it to letters/URN/ and record it on the case")
    draft.add_argument("urn")
    draft.add_argument("kind", action=LetterKind)
    draft.add_argument("--on", required=True, type=iso_date, help="the date of the letter")
    draft.add_argument("--details", help="TOML file with the letter's details (see `concerns letter kinds`)")
    draft.add_argument("--send", action="store_true", help="queue it by e-mail to the addressees and copies")
    kinds = command(letter, "kinds", cmd_letter_kinds, Needs.POLICIES,
                    help="the letter kinds and the details each takes")
    kinds.add_argument("--json", action="store_true")
    kinds.add_argument("--urn", help="say which letters the law allows for this school now, and why not the others")
    kinds.add_argument("--markdown", action="store_true",
                       help="print docs/instruments.md: each letter's preconditions, powers, copies and sources")


def cmd_letter_kinds(args) -> None:
    from concerns.domain.letterspecs import LETTER_KINDS

    if args.markdown:
        from concerns.output.instruments import instruments_markdown

        console.line(instruments_markdown().removesuffix("\n"))
        return
    doc = {kind: {"title": spec.title, "details": spec.describe(), "source": spec.source}
           for kind, spec in LETTER_KINDS.items()}
    if args.urn:
        from concerns.casework.cases import get_school
        from concerns.notify.drafting import refusal_now

        with session_scope(args.db) as session:
            school = get_school(session, args.urn)
            for kind, entry in doc.items():
                why = refusal_now(session, school, kind)
                entry["may_draft_now"] = why is None
                if why is not None:
                    entry["not_now"] = why.removeprefix(f"URN {school.urn}: ")
    if args.json:
        emit_json(doc)
        return
    for kind, spec in doc.items():
        now = "" if "may_draft_now" not in spec else " (may be drafted now)" if spec["may_draft_now"] else ""
        console.line(heading(kind, f": {spec['title']}{now}"))
        if "not_now" in spec:
            console.line(f"  not now: {spec['not_now']}")
            continue
        for key, text in spec["details"].items():
            console.line(f"  {key}: {text}")


def cmd_letter_draft(args) -> None:
    from pathlib import Path

    from concerns.notify.drafting import draft_letter, read_details

    details = read_details(Path(args.details)) if args.details else {}
    with session_scope(args.db) as session:
        row, created, queued = draft_letter(session, args.urn, args.kind, args.on, details, send=args.send)
        verb = "Drafted" if created else "Already drafted"
        lines = [f"{verb}: {row.title} -> {row.path}", f"  to: {', '.join(p['name'] for p in row.addressees)}"]
        if row.copies:
            lines.append(f"  copies: {', '.join(p['name'] for p in row.copies)}")
        if queued:
            lines.append(f"  {queued} e-mail(s) queued; `concerns run send-notifications` sends them")
    # Printed after the commit: a reader that goes away (`| head -1`) must not leave letter files written
    # and their record rolled back.
    for line in lines:
        console.line(line)
