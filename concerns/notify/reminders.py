"""The daily deadline check: reminders ahead, on the day, `missed` and escalation after.

A date Ofsted owns (`concerns.domain.rules.OFSTED_OWNED_KINDS`: reinspection, HMI monitoring) is watched, not
owed: it gets one "expected from Ofsted" heads-up ahead and becomes `passed` after, never `missed`, never
escalated, never "due today". The end of a warning notice's compliance period is the school's: when it has
passed, its officer is told a decision is due (did the school comply?), never that it was missed, and no
manager is told of it as the officer's failure.

For each live deadline the check works out the one reminder step that is due now and records it in the
DeadlineNotice ledger (unique key per deadline and step), so a second run the same day finds nothing
new, and a day the flow did not run is caught up with the most urgent step only, not a burst of stale
ones. The work follows the items due: one indexed query over open deadlines due before the horizon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, or_
from sqlmodel import Session, select

from concerns.domain.calendar import DayKind
from concerns.domain.policy import policy_for
from concerns.domain.schedule import DEFAULT_OFFSETS, first_notice_on, horizon, reminder_steps  # noqa: F401
from models import Case, Deadline, DeadlineNotice, School
from statemachines.deadlines import DECISION_KINDS


@dataclass(frozen=True)
class Item:
    """One line of a digest: what is due, for which school, and why this officer is told."""

    # before-10wd | before-3wd | due | missed | escalated | expected (an Ofsted-owned date) | decision (a
    # compliance period ended: did the school comply?)
    step: str
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
    marked_passed: int = 0
    examined: int = 0

    def add(self, la: str, role: str, urn: str | None, item: Item) -> None:
        self.items_by_role.setdefault((la, role, urn), []).append(item)

    @property
    def items(self) -> list[Item]:
        return [i for items in self.items_by_role.values() for i in items]


def _lock_schools_with_deadlines_due(session: Session, due_now) -> None:
    """Take the casework's lock on every school with a deadline to look at, before reading them.

    An officer's event locks its school (FOR NO KEY UPDATE) before it reads and meets deadlines, so
    with the same lock taken first, in URN order, an event either commits before the check reads (the
    check sees the deadline met) or waits until the check has committed: the check never marks missed,
    or escalates, a deadline met a moment before. SQLite needs nothing here: the job's write session
    began IMMEDIATE and holds the database's only write lock.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    due = select(Deadline.urn).where(Deadline.status == "open", Deadline.historical.is_(False), due_now)
    session.exec(select(School.urn).where(School.urn.in_(due)).order_by(School.urn)
                 .with_for_update(key_share=True)).all()


def deadline_check(session: Session, as_of: date, offsets: Sequence[int] | None = None) -> CheckResult:
    """Raise today's reminder steps. Reads only deadlines whose next notice date has come (an indexed
    column kept by the casework and by this check), so the work follows the items due, not the table."""
    result = CheckResult(as_of)
    due_now = and_(Deadline.next_notice_on.is_not(None), Deadline.next_notice_on <= as_of)
    if offsets is not None:
        due_now = or_(due_now, Deadline.due <= horizon(as_of, offsets))
    _lock_schools_with_deadlines_due(session, due_now)
    rows = session.exec(
        select(Deadline, School.name, School.la, Case.pathway)
        .join(School, School.urn == Deadline.urn)
        .join(Case, Case.id == Deadline.case_id)
        .where(and_(Deadline.status == "open", Deadline.historical.is_(False), Deadline.created_on <= as_of,
                    due_now))
        .execution_options(populate_existing=True)  # read after the lock: never a stale "open"
    ).all()
    result.examined = len(rows)
    ids = [d.id for d, *_ in rows]
    already: set[str] = set()
    for chunk in range(0, len(ids), 900):
        already |= set(session.exec(select(DeadlineNotice.key).where(
            DeadlineNotice.deadline_id.in_(ids[chunk:chunk + 900]))).all())
    policies: dict[str, tuple] = {}
    for deadline, school_name, la, pathway in rows:
        if la not in policies:
            policy = policy_for(la)
            policies[la] = (policy, policy.calendar(DayKind.statutory))
        policy, calendar = policies[la]
        steps = reminder_steps(deadline.due, calendar, offsets if offsets is not None else policy.reminder_offsets,
                               deadline.kind)
        reached = [name for name, day in steps if day <= as_of]
        later = [day for _, day in steps if day > as_of]
        deadline.next_notice_on = later[0] if later else None
        session.add(deadline)
        if not reached:
            continue
        step = reached[-1]  # after a gap, only the most urgent step: never a stale, less urgent one
        base = dict(deadline_id=deadline.id, kind=deadline.kind, due=deadline.due, urn=deadline.urn,
                    school=school_name, la=la, pathway=pathway, responsible=deadline.responsible,
                    note=deadline.note, source=deadline.source)
        if step == "passed":
            # Ofsted's date went by: watched, not owed. No notice, no escalation; the status is all.
            deadline.status, deadline.next_notice_on = "passed", None
            result.marked_passed += 1
            continue
        if step == "missed" and deadline.kind in DECISION_KINDS:
            # The school's compliance period has ended: the officer owes a decision, nobody failed.
            deadline.status, deadline.missed_on, deadline.next_notice_on = "missed", as_of, None
            result.marked_missed += 1
            notices = [("decision", deadline.responsible, None)]
        elif step == "missed":
            deadline.status, deadline.missed_on, deadline.next_notice_on = "missed", as_of, None
            result.marked_missed += 1
            notices = [("missed", deadline.responsible, None)]
            manager = policy.manager_of(deadline.responsible)
            if manager:
                notices.append(("escalated", manager, deadline.responsible))
        else:
            if any(f"deadline:{deadline.id}:{s}" in already for s in reached[reached.index(step) + 1:]):
                continue
            if step == "expected" and any(f"deadline:{deadline.id}:before-{o}wd" in already
                                          for o in (*policy.reminder_offsets, *(offsets or ()))):
                continue  # told before the Ofsted dates had their own steps: one heads-up is enough
            base["working_days_left"] = calendar.working_days_between(as_of, deadline.due)
            notices = [(step, deadline.responsible, None)]
        for name, role, escalated_from in notices:
            key = f"deadline:{deadline.id}:{name}"
            if key in already:
                continue
            already.add(key)
            session.add(DeadlineNotice(key=key, deadline_id=deadline.id, step=name, for_date=as_of,
                                       recipient_role=role))
            result.add(la, role, deadline.urn, Item(step=name, escalated_from=escalated_from, **base))
    session.flush()
    return result
