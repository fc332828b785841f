"""The annual categorisation as the service head meets it: paused for approval in the Prefect UI, approved
with a change, and the letters that follow. Screenshots from headless Chromium for the docs.

    python scripts/show_approval.py [OUT_DIR]      # default docs/screenshots

1. starts `prefect server start` (with its UI) on a free port, over a temporary PREFECT_HOME;
2. loads the demo authority into a temporary application database;
3. starts the annual-categorisation flow against that server: it proposes, publishes its table, and pauses;
4. photographs the paused run in the Prefect UI and the approval form Prefect draws from the flow's
   input model (prefect-approval-paused.png, prefect-approval-form.png);
5. approves through Prefect's API (what the form's "Submit" does) with one school set differently;
6. waits for the run to complete and photographs it (prefect-approval-done.png); prints the decisions
   recorded and the letters written. Exit 0 only if the run completed and the change was recorded.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from check_deploy import BIN, CheckFailed, Process, free_port, start_prefect_server, step, wait_for  # noqa: E402

CHANGE = {"urn": "990102", "level": "inadequate", "reason": "Second inspection below good; the head has resigned"}


def sync(coroutine):
    """Run a coroutine to its end from any thread (Playwright's sync API keeps an event loop running)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _paused_run_id():
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        for run in await client.read_flow_runs():
            if run.state and run.state.is_paused():
                return run.id
    return None


async def _state(run_id):
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return (await client.read_flow_run(run_id)).state


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="concerns-approval-"))
    port = free_port()
    env = {**os.environ,
           "PREFECT_HOME": str(tmp / "prefect"), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
           "PREFECT_UI_URL": f"http://127.0.0.1:{port}", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "CONCERNS_DB": f"sqlite:///{tmp / 'concerns.db'}", "CONCERNS_OUTBOX": str(tmp / "outbox"),
           "CONCERNS_LETTERS": str(tmp / "letters"), "CONCERNS_REPORTS": str(tmp / "reports")}
    env.pop("CONCERNS_SMTP_URL", None)
    os.environ.clear()
    os.environ.update(env)
    processes = []
    try:
        processes.append(start_prefect_server(port, env, tmp / "server.log"))
        step(f"Prefect server and UI on port {port}")
        import subprocess

        subprocess.run([str(BIN / "concerns"), "init", "--demo"], env=env, check=True, capture_output=True)
        step("demo authority loaded")
        flow = Process("flow", [sys.executable, "-c",
                                "import asyncio, datetime\n"
                                "from flows.annual_categorisation import annual_categorisation_flow as f\n"
                                "asyncio.run(f(as_of=datetime.date(2026, 11, 22)))"], env, tmp / "flow.log", ROOT)
        processes.append(flow)
        run_id = wait_for("the run to pause for approval", lambda: sync(_paused_run_id()), timeout=180)
        step(f"annual-categorisation paused for approval: flow run {run_id}")

        from playwright.sync_api import sync_playwright

        from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="en-GB")
            page.set_default_timeout(30000)
            page.goto(f"{env['PREFECT_UI_URL']}/runs/flow-run/{run_id}")
            page.get_by_text("Paused").first.wait_for()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(out / "prefect-approval-paused.png"))
            step(f"wrote {out / 'prefect-approval-paused.png'}")
            page.get_by_role("button", name="Resume").first.click()
            page.get_by_text("Approve the proposed categories").first.wait_for()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(out / "prefect-approval-form.png"))
            step(f"wrote {out / 'prefect-approval-form.png'}")
            page.keyboard.press("Escape")

            from prefect.flow_runs import resume_flow_run

            sync(resume_flow_run(run_id, run_input={"approve": True, "approved_by": "Alex Morgan",
                                                           "changes": [CHANGE]}))
            step(f"approved by Alex Morgan, with {CHANGE['urn']} set to {CHANGE['level']}")
            state = wait_for("the run to finish", lambda: (s := sync(_state(run_id))) and s.is_final() and s,
                             timeout=180)
            if not state.is_completed():
                raise CheckFailed(f"the run ended {state.type.value}: {state.message}\n{flow.tail()}")
            page.goto(f"{env['PREFECT_UI_URL']}/runs/flow-run/{run_id}?tab=Artifacts")
            page.get_by_text("Completed").first.wait_for()
            page.wait_for_timeout(2000)
            page.screenshot(path=str(out / "prefect-approval-done.png"))
            step(f"wrote {out / 'prefect-approval-done.png'}")
            browser.close()

        from sqlalchemy import text

        from concerns.store.db import engine_for

        with engine_for(env["CONCERNS_DB"]).connect() as conn:
            rows = conn.execute(text("SELECT urn, level, source, decided_by, reason FROM la_category "
                                     "ORDER BY urn")).all()
        changed = [r for r in rows if r.urn == CHANGE["urn"]]
        if not changed or changed[0].level != CHANGE["level"] or changed[0].source != "officer":
            raise CheckFailed(f"the change was not recorded: {changed}")
        letters = sorted((tmp / "letters").rglob("*categorisation.html"))
        step(f"{len(rows)} categories recorded ({sum(r.source == 'officer' for r in rows)} set by the approver); "
             f"{len(letters)} letters written, e.g. {letters[0].relative_to(tmp) if letters else 'none'}")
        for r in rows[:3] + changed:
            print(f"  {r.urn} {r.level:<22} {r.source:<18} {r.decided_by}: {r.reason[:70]}")
        return 0
    except CheckFailed as exc:
        print(f"show_approval: {exc}", file=sys.stderr)
        return 1
    finally:
        for process in reversed(processes):
            process.stop()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")))
