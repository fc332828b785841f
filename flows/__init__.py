"""Prefect flows: thin orchestration over the plain-Python jobs in `concerns.jobs`.

Importing this package is cheap and has no side effects: Prefect itself (about 1 s to import) is only
loaded when a flow is first used, through `run_local`, the lazy attributes below, or the modules
`flows.deadline_check`, `flows.termly_review`, ... that Prefect deployments point at.

`run_local(name, as_of, db)` is what `concerns run NAME` calls: it runs one flow in Prefect's
ephemeral mode (a temporary local API server, no server to start by hand; docs/decisions/0002-prefect-ephemeral-start-up.md), with
PREFECT_HOME defaulting to ./.prefect so runs never litter ~/.prefect.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

# Flow name (as used by the CLI and the deployments) -> (module, attribute). The attributes end in
# "_flow" because `flows.deadline_check` is already the submodule's name.
FLOWS: dict[str, tuple[str, str]] = {
    "deadline-check": ("flows.deadline_check", "deadline_check_flow"),
    "termly-review": ("flows.termly_review", "termly_review_flow"),
    "hmi-reminders": ("flows.hmi_monitoring_reminders", "hmi_reminders_flow"),
    "annual-categorisation": ("flows.annual_categorisation", "annual_categorisation_flow"),
    "send-notifications": ("flows.send_notifications", "send_notifications_flow"),
}

__all__ = ["FLOWS", "FlowRunFailed", "load_flow", "prefect_env_defaults", "run_local",
           *(attribute for _, attribute in FLOWS.values())]


def prefect_env_defaults(home: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Fill in the Prefect settings this project wants unless the operator set them already.

    * PREFECT_HOME -> ./.prefect (absolute): the ephemeral server's SQLite DB, result storage and
      memo store live there, so a `concerns run` from the project folder keeps its state beside the
      project instead of in the user's ~/.prefect.
    * PREFECT_SERVER_ANALYTICS_ENABLED=false: with analytics on, the SQLite-backed server logs
      "database is locked" from its telemetry heartbeat, and a local authority's server has no
      business phoning home.
    * PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=120: the temporary server migrates its own
      database before it answers; on two busy cores that took 15-27 s, past Prefect's default limit
      of 20 s, and the first run on a fresh PREFECT_HOME then failed with "Timed out while attempting
      to connect to ephemeral Prefect API server". 120 s was never reached in measurement.

    Prefect reads its settings when it is first imported, so this must run before `import prefect`;
    returns what it set.
    """
    wanted = {
        "PREFECT_HOME": str(Path(home or ".prefect").resolve()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    applied = {}
    for key, value in wanted.items():
        if not os.environ.get(key):
            os.environ[key] = value
            applied[key] = value
    return applied


class FlowRunFailed(RuntimeError):
    """A flow run ended Failed (e.g. mail that needs the operator); carries the run's summary."""

    def __init__(self, message: str, summary: dict | None = None):
        super().__init__(message)
        self.summary = summary or {}


def load_flow(name: str):
    """The Prefect flow object for a CLI/deployment name such as "deadline-check"."""
    try:
        module, attribute = FLOWS[name]
    except KeyError:
        raise ValueError(f"unknown flow {name!r}; expected one of {', '.join(FLOWS)}") from None
    return getattr(importlib.import_module(module), attribute)


def run_local(name: str, as_of: date | None = None, db: str | None = None,
              log_file: str | os.PathLike[str] | None = None, **parameters: Any) -> dict[str, Any]:
    """Run the named flow once, here and now, in Prefect's local ephemeral mode; return its summary.

    Measured on a 2-core box: the first run with a fresh PREFECT_HOME takes 13-27 s (the temporary
    server creates its database), later ones 7-9 s, of which the flow itself is under a second; the
    rest is importing Prefect and starting and stopping the temporary server. If PREFECT_API_URL is
    set in the environment, the run goes to that server instead and shows in its UI like any other.
    Call it from synchronous code (it runs its own event loop), as the CLI does.

    `log_file`: Prefect's own console log (a dozen INFO lines a run) goes to this file instead of
    the terminal, so what a person reads is the command's own output.
    A run that ends Failed (mail that needs the operator) raises `FlowRunFailed` with its summary.
    """
    prefect_loaded_before = "prefect" in sys.modules
    applied = prefect_env_defaults()
    flow = load_flow(name)
    if log_file is not None:
        send_prefect_console_to(log_file)
    if prefect_loaded_before and applied:
        # Prefect was imported (by the caller) before the defaults were in the environment, so its
        # settings were already read: apply the same defaults as temporary settings for this run.
        from prefect.settings import (
            PREFECT_HOME,
            PREFECT_SERVER_ANALYTICS_ENABLED,
            PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
            temporary_settings,
        )

        updates = {}
        if "PREFECT_HOME" in applied:
            updates[PREFECT_HOME] = applied["PREFECT_HOME"]
        if "PREFECT_SERVER_ANALYTICS_ENABLED" in applied:
            updates[PREFECT_SERVER_ANALYTICS_ENABLED] = False
        if "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" in applied:
            updates[PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS] = 120
        with temporary_settings(updates=updates):
            return asyncio.run(_run_to_summary(flow, as_of=as_of, db=db, **parameters))
    return asyncio.run(_run_to_summary(flow, as_of=as_of, db=db, **parameters))


async def _run_to_summary(flow, **parameters: Any) -> dict[str, Any]:
    # The flows are async (no 1 s heartbeat join per sync flow): awaiting one runs the whole flow.
    state = await flow(return_state=True, **parameters)
    result = await state.result(raise_on_failure=False)
    if state.is_completed():
        return result
    if isinstance(result, BaseException):
        raise result
    raise FlowRunFailed(state.message or f"the flow run ended {state.name}",
                        result if isinstance(result, dict) else None)


def send_prefect_console_to(path: str | os.PathLike[str]) -> Path:
    """Move Prefect's console log handlers to a file (appended), keeping their format and level."""
    import logging

    import prefect  # noqa: F401  (configures Prefect's logging, which is what is moved here)

    target = Path(path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    names = ["", *(n for n in logging.root.manager.loggerDict if n.split(".")[0] in ("prefect", "uvicorn"))]
    for logger_name in names:
        logger = logging.getLogger(logger_name)
        for handler in list(logger.handlers):
            # Prefect's console handler prints through Rich to the terminal: any stream handler that
            # is not already a file is a console one.
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                replacement = logging.FileHandler(target, encoding="utf-8")
                replacement.setLevel(handler.level)
                replacement.setFormatter(logging.Formatter(
                    "%(asctime)s | %(levelname)-7s | %(name)s - %(message)s"))
                logger.removeHandler(handler)
                logger.addHandler(replacement)
    return target


def __getattr__(attribute: str):
    # Lazy re-export (PEP 562): `from flows import deadline_check_flow` works, while a bare
    # `import flows` (the CLI, `flows.run_local`) does not pay for importing Prefect up front.
    for module, name in FLOWS.values():
        if name == attribute:
            return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")
