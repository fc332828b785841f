"""The Prefect side of production, as code: `concerns prefect setup`.

One idempotent command against the Prefect server in PREFECT_API_URL creates everything the
deployments in prefect.yaml rely on, so an operator never clicks it together by hand:

1. the process work pool `concerns-process` the deployments run on;
2. the task concurrency limit `concerns-outbox` (1): belt and braces, since the outbox's own claims
   already make two senders deliver each message once;
3. every deployment in prefect.yaml (`prefect --no-prompt deploy --all`, run in the project folder);
4. the automation "concerns: e-mail the operator when a run fails": any flow run tagged `concerns`
   that ends Failed, Crashed or TimedOut starts the `operator-alert` deployment, which mails the
   operator the run's name, reason and error lines. A run the operator must look at is red in the
   UI *and* in their inbox.

Running it again changes nothing that is already right; the automation is replaced so that a new
operator address takes effect.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.events.actions import RunDeployment
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from flows.serve import project_folder

# prefect.yaml's folder: $CONCERNS_HOME, else this checkout (flows/serve.py, project_folder).
PROJECT = project_folder()
WORK_POOL = "concerns-process"
OUTBOX_LIMIT_TAG = "concerns-outbox"
AUTOMATION_NAME = "concerns: e-mail the operator when a run fails"
ALERT_DEPLOYMENT = "operator-alert/operator-alert"
PROJECT_TAG = "concerns"
# The states an operator must hear about. Cancelled is left out: a person did that on purpose.
ALERT_EVENTS = {"prefect.flow-run.Failed", "prefect.flow-run.Crashed", "prefect.flow-run.TimedOut"}


@dataclass
class SetupReport:
    done: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.done.append(line)


def operator_trigger() -> EventTrigger:
    """Fires once per flow run of this project (tag `concerns`) that ends badly."""
    return EventTrigger(
        expect=ALERT_EVENTS,
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.{PROJECT_TAG}"},
        for_each={"prefect.resource.id"},
        posture=Posture.Reactive,
        threshold=1,
        within=timedelta(0),
    )


async def ensure_work_pool(client, report: SetupReport) -> None:
    try:
        await client.read_work_pool(WORK_POOL)
        report.say(f"work pool {WORK_POOL}: already there")
    except ObjectNotFound:
        await client.create_work_pool(WorkPoolCreate(name=WORK_POOL, type="process"))
        report.say(f"work pool {WORK_POOL}: created (type process)")


async def ensure_outbox_limit(client, report: SetupReport) -> None:
    try:
        limit = await client.read_concurrency_limit_by_tag(OUTBOX_LIMIT_TAG)
        report.say(f"concurrency limit {OUTBOX_LIMIT_TAG}: already there ({limit.concurrency_limit})")
    except ObjectNotFound:
        # Two setups at once: the other one created it first, which is just as good.
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_concurrency_limit(tag=OUTBOX_LIMIT_TAG, concurrency_limit=1)
        report.say(f"concurrency limit {OUTBOX_LIMIT_TAG}: created (1)")


def deploy_all(report: SetupReport, project: Path = PROJECT) -> None:
    """`prefect --no-prompt deploy --all` in the project folder (prefect.yaml is read from there)."""
    if not (project / "prefect.yaml").is_file():
        raise RuntimeError(f"no prefect.yaml in {project}: set CONCERNS_HOME to the folder that holds it")
    prefect = Path(sys.executable).with_name("prefect")
    command = [str(prefect) if prefect.exists() else "prefect", "--no-prompt", "deploy", "--all"]
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"prefect deploy --all failed (exit {done.returncode}):\n{tail}")
    report.say("deployments: prefect --no-prompt deploy --all done")


async def ensure_operator_automation(client, operator: str, report: SetupReport) -> None:
    deployment = await client.read_deployment_by_name(ALERT_DEPLOYMENT)
    for existing in await client.read_automations_by_name(AUTOMATION_NAME):
        await client.delete_automation(existing.id)
    automation = AutomationCore(
        name=AUTOMATION_NAME,
        description=("When a run of the schools-causing-concern flows fails, crashes or times out, "
                     f"e-mail {operator} with the run's name, reason and error lines."),
        enabled=True,
        trigger=operator_trigger(),
        actions=[RunDeployment(source="selected", deployment_id=deployment.id,
                               parameters={"flow_run_id": "{{ event.resource.id }}", "to": operator})],
    )
    await client.create_automation(automation)
    report.say(f"automation \"{AUTOMATION_NAME}\": mails {operator}")


async def setup_prefect(operator: str, deploy: bool = True, project: Path = PROJECT) -> SetupReport:
    if not os.environ.get("PREFECT_API_URL"):
        raise RuntimeError("PREFECT_API_URL is not set: point it at the Prefect server "
                           "(e.g. http://127.0.0.1:4200/api) before setting it up")
    report = SetupReport()
    async with get_client() as client:
        await ensure_work_pool(client, report)
        await ensure_outbox_limit(client, report)
        if deploy:
            deploy_all(report, project)
        try:
            await ensure_operator_automation(client, operator, report)
        except ObjectNotFound:
            raise RuntimeError(f"no deployment {ALERT_DEPLOYMENT}: deploy first "
                               "(prefect --no-prompt deploy --all), or run without --no-deploy") from None
    return report
