"""Data import (on demand, or monthly when the new files are downloaded): an Ofsted management-
information CSV, or a GIAS establishments or links CSV, through the pathway state machine.

One task for the whole file (never one per school). Importing the same file twice changes nothing,
so a retry is safe; a file that is not of the kind asked for is refused before anything is written.
"""

from datetime import date
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.states import Failed

from concerns.domain.clock import check_as_of
from concerns.ingest.load import import_file
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

ARTIFACT_KEY = "data-import"


def _import(db: str | None, kind: str, path: str, as_of: date, la: str | None, simulation: bool) -> dict:
    # An import "as of" a date far ahead would bury live deadlines as history: refused unless asked for.
    check_as_of(as_of, simulation)
    return import_file(db, kind, Path(path), as_of=as_of, la=la).to_dict()


@task(name="data-import-job", task_run_name="data-import-{kind}-{as_of}", **JOB_TASK_OPTIONS)
async def data_import_task(db: str | None, kind: str, path: str, as_of: date, la: str | None,
                           simulation: bool = False) -> dict:
    return await run_job(_import, db, kind, path, as_of, la, simulation)


@flow(name="data-import", flow_run_name=run_name("data-import"))
async def data_import_flow(kind: str, path: str, as_of: date | None = None, db: DatabaseURL | None = None,
                           la: str | None = None, simulation: bool = False) -> Any:
    """Import `path` (kind "ofsted" or "gias"); deadlines already past on `as_of` become history.

    Publishes a markdown artifact "data-import" with the summary: rows read, schools new / changed,
    cases opened / moved / closed, and every refused row with its line number and reason.
    """
    # Expected refusals, the operator's to correct: the run ends Failed with one line, no traceback.
    if kind not in ("ofsted", "gias"):
        return Failed(message=f"Refused: the parameter kind is {kind!r}; it must be 'ofsted' or 'gias'.")
    if not Path(path).is_file():
        return Failed(message=f"Refused: the parameter path is {path}, and there is no such file on this worker "
                              f"(download the month's file there first, or give its full path).")
    if (refusal := refused_as_of(as_of, simulation)) is not None:
        return refusal
    day = resolve_as_of(as_of)
    summary = await data_import_task(database_parameter(db), kind, path, day, la, simulation)
    await publish_markdown(ARTIFACT_KEY, markdown_summary(f"Import of {Path(path).name} ({kind})", summary),
                           f"{kind} import of {Path(path).name} as of {day.isoformat()}")
    get_run_logger().info("%s import of %s: %s", kind, path, {k: v for k, v in summary.items()
                                                           if isinstance(v, int)})
    return summary
