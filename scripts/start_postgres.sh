#!/usr/bin/env bash
# Start this machine's PostgreSQL for the tests and the deploy check, and let the current user
# create databases over the local socket (peer authentication, no password).
#
# Debian: the cluster "15 main" is installed and stopped on a fresh machine; as root,
# `pg_ctlcluster 15 main start` starts it (initdb refuses to run as root, and is not needed).
# If PostgreSQL is not installed at all, it is installed from Debian's packages.
# Idempotent: a running cluster and an existing role are left as they are.
set -euo pipefail

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "start_postgres: installing PostgreSQL from Debian's packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

read -r VERSION CLUSTER STATUS < <(pg_lsclusters --no-header | awk '{print $1, $2, $4; exit}')
if [ -z "${VERSION:-}" ]; then
  echo "start_postgres: no PostgreSQL cluster on this machine" >&2
  exit 1
fi
if [ "$STATUS" != "online" ]; then
  pg_ctlcluster "$VERSION" "$CLUSTER" start
fi
for _ in $(seq 1 60); do
  su postgres -c "psql -Atqc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.5
done
ME=$(id -un)
if ! su postgres -c "psql -Atqc \"select 1 from pg_roles where rolname = '$ME'\"" | grep -q 1; then
  su postgres -c "createuser --superuser '$ME'"
fi
echo "start_postgres: PostgreSQL $VERSION/$CLUSTER online; role $ME may create databases"
