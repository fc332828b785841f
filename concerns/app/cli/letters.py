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


def cmd_letter_kinds(args) -> None:
    from concerns.domain.letterspecs import LETTER_KINDS

    doc = {kind: {"title": spec.title, "details": spec.describe(), "source": spec.source}
           for kind, spec in LETTER_KINDS.items()}
    if args.json:
        emit_json(doc)
        return
    for kind, spec in doc.items():
        console.line(heading(kind, f": {spec['title']}"))
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
