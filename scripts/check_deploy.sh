#!/usr/bin/env bash
# Check the production path of docs/production.md end to end on throwaway Prefect servers with the scheduler on:
# once with Prefect's own database on SQLite, once on PostgreSQL (scripts/check_deploy.py says what
# is asserted). CI runs it after the tests.
#
#   scripts/check_deploy.sh                 # both (about five minutes on two cores)
#   scripts/check_deploy.sh sqlite          # one of them
#
# Uses the virtualenv in $VENV, else the active one, else .venv.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${VENV:-}" ]; then PY="$VENV/bin/python"
elif [ -n "${VIRTUAL_ENV:-}" ]; then PY="$VIRTUAL_ENV/bin/python"
else PY="$ROOT/.venv/bin/python"
fi
[ -x "$PY" ] || PY="$ROOT/$PY"
[ -x "$PY" ] || { echo "check_deploy: no virtualenv python at $PY (set VENV=...)" >&2; exit 2; }

KINDS=("$@")
[ ${#KINDS[@]} -gt 0 ] || KINDS=(sqlite postgresql)
for kind in "${KINDS[@]}"; do
  "$PY" "$ROOT/scripts/check_deploy.py" --prefect-db "$kind"
done
