"""The authority's categorisation of its schools: the year's proposals, the approved decisions, the letters.

The policy's scheme (concerns.domain.categories) proposes a level for every open school with its reasons; the
service head approves the year's proposals, with any changes, and only then are decisions recorded
(concerns.casework.lacategories) and letters written to each school's headteacher and chair. In Prefect the
approval is a paused run with a form (flows/annual_categorisation.py); on the command line it is
`--approved-by NAME`. An officer's own decision during the year (`concerns category set`) writes the
letter the policy asks for when the level changes.
"""

from __future__ import annotations

import csv
from datetime import date

from sqlmodel import Session, select

from concerns.casework.cases import Refused, get_school, lock_schools
from concerns.casework.lacategories import (
    APPROVED,
    OFFICER,
    Decision,
    decided_for_year,
    proposals,
    set_category,
    year_for,
)
from concerns.domain.clock import check_as_of
from concerns.domain.policy import Policy, fold, policy_for
from concerns.domain.untrusted import safe_filename
from concerns.jobs.letterbatch import (
    category_letter_key,
    letters_owed,
    queue_category_mails,
    render_category_letter,
    write_letter_batch,
)
from concerns.notify.directory import Directory
from concerns.notify.letterdata import (
    letter_attachment,
    reports_dir,
    save_letter,
)
from concerns.output.mail import MailSettings
from concerns.store.db import session_scope
from models import LaCategory, School

TABLE_COLUMNS = ("urn", "name", "la", "academic_year", "category", "causing_concern", "decided", "reasons")
APPROVER = "annual categorisation"


def table_row(p: dict) -> dict:
    decided = p["decided"]
    return {"urn": p["urn"], "name": p["name"], "la": p["la"], "academic_year": p["year"], "level": p["level"],
            "category": p["label"], "causing_concern": p["causing_concern"],
            "decided": f"{decided['label']} (decided {decided['on']})" if decided else "",
            "reasons": " ".join(p["reasons"])}


def write_table_csv(table: list[dict], as_of: date) -> str:
    """The whole proposal table as a CSV file in the reports folder (the flow's artifact shows a part)."""
    folder = reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"annual-categorisation-{safe_filename(as_of.isoformat())}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TABLE_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(table)
    return str(path)


def propose_categories(db: str | None, as_of: date, la: str | None = None, year: str | None = None,
                       simulation: bool = False, write_csv: bool = True) -> dict:
    """The year's proposals, nothing recorded: every open school of the authorities whose categorisation
    date has come (or of the authority `la` only), with the level its authority's scheme proposes and why,
    and the decision already made for the year, if any. `write_csv=False` for one child of a fanned-out
    run: the parent writes the whole table once (`merge_proposals`)."""
    check_as_of(as_of, simulation)
    with session_scope(db, writes=False) as session:
        rows = proposals(session, as_of, la=la, year=year, due_only=True)
    return proposal_summary(as_of, rows, write_csv)


def proposal_summary(as_of: date, rows: list[dict], write_csv: bool = True) -> dict:
    table = [table_row(p) for p in rows]
    to_decide = [p for p in rows if p["decided"] is None]
    return {"as_of": as_of.isoformat(), "schools": len(rows), "to_decide": len(to_decide),
            "already_decided": len(rows) - len(to_decide), "proposals": rows, "table": table,
            "table_csv": write_table_csv(table, as_of) if write_csv else None}


def proposal_authorities(db: str | None, as_of: date, simulation: bool = False) -> dict:
    """The LA names with an open school whose categorisation date has come: "order", in the order the
    proposal lists them (the database's), and "groups", by authority (one policy, or one name under the
    default policy; Tri-borough's boroughs are one): what a fanned-out proposal runs one child for each
    of, passing the group's first name as `la`. Reads only."""
    check_as_of(as_of, simulation)
    s = School.__table__.c
    with session_scope(db, writes=False) as session:
        names = session.connection().execute(select(s.la).where(s.status == "open").distinct()
                                             .order_by(s.la)).scalars().all()
    groups: dict[str, list[str]] = {}
    for name in names:
        policy = policy_for(name)
        if not policy.categories or policy.categorisation_date(year_for(policy, as_of)) > as_of:
            continue  # nothing to propose yet (proposals' due_only): no child for it
        groups.setdefault(fold(name) if policy.key == "default" else f"policy:{policy.key}", []).append(name)
    due = {name for group in groups.values() for name in group}
    return {"order": [name for name in names if name in due], "groups": list(groups.values())}


