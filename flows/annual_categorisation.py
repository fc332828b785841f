"""Annual categorisation: propose every open school's category for the academic year, wait for the service
head's approval in the Prefect UI, then record the categories and write each school's letter.

1. The policy's scheme proposes a level for each open school, with its reasons (nothing recorded): a table
   artifact and a summary of the moves since the category in force.
2. The run pauses with a form (Prefect's pause_flow_run with wait_for_input): the service head reads the
   table, changes any school's level with a reason, and approves. Until then nothing is recorded and no
   letter goes. With no answer within `approval_hours` the run fails and says so: nothing was sent.
3. The approved categories are recorded (an audited decision per school) and the letters queued for the
   next send-notifications run. Letters are keyed by school and year, so a re-run sends nothing twice.

`approved_by` given as a parameter (the command line's `--approved-by`, the demo) is the approval itself;
`wait_for_approval=False` only proposes.

With `fan_out` "processes" or "deployments" step 1 runs one child per authority (a task on a pool of local
processes, or a run of the deployment "categorisation-proposal-authority" that any worker on the pool takes)
and merges their proposals into the same table, CSV file and form (flows/common.py). Recording stays one
task: it waits for a person, and writes each school's letter in one transaction.
"""

from datetime import date

from prefect import get_run_logger, task
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.states import Completed, Failed
from pydantic import BaseModel, Field

from concerns.casework.cases import Refused
from concerns.domain.drift import judgement_regime_superseded
from concerns.domain.formatting import ukdate
from concerns.domain.policy import policy_for
from concerns.jobs.categorisation import (
    merge_proposals,
    proposal_authorities,
    propose_categories,
    record_categories,
)
from concerns.jobs.letterbatch import DEFAULT_BATCH_SIZE, check_batch_size
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
from flows.letter_batches import DEFAULT_PROCESSES, check_processes, write_letters

TABLE_KEY = "annual-categorisation"
SUMMARY_KEY = "annual-categorisation-summary"
# The artifact shows the schools causing concern first, then others, up to this many rows: the whole
# country is 22,000 rows, which Prefect stores as one JSON document (350 MB of peak memory). The whole
# table is the CSV file the job writes in the reports folder (summary["table_csv"]).
ARTIFACT_ROWS = 500
MOVES_SHOWN = 40
# The per-authority deployment (prefect.yaml) a run with fan_out "deployments" starts once per authority.
CHILD_DEPLOYMENT = "categorisation-proposal-authority/categorisation-proposal-authority"


class LevelChange(BaseModel):
    urn: str = Field(description="The school's URN")
    level: str = Field(description="The level you set instead of the proposal (the scheme's own key, e.g. 3 or C)")
    reason: str = Field(description="Why: it goes in the school's category history and its letter")


class CategoryApproval(RunInput):
    approve: bool = Field(False, description="Approve the proposed categories (with your changes below): the "
                                             "categories are recorded and the letters go to the schools")
    approved_by: str = Field("", description="Your name, as it will stand in each school's category history")
    changes: list[LevelChange] = Field(default_factory=list,
                                       description="Schools whose level you set differently from the proposal")


def artifact_rows(rows: list[dict], limit: int = ARTIFACT_ROWS) -> list[dict]:
    """At most `limit` rows: those causing concern first, each group in the job's order (authority, URN)."""
    ordered = [r for r in rows if r.get("causing_concern")] + [r for r in rows if not r.get("causing_concern")]
    return [{"URN": r["urn"], "School": r["name"], "Authority": r["la"], "Year": r["academic_year"],
             "Proposed": r["category"], "Already decided": r["decided"], "Why": r["reasons"]}
            for r in ordered[:limit]]


def superseded_regime_lines(las: list[str], day: date) -> list[str]:
    """One line per authority whose categorisation rests on a judgement regime the law has since replaced
    (its procedure speaks of Ofsted grades that no longer exist, say "overall effectiveness"): the words
    and what the law says now, so the approver reads the proposals knowing it (docs/policy-drift.md)."""
    lines: list[str] = []
    seen: set[str] = set()
    for la in las:
        policy = policy_for(la)
        if policy.key in seen:
            continue
        seen.add(policy.key)
        rows = judgement_regime_superseded(policy, day)
        current = [r for r in rows if r.change == "in_force"]
        if not rows or not current:
            continue
        sections = list(dict.fromkeys(r.section for r in rows))
        now = current[-1]
        lines.append(f"**{policy.authority}'s categories rest on a judgement regime the law has replaced.** "
                     f"Its {policy.procedure.title} (written {ukdate(policy.procedure.written, weekday=False)}) "
                     f"says, in {', '.join(sections)}: \u201c{rows[0].says.rstrip('.')}\u201d. Since "
                     f"{ukdate(now.since, weekday=False)}: {now.title}. Check each proposal against what "
                     "inspection reports say now before approving.")
    return lines


