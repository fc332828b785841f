"""Send what is waiting in the outbox: by SMTP, or as .eml files when no SMTP server is configured.

Runs as the last task of the daily deadline check, and on its own every 15 minutes on working days
as a catch-up for mail deferred while the SMTP server was unreachable and for what the termly
review, HMI reminders and annual categorisation queued.

Mail settings come from the environment (CONCERNS_SMTP_URL, CONCERNS_OUTBOX, CONCERNS_MAIL_FROM;
docs/cli-contract.md). In production the SMTP server may instead be kept in a Prefect block, named by
CONCERNS_SMTP_BLOCK:

* ``email-server-credentials/<name>`` (or just ``<name>``): a prefect-email EmailServerCredentials
  block (server, port, INSECURE/STARTTLS/SSL, user name, password);
* ``secret/<name>``: a Secret block holding a whole ``smtp://``/``smtp+starttls://``/``smtps://`` URL.

Block values are stored encrypted in Prefect's database and editable in its UI. The environment
variables always win: when CONCERNS_SMTP_URL is set the block is not even read.
"""

import os
from datetime import date
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from concerns.jobs import run_send_notifications
from concerns.output.mail.settings import (
    DEFAULT_MAIL_FROM,
    DEFAULT_OUTBOX,
    ENV_SMTP_URL,
    MailSettings,
    build_smtp_url,
)
from flows.common import (
    DatabaseURL,
    database_parameter,
    finish,
    flow,
    markdown_summary,
    publish_markdown,
    run_job,
    sending_run_name,
)

ENV_SMTP_BLOCK = "CONCERNS_SMTP_BLOCK"
ARTIFACT_KEY = "send-notifications"
# Task-run concurrency tag. Two senders at once (the 06:30 check's last task and a 15-minute catch-up)
# are safe without it: each claims its messages in the database before sending. The limit that
# `concerns prefect setup` creates for this tag (1) only saves the second sender a wasted connection.
OUTBOX_TAG = "concerns-outbox"

# prefect-email's SMTPType names -> the security modes of concerns.output.mail.settings.
_SECURITY = {"INSECURE": "plain", "STARTTLS": "starttls", "SSL": "tls"}


def _from_email_server_credentials(creds: Any) -> str:
    server = getattr(creds.smtp_server, "value", creds.smtp_server)
    smtp_type = getattr(creds.smtp_type, "name", str(creds.smtp_type)).upper()
    if smtp_type not in _SECURITY:
        raise ValueError(f"{ENV_SMTP_BLOCK}: unsupported smtp_type {smtp_type!r}, "
                         "expected INSECURE, STARTTLS or SSL")
    username = creds.username or None
    # The block's password defaults to an empty secret; a password only means something with a user.
    password = (creds.password.get_secret_value() or None) if creds.password and username else None
    return build_smtp_url(server, creds.smtp_port, security=_SECURITY[smtp_type],  # type: ignore[arg-type]
                          username=username, password=password)


async def smtp_url_from_block(name: str) -> str:
    """The SMTP URL held by the block `name` (see the module docstring for the two kinds)."""
    from prefect.blocks.core import Block

    slug = name if "/" in name else f"email-server-credentials/{name}"
    if slug.startswith("email-server-credentials/"):
        # Registers the block type with this process so Block.aload can build it.
        import prefect_email  # noqa: F401
    block = await Block.aload(slug)
    if slug.startswith("secret/"):
        return str(block.get()).strip()  # type: ignore[attr-defined]
    if slug.startswith("email-server-credentials/"):
        if getattr(block, "verify", True) is False:
            get_run_logger().warning("%s: the block says verify=False; TLS certificates are verified anyway",
                                     ENV_SMTP_BLOCK)
        return _from_email_server_credentials(block)
    raise ValueError(f"{ENV_SMTP_BLOCK}={name!r}: expected an email-server-credentials/… "
                     "or a secret/… block")


async def mail_settings_from_blocks() -> MailSettings | None:
    """Settings with the SMTP server from CONCERNS_SMTP_BLOCK, the environment taking precedence;
    None when there is nothing to add to what the job reads from the environment itself."""
    block = (os.environ.get(ENV_SMTP_BLOCK) or "").strip()
    if not block or (os.environ.get(ENV_SMTP_URL) or "").strip():
        return None
    url = await smtp_url_from_block(block)
    fallback = MailSettings(smtp_url=url, outbox_dir=DEFAULT_OUTBOX, mail_from=DEFAULT_MAIL_FROM)
    return MailSettings.from_env(fallback=fallback)


# No retries here, on purpose: a retry re-runs the whole body, and the outbox already keeps what could
# not be delivered, deferred with back-off; the 15-minute catch-up run is the retry.
@task(name="send-notifications", tags=[OUTBOX_TAG], retries=0, cache_policy=NO_CACHE, persist_result=False)
async def send_notifications_task(db: str | None) -> dict:
    settings = await mail_settings_from_blocks()
    if settings is None:
        return await run_job(run_send_notifications, db)
    return await run_job(run_send_notifications, db, settings)


def send_summary_in_words(summary: dict) -> dict:
    """The run's summary as the operator reads it: each problem once. A message that failed for good is
    in this run's delivery problems, in every outstanding alarm and, the first time, in the new ones: the
    artifact lists it once, under "Needs the operator" (marked new when it is), and keeps under "Delivery
    problems" only what no alarm already says (a message deferred for a retry, say)."""
    alarms = list(summary.get("alarms") or [])
    new = set(summary.get("new_alarms") or [])
    said = [f"New in this run: {line}" if line in new else line for line in alarms]
    said += [f"New in this run: {line}" for line in summary.get("new_alarms") or [] if line not in alarms]
    # A delivery problem is "<message key>: <what happened>"; an alarm about the same message names its key.
    errors = [line for line in summary.get("errors") or []
              if not any(line.split(": ", 1)[0] in alarm for alarm in alarms)]
    out = {key: value for key, value in summary.items() if key not in ("alarms", "new_alarms", "errors")}
    return {**out, "errors": errors, "alarms": said}


async def publish_send_summary(summary: dict) -> None:
    await publish_markdown(ARTIFACT_KEY, markdown_summary("Notifications sent", send_summary_in_words(summary)),
                           "Outbox: messages sent, failed and deferred by this run")


# The run name never includes `db`: a PostgreSQL URL may carry a password.
@flow(name="send-notifications", flow_run_name=sending_run_name)
async def send_notifications_flow(as_of: date | None = None, db: DatabaseURL | None = None) -> Any:
    """Send every pending notification in the outbox (SMTP, or .eml files without an SMTP URL).

    `as_of` is accepted so all flows take the same parameters; sending is "now" whatever it says.
    """
    summary = await send_notifications_task(database_parameter(db))
    await publish_send_summary(summary)
    get_run_logger().info("sent %s, failed %s, deferred %s", summary.get("sent"), summary.get("failed"),
                          summary.get("deferred"))
    # Red in the UI when a message has just failed for good or has now waited too long: see finish().
    # Each such message turns one run red, not every run until someone acts; the daily deadline check
    # repeats what is still outstanding.
    return finish(summary, summary.get("new_alarms") or [], "Sending mail")
