#!/usr/bin/env bash
# Check the production path end to end on a throwaway Prefect server:
#   server start -> work pool -> `prefect deploy --all` (prefect.yaml) -> one deployment per flow,
#   each with its schedules -> optionally one real run of deadline-check picked up by a process worker
#   (`--run-once`) against a temporary demo database -> everything stopped and deleted.
#
#   scripts/check_deploy.sh            # the whole check (about a minute)
#   scripts/check_deploy.sh --no-run   # stop after checking the deployments
#
# Uses the Prefect and concerns commands of the active virtualenv, or of $VENV (default: .venv if it
# exists). Nothing outside a temporary folder is touched; every wait is bounded; exits non-zero on any
# failure, with the server's log tail.
set -euo pipefail

RUN_FLOW=1
case "${1:-}" in
  "") ;;
  --no-run) RUN_FLOW=0 ;;
  *) echo "usage: $0 [--no-run]" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${VENV:-}" ]; then BIN="$VENV/bin/"
elif [ -n "${VIRTUAL_ENV:-}" ]; then BIN="$VIRTUAL_ENV/bin/"
elif [ -x "$ROOT/.venv/bin/prefect" ]; then BIN="$ROOT/.venv/bin/"
else BIN=""
fi
PREFECT="${BIN}prefect"
PYTHON="${BIN}python"
CONCERNS="${BIN}concerns"
for tool in "$PREFECT" "$PYTHON" "$CONCERNS"; do
  command -v "$tool" >/dev/null || { echo "check_deploy: $tool not found (set VENV=...)" >&2; exit 2; }
done

EXPECTED="annual-categorisation data-import deadline-check hmi-reminders send-notifications termly-review"
# Run on demand (when an operator has a file to import), so it has no schedule.
ON_DEMAND="data-import"
T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%6.1f s", b - a }'; }
step() { printf '[%s] %s\n' "$(elapsed)" "$*"; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/concerns-check-deploy.XXXXXX")
SERVER_PID=""
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    # The server was started with setsid, so its process group is exactly what this script started.
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ] && [ -f "$TMP/server.log" ]; then
    echo "--- last lines of the Prefect server log ---" >&2
    tail -n 30 "$TMP/server.log" >&2 || true
  fi
  rm -rf "$TMP"
  printf '[%s] %s\n' "$(elapsed)" "$([ "$rc" -eq 0 ] && echo "OK" || echo "FAILED (exit $rc)")"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "check_deploy: $*" >&2; exit 1; }

# A free loopback port: bind port 0, read what the kernel picked, release it.
PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export PREFECT_HOME="$TMP/prefect-home"
export PREFECT_API_URL="http://127.0.0.1:$PORT/api"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_CLI_PROMPT=false
unset PREFECT_PROFILE PREFECT_API_KEY
# The temporary app database and mail: a demo authority, .eml files instead of SMTP.
export CONCERNS_DB="sqlite:///$TMP/concerns.db"
export CONCERNS_OUTBOX="$TMP/outbox"
export CONCERNS_REPORTS="$TMP/reports"
export CONCERNS_LETTERS="$TMP/letters"
export CONCERNS_HOME="$ROOT"
unset CONCERNS_SMTP_URL CONCERNS_SMTP_BLOCK

step "prefect server on 127.0.0.1:$PORT (PREFECT_HOME=$PREFECT_HOME)"
# No scheduler: the check reads the schedules from the API; it must not start real scheduled runs.
# No UI: not needed here, and it starts faster.
setsid "$PREFECT" server start --host 127.0.0.1 --port "$PORT" --no-scheduler --no-ui --analytics-off \
  >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
  if curl -fsS --max-time 2 "$PREFECT_API_URL/health" >/dev/null 2>&1; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited during start-up"
  sleep 0.5
done
curl -fsS --max-time 2 "$PREFECT_API_URL/health" >/dev/null 2>&1 || fail "the server was not healthy within 60 s"
step "server healthy"

timeout 60 "$PREFECT" work-pool create concerns-process --type process --overwrite >"$TMP/pool.log" 2>&1 \
  || { cat "$TMP/pool.log" >&2; fail "could not create the work pool"; }
timeout 60 "$PREFECT" concurrency-limit create concerns-outbox 1 >"$TMP/limit.log" 2>&1 \
  || { cat "$TMP/limit.log" >&2; fail "could not create the concerns-outbox concurrency limit"; }
step "work pool concerns-process and concurrency limit concerns-outbox created"

(cd "$ROOT" && timeout 180 "$PREFECT" --no-prompt deploy --all) >"$TMP/deploy.log" 2>&1 \
  || { cat "$TMP/deploy.log" >&2; fail "prefect deploy --all failed"; }
step "prefect --no-prompt deploy --all done"

