"""Read-only views: a school's cases, the register, the deadlines list, each as of a date.

"As of" is honest: a case's state on a date is the state its last event on or before that date left
it in, and a deadline's status on a date comes from when it was created, met or cancelled.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, distinct, func, literal, or_
from sqlalchemy import case as sql_case
from sqlmodel import Session, select

from concerns.casework.cases import case_file, get_school, judgement_from_row, school_facts
from concerns.casework.lacategories import history, in_force
from concerns.domain.judgements import coasting, is_stuck
from concerns.domain.policy import names_of, policy_for
from concerns.domain.rules import OFSTED_OWNED_KINDS, academy_order_position, status_when_past
from models import Case, CaseEvent, Deadline, Inspection, InspectionGrade, LaCategory, Letter, School
from statemachines.case import CaseFile
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


def open_case_states(session: Session, case_ids: list[int], as_of: date) -> dict[int, dict]:
    """Each case's pathway, state and the officer events allowed on it on `as_of`, for many cases at once, as
    `case_view` gives them for one school (the state its last event on or before `as_of` left it in; none for
    a case not yet opened or already closed then). The week's links read this: a few queries whatever the
    number of cases, where a `case_view` per school read a dozen each."""
    if not case_ids:
        return {}
    rows = session.exec(select(Case, School).join(School, School.urn == Case.urn)
                        .where(Case.id.in_(sorted(set(case_ids))), Case.opened <= as_of)).all()
    # Only a case with an event after `as_of` (the desk's day set back) needs its events to know its state then.
    later = [row.id for row, _ in rows if row.last_event_on and row.last_event_on > as_of]
    events = _events_by_case(session, later) if later else {}
    out = {}
    for row, school in rows:
        if row.closed and row.closed <= as_of:
            continue
        state = (_state_on(events.get(row.id, []), as_of) if row.id in events else None) or row.state
        file = CaseFile(pathway=row.pathway, state=state, opened=row.opened, closed=None, outcome=None,
                        origin=row.origin, facts=dict(row.facts or {}), last_event_on=row.last_event_on, id=row.id)
        out[row.id] = {"pathway": row.pathway, "state": state,
                       "allowed_events": allowed_events(file, school_facts(school), policy=policy_for(school.la))}
    return out


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


# --- the register, filtered, sorted and paged in the database ---------------------------------------------
# A national authority has thousands of open cases: the desk asks the database for one page of schools (and
# their count), then reads the extras (cases, events, inspection history, next deadline) for that page only.

# Each sort the desk offers, and the register's column it sorts on.
REGISTER_SORTS = {"urn": "urn", "name": "name", "pathway": "pathway", "state": "state", "category": "category",
                  "la_category": "la_category", "officer": "officer", "next": "next_due"}


@dataclass(frozen=True)
class RegisterFilters:
    pathway: str = ""
    category: str = ""
    la_category: str = ""
    officer: str = ""


@dataclass(frozen=True)
class RegisterOfficers:
    """Who answers for each school, as the caller's directory resolves it. A school's live deadlines name a
    set of roles, kept as a bit mask over `roles` (0: none live, the authority's default role); `by_mask`
    gives the names for a set, `by_urn` the names at schools whose own role holders differ."""
    roles: tuple[str, ...] = ()
    by_mask: dict[int, tuple[str, ...]] = field(default_factory=dict)
    by_urn: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def names(self, urn: str, mask: int) -> tuple[str, ...]:
        return self.by_urn[urn] if urn in self.by_urn else self.by_mask.get(mask, ())


def _live_deadline(as_of: date):
    """A deadline live on `as_of`, as deadlines_view counts it (met or cancelled later still counts)."""
    return (Deadline.created_on <= as_of, or_(Deadline.met_on.is_(None), Deadline.met_on > as_of),
            or_(Deadline.cancelled_on.is_(None), Deadline.cancelled_on > as_of), Deadline.historical.is_(False))


def _schools_of(la: str | None):
    query = select(School.urn)
    return query.where(School.la.in_(names_of(la))) if la else query


def live_deadline_roles(session: Session, as_of: date, la: str | None) -> list[str]:
    """The roles the authority's live deadlines name (a handful, whatever the authority's size)."""
    query = select(Deadline.responsible).where(*_live_deadline(as_of), Deadline.urn.in_(_schools_of(la)))
    return sorted(session.exec(query.distinct()).all())


def _open_cases(as_of: date, la: str | None, urns: list[str] | None = None):
    """Cases open on `as_of`, ranked within each school: rank 1 speaks for it (Ofsted's before the
    authority's own, then by SEVERITY, then the oldest case), as register() chooses. With `urns`, those
    schools' cases only (a page's, already of the authority: the ranking is within each school, so it is the
    same; and the authority's schools are not listed again, which on a large authority costs more than the
    page)."""
    severity = sql_case({p: i for i, p in enumerate(SEVERITY)}, value=Case.pathway, else_=len(SEVERITY))
    rank = func.row_number().over(partition_by=Case.urn, order_by=(
        sql_case((Case.origin == "ofsted", 0), else_=1), severity, Case.id))
    return (select(Case.id.label("case_id"), Case.urn, Case.pathway, Case.state, Case.origin,
                   Case.facts["category"].as_string().label("ofsted_category"), rank.label("rank"))
            .where(Case.opened <= as_of, or_(Case.closed.is_(None), Case.closed > as_of),
                   Case.urn.in_(_schools_of(la) if urns is None else urns))
            .subquery("open_case"))


def _deadline_columns(as_of: date, urn, roles: tuple[str, ...]) -> dict:
    """The school's live deadlines, summed up for the register: the next day one is due (still ahead), how
    many are missed, and the set of roles they name (a bit mask over `roles`). Each is a lookup by the
    school's URN (deadline.urn is indexed), which both engines run as an index search per school."""
    live = (Deadline.urn == urn, *_live_deadline(as_of))
    bit = sql_case({r: 1 << i for i, r in enumerate(roles)}, value=Deadline.responsible, else_=0) if roles else literal(0)
    missed = and_(Deadline.due < as_of, Deadline.kind.not_in(sorted(OFSTED_OWNED_KINDS)))
    return {
        "next_due": select(func.min(Deadline.due)).where(*live, Deadline.due >= as_of).scalar_subquery(),
        "missed": select(func.count()).where(*live, missed).scalar_subquery(),
        "mask": func.coalesce(select(func.sum(distinct(bit))).where(*live).scalar_subquery(), 0),
    }


