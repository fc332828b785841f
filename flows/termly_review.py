"""Termly review (start of each term): schedule every open case's progress meeting, invite the
attendees, and write the termly report (counts by pathway and state, moves, overdue items).

The job works out the term from the authority's policy file (the term `as_of` is in, or the next one
during a holiday) and does each case once per term, so the extra runs the schedule makes around
Easter (see prefect.yaml) change nothing. The invitations it queues go out with the next
send-notifications run.
"""

from datetime import date

from prefect import get_run_logger, task

from concerns.jobs import run_termly_review
from flows.common import (
    JOB_TASK_OPTIONS,
    DatabaseURL,
    database_parameter,
    flow,
    markdown_summary,
    publish_markdown,
    publish_table,
    refused_as_of,
    resolve_as_of,
    run_job,
    run_name,
)

TABLE_KEY = "termly-review"
REPORT_KEY = "termly-review-report"


@task(name="termly-review-job", task_run_name="termly-review-job-{as_of}", **JOB_TASK_OPTIONS)
async def termly_review_task(db: str | None, as_of: date, simulation: bool = False) -> dict:
    return await run_job(run_termly_review, db, as_of, simulation)


@flow(name="termly-review", flow_run_name=run_name("termly-review"))
async def termly_review_flow(as_of: date | None = None, db: DatabaseURL | None = None, simulation: bool = False) -> dict:
    """Run the termly review as of `as_of` (default: today in Europe/London).

    Publishes a table artifact "termly-review" (open cases by pathway and state) and a markdown
    artifact "termly-review-report" (the whole report, as mailed to the assistant director).
    """
    if (refusal := refused_as_of(as_of, simulation)) is not None:
        return refusal
    day = resolve_as_of(as_of)
    summary = await termly_review_task(database_parameter(db), day, simulation)
    term = summary.get("term") or "no open cases"
    await publish_table(TABLE_KEY, summary.get("table") or [],
                        f"Open cases by pathway and state, {term} (as of {day.isoformat()})")
    # The job's report when there is one; with no open case anywhere it writes none, so the artifact
    # says so rather than being blank.
    report = summary.get("markdown") or markdown_summary(f"Termly review {day.isoformat()}", summary,
                                                         skip=("markdown",))
    await publish_markdown(REPORT_KEY, report, f"Termly report, {term} (as of {day.isoformat()})")
    get_run_logger().info("%s: %s meetings scheduled, %s invitations queued, %s overdue", term,
                          summary.get("meetings_scheduled"), summary.get("invitations_queued"),
                          len(summary.get("overdue") or []))
    return summary
