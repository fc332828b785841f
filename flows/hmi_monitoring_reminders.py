"""HMI monitoring reminders (start of each term, and again after half term): tell link advisers
which of their schools expect Ofsted monitoring this term.

Each case is reminded once per term (the job records it on the case), so the mid-term run only
reaches schools that entered a category since the start-of-term run. The mails go out with the next
send-notifications run.
"""

from datetime import date

from prefect import get_run_logger, task

from concerns.jobs import run_hmi_reminders
from flows.common import (
    JOB_TASK_OPTIONS,
    DatabaseURL,
    database_parameter,
    flow,
    markdown_summary,
    publish_markdown,
    refused_as_of,
    resolve_as_of,
    run_job,
    run_name,
)

ARTIFACT_KEY = "hmi-reminders"


@task(name="hmi-reminders-job", task_run_name="hmi-reminders-job-{as_of}", **JOB_TASK_OPTIONS)
async def hmi_reminders_task(db: str | None, as_of: date, simulation: bool = False) -> dict:
    return await run_job(run_hmi_reminders, db, as_of, simulation)


@flow(name="hmi-reminders", flow_run_name=run_name("hmi-reminders"))
async def hmi_reminders_flow(as_of: date | None = None, db: DatabaseURL | None = None, simulation: bool = False) -> dict:
    """Queue this term's HMI monitoring reminders as of `as_of` (default: today in Europe/London)."""
    if (refusal := refused_as_of(as_of, simulation)) is not None:
        return refusal
    day = resolve_as_of(as_of)
    summary = await hmi_reminders_task(database_parameter(db), day, simulation)
    await publish_markdown(ARTIFACT_KEY,
                           markdown_summary(f"HMI monitoring reminders {day.isoformat()}", summary),
                           f"HMI monitoring reminders as of {day.isoformat()}")
    get_run_logger().info("as of %s: %s cases reminded, %s mails queued, %s without an adviser", day,
                          summary.get("cases_reminded"), summary.get("mails_queued"),
                          len(summary.get("unassigned") or []))
    return summary
