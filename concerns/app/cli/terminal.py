"""The human output of every command: lines, headings, tables and the `--json` document.

Names and notes come from people and files, so every string printed here has its control characters
shown as escapes (`concerns.domain.untrusted.printable`): a stored escape sequence cannot drive the
officer's terminal, and no markup is read (a note holding "[/bold]" is printed as typed).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from collections.abc import Sequence

from concerns.domain.untrusted import printable


class Styled(str):
    """A line this module built from printable text, with its own escape codes (bold) to keep."""


class Terminal:
    """Where the human output goes: plain text, printed as given, control characters shown as escapes.
    Tables are aligned columns, as git and kubectl print theirs: a terminal, a pipe and grep read them
    alike. (Rich drew boxes, at a fifth of a read command's time: 0.1 s of 0.7, measured.) Bold only on a
    terminal, and never with NO_COLOR set (https://no-color.org)."""

    def line(self, text: object = "") -> None:
        """One line on stdout. Text from people and files is escaped here; what this module styled
        (Styled) went through printable when it was made, and keeps its own escape codes."""
        sys.stdout.write((text if isinstance(text, Styled) else printable(text)) + "\n")

    def problem(self, text: object) -> None:
        """One line on stderr, whatever the text holds: its newlines become spaces."""
        print(" ".join(printable(text).split("\n")), file=sys.stderr)

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
    """The `--json` document: the only thing on stdout."""
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
    console.line(console.bold(printable(title)))
    console.line(console.bold(_row([printable(c) for c in columns], widths)))
    console.line(_row(["-" * width for width in widths], widths))
    for row in cells:
        wrapped = [textwrap.wrap(text, width) or [""] for text, width in zip(row, widths, strict=True)]
        for depth in range(max(map(len, wrapped))):
            console.line(_row([part[depth] if depth < len(part) else "" for part in wrapped], widths))


def _row(texts: list[str], widths: list[int]) -> Styled:
    return Styled("  ".join(text.ljust(width) for text, width in zip(texts, widths, strict=True)).rstrip())
