"""The termly report to the assistant director: each school's picture, the term's moves, the counts.

Written in plain words for officers and members: per school its pathway, state, Ofsted category, the
authority's own category when the register has one (`la_category`), the judgement of progress from the
last term's meeting, what comes next and what is overdue, with the officer responsible named; the moves
since the start of last term (cases opened, closed, changed state); the counts as a small table; and
where the authority's own written procedure says something the law no longer says (docs/policy-drift.md).

It goes as the body of an HTML mail with the same report as a PDF attachment (to print and file), and is
kept under `CONCERNS_REPORTS` as PDF, HTML and a plain-text (markdown) copy, the copy Prefect shows.
Confidential notes never appear: the report goes to members.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlmodel import Session, select

from concerns.casework.views import deadlines_view, register
from concerns.domain import resources
from concerns.domain.drift import grouped, policy_drift
from concerns.domain.formatting import ukdate
from concerns.domain.policy import policy_for
from concerns.domain.rules import OFSTED_OWNED_KINDS
from concerns.domain.terms import Term
from concerns.domain.untrusted import safe_filename
from concerns.notify.directory import Directory
from concerns.notify.letterdata import reports_dir
from concerns.notify.outbox import (
    council_name,
    inline_attachment,
    mail_environment,
    queue,
    render_pair,
    sign_off,
)
from concerns.notify.wording import category, event, kind, pathway, plain_note, sentence, state
from concerns.output.mail import MailSettings
from concerns.output.mail.pdf import html_to_pdf
from models import Case, CaseEvent, School
from statemachines.pathways import SYSTEM_TRIGGERS

NEXT_STEPS = 3  # the next dated steps shown per school
PRINT_CSS = resources.REPORT_PRINT_CSS


def previous_term_start(policy, term: Term) -> date:
    terms = [t for y in (term.academic_year - 1, term.academic_year) for t in policy.terms.year(y)]
    index = next(i for i, t in enumerate(terms) if t.start == term.start)
    return terms[index - 1].start if index else term.start


def _people(directory: Directory, policy, la: str, role: str, urn: str) -> str:
    """"Priya Shah, senior adviser": who holds the role for the school, by name."""
    title = policy.title_of(role).lower()
    named = [p.name for p in directory.holders(la, role, urn) if not p.school_side]
    return f"{' and '.join(named)}, {title}" if named else f"no {title} on record"


def _lines(items: list[dict]) -> list[dict]:
    """One line per meeting: a meeting and the judgement of progress it makes on the same day are one
    step; the same step twice (a school on two pathways) is shown once."""
    out: list[dict] = []
    seen: dict[tuple, dict] = {}
    for item in items:
        meeting = item["kind"] in ("progress_meeting", "progress_judgement")
        key = (item["due"], "meeting" if meeting else item["kind"], item["who"])
        if key in seen:
            if meeting and seen[key]["kind"] != item["kind"]:
                seen[key]["what"] = "progress review meeting, with its judgement of progress"
            continue
        line = {**item, "what": "progress review meeting" if item["kind"] == "progress_meeting" else item["what"]}
        seen[key] = line
        out.append(line)
    return out


def _progress(events: list[CaseEvent]) -> str:
    """The judgement of progress from last term's meeting, in the words recorded with it."""
    judgements = [e for e in events if e.event == "progress_judgement"]
    meetings = [e for e in events if e.event == "progress_meeting"]
    if judgements:
        latest = judgements[-1]
        words = "recorded as confidential" if latest.confidential else (plain_note(latest.note) or "no words recorded")
        return f"{words} (meeting of {ukdate(latest.on, weekday=False)})"
    if meetings:
        return f"meeting held on {ukdate(meetings[-1].on, weekday=False)}; no judgement recorded"
    return "no progress meeting recorded last term"


