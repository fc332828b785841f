"""Flow smoke tests through Prefect's own test harness.

The domain logic is tested without Prefect elsewhere; these check the orchestration layer: the flows
run, a re-run with the same as_of queues and sends nothing, the artifacts land on the server, the SMTP
server can come from a Prefect block (the environment winning), and `flows.run_local` (what
`concerns run` calls) works.

Each `prefect_test_harness` entry starts a server subprocess with a fresh SQLite database (about 10 s,
docs/decisions/0004-one-prefect-test-harness.md), so it is entered once for the whole session and the tests here are few. The flows
are async, so there is no 1 s heartbeat join per run. Deselect with `-m "not prefect"`; Prefect is
only imported when one of these tests runs.
"""

import asyncio
import json
import os
import re
from datetime import date
from pathlib import Path

import pytest

# Every test here runs flows against the one Prefect test server of the session (tests/conftest.py).
pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_server")]

# The demo authority's "today": its deadlines and cases are built around it.
AS_OF = date(2026, 11, 22)


@pytest.fixture
def demo_db(tmp_path, monkeypatch) -> str:
    from concerns.app.demo import load_demo
    from concerns.store.db import session_scope, upgrade

    # conftest already points CONCERNS_OUTBOX at tmp_path and removes CONCERNS_SMTP_URL: mail becomes
    # .eml files. Reports and letters the jobs write go to tmp_path too.
    monkeypatch.setenv("CONCERNS_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("CONCERNS_LETTERS", str(tmp_path / "letters"))
    monkeypatch.delenv("CONCERNS_SMTP_BLOCK", raising=False)
    url = f"sqlite:///{tmp_path / 'concerns.db'}"
    upgrade(url)
    with session_scope(url) as session:
        load_demo(session)
    return url


def outbox_files() -> list[Path]:
    return sorted(Path(os.environ["CONCERNS_OUTBOX"]).rglob("*.eml"))


async def _artifacts(flow_run_id) -> dict:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.key: a for a in found}


def test_deadline_check_rerun_queues_and_sends_nothing(demo_db):
    from flows.deadline_check import deadline_check_flow

    first = asyncio.run(deadline_check_flow(as_of=AS_OF, db=demo_db))
    assert first["as_of"] == AS_OF.isoformat()
    assert first["reminders"] > 0 and first["digests_queued"] > 0
    assert first["notifications"]["sent"] == first["digests_queued"]
    assert first["notifications"]["failed"] == 0 and first["notifications"]["via"].startswith("outbox:")
    sent_files = outbox_files()
    assert len(sent_files) == first["notifications"]["sent"]

    second = asyncio.run(deadline_check_flow(as_of=AS_OF, db=demo_db))
    assert second["digests_queued"] == 0 and second["marked_missed"] == 0
    assert second["notifications"]["sent"] == 0
    assert outbox_files() == sent_files


def test_termly_review_publishes_table_and_report(demo_db):
    from flows.termly_review import termly_review_flow

    state = asyncio.run(termly_review_flow(as_of=AS_OF, db=demo_db, return_state=True))
    assert state.is_completed()
    summary = asyncio.run(state.aresult())
    assert summary["term"] == "autumn 2026/27" and summary["meetings_scheduled"] > 0

    artifacts = asyncio.run(_artifacts(state.state_details.flow_run_id))
    table, report = artifacts["termly-review"], artifacts["termly-review-report"]
    assert table.type == "table" and report.type == "markdown"
    rows = json.loads(table.data)  # a table artifact is stored as its JSON text
    assert rows == summary["table"]
    assert {"pathway", "state", "cases"} <= set(rows[0])
    assert sum(r["cases"] for r in rows) == sum(r["cases"] for r in summary["table"])
    assert report.data == summary["markdown"]
    assert report.data.startswith("# Termly report") and "autumn 2026/27" in report.data


def test_run_local_runs_a_flow_by_name(demo_db):
    from flows import FLOWS, run_local

    assert set(FLOWS) == {"deadline-check", "termly-review", "hmi-reminders", "annual-categorisation",
                          "send-notifications"}
    hmi = run_local("hmi-reminders", AS_OF, demo_db)
    assert hmi["as_of"] == AS_OF.isoformat() and hmi["cases_reminded"] > 0 and hmi["mails_queued"] > 0
    sent = run_local("send-notifications", None, demo_db)
    assert sent["sent"] == hmi["mails_queued"] and sent["failed"] == 0
    assert run_local("hmi-reminders", AS_OF, demo_db)["mails_queued"] == 0
    with pytest.raises(ValueError, match="unknown flow"):
        run_local("no-such-flow", AS_OF, demo_db)