@dataclass(frozen=True)
class RegisterOverview:
    """What the whole register holds, in one query: its role masks (at schools other than the ones asked
    about), those schools' own masks, and the pathways and Ofsted categories its filters offer."""
    masks: set[int]
    own: dict[str, int]
    pathways: list[str]
    categories: list[str]


def register_overview(session: Session, as_of: date, la: str | None, roles: tuple[str, ...],
                      urns: list[str]) -> RegisterOverview:
    cases = _open_cases(as_of, la)
    mask = _deadline_columns(as_of, cases.c.urn, roles)["mask"]
    special = sorted(set(urns))
    asked = sql_case((cases.c.urn.in_(special), cases.c.urn), else_=None) if special else literal(None)
    category = sql_case((cases.c.origin == "ofsted", cases.c.ofsted_category), else_="LA")
    query = select(cases.c.pathway, category, mask, asked).where(cases.c.rank == 1).distinct()
    masks: set[int] = set()
    own: dict[str, int] = {}
    pathways, categories = set(), set()
    for pathway, cat, mask, urn in session.connection().execute(query):
        pathways.add(pathway)
        categories.add(str(cat))
        if urn is None:
            masks.add(int(mask))
        else:
            own[urn] = int(mask)
    return RegisterOverview(masks, own, sorted(pathways), sorted(categories))


def _register_table(session: Session, as_of: date, la: str | None, officers: RegisterOfficers,
                    urns: list[str] | None = None):
    """One row per school with a case open on `as_of`: the columns the register filters and sorts by (with
    `urns`, those schools' rows only)."""
    cases = _open_cases(as_of, la, urns)
    deadlines = _deadline_columns(as_of, cases.c.urn, officers.roles)
    state = (select(CaseEvent.to_state).where(CaseEvent.case_id == cases.c.case_id, CaseEvent.on <= as_of)
             .order_by(CaseEvent.on.desc(), CaseEvent.id.desc()).limit(1).scalar_subquery())
    # The authority's category in force: its latest decision made by then, as lacategories.in_force reads it.
    category = (select(LaCategory.label).where(LaCategory.urn == cases.c.urn, LaCategory.decided_on <= as_of)
                .order_by(LaCategory.year.desc(), LaCategory.decided_on.desc(), LaCategory.id.desc())
                .limit(1).scalar_subquery())
    mask = deadlines["mask"]
    by_mask = {m: ", ".join(names) for m, names in officers.by_mask.items()}
    text = sql_case(by_mask, value=mask, else_="") if by_mask else literal("")
    if officers.by_urn:
        text = sql_case({u: ", ".join(names) for u, names in officers.by_urn.items()}, value=cases.c.urn, else_=text)
    return (select(School.urn, School.name, School.la, School.maintained, cases.c.case_id, cases.c.pathway,
                   func.coalesce(state, cases.c.state).label("state"),
                   sql_case((cases.c.origin == "ofsted", cases.c.ofsted_category), else_="LA").label("category"),
                   category.label("la_category"), deadlines["next_due"].label("next_due"),
                   deadlines["missed"].label("missed"), mask.label("mask"), text.label("officer"))
            .select_from(cases).join(School, School.urn == cases.c.urn)
            .where(cases.c.rank == 1)
            .subquery("register"))


