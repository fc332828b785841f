"""The demo authority through a term: the scheduled flows on the days they would run, and the officers'
own steps in between, so a new user sees reminders, escalations, invitations, reports and letters.

The flows run through Prefect's local mode (one ephemeral API for the whole demo); `use_prefect=False`
runs the same jobs directly, for a quick look without Prefect.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from concerns.casework import cases
from concerns.domain import resources
from concerns.notify.drafting import draft_letter
from concerns.store.db import session_scope

D = date.fromisoformat
# The demo's service head, who approves the year's categories (in production: in the Prefect UI).
DEMO_APPROVER = "Alex Morgan"
EXAMPLES = resources.EXAMPLES

# (day, what) where what is a flow name or an officer's step. In date order.
TERM: list[tuple[str, str | tuple]] = [
    ("2026-11-23", "annual-categorisation"),
    ("2026-11-23", "deadline-check"),
    # The warning notice given on 20 October is written up while its compliance period runs: once the school
    # is eligible for intervention the law no longer allows a warning notice to be drafted.
    ("2026-11-23", ("letter", "990402", "warning_notice", "warning-notice-990402.toml", "2026-10-20")),
    ("2026-11-24", ("event", "990301", "submit_statement_of_action", {"note": "Sent to Ofsted four days late"})),
    ("2026-11-25", "deadline-check"),
    ("2026-11-25", ("event", "990202", "submit_statement_of_action", {"note": "Sent to Ofsted and the diocese"})),
    ("2026-12-07", "deadline-check"),
    ("2026-12-07", ("event", "990402", "compliance_failed", {"note": "No chair appointed; budget not approved"})),
    ("2026-12-09", ("event", "990402", "notice_of_intervention", {"note": "Written notice: IEB proposed (s65)"})),
    ("2027-01-04", "termly-review"),
    ("2027-01-04", "hmi-reminders"),
    ("2027-01-04", "deadline-check"),
    ("2027-01-18", "deadline-check"),
    ("2027-02-01", "deadline-check"),
    ("2027-02-10", "deadline-check"),
    ("2027-02-17", ("event", "990401", "papers_sent", {})),
    ("2027-02-24", ("event", "990401", "progress_meeting", {"note": "Good progress in reading; maths slower"})),
    ("2027-02-24", ("event", "990401", "progress_judgement", {"note": "Reasonable progress"})),
    ("2027-02-24", ("event", "990301", "progress_meeting", {"note": "Statement of action on track"})),
    ("2027-02-24", ("event", "990301", "progress_judgement", {"note": "Reasonable progress"})),
    ("2027-02-24", "deadline-check"),
    ("2027-03-01", ("event", "990401", "minutes_filed", {})),
    ("2027-03-01", "deadline-check"),
    ("2027-03-22", "deadline-check"),
    ("2027-04-05", "termly-review"),
    ("2027-04-05", "hmi-reminders"),
    ("2027-04-05", "deadline-check"),
]


# What officers do between the flows, deadline by deadline: the event that meets each kind.
KEEPING_UP = {"meeting_papers": "papers_sent", "progress_meeting": "progress_meeting",
              "progress_judgement": "progress_judgement", "meeting_minutes": "minutes_filed",
              "hmi_monitoring": "hmi_monitoring_visit"}
# The schools whose officers fall behind in the story: their items go overdue and are escalated.
LEFT_UNDONE = ("990104", "990404")
JUDGEMENTS = ["Reasonable progress", "Good progress in reading; maths slower", "Reasonable progress",
              "Not yet enough progress: leadership capacity stretched"]


def _keep_up(db: str | None, day: date, leave: tuple[str, ...]) -> str:
    """Officers (and Ofsted's inspectors) do what was due by `day`: papers, meetings, progress judgements,
    minutes and HMI monitoring visits, each on its due date (or the first day history allows), except at
    the schools in `leave`, whose items stay overdue so the demo shows what escalation looks like."""
    from sqlmodel import select

    from models import Case, Deadline

    done = 0
    with session_scope(db) as session:
        rows = session.exec(select(Deadline, Case).join(Case, Case.id == Deadline.case_id).where(
            Deadline.status == "open", Deadline.due <= day, Deadline.kind.in_(list(KEEPING_UP)),
            Case.closed.is_(None)).order_by(Deadline.due, Deadline.urn, Deadline.id)).all()
        for deadline, case in rows:
            if deadline.urn in leave:
                continue
            on = max(deadline.due, case.last_event_on or deadline.due)
            note = JUDGEMENTS[done % len(JUDGEMENTS)] if deadline.kind == "progress_judgement" else ""
            try:
                cases.record_event(session, deadline.urn, KEEPING_UP[deadline.kind], on=min(on, day),
                                      pathway=case.pathway, actor="demo officer", note=note)
                done += 1
            except cases.Refused:
                continue  # not allowed in the case's state now (e.g. met by an earlier step)
    return f"kept up with {done} items due by {day.isoformat()}; left overdue at {', '.join(leave) or 'none'}"


def _officer_step(db: str | None, day: date, step: tuple) -> str:
    if step[0] == "event":
        _, urn, event, extra = step
        with session_scope(db) as session:
            result = cases.record_event(session, urn, event, on=day, actor="demo officer", **extra)
        return f"{urn} {event} -> {result.transitioned.to_state}"
    _, urn, kind, details_file, letter_day = step
    from concerns.notify.drafting import read_details

    with session_scope(db) as session:
        row, _, queued = draft_letter(session, urn, kind, D(letter_day), read_details(EXAMPLES / details_file),
                                      send=True)
    return f"{urn} {kind} drafted: {row.path} ({queued} e-mails queued)"


def run_demo_term(db: str | None, use_prefect: bool = True, echo: Callable[[str], None] = print,
                  prefect_log: str | Path | None = None) -> list[dict]:
    """`prefect_log`: where Prefect's own log lines go (the terminal shows the demo's story only)."""
    if use_prefect:
        from flows import FlowRunFailed, run_local

        def run_flow(name, as_of, db, simulation):
            # Sending has no as_of to check: it sends what is due now.
            extra = {"simulation": True} if simulation and name != "send-notifications" else {}
            if name == "annual-categorisation":
                extra["approved_by"] = DEMO_APPROVER
            try:
                return run_local(name, as_of, db, log_file=prefect_log, **extra)
            except FlowRunFailed as exc:
                return {**exc.summary, "run failed": str(exc)}
    else:
        from concerns import jobs

        direct = {"deadline-check": jobs.run_deadline_check, "termly-review": jobs.run_termly_review,
                  "hmi-reminders": jobs.run_hmi_reminders, "annual-categorisation": jobs.run_annual_categorisation}

        def run_flow(name, as_of, db, simulation):
            extra = {"approved_by": DEMO_APPROVER} if name == "annual-categorisation" else {}
            summary = direct[name](db, as_of, simulation=simulation, **extra)
            summary["sending"] = jobs.run_send_notifications(db)
            return summary

    log = []
    for day_text, what in TERM:
        day = D(day_text)
        if what == "deadline-check":
            # Before each morning's check, officers have done what fell due (except in the story's two schools).
            done = _keep_up(db, day, LEFT_UNDONE)
            if not done.startswith("kept up with 0 "):
                echo(f"{day_text}  officers: {done}")
        if isinstance(what, str):
            # The term lies ahead of today: a simulation, which the jobs refuse unless told so.
            summary = run_flow(what, day, db, simulation=True)
            echo(f"{day_text}  flow {what}: {_brief(summary)}")
            log.append({"on": day_text, "flow": what, "summary": summary})
        else:
            done = _officer_step(db, day, what)
            echo(f"{day_text}  officer: {done}")
            log.append({"on": day_text, "officer": done})
    if use_prefect:
        summary = run_flow("send-notifications", None, db, simulation=True)
        echo(f"final send-notifications: {_brief(summary)}")
    return log


def _brief(summary: dict) -> str:
    keys = ("reminders", "marked_missed", "digests_queued", "meetings_scheduled", "invitations_queued",
            "cases_reminded", "mails_queued", "letters", "sent", "failed", "deferred")
    parts = [f"{k.replace('_', ' ')} {summary[k]}" for k in keys if isinstance(summary.get(k), int)]
    sending = summary.get("sending") or summary.get("notifications") or {}
    if isinstance(sending, dict) and "sent" in sending:
        parts.append(f"sent {sending['sent']}")
    if summary.get("run failed"):
        parts.append(f"RUN FAILED: {summary['run failed']}")
    return ", ".join(parts) or "done"
