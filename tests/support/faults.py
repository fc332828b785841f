"""The outbox fault table: for each fault the suite injects, what was queued, delivered, doubled, lost.

tests/test_outbox_faults.py adds one row per test with :func:`tally`; the conftest imports
:func:`pytest_terminal_summary` so pytest prints the table at the end of the run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class FaultRow:
    fault: str
    engine: str
    queued: int
    delivered: int  # distinct queued Message-IDs the server kept
    duplicated: int  # extra copies of a Message-ID the server already had
    failed: int  # not delivered, but failed with a reason and raised as an alarm
    lost: int  # neither delivered nor failed-with-an-alarm: must always be 0
    window: int  # hand-overs whose outcome the sender could not learn (crash, dropped reply)


ROWS: list[FaultRow] = []


def tally(fault: str, db_url: str, queued_ids: set[str], received_ids: list[str], failed_ids: set[str] = frozenset(),
          window: int = 0) -> FaultRow:
    copies = Counter(received_ids)
    delivered = queued_ids & set(copies)
    row = FaultRow(fault=fault, engine=db_url.partition(":")[0].partition("+")[0], queued=len(queued_ids),
                   delivered=len(delivered), duplicated=sum(n - 1 for n in copies.values()),
                   failed=len(failed_ids - delivered), lost=len(queued_ids - delivered - failed_ids), window=window)
    ROWS.append(row)
    return row


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not ROWS:
        return
    columns = ("fault", "engine", "queued", "delivered", "duplicated", "failed", "lost", "window")
    cells = [[str(getattr(row, c)) for c in columns] for row in ROWS]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    terminalreporter.section("outbox faults: mails queued / delivered / duplicated / lost")
    terminalreporter.write_line("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for line in cells:
        terminalreporter.write_line("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)))
    terminalreporter.write_line("window: hand-overs cut off between the server keeping the message and the sender "
                                "recording it; each may be delivered once more, never more")
