"""Daily deadline check (06:30 on working days): reminders before statutory and local deadlines,
"missed" the day after, escalation digests; then the outbox is sent.

Two tasks, in this order, so that retrying the check can never re-send mail: the check only queues
messages in the application's outbox (idempotently, keyed per deadline and step), and the sending
task that follows delivers what is pending and records each message as sent.
"""

from datetime import date
from typing import Any

from prefect import get_run_logger, task

from concerns.jobs import run_deadline_check
from concerns.jobs.deadline_check import STEP_WORDS
from flows.common import (
    JOB_TASK_OPTIONS,
    DatabaseURL,
    database_parameter,
    finish,
    flow,
    markdown_summary,
    publish_markdown,
    refused_as_of,
    resolve_as_of,
    run_job,
    run_name,
)
from flows.send_notifications import publish_send_summary, send_notifications_task

ARTIFACT_KEY = "deadline-check"


def check_summary_in_words(summary: dict) -> dict:
    """The check's summary as the operator reads it: each deadline once. A missed deadline that is
    escalated is one reminder, "missed and escalated", not a "missed" row and an "escalated" row (the
    job records both steps, one per officer told)."""
    items = list(summary.get("items") or [])
    escalated = {(i["school"], i["deadline"], i["due"]) for i in items if i["reminder"] == STEP_WORDS["escalated"]}
    kept = [i for i in items if not (i["reminder"] == STEP_WORDS["missed"]
                                     and (i["school"], i["deadline"], i["due"]) in escalated)]
    by_step = dict(summary.get("by_step") or {})
    if "missed" in by_step:
        by_step["missed"] -= len(items) - len(kept)
        if by_step["missed"] <= 0:
            del by_step["missed"]
    items = kept
    return {**summary, "reminders": len(items), "by_step": by_step, "items": items}


@task(name="deadline-check-job", task_run_name="deadline-check-job-{as_of}", **JOB_TASK_OPTIONS)
async def deadline_check_task(db: str | None, as_of: date, offsets: tuple[int, ...] | None,
                              simulation: bool = False) -> dict:
    # offsets None: the job's (and each authority's) own reminder offsets.
    return await run_job(run_deadline_check, db, as_of, offsets, simulation)


@flow(name="deadline-check", flow_run_name=run_name("deadline-check"))
async def deadline_check_flow(as_of: date | None = None, db: DatabaseURL | None = None,
                              offsets: list[int] | None = None, simulation: bool = False) -> Any:
    """Check every open deadline as of `as_of` (default: today in Europe/London), queue the reminders
    and escalations due, mark missed deadlines, then send the outbox.

    `offsets`: working days before a deadline on which to remind (default: the job's, 10 and 3).
    `db`: database URL (default: $CONCERNS_DB, else sqlite:///concerns.db in the working directory).
    """
    if (refusal := refused_as_of(as_of, simulation)) is not None:
        return refusal
    day = resolve_as_of(as_of)
    db = database_parameter(db)
    summary = await deadline_check_task(db, day, tuple(offsets) if offsets is not None else None, simulation)
    await publish_markdown(ARTIFACT_KEY, markdown_summary(f"Deadline check {day.isoformat()}",
                                                          check_summary_in_words(summary)),
                           f"Deadline check as of {day.isoformat()}: reminders queued, deadlines missed")
    # Sending is its own task and the flow's last step: if it fails, the check is not re-run, and
    # anything left pending goes with the next 15-minute catch-up run.
    sent = await send_notifications_task(db)
    await publish_send_summary(sent)
    get_run_logger().info("as of %s: %s reminders, %s marked missed, %s digests queued; %s sent, %s deferred",
                          day, summary.get("reminders"), summary.get("marked_missed"),
                          summary.get("digests_queued"), sent.get("sent"), sent.get("deferred"))
    # The reminders are queued whatever happens to the mail; the run is red while any mail needs the
    # operator (every outstanding alarm, once a day).
    return finish({**summary, "notifications": sent}, sent.get("alarms") or [], "Deadline check")
