"""Prefect's test server (a subprocess with its own SQLite database) for the tests that run flows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def prefect_test_server(home: Path) -> Iterator[None]:
    """Analytics off: otherwise the server logs "database is locked" from its telemetry heartbeat. A
    temporary PREFECT_HOME so no test writes to ~/.prefect or ./.prefect. Both as variables (read if Prefect
    is not imported yet) and as settings (if it already is)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        mp.setenv("PREFECT_HOME", str(home))
        from prefect.settings import PREFECT_HOME, PREFECT_SERVER_ANALYTICS_ENABLED, temporary_settings
        from prefect.testing.utilities import prefect_test_harness

        with (temporary_settings({PREFECT_HOME: home, PREFECT_SERVER_ANALYTICS_ENABLED: False}),
              prefect_test_harness(server_startup_timeout=60)):
            yield
