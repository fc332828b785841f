"""What every flow shares: the `as_of` default, JSON-safe summaries, artifacts, task options.

The flows are deliberately thin. Each calls one task that wraps one job from `concerns.jobs` (one
task per batch, never per school: a Prefect task costs 4-11 ms and concurrent ones are slower still on
a small box, docs/decisions/0003-one-task-per-batch.md), then publishes the job's summary as artifacts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from prefect import get_run_logger
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.flows import Flow
from prefect.runtime import flow_run
from prefect.states import Failed, State
from pydantic import Field

from concerns.domain.clock import today
from concerns.jobs.deadline_check import STEP_WORDS

LONDON = ZoneInfo("Europe/London")


# Options for the task that wraps a job. Retrying (a busy or restarting database only) is safe because every job is idempotent and
# commits all or nothing: a run that failed half way left nothing behind, and one that succeeded
# changes nothing when repeated. The delays give a locked SQLite file or a restarting PostgreSQL time
# to come back. Prefect's result cache is off on purpose: "already done" is recorded in the
# application database, so results must not be replayed from a cache in PREFECT_HOME (wiping it
# would change behaviour, docs/decisions/0005-retries-and-idempotence.md).
def worth_retrying(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only what may pass by itself: a database that was busy or out of reach. A refusal (an
    `as_of` far ahead, a password in `db`, a rule) fails the same way every time, so it fails at once
    instead of after the retry delays."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    failure = state.data if isinstance(state.data, BaseException) else None
    return isinstance(failure, OperationalError | InterfaceError | ConnectionError | TimeoutError)


JOB_TASK_OPTIONS: dict[str, Any] = {
    "retries": 2,
    "retry_condition_fn": worth_retrying,
    "retry_delay_seconds": [60, 300],
    "cache_policy": NO_CACHE,
    "persist_result": False,
}

# Rows shown in a markdown summary before the rest is cut short: artifacts are for a glance in the
# UI; the full lists are in the returned summary and in the reports the jobs write.
MAX_ROWS = 50


class ConcernsFlow(Flow):
    """A Prefect flow whose `db` parameter is stored masked.

    Prefect writes a run's parameters to its own database (`flow_run.parameters`, shown in its UI) when it
    creates the run, before the flow's own check (database_parameter) can refuse a password in `db`. So
    the parameters are masked as they are serialised for Prefect: a password given by mistake reaches
    neither Prefect's database nor its UI, and the run still fails, saying where the password goes
    (CONCERNS_DB, or PGPASSWORD / ~/.pgpass on the worker)."""

    def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        from concerns.store.db import mask_url

        serialized = super().serialize_parameters(parameters)
        if isinstance(serialized.get("db"), str):
            serialized["db"] = mask_url(serialized["db"])
        return serialized


def flow(**options: Any) -> Callable[[Callable[..., Any]], ConcernsFlow]:
    """`@flow(name=..., ...)` as Prefect's, making a ConcernsFlow."""
    def decorate(fn: Callable[..., Any]) -> ConcernsFlow:
        return ConcernsFlow(fn=fn, **options)
    return decorate


# A database URL that carries no password (not `user:secret@`, not `?password=`), as a pattern in the
# deployment's parameter schema: Prefect's server checks a deployment run's parameters against it before it
# stores the run (enforce_parameter_schema), so a password typed into the Prefect UI or sent to its API is
# refused there, not stored. Only in the JSON schema (the lookaheads are Python's re, which the server uses;
# pydantic's own engine has none): a flow called directly is checked by database_parameter, and its
# parameters are masked as Prefect stores them (ConcernsFlow).
NO_PASSWORD_IN_URL = r"^(?![^?#]*://[^/?#@]*:[^/?#@]*@)(?![^#]*[?&][Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]=)"
DatabaseURL = Annotated[str, Field(
    description="database URL without a password (the password belongs in CONCERNS_DB or ~/.pgpass on the worker)",
    json_schema_extra={"pattern": NO_PASSWORD_IN_URL})]


def database_parameter(db: str | None) -> str | None:
    """The `db` parameter, refused if it carries a password: flow parameters are stored in Prefect's
    database and shown in its UI. The password belongs in CONCERNS_DB (or ~/.pgpass) on the worker."""
    from concerns.store.db import refuse_password_in_flow_parameter

    return refuse_password_in_flow_parameter(db) if db else db