def build_report(session: Session, directory: Directory, la: str, as_of: date, scheduled: int) -> dict:
    """The report's content for one authority, as plain data in words."""
    policy = policy_for(la)
    term = policy.terms.current_or_next_term(as_of)
    since = previous_term_start(policy, term)
    rows = register(session, as_of, la=la)
    open_cases = session.exec(select(Case).join(School, School.urn == Case.urn).where(
        School.la == la, Case.closed.is_(None), Case.opened <= as_of)).all()
    closed_cases = session.exec(select(Case).join(School, School.urn == Case.urn).where(
        School.la == la, Case.closed.is_not(None), Case.closed >= since, Case.closed <= as_of)).all()
    events = session.exec(select(CaseEvent, School, Case).join(School, School.urn == CaseEvent.urn)
                          .join(Case, Case.id == CaseEvent.case_id)
                          .where(School.la == la, CaseEvent.on >= since, CaseEvent.on <= as_of)
                          .order_by(CaseEvent.on, CaseEvent.id)).all()
    by_urn: dict[str, list[CaseEvent]] = {}
    for e, _, _ in events:
        by_urn.setdefault(e.urn, []).append(e)
    live = deadlines_view(session, as_of, la=la)

    schools = []
    overdue_all = []
    for row in rows:
        urn = row["urn"]
        mine = [d for d in live if d["urn"] == urn]
        overdue = _lines([{"due": date.fromisoformat(d["due"]), "kind": d["kind"],
                           "what": kind(d["kind"]) + (f" ({d['shown']}: did the school comply?)"
                                                      if d["shown"] != d["status"] else ""),
                           "who": _people(directory, policy, la, d["responsible"], urn)}
                          for d in sorted(mine, key=lambda d: d["due"]) if d["status"] == "missed"])
        upcoming = sorted((d for d in mine if d["status"] == "open" and date.fromisoformat(d["due"]) >= as_of),
                          key=lambda d: d["due"])
        next_steps = _lines([{"due": date.fromisoformat(d["due"]), "kind": d["kind"], "what": kind(d["kind"]),
                              "who": ("expected from Ofsted" if d["kind"] in OFSTED_OWNED_KINDS
                                      else _people(directory, policy, la, d["responsible"], urn))}
                             for d in upcoming])[:NEXT_STEPS]
        pathways = [pathway(c["pathway"]) for c in row["cases"]]
        schools.append({
            "urn": urn, "name": row["name"],
            "pathway": " and ".join(dict.fromkeys(pathways)),
            "state": "; ".join(dict.fromkeys(state(c["state"]) for c in row["cases"])),
            "ofsted_category": category(row.get("category")) or "none",
            "la_category": (f"{row['la_category']['label']} ({row['la_category']['year']})"
                            if row.get("la_category") else None),
            "progress": _progress(by_urn.get(urn, [])),
            "next_steps": next_steps, "overdue": overdue,
            "since": ukdate(date.fromisoformat(row["opened"]), weekday=False),
            "link_adviser": _people(directory, policy, la, "link_adviser", urn),
        })
        overdue_all += [{**o, "school": row["name"]} for o in overdue]

    moves = []
    for e, school, case in events:
        if e.event in SYSTEM_TRIGGERS or e.from_state == e.to_state:
            continue
        what = ("opened" if e.from_state == "start" else "closed" if e.to_state == "closed" else "moved")
        moves.append({"on": e.on, "school": school.name, "pathway": pathway(case.pathway), "what": what,
                      "event": event(e.event), "from_state": state(e.from_state), "to_state": state(e.to_state)})

    counts = []
    opened = Counter(c.pathway for c in open_cases if c.opened >= since)
    closed = Counter(c.pathway for c in closed_cases)
    now = Counter(c.pathway for c in open_cases)
    for key in sorted(set(now) | set(closed), key=lambda k: pathway(k)):
        counts.append({"pathway": pathway(key), "open": now[key], "opened": opened[key], "closed": closed[key]})
    by_state = [{"pathway": pathway(p), "state": state(s), "cases": n}
                for (p, s), n in sorted(Counter((c.pathway, c.state) for c in open_cases).items())]
    return {"la": la, "authority": council_name(la), "term": term.label, "term_words": sentence(term.label),
            "as_of": as_of, "since": since, "total": len(rows), "schools": schools, "moves": moves,
            "counts": counts, "by_state": by_state, "overdue": overdue_all, "scheduled": scheduled,
            "procedure": procedure_section(policy, as_of)}


def procedure_section(policy, as_of: date) -> dict | None:
    """Where the authority's own procedure has fallen behind the law on `as_of`; None when its policy says
    nothing of its procedure."""
    if policy.procedure is None:
        return None
    groups = grouped(policy_drift(policy, as_of))
    return {"title": policy.procedure.title, "written": policy.procedure.written,
            "statements": groups[0]["statements"] if groups else []}


def write_report(session: Session, settings: MailSettings, directory: Directory, la: str, as_of: date,
                 scheduled: int) -> dict:
    """Build, keep and mail the authority's termly report. Returns the summary the flow publishes."""
    report = build_report(session, directory, la, as_of, scheduled)
    env = mail_environment()  # the report's templates are beside the mails'
    fragment = env.get_template("report_body.html.j2").render(**report)
    document = env.get_template("report_document.html.j2").render(body=fragment, sign_off=sign_off(la), **report)
    markdown = env.get_template("report.md.j2").render(**report)

    folder = reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"termly-{safe_filename(la)}-{safe_filename(report['term'])}"
    path = folder / f"{stem}.md"
    path.write_text(markdown, encoding="utf-8")
    (folder / f"{stem}.html").write_text(document, encoding="utf-8")
    # The PDF is made for the people who receive it (about half a second a report: rendering it for
    # every authority of a national run with nobody to read it cost 70 s of 72, bench/README.md).
    _, readers = directory.reach(la, policy_for(la).role_for("service_head"))
    pdf_path = folder / f"{stem}.pdf"
    if readers:
        pdf = html_to_pdf(document, PRINT_CSS, title=f"Termly report, {report['term']}")
        pdf_path.write_bytes(pdf)

    subject = f"Termly report: schools causing concern, {report['term']}"
    intro = (f"Here is the termly report on the schools causing concern in {report['authority']}, "
             f"{report['term']}. It is below, and attached as a PDF to print or file.")
    # To the head of the service, in the authority's words (acts_as service_head), or up its chain.
    for person in readers:
        text, html = render_pair("report", recipient=person, intro=intro, report_text=markdown,
                                 report_html=fragment, authority=la, subject=subject)
        queue(session, key=f"termly-report:{la}:{report['term']}:{person.email}", kind="report", recipient=person,
              subject=subject, text=text, html=html, for_date=as_of, domain=settings.domain,
              attachments=[inline_attachment(pdf_path.name, pdf, "application/pdf")])
    table = [{"pathway": r["pathway"], "state": r["state"], "cases": r["cases"]} for r in report["by_state"]]
    moves = [{"on": m["on"].isoformat(), "school": m["school"], "pathway": m["pathway"], "what": m["event"],
              "from": m["from_state"], "to": m["to_state"]} for m in report["moves"]]
    overdue = [{"due": o["due"].isoformat(), "school": o["school"], "what": o["what"], "responsible": o["who"]}
               for o in report["overdue"]]
    return {"term": report["term"], "table": table, "moves": moves, "overdue": overdue, "markdown": markdown,
            "path": str(path), "pdf": str(pdf_path) if readers else None}
