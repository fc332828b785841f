"""Tell the operator, by e-mail, that a run of one of this project's flows failed or crashed.

Started by the Prefect automation that `concerns prefect setup` creates: when any flow run tagged
`concerns` enters Failed, Crashed or TimedOut, Prefect's server runs this deployment with the id of
that flow run. The mail says which flow, which run, when, why (the state's message and the error
lines of its log) and where to look in the Prefect UI.

It is sent straight to the SMTP server (or written as an .eml file when none is configured), not
through the application's outbox: the outbox may be the very thing that is failing. This deployment
is tagged differently (`concerns-operator`), so a failure here cannot start another alert.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from uuid import UUID

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId, LogFilterLevel
from prefect.client.schemas.sorting import LogSort

from concerns.domain.formatting import london_datetime
from concerns.output.mail import OutgoingMail, build_message, transport_for
from flows.common import flow
from flows.send_notifications import mail_settings_from_blocks

ENV_OPERATOR = "CONCERNS_OPERATOR_EMAIL"
MAX_LOG_LINES = 20
ERROR = 40  # logging.ERROR: the lines that say what went wrong


def flow_run_id_from(resource: str) -> UUID:
    """The id from an event's resource id ("prefect.flow-run.<uuid>") or a bare id."""
    return UUID(resource.rsplit(".", 1)[-1].strip())


def alert_text(flow_name: str, run_name: str, state: str, message: str, when: datetime | None,
               error_lines: list[str], link: str | None) -> tuple[str, str]:
    """(subject, body) of the operator's mail, in plain words."""
    subject = f"Schools causing concern: the {flow_name} run {run_name} {state.lower()}"
    when_text = london_datetime(when) if when else "at an unknown time"
    lines = [
        f"The scheduled work \"{flow_name}\" did not finish as it should.",
        "",
        f"Run: {run_name}",
        f"Ended: {state}, {when_text}",
        f"Reason: {message or 'none was given'}",
    ]
    if error_lines:
        lines += ["", "What the run reported:"] + [f"  {line}" for line in error_lines]
    if link:
        lines += ["", f"The run in the Prefect UI: {link}"]
    lines += ["", "Mail that could not be delivered stays in the outbox: `concerns outbox list` shows it and "
              "`concerns outbox retry` puts failed messages back in the queue once the cause is fixed."]
    return subject, "\n".join(lines) + "\n"


def _alert_run_name() -> str:
    from prefect.runtime import flow_run

    return f"operator-alert-{str(flow_run.parameters.get('flow_run_id', '')).rsplit('.', 1)[-1][:8]}"


@flow(name="operator-alert", flow_run_name=_alert_run_name)
async def operator_alert_flow(flow_run_id: str, to: str | None = None) -> dict:
    """E-mail the operator (`to`, else $CONCERNS_OPERATOR_EMAIL) about the flow run `flow_run_id`."""
    logger = get_run_logger()
    recipient = (to or os.environ.get(ENV_OPERATOR) or "").strip()
    if not recipient:
        raise ValueError(f"no operator address: set {ENV_OPERATOR} on the worker, or give `to` "
                         "(concerns prefect setup --operator EMAIL)")
    run_id = flow_run_id_from(flow_run_id)
    async with get_client() as client:
        run = await client.read_flow_run(run_id)
        flow_obj = await client.read_flow(run.flow_id)
        logs = await client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]),
                                 level=LogFilterLevel(ge_=ERROR)),
            limit=MAX_LOG_LINES, sort=LogSort.TIMESTAMP_ASC)
    state = run.state
    ui = os.environ.get("PREFECT_UI_URL") or ""
    link = f"{ui.rstrip('/')}/runs/flow-run/{run.id}" if ui else None
    subject, body = alert_text(flow_obj.name, run.name, state.name if state else "Unknown",
                               (state.message if state else "") or "",
                               state.timestamp if state else None,
                               [log.message.splitlines()[0] for log in logs if log.message], link)
    settings = await mail_settings_from_blocks()
    if settings is None:
        from concerns.output.mail import MailSettings

        settings = MailSettings.from_env()
    mail = OutgoingMail(key=f"operator-alert:{run.id}", to=(recipient,), cc=(), subject=subject, text=body)
    transport = transport_for(settings)
    await asyncio.to_thread(transport.send, build_message(mail, settings.mail_from, settings.domain))
    logger.info("told %s that %s ended %s", recipient, run.name, state.name if state else "?")
    return {"to": recipient, "flow run": run.name, "state": state.name if state else None, "subject": subject}
