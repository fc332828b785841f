"""Annual categorisation (autumn): put every open school in the authority's category for the
academic year, and write each school's categorisation letter to its headteacher and chair.

Once per school and academic year (letters are keyed by both), so a re-run changes nothing. The
letters are queued in the outbox and go out with the next send-notifications run.
"""

from datetime import date

from prefect import flow, get_run_logger, task

from concerns.jobs import run_annual_categorisation
from flows.common import (
    JOB_TASK_OPTIONS,
    database_parameter,
    markdown_summary,
    publish_markdown,
    publish_table,
    resolve_as_of,
    run_job,
    run_name,
)

TABLE_KEY = "annual-categorisation"
SUMMARY_KEY = "annual-categorisation-summary"
# The artifact shows the schools causing concern first, then others, up to this many rows: the whole
# country is 22,000 rows, which Prefect stores as one JSON document (350 MB of peak memory). The whole
# table is the CSV file the job writes in the reports folder (summary["table_csv"]).
ARTIFACT_ROWS = 500


def artifact_rows(rows: list[dict], limit: int = ARTIFACT_ROWS) -> list[dict]:
    """At most `limit` rows: those causing concern first, each group in the job's order (authority, URN)."""
    ordered = [r for r in rows if r.get("causing_concern")] + [r for r in rows if not r.get("causing_concern")]
    return ordered[:limit]


@task(name="annual-categorisation-job", task_run_name="annual-categorisation-job-{as_of}", **JOB_TASK_OPTIONS)
async def annual_categorisation_task(db: str | None, as_of: date, simulation: bool = False) -> dict:
    return await run_job(run_annual_categorisation, db, as_of, simulation)


@flow(name="annual-categorisation", flow_run_name=run_name("annual-categorisation"))
async def annual_categorisation_flow(as_of: date | None = None, db: str | None = None, simulation: bool = False) -> dict:
    """Categorise every open school as of `as_of` (default: today in Europe/London).

    Publishes a table artifact "annual-categorisation" (the schools causing concern first, at most
    ARTIFACT_ROWS rows; the whole table is the CSV file named in its description) and a markdown summary
    "annual-categorisation-summary" (counts, letters written, schools left without a letter).
    """
    day = resolve_as_of(as_of)
    summary = await annual_categorisation_task(database_parameter(db), day, simulation)
    rows = summary.get("table") or []
    shown = artifact_rows(rows)
    rest = f"; the first {len(shown):,} of {len(rows):,} (causing concern first), all of them in " \
           f"{summary.get('table_csv')}" if len(shown) < len(rows) else ""
    await publish_table(TABLE_KEY, shown, f"School categories as of {day.isoformat()}{rest}")
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row.get("category"))] = counts.get(str(row.get("category")), 0) + 1
    await publish_markdown(SUMMARY_KEY,
                           markdown_summary(f"Annual categorisation {day.isoformat()}",
                                            {**summary, "schools_by_category": counts}, skip=("table",)),
                           f"Annual categorisation as of {day.isoformat()}: counts and letters")
    get_run_logger().info("as of %s: %s schools categorised, %s letters written, %s without a letter",
                          day, summary.get("schools"), summary.get("letters"),
                          len(summary.get("without_letter") or []))
    return summary