def approval_form_text(summary: dict, day: date) -> str:
    """What the service head reads above the form: the counts, and the schools whose level would move."""
    rows = summary["proposals"]
    counts: dict[str, int] = {}
    for p in rows:
        counts[p["label"]] = counts.get(p["label"], 0) + 1
    moves = [p for p in rows if p["decided"] is None and p.get("in_force") and p["in_force"]["level"] != p["level"]]
    lines = [f"**Categories proposed as of {day.isoformat()}** for {len(rows):,} schools "
             f"({summary['to_decide']:,} to decide; {summary['already_decided']:,} already decided this year, "
             "kept unless you change them). The table is the artifact "
             f"\"{TABLE_KEY}\"; every school is in {summary['table_csv']}.", "",
             "| Proposed category | Schools |", "|---|---|"]
    lines += [f"| {label} | {n:,} |" for label, n in counts.items()]
    if not any(p.get("in_force") for p in rows):
        lines += ["", "No school has a category in force yet: every category above is new."]
    else:
        lines += ["", f"**Schools whose category would change** ({len(moves):,}):", ""]
    lines += [f"- {p['urn']} {p['name']}: {p['in_force']['label']} to **{p['label']}**. {' '.join(p['reasons'])}"
              for p in moves[:MOVES_SHOWN]]
    if len(moves) > MOVES_SHOWN:
        lines.append(f"- and {len(moves) - MOVES_SHOWN:,} more (see the table)")
    superseded = superseded_regime_lines(list(dict.fromkeys(p["la"] for p in rows if p.get("la"))), day)
    for line in superseded:
        lines += ["", line]
    lines += ["", "Tick *approve*, give your name, and add a change for any school whose level you set "
                  "differently. Nothing is recorded and no letter goes until you approve."]
    return "\n".join(lines)


def _period(seconds: int) -> str:
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        if seconds >= size and seconds % size == 0 or size == 1:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    raise AssertionError("unreachable: every whole number of seconds is some number of seconds")


@task(name="propose-categories", task_run_name="propose-categories-{as_of}", **JOB_TASK_OPTIONS)
async def propose_task(db: str | None, as_of: date, simulation: bool = False) -> dict:
    return await run_job(propose_categories, db, as_of, None, None, simulation)


@task(name="propose-categories-authorities", task_run_name="propose-categories-authorities-{as_of}",
      **JOB_TASK_OPTIONS)
async def proposal_authorities_task(db: str | None, as_of: date, simulation: bool = False) -> dict:
    return await run_job(proposal_authorities, db, as_of, simulation)


@task(name="propose-categories-authority", task_run_name="propose-categories-{as_of}-{la}", **JOB_TASK_OPTIONS)
async def propose_authority_task(db: str | None, as_of: date, la: str, simulation: bool = False) -> dict:
    """One child: one authority's proposals (under all its names), without the CSV file the parent writes."""
    return await run_job(propose_categories, db, as_of, la, None, simulation, False)


async def proposed_by_authority(db: str | None, day: date, simulation: bool, fan_out: str, processes: int) -> dict:
    """Step 1 fanned out: the authorities due, one child each, their proposals merged as one run's."""
    due = await proposal_authorities_task(db, day, simulation)
    groups = due["groups"]
    children = await fan_out_children(fan_out, groups, propose_authority_task, CHILD_DEPLOYMENT,
                                      lambda las: {"db": db, "as_of": day, "la": las[0], "simulation": simulation},
                                      processes)
    get_run_logger().info("%s authorities proposed in %s children (%s)", len(groups), len(groups), fan_out)
    return await run_job(merge_proposals, day, due["order"], children)


@task(name="record-categories", task_run_name="record-categories-{as_of}", **JOB_TASK_OPTIONS)
async def record_task(db: str | None, as_of: date, approved_by: str, changes: list[dict],
                      simulation: bool = False) -> dict:
    # The decisions only, in one transaction; the letters are left as orders for the batches.
    return await run_job(record_categories, db, as_of, approved_by, changes, None, None, simulation, False)