def merge_proposals(as_of: date, order: list[str], summaries: list[dict]) -> dict:
    """One proposal from the children of a fanned-out run, as the run over every authority gives it:
    rows in the order of the LA names `order` (the database's, from `proposal_authorities`), each
    authority's rows in its child's order (by URN); the whole table written once."""
    rank = {name: index for index, name in enumerate(order)}
    rows = sorted((row for summary in summaries for row in summary["proposals"]),
                  key=lambda row: rank.get(row["la"], len(rank)))
    urns = [row["urn"] for row in rows]
    if len(urns) != len(set(urns)):
        raise ValueError("a school was proposed by two children of one run")
    return proposal_summary(as_of, rows)


def _basis(reasons: list[str], changed_by_approver: str | None = None) -> list[str]:
    basis = list(reasons)
    if changed_by_approver:
        basis.append(changed_by_approver)
    return basis


def write_category_letter(session: Session, settings: MailSettings, directory: Directory, school, policy: Policy,
                          decision: Decision, basis: list[str], on: date, key: str) -> str:
    """The category letter to the school's headteacher and chair, queued for sending, in the caller's unit of
    work (an officer's own decision): "written", or why not."""
    rendered = render_category_letter(session, directory, school, policy, decision, basis, on)
    if isinstance(rendered, str):
        return rendered
    party_school, letter = rendered
    saved, created = save_letter(session, letter, key=key, urn=school.urn, case_id=None, on=on)
    if not created:
        return "written"  # its mails were queued with it, in the same transaction
    queue_category_mails(session, settings, school, party_school, letter, saved.key, decision.row.year, on,
                         letter_attachment(saved))
    return "written"


