"""The daily deadline check: reminders ahead, on the day, `missed` and escalation after.

For each live deadline the check works out the one reminder step that is due now and records it in the
DeadlineNotice ledger (unique key per deadline and step), so a second run the same day finds nothing
new, and a day the flow did not run is caught up with the most urgent step only, not a burst of stale
ones. The work follows the items due: one indexed query over open deadlines due before the horizon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_
from sqlmodel import Session, select

from concerns.calendar import DayKind
from concerns.policy import policy_for
from models import Case, Deadline, DeadlineNotice, School

DEFAULT_OFFSETS = (10, 3)  # working days before the due date; configurable per run


@dataclass(frozen=True)
class Item:
    """One line of a digest: what is due, for which school, and why this officer is told."""

    step: str  # before-10wd | before-3wd | due | missed | escalated
    deadline_id: int
    kind: str
    due: date
    urn: str
    school: str
    la: str
    pathway: str
    responsible: str
    note: str
    source: str
    working_days_left: int | None = None
    escalated_from: str | None = None


@dataclass
class CheckResult:
    as_of: date
    items_by_role: dict[tuple[str, str, str | None], list[Item]] = field(default_factory=dict)
    marked_missed: int = 0
    examined: int = 0

    def add(self, la: str, role: str, urn: str | None, item: Item) -> None:
        self.items_by_role.setdefault((la, role, urn), []).append(item)

    @property
    def items(self) -> list[Item]:
        return [i for items in self.items_by_role.values() for i in items]


def _step_for(due: date, as_of: date, working_days_left: int, offsets: Sequence[int]) -> str | None:
    if due == as_of:
        return "due"
    for offset in sorted(offsets):
        if working_days_left <= offset:
            return f"before-{offset}wd"
    return None


def horizon(as_of: date, offsets: Sequence[int]) -> date:
    # N statutory working days never span more than about 2N calendar days plus a Christmas; this bound
    # only limits the query, the step itself is decided in working days.
    return as_of + timedelta(days=2 * max(offsets, default=0) + 14)


def deadline_check(session: Session, as_of: date, offsets: Sequence[int] = DEFAULT_OFFSETS) -> CheckResult:
    result = CheckResult(as_of)
    rows = session.exec(
        select(Deadline, School, Case)
        .join(School, School.urn == Deadline.urn)
        .join(Case, Case.id == Deadline.case_id)
        .where(and_(Deadline.status == "open", Deadline.historical.is_(False), Deadline.created_on <= as_of,
                    Deadline.due <= horizon(as_of, offsets)))
    ).all()
    result.examined = len(rows)
    ids = [d.id for d, _, _ in rows]
    already: set[str] = set()
    for chunk in range(0, len(ids), 900):
        already |= set(session.exec(select(DeadlineNotice.key).where(
            DeadlineNotice.deadline_id.in_(ids[chunk:chunk + 900]))).all())
    for deadline, school, case in rows:
        policy = policy_for(school.la)
        calendar = policy.calendar(DayKind.statutory)
        base = dict(deadline_id=deadline.id, kind=deadline.kind, due=deadline.due, urn=school.urn, school=school.name,
                    la=school.la, pathway=case.pathway, responsible=deadline.responsible, note=deadline.note,
                    source=deadline.source)
        if deadline.due < as_of:
            # Missed the working day after the due date (a Friday deadline is missed on Monday).
            if calendar.next_working_day(deadline.due + timedelta(days=1)) > as_of:
                continue
            deadline.status, deadline.missed_on = "missed", as_of
            session.add(deadline)
            result.marked_missed += 1
            steps = [("missed", deadline.responsible, None)]
            manager = policy.manager_of(deadline.responsible)
            if manager:
                steps.append(("escalated", manager, deadline.responsible))
        else:
            left = calendar.working_days_between(as_of, deadline.due)
            step = _step_for(deadline.due, as_of, left, offsets)
            if step is None:
                continue
            base["working_days_left"] = left
            steps = [(step, deadline.responsible, None)]
            # Catching up after a gap: an earlier, less urgent step is never sent after a later one.
            if any(f"deadline:{deadline.id}:{s}" in already for s in _more_urgent_than(step, offsets)):
                continue
        for step, role, escalated_from in steps:
            key = f"deadline:{deadline.id}:{step}"
            if key in already:
                continue
            already.add(key)
            session.add(DeadlineNotice(key=key, deadline_id=deadline.id, step=step, for_date=as_of,
                                       recipient_role=role))
            result.add(school.la, role, school.urn, Item(step=step, escalated_from=escalated_from, **base))
    session.flush()
    return result


def _more_urgent_than(step: str, offsets: Sequence[int]) -> list[str]:
    order = [f"before-{o}wd" for o in sorted(offsets, reverse=True)] + ["due"]
    return order[order.index(step) + 1:] if step in order else []