@flow(name="annual-categorisation", flow_run_name=run_name("annual-categorisation"))
async def annual_categorisation_flow(as_of: date | None = None, db: DatabaseURL | None = None, simulation: bool = False,
                                     approved_by: str | None = None, wait_for_approval: bool = True,
                                     approval_hours: float = 72.0, fan_out: FanOut = "one-process",
                                     processes: Processes = 2, letter_batch_size: int = DEFAULT_BATCH_SIZE,
                                     letter_processes: int = DEFAULT_PROCESSES, letters_on_workers: bool = False):
    """Propose every open school's category as of `as_of` (default: today in Europe/London), in one process
    or fanned out per authority (`fan_out`, `processes`), wait for the service head's approval, then record
    the categories and queue the letters: written in batches of `letter_batch_size`, over `letter_processes`
    processes on this machine, or with `letters_on_workers` as runs of the letter-batch deployment that any
    worker on the pool may take."""
    if (refusal := refused_as_of(as_of, simulation) or refused_fan_out(fan_out, processes)) is not None:
        return refusal
    try:
        check_batch_size(letter_batch_size)
        check_processes(letter_processes)
    except Refused as exc:
        return Failed(message=f"Refused: {exc}")
    day = resolve_as_of(as_of)
    logger = get_run_logger()
    db = database_parameter(db)
    if fan_out == "one-process":
        proposed = await propose_task(db, day, simulation)
    else:
        proposed = await proposed_by_authority(db, day, simulation, fan_out, processes)
    rows = proposed.get("table") or []
    shown = artifact_rows(rows)
    rest = f"; the first {len(shown):,} of {len(rows):,} (causing concern first), all of them in " \
           f"{proposed.get('table_csv')}" if len(shown) < len(rows) else ""
    await publish_table(TABLE_KEY, shown, f"Proposed categories as of {day.isoformat()}{rest}")
    summary = {k: v for k, v in proposed.items() if k not in ("table", "proposals")}
    if not approved_by and not wait_for_approval:
        await publish_markdown(SUMMARY_KEY, approval_form_text(proposed, day),
                               f"Annual categorisation as of {day.isoformat()}: proposed, not yet approved")
        logger.info("%s schools proposed; nothing recorded (no approval asked for)", proposed["schools"])
        return {**summary, "recorded": 0, "letters": 0, "awaiting_approval": True}
    changes: list[dict] = []
    if not approved_by and not proposed["to_decide"]:
        # Weekly: most weeks no authority's date has come, or its schools are decided already.
        message = (f"Nothing to decide as of {day.isoformat()}: no authority's categorisation date has come, "
                   "or every school due has its category for the year.")
        await publish_markdown(SUMMARY_KEY, message, f"Annual categorisation as of {day.isoformat()}: nothing to do")
        logger.info(message)
        return {**summary, "recorded": 0, "letters": 0, "awaiting_approval": False}
    if not approved_by:
        form = CategoryApproval.with_initial_data(description=approval_form_text(proposed, day))
        try:
            answer = await pause_flow_run(wait_for_input=form, timeout=int(approval_hours * 3600), poll_interval=5)
        except FlowPauseTimeout:
            message = (f"Not approved within {_period(int(approval_hours * 3600))}: no category recorded and no "
                       "letter sent. "
                       "Run annual-categorisation again to propose afresh.")
            # Prefect itself fails a run whose pause expired ("never resumed"); the artifact and the log say
            # what that means here.
            logger.error(message)
            await publish_markdown(SUMMARY_KEY, message, f"Annual categorisation as of {day.isoformat()}: not approved")
            return Failed(message=message)
        if not answer.approve or not answer.approved_by.strip():
            message = "Not approved (approve was not ticked, or no name was given): nothing recorded, no letter sent."
            await publish_markdown(SUMMARY_KEY, message, f"Annual categorisation as of {day.isoformat()}: not approved")
            return Completed(message=message, data={**summary, "recorded": 0, "letters": 0})
        approved_by = answer.approved_by
        changes = [c.model_dump() for c in answer.changes]
    recorded = await record_task(db, day, approved_by, changes, simulation)
    orders = recorded.pop("letter_orders")
    letters = await write_letters(db, orders, day, simulation, letter_batch_size, letter_processes,
                                  letters_on_workers)
    failed_batches = letters.pop("failed_batches")
    result = {**summary, **recorded, **letters}
    await publish_markdown(SUMMARY_KEY, markdown_summary(f"Annual categorisation {day.isoformat()}", result),
                           f"Annual categorisation as of {day.isoformat()}: approved by {approved_by}")
    logger.info("approved by %s: %s categories recorded (%s changed by the approver), %s letters written, "
                "%s without a letter", approved_by, recorded["recorded"], len(recorded["changed"]),
                result["letters"], len(result["without_letter"]))
    if failed_batches:
        return Failed(message=f"{len(failed_batches)} of {result['letter_batches']} letter batches did not finish "
                              f"({', '.join(failed_batches)}): the categories are recorded; run annual-categorisation "
                              "again to write the letters still owed.", data=result)
    return result


@flow(name="categorisation-proposal-authority", flow_run_name=run_name("categorisation-proposal-authority"),
      persist_result=True, result_serializer="json")
async def categorisation_proposal_authority_flow(la: str, as_of: date | None = None, db: DatabaseURL | None = None,
                                                 simulation: bool = False) -> dict:
    """One child of a categorisation fanned out over deployments: one authority's proposals (nothing recorded),
    its result kept for the parent to read back (docs/production.md)."""
    if (refusal := refused_as_of(as_of, simulation) or refused_authorities([la])) is not None:
        return refusal
    return await propose_authority_task(database_parameter(db), resolve_as_of(as_of), la, simulation)
