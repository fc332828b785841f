"""The authority's own categorisation of its schools, as a dated and audited judgement.

Per school and academic year the policy's scheme *proposes* a level with its reasons (nothing written);
an officer *sets* the authority's level with a reason, or the service head approves the year's proposals
as a whole (the annual categorisation flow). Each decision is a row of `la_category`, append-only in the
database: the category in force is the latest decision, and the earlier ones are its history.

Officers also record dated facts the scheme reads (a new or acting head, safeguarding not compliant ...):
`school_fact`, append-only too; the latest statement of a fact about a school is the one that counts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from concerns.casework.cases import Refused, checked, get_school, judgement_from_row
from concerns.domain.categories import CategoryLevel, SchoolPicture, propose
from concerns.domain.clock import check_academic_year, check_date
from concerns.domain.judgements import Outcome, is_stuck, summarise
from concerns.domain.policy import Policy, fold, policy_for
from concerns.domain.untrusted import check_note, printable
from models import Case, CaseEvent, Inspection, InspectionGrade, LaCategory, School, SchoolFact

# [0-9], not \d (which takes any script's digits); matched with fullmatch, never `$`.
YEAR = re.compile(r"([0-9]{4})/([0-9]{2})")
APPROVED = "approved_proposal"
OFFICER = "officer"


def year_label(academic_year: int) -> str:
    return f"{academic_year}/{(academic_year + 1) % 100:02d}"


def year_for(policy: Policy, on: date) -> str:
    """The academic year a categorisation made on `on` is for, as the authority labels it (Leicester's
    May/June statement is for the next year: Policy.academic_year_label)."""
    return policy.academic_year_label(on)


def check_year(text: str) -> str:
    match = YEAR.fullmatch(text or "")
    if not match or (int(match[1]) + 1) % 100 != int(match[2]):
        raise Refused(f"year {printable(text)!r} is not an academic year like 2026/27")
    checked(lambda start, what: check_academic_year(start, what), int(match[1]), "year")
    return text


# --- what the scheme reads ---------------------------------------------------------------------------


def _level_of(judgement) -> str:
    if judgement.outcome == Outcome.outstanding:
        return "outstanding"
    return summarise(judgement).level


def authority_las(session: Session, la: str) -> list[str]:
    """The LA names schools are registered under that belong to the authority `la` names: its policy's
    names and aliases (one service may cover several boroughs), or just `la` under the default policy."""
    policy = policy_for(la)
    names = session.connection().execute(select(School.__table__.c.la).distinct()).scalars().all()
    if policy.key == "default":
        return [n for n in names if fold(n) == fold(la)]
    return [n for n in names if policy_for(n).key == policy.key]


def school_pictures(session: Session, as_of: date, urns: Iterable[str] | None = None, las: list[str] | None = None
                    ) -> dict[str, SchoolPicture]:
    """What the categorisation scheme reads about each open school (of `urns`, or of authorities `las`, or all),
    in a few queries over plain rows: the annual run reads the whole country."""
    s = School.__table__.c
    query = select(s.urn).where(s.status == "open")
    if urns is not None:
        query = query.where(s.urn.in_(list(urns)))
    if las is not None:
        query = query.where(s.la.in_(las))
    wanted = select(query.subquery().c.urn)
    conn = session.connection()

    c = Case.__table__.c
    open_cases: dict[str, list] = defaultdict(list)
    closed: dict[str, list] = defaultdict(list)
    case_urn: dict[int, str] = {}
    for row in conn.execute(select(c.id, c.urn, c.pathway, c.origin, c.facts, c.closed)
                            .where(c.urn.in_(wanted), c.opened <= as_of)):
        if row.closed is not None and row.closed <= as_of:
            closed[row.urn].append((row.pathway, row.closed))
        else:
            open_cases[row.urn].append(row)
            case_urn[row.id] = row.urn
    events: dict[str, set] = defaultdict(set)
    e = CaseEvent.__table__.c
    ids = list(case_urn)
    for start in range(0, len(ids), 900):
        for row in conn.execute(select(e.case_id, e.event).where(e.case_id.in_(ids[start:start + 900]),
                                                                 e.on <= as_of)):
            events[case_urn[row.case_id]].add(row.event)

    i, g = Inspection.__table__.c, InspectionGrade.__table__.c
    inspections = conn.execute(
        select(i.id, i.urn, i.published, i.inspected, i.outcome, i.safeguarding, i.graded)
        .where(i.urn.in_(wanted), i.graded.is_(True), i.published <= as_of)
        .order_by(i.urn, i.published.desc(), i.id.desc())).all()
    grades: dict[int, list] = defaultdict(list)
    ids = [row.id for row in inspections]
    for start in range(0, len(ids), 900):
        for row in conn.execute(select(g.inspection_id, g.area, g.grade).where(g.inspection_id.in_(ids[start:start + 900]))):
            grades[row.inspection_id].append(row)
    graded: dict[str, list] = defaultdict(list)
    judgements: dict[str, list] = defaultdict(list)
    for row in inspections:
        judgement = judgement_from_row(row, grades[row.id])  # once per inspection: the country has 40,000
        graded[row.urn].append((row.published, _level_of(judgement)))
        if len(judgements[row.urn]) < 2:
            judgements[row.urn].append(judgement)

    f = SchoolFact.__table__.c
    facts: dict[str, dict] = defaultdict(dict)
    for row in conn.execute(select(f.urn, f.fact, f.starts_on, f.ends_on).where(
            f.urn.in_(wanted), f.starts_on <= as_of).order_by(f.id)):
        facts[row.urn][row.fact] = (row.fact, row.starts_on, row.ends_on)  # the latest statement counts

    pictures = {}
    for (urn,) in conn.execute(wanted):
        cases = open_cases.get(urn, [])
        latest, previous = (judgements.get(urn, []) + [None, None])[:2]
        pictures[urn] = SchoolPicture(
            as_of=as_of,
            categories=frozenset((r.facts or {}).get("category") if r.origin == "ofsted" else "LA" for r in cases)
            - {None},
            pathways=frozenset(r.pathway for r in cases), stuck=is_stuck(latest, previous),
            graded=tuple(graded.get(urn, [])), closed=tuple(sorted(closed.get(urn, []), key=lambda x: x[1],
                                                                   reverse=True)),
            events=frozenset(events.get(urn, set())), facts=tuple(facts.get(urn, {}).values()))
    return pictures


# --- decisions ---------------------------------------------------------------------------------------


def decision_json(row: LaCategory) -> dict:
    return {"year": row.year, "level": row.level, "label": row.label, "on": row.decided_on.isoformat(),
            "reason": row.reason, "by": row.decided_by, "source": row.source}


def history(session: Session, urn: str) -> list[dict]:
    school = get_school(session, urn)
    rows = session.exec(select(LaCategory).where(LaCategory.urn == school.urn)
                        .order_by(LaCategory.year, LaCategory.decided_on, LaCategory.id)).all()
    return [decision_json(r) for r in rows]


def in_force(session: Session, as_of: date, urns: Iterable[str] | None = None) -> dict[str, dict]:
    """Each school's category in force on `as_of`: its latest decision made by then (latest year first),
    as {"year", "level", "label"}. Schools never categorised are absent."""
    t = LaCategory.__table__.c
    query = select(t.urn, t.year, t.level, t.label).where(t.decided_on <= as_of)
    if urns is not None:
        urns = list(urns)
        if not urns:
            return {}
        query = query.where(t.urn.in_(urns))
    out = {}
    for row in session.connection().execute(query.order_by(t.urn, t.year, t.decided_on, t.id)):
        out[row.urn] = {"year": row.year, "level": row.level, "label": row.label}
    return out


def decided_for_year(session: Session, year: str, urns: Iterable[str] | None = None) -> dict[str, LaCategory]:
    """The latest decision for academic year `year` per school."""
    query = select(LaCategory).where(LaCategory.year == year)
    if urns is not None:
        query = query.where(LaCategory.urn.in_(list(urns)))
    out = {}
    for row in session.exec(query.order_by(LaCategory.urn, LaCategory.decided_on, LaCategory.id)):
        out[row.urn] = row
    return out


def _decided_rows(session: Session, year: str, urns: list[str] | None) -> dict[str, object]:
    """decided_for_year as plain rows (level, label, decided_on): what a proposal shows, without 22,000
    ORM objects for a national run."""
    t = LaCategory.__table__.c
    query = select(t.urn, t.level, t.label, t.decided_on).where(t.year == year)
    if urns is not None:
        query = query.where(t.urn.in_(urns))
    return {row.urn: row for row in session.connection().execute(query.order_by(t.urn, t.decided_on, t.id))}


@dataclass(frozen=True)
class Decision:
    row: LaCategory
    previous: LaCategory | None  # the decision for the same year it replaces, if any

    @property
    def changed(self) -> bool:
        return self.previous is None or self.previous.level != self.row.level


def level_of(policy: Policy, key: str, la: str) -> CategoryLevel:
    if not policy.categories:
        raise Refused(f"the policy for {la} has no categorisation scheme")
    level = policy.categories.level(str(key))
    if level is None:
        raise Refused(f"level {key!r} is not in {la}'s categorisation scheme; levels: "
                      f"{', '.join(policy.categories.keys())}")
    return level


def set_category(session: Session, urn: str, level_key: str, on: date, reason: str, actor: str,
                 year: str | None = None, source: str = OFFICER) -> Decision:
    """Record the authority's decision on `urn`'s category; refused, with nothing written, for a level the
    policy lacks, a malformed year or an empty reason."""
    school = get_school(session, urn, for_update=True)
    policy = policy_for(school.la)
    level = level_of(policy, level_key, school.la)
    checked(lambda day, what: check_date(day, "category", what), on, "--on")
    reason = checked(check_note, (reason or "").strip(), "--reason")
    if not reason:
        raise Refused("a category is set with a reason: give --reason TEXT")
    year = check_year(year) if year else year_for(policy, on)
    previous = decided_for_year(session, year, [school.urn]).get(school.urn)
    if previous is not None and previous.decided_on > on:
        raise Refused(f"{school.urn} already has a decision for {year} dated {previous.decided_on.isoformat()}, "
                      f"after {on.isoformat()}; history is not rewritten: record decisions in order")
    row = LaCategory(urn=school.urn, year=year, level=level.key, label=level.label, decided_on=on, reason=reason,
                     decided_by=actor, source=source)
    session.add(row)
    session.flush()
    return Decision(row, previous)


# --- facts -------------------------------------------------------------------------------------------


def record_fact(session: Session, urn: str, fact: str, starts: date, ends: date | None, note: str, actor: str
                ) -> SchoolFact:
    school = get_school(session, urn, for_update=True)
    policy = policy_for(school.la)
    facts = policy.categories.facts if policy.categories else {}
    if fact not in facts:
        known = ", ".join(facts) or "none"
        raise Refused(f"fact {fact!r} is not one {school.la}'s policy records; facts: {known}")
    checked(lambda day, what: check_date(day, "fact", what), starts, "--on")
    if ends is not None:
        checked(lambda day, what: check_date(day, "fact_end", what), ends, "--until")
    if ends is not None and ends < starts:
        raise Refused(f"--until {ends.isoformat()} is before --on {starts.isoformat()}")
    row = SchoolFact(urn=school.urn, fact=fact, starts_on=starts, ends_on=ends,
                     note=checked(check_note, (note or "").strip(), "--note"), recorded_by=actor)
    session.add(row)
    session.flush()
    return row


def facts_of(session: Session, urn: str) -> list[dict]:
    school = get_school(session, urn)
    names = policy_for(school.la).categories.facts
    rows = session.exec(select(SchoolFact).where(SchoolFact.urn == school.urn).order_by(SchoolFact.id)).all()
    return [{"fact": r.fact, "name": names.get(r.fact, r.fact), "on": r.starts_on.isoformat(),
             "until": r.ends_on.isoformat() if r.ends_on else None, "note": r.note, "by": r.recorded_by}
            for r in rows]


# --- proposals ---------------------------------------------------------------------------------------


def proposals(session: Session, as_of: date, la: str | None = None, year: str | None = None,
              urns: Iterable[str] | None = None, due_only: bool = False) -> list[dict]:
    """The scheme's proposal for every open school (of authority `la`, or all), with the decision already
    made for the year, if any. Nothing is written. `due_only`: only the authorities whose categorisation
    date for the year has come (each proposes on its own day: `[categories] proposed_on`)."""
    s = School.__table__.c
    query = select(s.urn, s.name, s.la).where(s.status == "open")
    las = authority_las(session, la) if la is not None else None
    if las is not None:
        query = query.where(s.la.in_(las))
    if urns is not None:
        query = query.where(s.urn.in_(list(urns)))
    schools = session.connection().execute(query.order_by(s.la, s.urn)).all()
    pictures = school_pictures(session, as_of, las=las, urns=urns)
    forced = in_force(session, as_of, [r.urn for r in schools] if (la or urns is not None) else None)
    rows = []
    decided: dict[str, dict[str, LaCategory]] = {}
    for school in schools:
        policy = policy_for(school.la)
        if not policy.categories:
            continue
        label = check_year(year) if year else year_for(policy, as_of)
        if due_only and policy.categorisation_date(label) > as_of:
            continue
        if label not in decided:
            decided[label] = _decided_rows(session, label, [r.urn for r in schools] if la else None)
        level, reasons = propose(policy.categories, pictures[school.urn])
        current = decided[label].get(school.urn)
        rows.append({"urn": school.urn, "name": school.name, "la": school.la, "year": label, "level": level.key,
                     "label": level.label, "causing_concern": level.causing_concern, "reasons": reasons,
                     "in_force": forced.get(school.urn),
                     "decided": None if current is None else {"level": current.level, "label": current.label,
                                                              "on": current.decided_on.isoformat()}})
    return rows