def test_smtp_server_from_a_prefect_block_and_the_environment_wins(demo_db, monkeypatch):
    from prefect_email import EmailServerCredentials

    from concerns.jobs import run_deadline_check
    from flows.send_notifications import _from_email_server_credentials, send_notifications_flow
    from tests.support.smtp import SmtpTestServer

    # The block kinds convert to the same URLs the CONCERNS_SMTP_URL variable takes.
    creds = EmailServerCredentials(smtp_server="mail.la.example", smtp_type="STARTTLS",
                                   username="c@la.example", password="p@ss/word")
    assert _from_email_server_credentials(creds) == \
        "smtp+starttls://c%40la.example:p%40ss%2Fword@mail.la.example"
    assert _from_email_server_credentials(EmailServerCredentials(smtp_server="mail.la.example",
                                                                 smtp_type="SSL", smtp_port=2465)) \
        == "smtps://mail.la.example:2465"

    with SmtpTestServer() as server:
        EmailServerCredentials(smtp_server=server.host, smtp_port=server.port, smtp_type="INSECURE").save(
            "concerns-test-smtp", overwrite=True)
        monkeypatch.setenv("CONCERNS_SMTP_BLOCK", "concerns-test-smtp")
        monkeypatch.setenv("CONCERNS_MAIL_FROM", "concerns@demoshire.example")
        queued = run_deadline_check(demo_db, AS_OF)["digests_queued"]
        assert queued > 0
        sent = asyncio.run(send_notifications_flow(db=demo_db))
        assert sent["via"] == "smtp" and sent["sent"] == queued == len(server.messages)
        assert outbox_files() == []

        # With CONCERNS_SMTP_URL set the block is not even read: a block that does not exist is fine.
        monkeypatch.setenv("CONCERNS_SMTP_URL", server.url())
        monkeypatch.setenv("CONCERNS_SMTP_BLOCK", "email-server-credentials/no-such-block")
        again = asyncio.run(send_notifications_flow(db=demo_db))
        assert again["via"] == "smtp" and again["sent"] == 0


def test_data_import_flow_imports_a_real_ofsted_file_once(tmp_path):
    from concerns.store.db import upgrade
    from flows.data_import import data_import_flow
    from tests.conftest import shared_file

    oxfordshire = shared_file("data", "ofsted",
                              "maintained-schools-and-academies-inspections-and-outcomes-as-at-31-december-2017-"
                              "oxfordshire.csv")
    url = f"sqlite:///{tmp_path / 'import.db'}"
    upgrade(url)
    first = asyncio.run(data_import_flow(kind="ofsted", path=str(oxfordshire), as_of=AS_OF, db=url))
    assert first["rows_read"] == 299 and first["cases_opened"] > 0
    again = asyncio.run(data_import_flow(kind="ofsted", path=str(oxfordshire), as_of=AS_OF, db=url))
    assert again["cases_opened"] == again["inspections_recorded"] == 0


def test_a_run_whose_mail_is_refused_for_good_ends_failed_and_names_each_message(demo_db, monkeypatch):
    from sqlmodel import select

    from concerns.notify.outbox import retry
    from concerns.store.db import session_scope
    from flows import FlowRunFailed, run_local
    from flows.deadline_check import deadline_check_flow
    from models import Person
    from tests.support.smtp import SmtpTestServer

    with session_scope(demo_db) as session:
        officers = sorted(p.email for p in session.exec(select(Person)).all())
    with SmtpTestServer() as server:
        server.handler.reject_recipients(*officers)
        monkeypatch.setenv("CONCERNS_SMTP_URL", server.url())
        state = asyncio.run(deadline_check_flow(as_of=AS_OF, db=demo_db, return_state=True))
        # Red in the UI, with the reason: how many messages and the first of them.
        assert state.is_failed(), state
        assert "need the operator" in state.message and "550" in state.message
        summary = asyncio.run(state.aresult(raise_on_failure=False))
        assert summary["digests_queued"] > 0 and summary["notifications"]["sent"] == 0
        assert len(summary["notifications"]["alarms"]) == summary["digests_queued"]

        artifacts = asyncio.run(_artifacts(state.state_details.flow_run_id))
        shown = artifacts["deadline-check"].data
        # Plain labels and the schools named, not the job's keys.
        assert "Deadlines marked missed" in shown and "marked_missed" not in shown
        assert "digests_queued" not in shown and "Reminders" in shown
        assert any(f"({urn})" in shown for urn in ("990301", "990202", "990401"))
        # Each thing once: a missed and escalated deadline is one row, and the count is of those rows.
        rows = [tuple(c.strip() for c in line.split("|")[1:4]) for line in shown.splitlines()
                if line.startswith("| ") and re.search(r"\(99\d{4}\)", line)]
        assert rows and len(rows) == len(set(rows)), rows
        raised = re.search(r"^\| Reminders raised \| (\d+) \|$", shown, re.M)
        assert raised and int(raised[1]) == len(rows)
        # The sending artifact names each refused message once, not under three headings.
        sending = artifacts["send-notifications"].data
        assert sending.count("550") == len(summary["notifications"]["alarms"]), sending

        # What `concerns run` does with such a run: the summary survives, and the caller is told.
        # (The failed messages are put back in the queue first, as the operator's retry does.)
        with session_scope(demo_db) as session:
            assert len(retry(session, all_failed=True)) == summary["digests_queued"]
        with pytest.raises(FlowRunFailed, match="need the operator") as failed:
            run_local("send-notifications", None, demo_db)
        assert failed.value.summary["sent"] == 0


