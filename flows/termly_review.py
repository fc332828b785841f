"""Termly review (start of each term): schedule every open case's progress meeting, invite the
attendees, and write the termly report (counts by pathway and state, moves, overdue items).

The job works out the term from the authority's policy file (the term `as_of` is in, or the next one
during a holiday) and does each case once per term, so the extra runs the schedule makes around
Easter (see prefect.yaml) change nothing. The invitations it queues go out with the next
send-notifications run.

With `fan_out` "processes" or "deployments" the run lists the authorities with an open case (in groups
that share no officer, concerns.jobs.termly.authority_groups), runs one child per group (a task on a pool of
local processes, or a run of the deployment "termly-review-authority" that any worker on the pool takes),
and merges the children's summaries: the same table and report as one process over every authority
(flows/common.py; docs/production.md, "The termly review and the categorisation per authority").
"""

from datetime import date

from prefect import get_run_logger, task
from prefect.runtime import task_run

from concerns.jobs import run_termly_review
from concerns.jobs.termly import merge_termly_summaries, termly_authorities
from flows.common import (
    JOB_TASK_OPTIONS,
    DatabaseURL,
    FanOut,
    Processes,
    database_parameter,
    fan_out_children,
    flow,
    markdown_summary,
    publish_markdown,
    publish_table,
    refused_as_of,
    refused_authorities,
    refused_fan_out,
    resolve_as_of,
    run_job,
    run_name,
)

TABLE_KEY = "termly-review"
REPORT_KEY = "termly-review-report"
# The per-authority deployment (prefect.yaml) a run with fan_out "deployments" starts once per group.
CHILD_DEPLOYMENT = "termly-review-authority/termly-review-authority"


def _child_run_name() -> str:
    """"termly-review-2027-01-04-Luton": the day and the authorities, so each child reads in the UI."""
    parameters = task_run.parameters
    return f"termly-review-{parameters['as_of']}-{'+'.join(parameters['las'])}"[:120]


@task(name="termly-review-job", task_run_name="termly-review-job-{as_of}", **JOB_TASK_OPTIONS)
async def termly_review_task(db: str | None, as_of: date, simulation: bool = False) -> dict:
    return await run_job(run_termly_review, db, as_of, simulation)


@task(name="termly-review-authorities", task_run_name="termly-review-authorities-{as_of}", **JOB_TASK_OPTIONS)
async def termly_authorities_task(db: str | None, as_of: date, simulation: bool = False) -> list[list[str]]:
    return await run_job(termly_authorities, db, as_of, simulation)


@task(name="termly-review-authority-job", task_run_name=_child_run_name, **JOB_TASK_OPTIONS)
async def termly_review_authority_task(db: str | None, as_of: date, las: list[str], simulation: bool = False) -> dict:
    """One child: the review of a group of authorities (one transaction: all or nothing, so a retry after a
    failure half way does each case once)."""
    return await run_job(run_termly_review, db, as_of, simulation, las)


@flow(name="termly-review", flow_run_name=run_name("termly-review"))
async def termly_review_flow(as_of: date | None = None, db: DatabaseURL | None = None, simulation: bool = False,
                             fan_out: FanOut = "one-process", processes: Processes = 2) -> dict:
    """Run the termly review as of `as_of` (default: today in Europe/London), in one process or fanned
    out per authority (`fan_out`: one-process, processes with `processes` at once, or deployments).

    Publishes a table artifact "termly-review" (open cases by pathway and state) and a markdown
    artifact "termly-review-report" (the whole report, as mailed to the assistant director).
    """
    if (refusal := refused_as_of(as_of, simulation) or refused_fan_out(fan_out, processes)) is not None:
        return refusal
    day = resolve_as_of(as_of)
    db = database_parameter(db)
    if fan_out == "one-process":
        summary = await termly_review_task(db, day, simulation)
    else:
        groups = await termly_authorities_task(db, day, simulation)
        children = await fan_out_children(
            fan_out, groups, termly_review_authority_task, CHILD_DEPLOYMENT,
            lambda las: {"db": db, "as_of": day, "las": las, "simulation": simulation}, processes)
        summary = merge_termly_summaries(day, children)
        get_run_logger().info("%s authorities in %s children (%s)", sum(map(len, groups)), len(groups), fan_out)
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


@flow(name="termly-review-authority", flow_run_name=run_name("termly-review-authority"), persist_result=True,
      result_serializer="json")
async def termly_review_authority_flow(las: list[str], as_of: date | None = None, db: DatabaseURL | None = None,
                                       simulation: bool = False) -> dict:
    """One child of a termly review fanned out over deployments: the review of the authorities `las` (a group
    the parent listed), returning their part of the summary. Its result is kept (persist_result) because
    the parent, on whatever machine, reads it back: across machines the result storage must be one both
    reach (docs/production.md)."""
    if (refusal := refused_as_of(as_of, simulation) or refused_authorities(las)) is not None:
        return refusal
    return await termly_review_authority_task(database_parameter(db), resolve_as_of(as_of), las, simulation)
