"""docs/production.md's systemd unit for the worker stops it the way the installed Prefect expects."""

from __future__ import annotations

import inspect
import re
import shlex
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "production.md"


def _unit() -> dict[str, str]:
    block = re.search(r"```ini\n(.*?concerns-worker\.service.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert block, "production.md shows the worker's systemd unit"
    settings = {}
    for line in block[1].splitlines():
        line = line.strip()
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings[key] = value
    return settings


def test_the_unit_stops_the_worker_alone_with_sigterm_and_a_timeout():
    unit = _unit()
    assert unit["KillSignal"] == "SIGTERM" and unit["KillMode"] == "mixed"
    assert 0 < int(unit["TimeoutStopSec"]) <= 300
    assert "1" in unit["SuccessExitStatus"].split()
    command = shlex.split(unit["ExecStart"])
    assert command[0].endswith("/prefect") and command[1:3] == ["worker", "start"]
    assert command[command.index("--pool") + 1] == "concerns-process"


def test_the_installed_worker_turns_sigterm_into_its_own_shutdown():
    # What the doc says of Prefect 3.8: the first SIGTERM becomes a SIGINT to the worker, the next SIGKILL,
    # and the CLI ends an interrupted worker with exit status 1 (SuccessExitStatus=1).
    from prefect.cli import _utilities
    from prefect.utilities.processutils import setup_signal_handlers_worker

    source = inspect.getsource(setup_signal_handlers_worker)
    assert "setup_handler(signal.SIGTERM, signal.SIGINT, signal.SIGKILL)" in source
    assert "raise SystemExit(1)" in inspect.getsource(_utilities.with_cli_exception_handling)