def test_the_operator_alert_mails_the_operator_about_a_failed_run(demo_db, monkeypatch):
    from prefect import flow

    from flows.operator_alert import operator_alert_flow
    from tests.support.smtp import SmtpTestServer

    @flow(name="deadline-check", flow_run_name="deadline-check-2026-11-22")
    async def failing():
        raise RuntimeError("the database is busy")

    state = asyncio.run(failing(return_state=True))
    assert state.is_failed()
    run_id = state.state_details.flow_run_id
    with SmtpTestServer() as server:
        monkeypatch.setenv("CONCERNS_SMTP_URL", server.url())
        result = asyncio.run(operator_alert_flow(flow_run_id=f"prefect.flow-run.{run_id}",
                                                 to="operator@la.example"))
        (mail,) = server.messages
    assert result["to"] == "operator@la.example" and result["state"] == "Failed"
    assert list(mail.rcpt_tos) == ["operator@la.example"]
    assert mail.msg["Subject"] == \
        "Schools causing concern: the deadline-check run deadline-check-2026-11-22 failed"
    body = mail.msg.get_body(("plain",)).get_content()
    assert "the database is busy" in body and "Run: deadline-check-2026-11-22" in body


def test_a_flow_refuses_a_database_password_in_its_parameters(demo_db):
    from flows.send_notifications import send_notifications_flow

    # Parameters are stored in Prefect's database and shown in its UI: the password must not get there.
    state = asyncio.run(send_notifications_flow(db="postgresql+psycopg://concerns:s3cret@dbhost/concerns",
                                                return_state=True))
    assert state.is_failed()
    assert "s3cret" not in (state.message or "")
    with pytest.raises(Exception, match="CONCERNS_DB") as refused:
        asyncio.run(state.aresult())
    assert "s3cret" not in str(refused.value)


def test_a_database_password_in_a_flow_parameter_never_reaches_prefects_database(demo_db):
    from prefect.client.orchestration import get_client

    from flows.deadline_check import deadline_check_flow

    state = asyncio.run(deadline_check_flow(db="postgresql+psycopg://concerns:pa55w0rd-x@dbhost/concerns",
                                            return_state=True))
    assert state.is_failed() and "CONCERNS_DB" in (state.message or "") + str(state.result(raise_on_failure=False))

    async def stored() -> list[dict]:
        async with get_client() as client:
            run = await client.read_flow_run(state.state_details.flow_run_id)
            return [run.parameters, run.model_dump(mode="json")]

    assert "pa55w0rd-x" not in json.dumps(asyncio.run(stored()), default=str)


def test_a_flow_refuses_an_as_of_far_ahead_unless_it_is_a_simulation(demo_db):
    from flows.hmi_monitoring_reminders import hmi_reminders_flow

    far = date(2062, 11, 19)
    refused = asyncio.run(hmi_reminders_flow(as_of=far, db=demo_db, return_state=True))
    assert refused.is_failed() and "2062-11-19" in refused.message
    # An expected refusal: one line naming the parameter (as Prefect spells it, not the command line's
    # --simulation) and its value, and no exception behind it to print as a traceback.
    assert "\n" not in refused.message and "the parameter as_of is 2062-11-19" in refused.message
    assert "parameter simulation" in refused.message and "--" not in refused.message
    assert refused.data is None or not isinstance(refused.data, BaseException)
    simulated = asyncio.run(hmi_reminders_flow(as_of=far, db=demo_db, simulation=True, return_state=True))
    assert simulated.is_completed()


def test_a_data_import_of_a_file_that_is_not_there_ends_failed_with_one_line_naming_it(demo_db, tmp_path):
    from flows.data_import import data_import_flow

    # The deployment's own example path (prefect.yaml), on a worker where the month's file is not yet.
    missing = tmp_path / "srv" / "ofsted.csv"
    state = asyncio.run(data_import_flow(kind="ofsted", path=str(missing), db=demo_db, return_state=True))
    assert state.is_failed() and "\n" not in state.message
    assert f"the parameter path is {missing}" in state.message and "no such file" in state.message
    assert "FileNotFoundError" not in state.message and "Errno" not in state.message
    wrong = asyncio.run(data_import_flow(kind="inspections", path=str(missing), db=demo_db, return_state=True))
    assert wrong.is_failed() and "the parameter kind is 'inspections'" in wrong.message


