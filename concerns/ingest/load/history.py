"""History is not news: which deadlines an import creates that are already past and no longer live."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, select

from concerns.domain.rules import DEFAULT_RULES
from concerns.ingest.load.schools import (
    chunks,
)
from models import Case, Deadline

# How long a past-due deadline on a still-open case stays news: about one school term (13 weeks), a
# parameter of the rule book's local-procedure rule "imports/live-window" (concerns/domain/rules.py).
LIVE_WINDOW = timedelta(weeks=int(DEFAULT_RULES.get("imports/live-window").params["weeks"]))


# --- history is not news ------------------------------------------------------------------------------


def still_live(due: date, case_open: bool, as_of: date) -> bool:
    """Whether a deadline is still news on `as_of` (only asked of deadlines an import creates).

    Future deadlines (due on or after as_of) always are. A past-due one is live only while its case is
    still open and it fell due within the last term (LIVE_WINDOW, 13 weeks): e.g. the statement of action
    for a report published last month, not yet recorded as sent, is a real omission an officer must
    chase; the statement of action for a school that went into special measures two years ago, or the
    monitoring window of a case closed since, is history, and reminding anyone of it would be noise.
    """
    if due >= as_of:
        return True
    return case_open and due >= as_of - LIVE_WINDOW


def mark_history(session: Session, after_id: int, urns: set[str], as_of: date) -> int:
    """Mark historical the deadlines created since `after_id` for these schools that are not live."""
    session.flush()
    rows = session.exec(select(Deadline.id, Deadline.urn, Deadline.due, Case.closed)
                        .join(Case, Case.id == Deadline.case_id)
                        .where(Deadline.id > after_id, Deadline.due < as_of, Deadline.historical.is_(False))).all()
    ids = [d_id for d_id, urn, due, closed in rows if urn in urns and not still_live(due, closed is None, as_of)]
    for chunk in chunks(ids):
        session.execute(update(Deadline).where(Deadline.id.in_(chunk)).values(historical=True))
    return len(ids)


def max_deadline_id(session: Session) -> int:
    return session.exec(select(func.max(Deadline.id))).one() or 0

