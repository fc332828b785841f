"""The annual categorisation's letters, written in batches that Prefect spreads out.

After the approval the decisions are recorded in one transaction and the letters become orders
(concerns.jobs.letterbatch); this module writes them in batches of `batch_size`:

- on one machine, over a pool of `processes` processes (Prefect's ProcessPoolTaskRunner: rendering a PDF is
  CPU-bound, so threads would take turns on one core), one task run per batch;
- across machines, as one run of the deployment `letter-batch` per batch on the work pool
  `concerns-process`, which any worker polling the pool may take; the parent waits for them all.

Either way a batch retried after a crash, or two batches given the same orders, write each letter once and
queue each mail once (the database decides, concerns/jobs/letterbatch.py). What the parent reports is read
back from the database afterwards, not summed from the batches' returns: a deployment run's return is not
kept (persist_result is off), and the database is what counts.
"""

from __future__ import annotations

import asyncio
from datetime import date

from prefect import get_run_logger, task
from prefect.deployments import run_deployment
from prefect.states import Failed
from prefect.task_runners import ProcessPoolTaskRunner

from concerns.casework.cases import Refused
from concerns.jobs.letterbatch import (
    DEFAULT_BATCH_SIZE,
    check_batch_size,
    check_orders,
    in_batches,
    letters_in_database,
    write_letter_batch,
)
from flows.common import (
    JOB_TASK_OPTIONS,
    DatabaseURL,
    database_parameter,
    flow,
    jsonable,
    refused_as_of,
    run_job,
)

# The deployment each batch runs as when the batches go to the work pool's workers (prefect.yaml).
LETTER_BATCH_DEPLOYMENT = "letter-batch/letter-batch"
# Processes on one machine: one per core is the most that helps; beyond 16 a box is better split into workers.
PROCESSES_RANGE = (1, 16)
DEFAULT_PROCESSES = 2


def check_processes(processes: object) -> int:
    low, high = PROCESSES_RANGE
    if isinstance(processes, bool) or not isinstance(processes, int) or not low <= processes <= high:
        raise Refused(f"letter processes {processes!r}: between {low} and {high} processes write the letters")
    return processes


@task(name="write-letters", task_run_name="write-letters-{as_of}-batch-{number}", **JOB_TASK_OPTIONS)
def write_letters_task(db: str | None, orders: list[dict], as_of: date, simulation: bool = False,
                       number: int = 1) -> dict:
    """One batch, in whichever process the task runner gives it (a process of the pool, or the flow's own)."""
    from concerns.jobs.policycheck import check_loaded

    check_loaded()
    return jsonable(write_letter_batch(db, orders, as_of, simulation))


@flow(name="letters-in-processes", task_runner=ProcessPoolTaskRunner(max_workers=DEFAULT_PROCESSES))
async def letters_in_processes_flow(batches: list[list[dict]], as_of: date, db: DatabaseURL | None = None,
                                    simulation: bool = False) -> list[dict]:
    """Each batch a task run in the flow's process pool; waits for them all."""
    futures = [write_letters_task.submit(db, batch, as_of, simulation, number)
               for number, batch in enumerate(batches, start=1)]
    return await asyncio.to_thread(lambda: [future.result() for future in futures])


@flow(name="letter-batch", flow_run_name="letter-batch-{as_of}")
def letter_batch_flow(orders: list[dict], as_of: date, db: DatabaseURL | None = None, simulation: bool = False):
    """One batch of the annual categorisation's letters (the orders its parent run gave), on whichever worker of
    the pool takes the run."""
    if (refusal := refused_as_of(as_of, simulation)) is not None:
        return refusal
    try:
        orders = check_orders(orders)
    except Refused as exc:
        return Failed(message=f"Refused: {exc}")
    return write_letters_task(database_parameter(db), orders, as_of, simulation)


async def write_letters(db: str | None, orders: list[dict], day: date, simulation: bool,
                        batch_size: int = DEFAULT_BATCH_SIZE, processes: int = DEFAULT_PROCESSES,
                        on_workers: bool = False) -> dict:
    """Write the orders' letters in batches (on this machine's processes, or as deployment runs on the
    pool's workers), then read back from the database how many letters there are and which schools have none."""
    logger = get_run_logger()
    processes = check_processes(processes)
    # On this machine's pool, batches evened out over its processes; a worker's runs keep the size given.
    batches = in_batches(orders, check_batch_size(batch_size), shares=1 if on_workers else processes)
    failed: list[str] = []
    if not batches:
        return {"letters": 0, "without_letter": [], "letter_batches": 0, "failed_batches": failed}
    if on_workers:
        runs = await asyncio.gather(*(
            run_deployment(LETTER_BATCH_DEPLOYMENT, timeout=None, as_subflow=True,
                           flow_run_name=f"letter-batch-{day.isoformat()}-{number}-of-{len(batches)}",
                           parameters={"orders": batch, "as_of": day.isoformat(), "db": db, "simulation": simulation})
            for number, batch in enumerate(batches, start=1)))
        failed = [run.name for run in runs if not run.state or not run.state.is_completed()]
    elif processes == 1:
        for number, batch in enumerate(batches, start=1):
            await asyncio.to_thread(write_letters_task, db, batch, day, simulation, number)
    else:
        runner = ProcessPoolTaskRunner(max_workers=min(processes, len(batches)))
        await letters_in_processes_flow.with_options(task_runner=runner)(batches, day, db, simulation)
    found = await run_job(letters_in_database, db, orders)
    logger.info("%s letters in %s batches (%s), %s schools without a letter", found["letters"], len(batches),
                "on the pool's workers" if on_workers else f"{processes} process(es)", len(found["without_letter"]))
    if failed:
        logger.error("%s of %s letter batches did not complete: %s", len(failed), len(batches), ", ".join(failed))
    return {**found, "letter_batches": len(batches), "failed_batches": failed}