# One deployment per flow, each on the pool, with its schedules, and the pull step resolved.
timeout 60 "$PYTHON" - "$EXPECTED" "$ROOT" "$ON_DEMAND" <<'PY' || fail "the deployments are not as prefect.yaml describes"
import asyncio
import sys

from prefect.client.orchestration import get_client
from prefect.server.schemas.schedules import CronSchedule, RRuleSchedule

expected, root, on_demand = set(sys.argv[1].split()), sys.argv[2], set(sys.argv[3].split())


async def main() -> int:
    async with get_client() as client:
        deployments = await client.read_deployments()
        names = {d.name for d in deployments}
        problems = []
        if names != expected:
            problems.append(f"deployments {sorted(names)}, expected {sorted(expected)}")
        for d in sorted(deployments, key=lambda d: d.name):
            flow = await client.read_flow(d.flow_id)
            pull = d.pull_steps or []
            directory = (pull[0].get("prefect.deployments.steps.set_working_directory") or {}).get("directory") \
                if pull else None
            print(f"  {flow.name}/{d.name}: pool={d.work_pool_name}, {len(d.schedules)} schedule(s), "
                  f"parameters={d.parameters}, working directory={directory}")
            for s in d.schedules:
                # The server's schedule classes compute dates the way the scheduler will.
                kind = CronSchedule if getattr(s.schedule, "cron", None) else RRuleSchedule
                nxt = await kind(**s.schedule.model_dump(exclude_none=True)).get_dates(n=1)
                spec = (getattr(s.schedule, "cron", None) or s.schedule.rrule).split("\n")[-1]
                print(f"      {spec} [{s.schedule.timezone}] next {nxt[0].isoformat()}")
            if d.work_pool_name != "concerns-process":
                problems.append(f"{d.name}: work pool {d.work_pool_name}")
            if not d.schedules and d.name not in on_demand:
                problems.append(f"{d.name}: no schedules")
            if directory != root:
                problems.append(f"{d.name}: working directory {directory!r}, expected {root!r}")
            if flow.name != d.name:
                problems.append(f"{d.name}: flow {flow.name}")
        for p in problems:
            print("PROBLEM:", p, file=sys.stderr)
        return 1 if problems else 0


sys.exit(asyncio.run(main()))
PY
timeout 60 "$PREFECT" deployment ls >"$TMP/ls.log" 2>&1 || { cat "$TMP/ls.log" >&2; fail "prefect deployment ls failed"; }
cat "$TMP/ls.log"
step "6 deployments checked"

if [ "$RUN_FLOW" -eq 1 ]; then
  timeout 120 "$CONCERNS" init --demo >"$TMP/init.log" 2>&1 || { cat "$TMP/init.log" >&2; fail "concerns init --demo failed"; }
  step "demo database at $CONCERNS_DB"
  # as_of fixed so the run has work to do whatever today is: 22 November 2026 is the demo's "today".
  RUN_OUT=$(timeout 60 "$PREFECT" deployment run deadline-check/deadline-check --param as_of=2026-11-22 2>&1) \
    || { echo "$RUN_OUT" >&2; fail "could not create the flow run"; }
  FLOW_RUN_ID=$(echo "$RUN_OUT" | grep -Eo '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' | head -n 1)
  [ -n "$FLOW_RUN_ID" ] || { echo "$RUN_OUT" >&2; fail "no flow run id in the output of prefect deployment run"; }
  step "flow run $FLOW_RUN_ID created; starting a worker for one poll"
  # --run-once: poll once, run what is due in a subprocess, wait for it, exit.
  timeout 300 "$PREFECT" worker start --pool concerns-process --run-once >"$TMP/worker.log" 2>&1 \
    || { cat "$TMP/worker.log" >&2; fail "the worker failed or timed out"; }
  step "worker finished"
  timeout 60 "$PYTHON" - "$FLOW_RUN_ID" <<'PY' || { tail -n 40 "$TMP/worker.log" >&2; fail "the deadline-check run did not complete as expected"; }
import asyncio
import sys
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId


async def main() -> int:
    async with get_client() as client:
        run = await client.read_flow_run(UUID(sys.argv[1]))
        print(f"  {run.name}: {run.state.type.value} ({run.state.name}) in {run.total_run_time}")
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
        print("  artifacts:", ", ".join(sorted(a.key or "?" for a in artifacts)))
        ok = run.state.is_completed() and {"deadline-check", "send-notifications"} <= {a.key for a in artifacts}
        return 0 if ok else 1


sys.exit(asyncio.run(main()))
PY
  SENT=$(find "$CONCERNS_OUTBOX" -name '*.eml' 2>/dev/null | wc -l)
  [ "$SENT" -gt 0 ] || fail "no .eml written to $CONCERNS_OUTBOX"
  step "deadline-check ran on the worker: completed, artifacts published, $SENT message(s) in the outbox"
fi