async def _paused_run(name: str, seconds: float = 90):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    async with get_client() as client:
        for _ in range(int(seconds * 2)):
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))))
            runs = [r for r in runs if r.name.startswith(name)]
            if runs:
                return runs[0]
            await asyncio.sleep(0.5)
    raise AssertionError(f"no {name} run paused within {seconds} s")


def _decisions(url: str) -> list[tuple]:
    from sqlalchemy import text

    from concerns.store.db import engine_for

    with engine_for(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT urn, level, source, decided_by, reason FROM la_category ORDER BY urn"))]


def test_annual_categorisation_waits_for_the_service_heads_approval_then_records_a_change_and_writes_letters(
        demo_db, tmp_path):
    from prefect.flow_runs import resume_flow_run

    from flows.annual_categorisation import annual_categorisation_flow

    async def scenario():
        running = asyncio.create_task(annual_categorisation_flow(as_of=AS_OF, db=demo_db, return_state=True))
        paused = await _paused_run("annual-categorisation")
        # Paused for approval: nothing recorded, no letter written.
        assert _decisions(demo_db) == [] and not list((tmp_path / "letters").rglob("*categorisation*"))
        form = (await _artifacts(paused.id))["annual-categorisation"]
        assert any(row["URN"] == "990102" for row in json.loads(form.data))
        await resume_flow_run(paused.id, run_input={
            "approve": True, "approved_by": "Alex Morgan",
            "changes": [{"urn": "990102", "level": "inadequate",
                         "reason": "Second RI in a row and the head has resigned"}]})
        return await running

    state = asyncio.run(scenario())
    assert state.is_completed(), state.message
    summary = asyncio.run(state.aresult())
    assert summary["approved_by"] == "Alex Morgan" and summary["changed"] == ["990102"]
    decisions = {row[0]: row for row in _decisions(demo_db)}
    assert len(decisions) == summary["recorded"] == summary["schools"]
    assert decisions["990102"][1:] == ("inadequate", "officer", "Alex Morgan",
                                       "Second RI in a row and the head has resigned")
    assert decisions["990101"][2:4] == ("approved_proposal", "annual categorisation, approved by Alex Morgan")
    letter = next((tmp_path / "letters" / "990102").glob("*categorisation.html")).read_text()
    assert "Inadequate" in letter and "Alex Morgan set" in letter


def test_annual_categorisation_not_approved_in_time_records_and_sends_nothing(demo_db, tmp_path):
    from flows.annual_categorisation import annual_categorisation_flow

    state = asyncio.run(annual_categorisation_flow(as_of=AS_OF, db=demo_db, approval_hours=3 / 3600,
                                                   return_state=True))
    assert state.is_failed()
    said = asyncio.run(_artifacts(state.state_details.flow_run_id))["annual-categorisation-summary"].data
    assert said.startswith("Not approved within 3 seconds: no category recorded and no letter sent.")
    assert _decisions(demo_db) == [] and not list((tmp_path / "letters").rglob("*categorisation*"))


def test_the_artifacts_say_each_thing_once():
    from flows.deadline_check import check_summary_in_words
    from flows.send_notifications import send_summary_in_words

    row = {"school": "Northgate Primary School (990301)", "deadline": "statement of action", "due": "2026-11-18",
           "officer responsible": "Link adviser"}
    check = {"examined": 2, "reminders": 3, "by_step": {"missed": 1, "escalated": 1, "due": 1},
             "items": [{**row, "reminder": "missed"}, {**row, "reminder": "missed and escalated"},
                       {**row, "deadline": "papers due", "reminder": "due today"}]}
    said = check_summary_in_words(check)
    assert said["reminders"] == 2 and said["by_step"] == {"escalated": 1, "due": 1}
    assert [i["reminder"] for i in said["items"]] == ["missed and escalated", "due today"]
    alarm = 'Mail failed and will not be sent to a@x.example, "Digest": 550 no. After putting it right: ' \
            "concerns outbox retry digest:2026-11-22:a@x.example"
    sent = send_summary_in_words({"sent": 0, "failed": 1, "alarms": [alarm], "new_alarms": [alarm],
                                  "errors": ["digest:2026-11-22:a@x.example: failed: 550 no",
                                             "digest:2026-11-22:b@x.example: deferred: 421 busy"]})
    assert sent["alarms"] == [f"New in this run: {alarm}"]
    assert sent["errors"] == ["digest:2026-11-22:b@x.example: deferred: 421 busy"] and "new_alarms" not in sent