def refused_as_of(as_of: date | None, simulation: bool) -> State | None:
    """A Failed state with one line naming the parameter and its value when `as_of` is refused (too far
    ahead for a run that is not a simulation), else None. An expected refusal is the operator's to
    correct, not a fault: no traceback, no retry."""
    from concerns.domain.clock import AS_OF_LEEWAY, ImplausibleDate, check_as_of
    from concerns.domain.formatting import ukdate

    try:
        check_as_of(as_of, simulation)
    except ImplausibleDate:
        return Failed(message=f"Refused: the parameter as_of is {as_of.isoformat()}, more than "
                              f"{AS_OF_LEEWAY.days} days after today ({ukdate(today())}); a run that far ahead would "
                              f"mark deadlines missed before they are due. Set the parameter simulation to true "
                              f"for a what-if run.")
    return None


# --- fanning a job out per authority (issue 22) ----------------------------------------------------------
#
# The termly review and the categorisation proposal can be run as one child per authority (a group of them
# when they must be done together, concerns.jobs.termly.authority_groups), then the children's summaries
# merged into the one the flow publishes. How, by the flow parameter `fan_out`:
#   "one-process"  the job over every authority in one task, as before (the default: the demo, the tests);
#   "processes"    one task per authority on a pool of `processes` local processes (Prefect's
#                  ProcessPoolTaskRunner): the work is CPU-bound Python, so threads would not help;
#   "deployments"  one run of the per-authority deployment per authority (prefect.yaml), on the same work
#                  pool: any worker, on any machine, takes the next one.
FAN_OUT_WAYS = ("one-process", "processes", "deployments")
MAX_PROCESSES = 16  # far above the cores of a council's box; a typo (200) would fork 200 interpreters
FanOut = Annotated[str, Field(
    description="how the authorities are shared out: one-process (all in one task), processes (one task per "
                "authority on a pool of local processes), deployments (one run per authority, any worker)",
    json_schema_extra={"enum": list(FAN_OUT_WAYS)})]
Processes = Annotated[int, Field(
    description=f"with fan_out processes: how many processes at once (1 to {MAX_PROCESSES}; the cores of the box)",
    json_schema_extra={"minimum": 1, "maximum": MAX_PROCESSES})]
# Prefect's server checks a deployment run's parameters against the enum and the bounds above; a flow
# called directly is checked by refused_fan_out (one line, nothing done), as `as_of` and `db` are.


def refused_fan_out(fan_out: object, processes: object) -> State | None:
    """A Failed state with one line naming the parameter and its value when `fan_out` or `processes` is
    not one the flow knows, else None."""
    if fan_out not in FAN_OUT_WAYS:
        return Failed(message=f"Refused: the parameter fan_out is {str(fan_out)[:40]!r}; it is one of "
                              f"{', '.join(FAN_OUT_WAYS)}.")
    if isinstance(processes, bool) or not isinstance(processes, int) or not 1 <= processes <= MAX_PROCESSES:
        return Failed(message=f"Refused: the parameter processes is {str(processes)[:40]!r}; it is a whole "
                              f"number from 1 to {MAX_PROCESSES}.")
    return None


def refused_authorities(las: object) -> State | None:
    """A Failed state with one line when the child's `las` is not a non-empty list of LA names (each one
    line, no control characters), else None."""
    from concerns.domain.untrusted import BadInput, check_name, printable

    if not isinstance(las, list) or not las or not all(isinstance(la, str) for la in las):
        return Failed(message=f"Refused: the parameter las is {printable(str(las))[:60]!r}; it is a list of "
                              "one or more authorities' names.")
    try:
        for la in las:
            check_name(la, "the parameter las: the authority")
    except BadInput as refusal:
        return Failed(message=f"Refused: {refusal}")
    return None


