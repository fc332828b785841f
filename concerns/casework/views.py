"""Read-only views: a school's cases, the register, the deadlines list, each as of a date.

"As of" is honest: a case's state on a date is the state its last event on or before that date left
it in, and a deadline's status on a date comes from when it was created, met or cancelled.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import or_
from sqlmodel import Session, select

from concerns.casework.cases import case_file, get_school, judgement_from_row, school_facts
from concerns.casework.lacategories import history, in_force
from concerns.domain.judgements import coasting, is_stuck
from concerns.domain.policy import names_of, policy_for
from concerns.domain.rules import academy_order_position, status_when_past
from models import Case, CaseEvent, Deadline, Inspection, InspectionGrade, Letter, School
from statemachines.deadlines import status_word
from statemachines.pathways import allowed_events, describe_state

# Which open case speaks for the school in the register when it has more than one.
SEVERITY = ["special_measures", "serious_weaknesses", "academy_of_concern", "requires_improvement", "la_concern"]


def _state_on(events: list[CaseEvent], day: date) -> str | None:
    state = None
    for ev in events:
        if ev.on <= day:
            state = ev.to_state
    return state


def _events_by_case(session: Session, case_ids: list[int]) -> dict[int, list[CaseEvent]]:
    grouped: dict[int, list[CaseEvent]] = defaultdict(list)
    if case_ids:
        for ev in session.exec(select(CaseEvent).where(CaseEvent.case_id.in_(case_ids))
                               .order_by(CaseEvent.on, CaseEvent.id)).all():
            grouped[ev.case_id].append(ev)
    return grouped


def deadline_json(d, as_of: date, historical: bool = False) -> dict:
    # An imported deadline that was already past on import is history: the product cannot know whether
    # it was met, so it is neither "missed" nor reminded about; what happened before the import is a
    # record to read, not something new for an officer to act on.
    status = d.status_on(as_of)
    status = "historical" if historical and status in ("missed", "passed") else status
    return {"kind": d.kind, "due": d.due.isoformat(), "status": status, "shown": status_word(d.kind, status),
            "historical": historical,
            "responsible": d.responsible,
            "rule": d.rule, "source": d.source, "note": d.note,
            "met_on": d.met_on.isoformat() if d.met_on and d.met_on <= as_of else None}


def case_view(session: Session, urn: str, as_of: date) -> dict:
    school = get_school(session, urn)
    facts = school_facts(school)
    rows = session.exec(select(Case).where(Case.urn == school.urn, Case.opened <= as_of)
                        .order_by(Case.opened, Case.id)).all()
    events = _events_by_case(session, [r.id for r in rows])
    historical = set(session.exec(select(Deadline.id).where(Deadline.urn == school.urn,
                                                            Deadline.historical.is_(True))).all())
    letters: dict[int | None, list[Letter]] = defaultdict(list)
    for letter in session.exec(select(Letter).where(Letter.urn == school.urn).order_by(Letter.on, Letter.id)):
        letters[letter.case_id].append(letter)
    cases = []
    for row in rows:
        file = case_file(session, row)
        state = _state_on(events[row.id], as_of) or row.state
        closed = row.closed if row.closed and row.closed <= as_of else None
        file.state = state
        cases.append({
            "id": row.id, "pathway": row.pathway, "state": state, "state_meaning": describe_state(state),
            "origin": row.origin, "opened": row.opened.isoformat(), "closed": closed.isoformat() if closed else None,
            "outcome": row.outcome if closed else None,
            "facts": _facts_as_of(session, row, events[row.id], as_of, school.maintained),
            "deadlines": [deadline_json(d, as_of, d.id in historical) for d in file.deadlines
                          if d.created_on <= as_of],
            "events": [{"event": e.event, "on": e.on.isoformat(), "until": e.until.isoformat() if e.until else None,
                        "from_state": e.from_state, "to_state": e.to_state, "actor": e.actor, "note": e.note,
                        "confidential": e.confidential} for e in events[row.id] if e.on <= as_of],
            "allowed_events": [] if closed else allowed_events(file, facts, policy=policy_for(school.la)),
            "letters": [{"kind": x.kind, "title": x.title, "on": x.on.isoformat(), "path": x.path,
                         "to": [p["name"] for p in x.addressees], "copies": [p["name"] for p in x.copies]}
                        for x in letters.get(row.id, []) if x.on <= as_of],
        })
    latest, previous = _last_two_graded(session, school.urn, as_of)
    found = _coasting(session, school, as_of)
    return {"urn": school.urn, "name": school.name, "la": school.la, "type": school.type_name,
            "maintained": school.maintained, "diocese": school.diocese, "trust": school.trust,
            "as_of": as_of.isoformat(), "stuck": is_stuck(latest, previous),
            "coasting": found.coasting, "coasting_route": found.route, "cases": cases,
            "predecessor_urn": school.predecessor_urn,
            # The school's history across a URN change (conversion to an academy), both ways.
            "predecessor": _linked_school(session, school.predecessor_urn),
            "successors": [_linked_school(session, s.urn) for s in session.exec(
                select(School).where(School.predecessor_urn == school.urn).order_by(School.urn))],
            "la_category": in_force(session, as_of, [school.urn]).get(school.urn),
            "la_categories": [h for h in history(session, school.urn) if h["on"] <= as_of.isoformat()],
            "school_letters": [{"kind": x.kind, "title": x.title, "on": x.on.isoformat(), "path": x.path}
                               for x in letters.get(None, []) if x.on <= as_of]}


CATEGORY_PATHWAYS = ("special_measures", "serious_weaknesses")


def _order_made_on(events: list[CaseEvent], facts: dict, as_of: date) -> date | None:
    """The day an academy order was made on the case, if by `as_of`: its event, else the recorded fact."""
    made = [e.on for e in events if e.event == "academy_order_made" and e.on <= as_of]
    if made:
        return min(made)
    recorded = facts.get("academy_order_made_on")
    return date.fromisoformat(recorded) if recorded and date.fromisoformat(recorded) <= as_of else None


def academy_order_as_of(row: Case, events: list[CaseEvent], as_of: date, maintained: bool,
                        session: Session | None = None) -> dict | None:
    """Must or may the Secretary of State make an academy order, as the law stands on `as_of` (Academies Act
    2010 s4 as amended by the Children's Wellbeing and Schools Act 2026 s58, and its saving in s58(9))."""
    if row.pathway not in CATEGORY_PATHWAYS or not maintained:
        return None
    facts = row.facts or {}
    published = facts.get("report_published")
    if published:
        published = date.fromisoformat(published)
    elif session is not None and row.inspection_id is not None and session.get(Inspection, row.inspection_id):
        published = session.get(Inspection, row.inspection_id).published
    else:
        published = row.opened  # a category case opens on the report's publication
    return academy_order_position(published, row.pathway, as_of=max(as_of, published),
                                  order_made_on=_order_made_on(events, facts, as_of))


def _facts_as_of(session: Session, row: Case, events: list[CaseEvent], as_of: date, maintained: bool) -> dict:
    facts = dict(row.facts or {})
    position = academy_order_as_of(row, events, as_of, maintained, session)
    if position is not None:
        facts["academy_order"] = position
    return facts


def _coasting(session: Session, school: School, as_of: date):
    """The coasting definition in force on `as_of` applied to the school's section 5 history, with its linked
    predecessor's latest section 5 inspection for route A (GIAS links: School.predecessor_urn)."""
    history = graded_histories(session, [school.urn], as_of).get(school.urn, [])
    predecessor = None
    if school.predecessor_urn:
        before = graded_histories(session, [school.predecessor_urn], as_of).get(school.predecessor_urn, [])
        predecessor = before[-1] if before else None
    return coasting(history, as_of, predecessor=predecessor, type_name=school.type_name)


def _linked_school(session: Session, urn: str | None) -> dict | None:
    if not urn:
        return None
    school = session.get(School, urn)
    if school is None:
        return {"urn": urn, "name": None, "cases": []}
    cases = session.exec(select(Case).where(Case.urn == urn).order_by(Case.opened, Case.id)).all()
    return {"urn": urn, "name": school.name, "type": school.type_name, "status": school.status,
            "cases": [{"pathway": c.pathway, "opened": c.opened.isoformat(),
                       "closed": c.closed.isoformat() if c.closed else None, "outcome": c.outcome} for c in cases]}


def _last_two_graded(session: Session, urn: str, as_of: date):
    rows = session.exec(select(Inspection).where(Inspection.urn == urn, Inspection.graded.is_(True),
                                                 Inspection.published <= as_of)
                        .order_by(Inspection.published.desc(), Inspection.id.desc()).limit(2)).all()
    judgements = []
    for row in rows:
        grades = session.exec(select(InspectionGrade).where(InspectionGrade.inspection_id == row.id)).all()
        judgements.append(judgement_from_row(row, grades))
    judgements += [None] * (2 - len(judgements))
    return judgements[0], judgements[1]


def graded_history(session: Session, urns: list[str], as_of: date) -> dict[str, list]:
    """The last two graded inspections of many schools in two queries (the register runs nationally)."""
    history: dict[str, list] = defaultdict(list)
    if not urns:
        return history
    rows = session.exec(select(Inspection).where(Inspection.urn.in_(urns), Inspection.graded.is_(True),
                                                 Inspection.published <= as_of)
                        .order_by(Inspection.urn, Inspection.published.desc(), Inspection.id.desc())).all()
    for row in rows:
        if len(history[row.urn]) < 2:
            history[row.urn].append(row)
    kept = [r for rs in history.values() for r in rs]
    grades: dict[int, list] = defaultdict(list)
    ids = [r.id for r in kept]
    for chunk in range(0, len(ids), 900):
        for g in session.exec(select(InspectionGrade).where(InspectionGrade.inspection_id.in_(ids[chunk:chunk + 900]))):
            grades[g.inspection_id].append(g)
    return {urn: [judgement_from_row(r, grades[r.id]) for r in rs] for urn, rs in history.items()}


def graded_histories(session: Session, urns: list[str], as_of: date) -> dict[str, list]:
    """Every section 5 (graded) inspection of many schools published by `as_of`, oldest first (for coasting,
    whose 2025 test reads the whole history: an entry route, then no exit since)."""
    history: dict[str, list] = defaultdict(list)
    if not urns:
        return history
    rows = session.exec(select(Inspection).where(Inspection.urn.in_(urns), Inspection.graded.is_(True),
                                                 Inspection.published <= as_of)
                        .order_by(Inspection.urn, Inspection.published, Inspection.id)).all()
    grades: dict[int, list] = defaultdict(list)
    ids = [r.id for r in rows]
    for chunk in range(0, len(ids), 900):
        for g in session.exec(select(InspectionGrade).where(InspectionGrade.inspection_id.in_(ids[chunk:chunk + 900]))):
            grades[g.inspection_id].append(g)
    for row in rows:
        history[row.urn].append(judgement_from_row(row, grades[row.id]))
    return history


def register(session: Session, as_of: date, la: str | None = None) -> list[dict]:
    """One row per school with a case open on `as_of`."""
    query = select(Case, School).join(School, School.urn == Case.urn).where(
        Case.opened <= as_of, or_(Case.closed.is_(None), Case.closed > as_of))
    if la:
        query = query.where(School.la.in_(names_of(la)))
    pairs = session.exec(query.order_by(School.urn, Case.id)).all()
    events = _events_by_case(session, [c.id for c, _ in pairs])
    by_school: dict[str, list] = defaultdict(list)
    schools: dict[str, School] = {}
    for case, school in pairs:
        by_school[school.urn].append(case)
        schools[school.urn] = school
    history = graded_history(session, list(schools), as_of)
    full = graded_histories(session, list(schools), as_of)
    predecessors = {urn: s.predecessor_urn for urn, s in schools.items() if s.predecessor_urn}
    before = graded_histories(session, sorted(set(predecessors.values())), as_of)
    la_categories = in_force(session, as_of, list(schools))
    out = []
    for urn, cases in by_school.items():
        school = schools[urn]
        ofsted = [c for c in cases if c.origin == "ofsted"]
        primary = min(ofsted or cases, key=lambda c: SEVERITY.index(c.pathway))
        category = primary.facts.get("category") if primary.origin == "ofsted" else "LA"
        latest, previous = (history.get(urn, []) + [None, None])[:2]
        pred = before.get(predecessors.get(urn), [])
        found = coasting(full.get(urn, []), as_of, predecessor=pred[-1] if pred else None,
                         type_name=school.type_name)
        order = academy_order_as_of(primary, events[primary.id], as_of, school.maintained)
        out.append({
            "urn": urn, "name": school.name, "la": school.la, "maintained": school.maintained,
            "pathway": primary.pathway, "state": _state_on(events[primary.id], as_of) or primary.state,
            "category": category, "stuck": is_stuck(latest, previous), "coasting": found.coasting,
            "academy_order": order["duty"] if order else None,
            "opened": primary.opened.isoformat(), "la_category": la_categories.get(urn),
            "cases": [{"pathway": c.pathway, "state": _state_on(events[c.id], as_of) or c.state,
                       "opened": c.opened.isoformat()} for c in cases],
        })
    return out


def deadlines_view(session: Session, as_of: date, within: int | None = None, la: str | None = None,
                   include_done: bool = False) -> list[dict]:
    """Deadlines live on `as_of`: missed ones (past due, not met), passed Ofsted dates (past, not yet met by
    the visit or inspection: watched, never missed) and open ones due within `within` days."""
    query = select(Deadline, School, Case).join(School, School.urn == Deadline.urn).join(
        Case, Case.id == Deadline.case_id).where(Deadline.created_on <= as_of)
    if not include_done:
        # Met or cancelled later than as_of still counts as live on as_of.
        query = query.where(or_(Deadline.met_on.is_(None), Deadline.met_on > as_of),
                            or_(Deadline.cancelled_on.is_(None), Deadline.cancelled_on > as_of),
                            Deadline.historical.is_(False))
    if within is not None:
        query = query.where(Deadline.due <= as_of + timedelta(days=within))
    if la:
        query = query.where(School.la.in_(names_of(la)))
    rows = session.exec(query.order_by(Deadline.due, Deadline.urn, Deadline.id)).all()
    out = []
    for row, school, case in rows:
        status = _status_on(row, as_of)
        out.append({"urn": school.urn, "name": school.name, "la": school.la, "pathway": case.pathway,
                    "case_id": case.id, "kind": row.kind, "due": row.due.isoformat(), "status": status,
                    "shown": status_word(row.kind, status),
                    "days_left": (row.due - as_of).days, "responsible": row.responsible, "rule": row.rule,
                    "source": row.source, "note": row.note})
    return out


def _status_on(row: Deadline, as_of: date) -> str:
    if row.met_on and row.met_on <= as_of:
        return "met"
    if row.cancelled_on and row.cancelled_on <= as_of:
        return "cancelled"
    return status_when_past(row.kind) if row.due < as_of else "open"
