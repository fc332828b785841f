"""The sending flow runs every 15 minutes: its runs are named by London time, so the UI's list reads."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

pytest.importorskip("prefect")


def test_sending_runs_are_named_by_the_london_time_they_were_due(monkeypatch):
    import flows.common as common

    names = []
    for instant in (datetime(2026, 11, 23, 6, 45, tzinfo=UTC),   # GMT: 06:45 in London
                    datetime(2027, 4, 5, 5, 45, tzinfo=UTC),     # BST: 06:45 in London
                    datetime(2027, 4, 5, 6, 0, tzinfo=UTC)):
        monkeypatch.setattr(common, "flow_run", SimpleNamespace(scheduled_start_time=instant))
        names.append(common.sending_run_name())
    assert names == ["send-notifications 2026-11-23 06:45", "send-notifications 2027-04-05 06:45",
                     "send-notifications 2027-04-05 07:00"]
    assert len(set(names)) == len(names)


def test_the_send_notifications_flow_uses_the_timed_name():
    from flows.common import sending_run_name
    from flows.send_notifications import send_notifications_flow

    assert send_notifications_flow.flow_run_name is sending_run_name