async def fan_out_children(way: str, groups: list[list[str]], child_task: Any, child_deployment: str,
                           parameters: Callable[[list[str]], dict[str, Any]], processes: int) -> list[dict]:
    """Run one child per group of authorities, `way` "processes" or "deployments", and return their
    summaries in the order of `groups`. A child that fails fails the run (after its own retries): the
    merged report would otherwise leave an authority out without saying so."""
    if not groups:
        return []
    if way == "processes":
        from prefect.task_runners import ProcessPoolTaskRunner

        with ProcessPoolTaskRunner(max_workers=min(processes, len(groups))) as runner:
            futures = [runner.submit(child_task, parameters(group)) for group in groups]
            # The futures block: waited for in a thread, the flow's event loop keeps Prefect's own work going.
            return await asyncio.to_thread(lambda: [future.result() for future in futures])
    if way == "deployments":
        from prefect.deployments import arun_deployment

        runs = await asyncio.gather(*(arun_deployment(name=child_deployment, parameters=parameters(group),
                                                     timeout=None, as_subflow=True) for group in groups))
        failed = [(group, run) for group, run in zip(groups, runs, strict=True) if not run.state.is_completed()]
        if failed:
            group, run = failed[0]
            raise RuntimeError(f"{len(failed)} of {len(groups)} children did not complete; the first, "
                               f"{run.name} for {', '.join(group)}, ended {run.state.name}: {run.state.message}")
        return [await run.state.aresult() for run in runs]
    raise ValueError(f"fan_out {way!r} runs no children")


def resolve_as_of(as_of: date | None) -> date:
    """The day the run is "as of": the given date (backfills, tests), else today in Europe/London."""
    return as_of if as_of is not None else today()


