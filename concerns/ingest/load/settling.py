"""Closures and conversions: the cases of a school an academy replaced, or that closed, are closed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from sqlmodel import Session, select

from concerns.casework.cases import (
    Refused,
    open_case_rows,
    record_event,
)
from concerns.domain.judgements import (
    JudgementError,
)
from concerns.ingest.load.schools import (
    Schools,
    chunks,
    preload_schools,
)
from concerns.ingest.load.summary import ACTOR, ImportSummary, NotStateFunded, Refusal, RowRefused, Tally
from models import Case, School

# --- closures and conversions ----------------------------------------------------------------------------


def urns_with_open_cases(session: Session, urns: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(list(dict.fromkeys(urns))):
        found.update(session.exec(select(Case.urn).where(Case.urn.in_(chunk), Case.closed.is_(None))).all())
    return found


def close_cases(session: Session, school: School, *, on: date, event: str, note: str, tally: Tally) -> None:
    """Close every open case of the school with `event` (convert_to_academy or close_school) on `on`."""
    for row in open_case_rows(session, school.urn):
        try:
            result = record_event(session, school.urn, event, on=on, actor=ACTOR, pathway=row.pathway, note=note)
        except Refused as exc:
            raise RowRefused(str(exc)) from None
        tally.add_events([result])


def successor_academy(session: Session, school: School, hint: School | None) -> School | None:
    """The academy known to have replaced this maintained school: `hint` (from the file being imported),
    else a school in the database naming it as its predecessor."""
    if not school.maintained:
        return None
    candidates = [hint] if hint is not None else session.exec(
        select(School).where(School.predecessor_urn == school.urn)).all()
    return next((s for s in candidates if s is not None and not s.maintained), None)


def settle(session: Session, school: School, tally: Tally, *, successor: School | None = None,
            on: date | None = None, sweep: bool = False) -> bool:
    """Close the open cases of a school that an academy has replaced, or that has closed.

    - A maintained school an academy replaced: `convert_to_academy` on `on` (the link's date), else the
      academy's open date, else the school's close date. The academy's record names its predecessor, so
      its history stays one step away.
    - A closed school with no academy successor: with `sweep` (the links import, which knows every
      successor) `close_school` on its close date; otherwise its cases are left open and it is reported,
      because an establishments file alone cannot say whether the school converted or just closed.
    Returns whether cases were closed.
    """
    academy = successor_academy(session, school, successor)
    if academy is not None:
        on = on or academy.opened_on or school.closed_on
        if on is None:
            raise RowRefused(f"replaced by academy {academy.urn}, but neither the link, the academy's open date "
                              "nor the school's close date gives the conversion date")
        close_cases(session, school, on=on, event="convert_to_academy",
                     note=f"Converted to an academy: {academy.name} (URN {academy.urn})", tally=tally)
        return True
    if school.status != "closed":
        return False
    if not sweep:
        closed = f" on {school.closed_on.isoformat()}" if school.closed_on else ""
        tally.skipped.append(Refusal(None, school.urn, f"closed{closed} with open cases, left open for now: the "
                                     "GIAS links import closes them (as converted, or as closed)"))
        return False
    if school.closed_on is None:
        raise RowRefused("closed with open cases but no close date: record close_school by hand")
    close_cases(session, school, on=school.closed_on, event="close_school",
                 note=f"School closed on {school.closed_on.isoformat()} (GIAS)", tally=tally)
    return True


def settle_replaced_and_closed(session: Session, schools: Schools, summary: ImportSummary,
                                successors: dict[str, School], closed: Iterable[str],
                                lines: dict[str, int | None]) -> set[str]:
    """After a school pass: predecessors the file's academies replaced, and schools it says closed."""
    candidates = urns_with_open_cases(session, [*successors, *closed])
    held = preload_schools(session, candidates)
    touched: set[str] = set()
    for urn in candidates:
        school = held[urn]

        def apply(tally: Tally, school: School = school) -> None:
            settle(session, school, tally, successor=successors.get(school.urn))

        if in_savepoint(session, schools, summary, urn, lines.get(urn), apply):
            touched.add(urn)
    session.commit()
    return touched


def in_savepoint(session: Session, schools: Schools, summary: ImportSummary, urn: str, line: int | None,
                  apply: Callable[[Tally], object]) -> bool:
    """Apply one school's changes in a savepoint: all of them, or (refused) none, with the reason."""
    tally = Tally()
    savepoint = session.begin_nested()
    try:
        apply(tally)
        session.flush()
    except NotStateFunded as exc:  # raised before anything of the school was written
        savepoint.rollback()
        summary.skipped.append(Refusal(line, urn, str(exc)))
        return False
    except (RowRefused, Refused, JudgementError, ValueError) as exc:
        savepoint.rollback()
        schools.forget()
        summary.refused.append(Refusal(line, urn, str(exc)))
        return False
    savepoint.commit()
    tally.merge_into(summary, line)
    return True