def _text_order(session: Session, column):
    # Python's order (by code point) on both engines: PostgreSQL's default collation follows the locale.
    return column.collate("C") if session.get_bind().dialect.name == "postgresql" else column


def _filtered(table, filters: RegisterFilters, officers: RegisterOfficers) -> list:
    c = table.c
    where = []
    if filters.pathway:
        where.append(c.pathway == filters.pathway)
    if filters.category:
        # A case without a recorded category is offered (and shown) as "None".
        where.append(c.category.is_(None) if filters.category == "None" else c.category == filters.category)
    if filters.la_category:
        where.append(c.la_category == filters.la_category)
    if filters.officer:
        masks = [m for m, names in officers.by_mask.items() if filters.officer in names]
        urns = [u for u, names in officers.by_urn.items() if filters.officer in names]
        where.append(or_(and_(c.urn.not_in(sorted(officers.by_urn)), c.mask.in_(masks)), c.urn.in_(urns)))
    return where


def register_page(session: Session, as_of: date, la: str | None, *, officers: RegisterOfficers,
                  filters: RegisterFilters = RegisterFilters(), sort: str = "urn", descending: bool = False,
                  offset: int = 0, limit: int | None = 50) -> tuple[list[dict], int]:
    """One page of the register sorted by `sort` (empty values last either way, then by URN), and how
    many schools the filters leave. `sort` is one of REGISTER_SORTS (the caller checks what people send)."""
    table = _register_table(session, as_of, la, officers)
    where = _filtered(table, filters, officers)
    # In three steps, so that each computes only the columns it needs (both engines inline the register's
    # subquery and drop the columns a query does not use): the count reads the filters' columns, the page's
    # URNs the sort's too, and the page's rows everything, for its schools only.
    total = session.exec(select(func.count()).select_from(table).where(*where)).one()
    query = _ordered_urns(session, table, where, sort, descending).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return register_rows(session, as_of, la, officers, list(session.exec(query).all())), total


def _ordered_urns(session: Session, table, where: list, sort: str, descending: bool):
    column = table.c[REGISTER_SORTS[sort]]
    empty = column.is_(None) if sort == "next" else or_(column.is_(None), column == "")
    key = column if sort == "next" else _text_order(session, column)
    return (select(table.c.urn).where(*where)
            .order_by(sql_case((empty, 1), else_=0), key.desc() if descending else key.asc(),
                      _text_order(session, table.c.urn)))


def register_order(session: Session, as_of: date, la: str | None, *, officers: RegisterOfficers,
                   filters: RegisterFilters = RegisterFilters(), sort: str = "urn", descending: bool = False
                   ) -> tuple[str, ...]:
    """Every URN the filters leave on the register, in the order `sort` gives (as register_page orders
    them), sorted by the database: the order the desk keeps while the database is unchanged, to cut pages
    from (concerns.store.readcache)."""
    table = _register_table(session, as_of, la, officers)
    return tuple(session.exec(_ordered_urns(session, table, _filtered(table, filters, officers), sort,
                                            descending)).all())


def register_rows(session: Session, as_of: date, la: str | None, officers: RegisterOfficers,
                  urns: list[str]) -> list[dict]:
    """The register's rows of the schools `urns` (a page of them), in that order, with their extras."""
    if not urns:
        return []
    table = _register_table(session, as_of, la, officers, urns)
    rows = {r.urn: r for r in session.connection().execute(select(table))}
    return _register_rows(session, as_of, [rows[u] for u in urns if u in rows], officers)


def _iso(day) -> str:
    return day if isinstance(day, str) else day.isoformat() if day else ""