def jsonable(value: Any) -> Any:
    """A copy of `value` that JSON can encode: dates and times become ISO strings, paths strings,
    tuples and sets lists. Prefect artifacts and API payloads must be JSON (docs/decisions/0006-json-artifacts.md)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=str)
    if isinstance(value, Iterable) and not isinstance(value, bytes | bytearray):
        return [jsonable(v) for v in value]
    return str(value)


async def run_job(job: Callable[..., dict], *args: Any) -> dict:
    """Run a blocking job in a worker thread and return its JSON-safe summary.

    The jobs are plain synchronous Python (SQLAlchemy, smtplib); running one in a thread keeps the
    flow's event loop free for Prefect's own work (state updates, cancellation) meanwhile. The policies
    are checked against the machine's events and the letters first: a policy naming an event that does
    not exist fails the run at once (a refusal, never retried) instead of leaving deadlines nobody can meet.
    """
    from concerns.jobs.policycheck import check_loaded

    check_loaded()
    return jsonable(await asyncio.to_thread(job, *args))


def run_name(prefix: str) -> Callable[[], str]:
    """A flow-run namer giving "deadline-check-2026-11-22": the date the run is as of, even when the
    parameter was left empty (a plain "{as_of}" template would say "None")."""

    def name() -> str:
        as_of = flow_run.parameters.get("as_of")
        if isinstance(as_of, str):
            as_of = date.fromisoformat(as_of)
        return f"{prefix}-{resolve_as_of(as_of).isoformat()}"

    return name


def sending_run_name() -> str:
    """"send-notifications 2026-11-22 06:45": the sending flow runs every 15 minutes, so its runs are
    named by the London time they were due (scheduled) or started (by hand), and the list in the UI
    reads as a timetable rather than ~56 identical names a day."""
    when = flow_run.scheduled_start_time or datetime.now(LONDON)
    when = when.astimezone(LONDON) if when.tzinfo else when
    return f"send-notifications {when.replace(tzinfo=None).isoformat(' ', 'minutes')}"


# The jobs' summary keys as an operator reads them in the Prefect UI: an artifact is read by people,
# so it says "Deadlines marked missed", not "marked_missed".
LABELS: dict[str, str] = {
    "as_of": "As of",
    "examined": "Deadlines examined",
    "reminders": "Reminders raised",
    "by_step": "Reminders by urgency",
    "marked_missed": "Deadlines marked missed",
    "marked_passed": "Ofsted dates passed (watched, not missed)",
    "digests_queued": "Daily digests queued",
    "recipients": "Officers sent a digest",
    "unassigned": "Reminders with no officer to send them to (add the officer for the school's authority)",
    "items": "Reminders",
    **STEP_WORDS,  # the reminder steps ("before-10wd" …), as the deadline check words them
    "sent": "Messages sent",
    "failed": "Messages that failed",
    "deferred": "Messages waiting to be retried",
    "errors": "Delivery problems in this run",
    "alarms": "Needs the operator",
    "via": "Sent through",
    "notifications": "Sending",
    "term": "Term",
    "meetings_scheduled": "Progress meetings scheduled",
    "invitations_queued": "Invitations queued",
    "moves": "Moves since last term",
    "overdue": "Overdue",
    "reports": "Reports written",
    "cases_reminded": "Schools in the reminders",
    "mails_queued": "Mails queued",
    "schools": "Schools categorised",
    "to_decide": "Schools to decide this year",
    "already_decided": "Schools already decided this year",
    "recorded": "Categories recorded",
    "changed": "Schools the approver set differently",
    "approved_by": "Approved by",
    "awaiting_approval": "Waiting for approval",
    "table_csv": "The whole table",
    "letters": "Letters written",
    "without_letter": "Schools left without a letter",
    "schools_by_category": "Schools by category",
    "urn": "URN",
    "la": "Authority",
    "name": "School",
    "pathway": "Pathway",
    "state": "Stage",
    "cases": "Cases",
    "category": "Category",
    "academic_year": "Academic year",
    "causing_concern": "Causing concern",
    "expected_by": "Expected by",
    "on": "Date",
    "school": "School",
    "what": "What",
    "from": "From",
    "to": "To",
    "due": "Due",
    "responsible": "Officer responsible",
    "new_alarms": "New problems for the operator",
}


def label(key: Any) -> str:
    """The plain label for a summary key; unknown keys read as words, never as snake_case."""
    text = str(key)
    return LABELS.get(text) or text.replace("_", " ").replace("-", " ").capitalize()


def _cell(value: Any) -> str:
    # One markdown table cell: a "|" or a line break would break the row.
    text = "" if value is None else str(jsonable(value))
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_table(rows: list[Mapping[str, Any]], limit: int = MAX_ROWS) -> str:
    """Rows of dicts as a markdown table (columns in order of first appearance)."""
    if not rows:
        return "None."
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    lines = ["| " + " | ".join(_cell(label(c)) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n…and {len(rows) - limit} more.")
    return "\n".join(lines)


def markdown_summary(title: str, summary: Mapping[str, Any], skip: Iterable[str] = ()) -> str:
    """A job summary as markdown: scalars in one table, each list or mapping in its own section."""
    skipped = set(skip)
    scalars = {k: v for k, v in summary.items()
               if k not in skipped and not isinstance(v, Mapping | list | tuple)}

    def pairs(mapping: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{"What": label(k), "Number": v} for k, v in mapping.items()]

    parts = [f"# {title}", "", markdown_table(pairs(scalars), limit=len(scalars))]
    for key, value in summary.items():
        if key in skipped or key in scalars:
            continue
        parts += ["", f"## {label(key)}", ""]
        if isinstance(value, Mapping):
            parts.append(markdown_table(pairs(value)))
        elif value and all(isinstance(v, Mapping) for v in value):
            parts.append(markdown_table(list(value)))
        elif value:
            parts += [f"- {_cell(v)}" for v in list(value)[:MAX_ROWS]]
            if len(value) > MAX_ROWS:
                parts.append(f"- …and {len(value) - MAX_ROWS} more")
        else:
            parts.append("None.")
    return "\n".join(parts) + "\n"


async def publish_markdown(key: str, markdown: str, description: str) -> None:
    """A markdown artifact on the current flow run. Keys are lowercase-with-dashes (Prefect rejects
    others); the latest artifact under a key is what the UI's Artifacts page shows."""
    await acreate_markdown_artifact(key=key, markdown=markdown, description=description)


async def publish_table(key: str, rows: list[Mapping[str, Any]], description: str) -> None:
    await acreate_table_artifact(key=key, table=jsonable(rows), description=description)



def finish(summary: dict, alarms: Iterable[str], what: str) -> dict | State:
    """The flow's return value: its summary, or a Failed state when something needs the operator.

    A run that could not deliver mail must be red in the Prefect UI, not green: a Failed state is
    what the operator's automation reacts to. Each problem is logged as one line, and the message
    says how many there are and the first.
    """
    alarms = list(alarms)
    if not alarms:
        return summary
    logger = get_run_logger()
    for line in alarms:
        logger.error("%s", line)
    more = f" (and {len(alarms) - 1} more, listed in the log)" if len(alarms) > 1 else ""
    return Failed(message=f"{what}: {len(alarms)} message(s) need the operator: {alarms[0]}{more}",
                  data=summary)