def record_categories(db: str | None, as_of: date, approved_by: str, changes: list[dict] | None = None,
                      la: str | None = None, year: str | None = None, simulation: bool = False,
                      write_letters: bool = True) -> dict:
    """Record the year's approved categories and write the letters.

    With `write_letters=False` the letters are left as orders (summary["letter_orders"]) for batches to write
    (flows/letter_batches.py); otherwise this process writes them, one batch, before returning.

    Each open school without a decision for the year gets the proposed level, or the approver's change
    ({"urn", "level", "reason"}); a school already decided this year keeps its decision unless changed here.
    A change naming a school or level that does not exist refuses the whole approval, nothing written.
    """
    check_as_of(as_of, simulation)
    approved_by = " ".join((approved_by or "").split())
    if not approved_by:
        raise Refused("the approval needs the approver's name")
    changed = []
    with session_scope(db) as session:
        rows = proposals(session, as_of, la=la, year=year, due_only=True)
        by_urn = {p["urn"]: p for p in rows}
        wanted = {}
        for change in changes or []:
            urn = str(change.get("urn", "")).strip()
            if urn not in by_urn:
                raise Refused(f"change for URN {urn!r}: not an open school in this categorisation")
            level = policy_for(by_urn[urn]["la"]).categories.level(str(change.get("level", "")).strip())
            if level is None:
                raise Refused(f"change for {urn}: level {change.get('level')!r} is not in the "
                              f"{policy_for(by_urn[urn]['la']).authority} scheme")
            wanted[urn] = (level.key, str(change.get("reason") or "").strip())
        # Locked, then the year's decisions read again: an officer's decision made meanwhile is kept.
        lock_schools(session, list(by_urn))
        decided_now = {year: decided_for_year(session, year, [p["urn"] for p in rows if p["year"] == year])
                       for year in {p["year"] for p in rows}}
        decisions: list[tuple[dict, Decision, str | None]] = []
        approved: list[tuple[dict, LaCategory]] = []
        for p in rows:
            change = wanted.get(p["urn"])
            if change is not None:
                reason = change[1] or f"Changed by {approved_by} on approving the year's categories."
                decision = set_category(session, p["urn"], change[0], as_of, reason, approved_by, year=p["year"],
                                        source=OFFICER)
                decisions.append((p, decision, f"The proposed category was {p['label']}; {approved_by} set "
                                               f"{decision.row.label} on approving the year's categories: {reason}"))
                changed.append(p["urn"])
            elif p["urn"] not in decided_now[p["year"]]:
                # The proposal as approved: written together (22,000 schools one by one took 30 s).
                approved.append((p, LaCategory(urn=p["urn"], year=p["year"], level=p["level"], label=p["label"],
                                               decided_on=as_of, reason=" ".join(p["reasons"]),
                                               decided_by=f"{APPROVER}, approved by {approved_by}",
                                               source=APPROVED)))
        session.add_all([row for _, row in approved])
        session.flush()
        decisions += [(p, Decision(row, None), None) for p, row in approved]
        recorded = len(decisions)
        # Only the decisions are written in this transaction; each letter that follows is an order (the
        # decision's id, the reasons it gives), written afterwards in batches (concerns.jobs.letterbatch).
        orders = [{"category": decision.row.id, "basis": _basis(p["reasons"], note)}
                  for p, decision, note in decisions if decision.changed]
        # A run that crashed after its commit and before its letters left decisions without a letter: the
        # rerun finds them decided and owes their letters still.
        orders += letters_owed(session, [(p, decided_now[p["year"]][p["urn"]]) for p in rows
                                         if p["urn"] not in wanted and p["urn"] in decided_now[p["year"]]])
    summary = {"as_of": as_of.isoformat(), "approved_by": approved_by, "schools": len(rows), "recorded": recorded,
               "changed": changed}
    if not write_letters:
        return {**summary, "letters": 0, "without_letter": [], "letter_orders": orders}
    written = write_letter_batch(db, orders, as_of, simulation)
    return {**summary, "letters": written["letters"] + written["already_written"],
            "without_letter": written["without_letter"]}


def run_annual_categorisation(db: str | None, as_of: date, simulation: bool = False,
                              approved_by: str | None = None) -> dict:
    """Propose the year's categories; with `approved_by`, record them and write the letters too."""
    proposed = propose_categories(db, as_of, simulation=simulation)
    if not approved_by:
        return {**proposed, "recorded": 0, "letters": 0, "awaiting_approval": True}
    recorded = record_categories(db, as_of, approved_by, simulation=simulation)
    return {**proposed, **recorded, "awaiting_approval": False}


def decide_category(session: Session, urn: str, level: str, on: date, reason: str, actor: str,
                    year: str | None = None, settings: MailSettings | None = None) -> dict:
    """An officer's decision on one school's category, in the caller's unit of work; when it changes the
    level for the year, the letter the policy asks for goes to the headteacher and chair."""
    school = get_school(session, urn)
    policy = policy_for(school.la)
    decision = set_category(session, school.urn, level, on, reason, actor, year=year, source=OFFICER)
    letter = "unchanged level: no letter"
    if decision.changed:
        directory = Directory(session, {school.la})
        key = category_letter_key(decision)
        letter = write_category_letter(session, settings or MailSettings.from_env(), directory, school, policy,
                                       decision, _basis([reason]), on, key)
    return {"urn": school.urn, "year": decision.row.year, "level": decision.row.level, "label": decision.row.label,
            "on": on.isoformat(), "previous": None if decision.previous is None else decision.previous.level,
            "letter": letter}


def set_category_with_letter(db: str | None, urn: str, level: str, on: date, reason: str, actor: str,
                             year: str | None = None) -> dict:
    """`decide_category` in a unit of work of its own (the command line)."""
    with session_scope(db) as session:
        return decide_category(session, urn, level, on, reason, actor, year=year)