def _register_rows(session: Session, as_of: date, page: list, officers: RegisterOfficers) -> list[dict]:
    """The page's rows with their extras, read for the page's schools only (a fixed number of queries)."""
    urns = [r.urn for r in page]
    if not urns:
        return []
    cases = session.exec(select(Case).where(Case.urn.in_(urns), Case.opened <= as_of,
                                            or_(Case.closed.is_(None), Case.closed > as_of))
                         .order_by(Case.urn, Case.id)).all()
    events = _events_by_case(session, [c.id for c in cases])
    by_school: dict[str, list[Case]] = defaultdict(list)
    for c in cases:
        by_school[c.urn].append(c)
    schools = {s.urn: s for s in session.exec(select(School).where(School.urn.in_(urns))).all()}
    history = graded_history(session, urns, as_of)
    full = graded_histories(session, urns, as_of)
    predecessors = {urn: s.predecessor_urn for urn, s in schools.items() if s.predecessor_urn}
    before = graded_histories(session, sorted(set(predecessors.values())), as_of)
    categories = in_force(session, as_of, urns)
    nexts: dict[str, Deadline] = {}
    for d in session.exec(select(Deadline).where(*_live_deadline(as_of), Deadline.urn.in_(urns),
                                                 Deadline.due >= as_of)
                          .order_by(Deadline.due, Deadline.urn, Deadline.id)).all():
        nexts.setdefault(d.urn, d)
    out = []
    for r in page:
        school = schools[r.urn]
        primary = next(c for c in by_school[r.urn] if c.id == r.case_id)
        latest, previous = (history.get(r.urn, []) + [None, None])[:2]
        pred = before.get(predecessors.get(r.urn), [])
        found = coasting(full.get(r.urn, []), as_of, predecessor=pred[-1] if pred else None,
                         type_name=school.type_name)
        order = academy_order_as_of(primary, events[primary.id], as_of, school.maintained)
        nxt = nexts.get(r.urn)
        names = list(officers.names(r.urn, int(r.mask)))
        out.append({
            "urn": r.urn, "name": r.name, "la": r.la, "maintained": r.maintained,
            "pathway": r.pathway, "state": r.state, "category": r.category,
            "stuck": is_stuck(latest, previous), "coasting": found.coasting,
            "academy_order": order["duty"] if order else None, "opened": primary.opened.isoformat(),
            "la_category": categories.get(r.urn),
            "la_category_text": r.la_category or "",
            "cases": [{"pathway": c.pathway, "state": _state_on(events[c.id], as_of) or c.state,
                       "opened": c.opened.isoformat()} for c in by_school[r.urn]],
            "officers": names, "officers_text": ", ".join(names),
            "next_due": _iso(r.next_due), "next_deadline": {"kind": nxt.kind, "due": nxt.due.isoformat()} if nxt else None,
            "missed": int(r.missed),
        })
    return out


def deadlines_view(session: Session, as_of: date, within: int | None = None, la: str | None = None,
                   include_done: bool = False, keep: Callable[[str, str], bool] | None = None) -> list[dict]:
    """Deadlines live on `as_of`: missed ones (past due, not met), passed Ofsted dates (past, not yet met by
    the visit or inspection: watched, never missed) and open ones due within `within` days; with `keep`,
    those it keeps (given the responsible role and the URN: an officer's own)."""
    # The columns listed only: whole rows would build an ORM object per deadline and per school (and decode
    # each case's facts), most of the time spent on an authority with thousands of live deadlines.
    query = select(Deadline.urn, School.name, School.la, Case.pathway, Deadline.case_id, Deadline.kind,
                   Deadline.due, Deadline.met_on, Deadline.cancelled_on, Deadline.responsible, Deadline.rule,
                   Deadline.source, Deadline.note).join(School, School.urn == Deadline.urn).join(
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
    rows = session.connection().execute(query.order_by(Deadline.due, Deadline.urn, Deadline.id)).all()
    out = []
    for row in rows:
        if keep is not None and not keep(row.responsible, row.urn):
            continue
        status = _status_on(row, as_of)
        out.append({"urn": row.urn, "name": row.name, "la": row.la, "pathway": row.pathway,
                    "case_id": row.case_id, "kind": row.kind, "due": row.due.isoformat(), "status": status,
                    "shown": status_word(row.kind, status),
                    "days_left": (row.due - as_of).days, "responsible": row.responsible, "rule": row.rule,
                    "source": row.source, "note": row.note})
    return out


def _status_on(row, as_of: date) -> str:
    """A deadline's status on `as_of` (a Deadline, or a row with its met_on, cancelled_on, kind and due)."""
    if row.met_on and row.met_on <= as_of:
        return "met"
    if row.cancelled_on and row.cancelled_on <= as_of:
        return "cancelled"
    return status_when_past(row.kind) if row.due < as_of else "open"
