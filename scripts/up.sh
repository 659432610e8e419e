#!/usr/bin/env bash
# `make up`: API, worker, beat and Flower in the foreground against local PostgreSQL and Redis.
# Ctrl-C, or TERM sent to this script or to the `make` running it, stops all four together.
#
# Shared defaults: two `make up` on one machine (or `make up` next to another QRAP) collide on
# them unless you change them for one of the two:
#   - the database `qrap` on 127.0.0.1:5432    QRAP_DB_NAME (or QRAP_DATABASE_URL)
#   - Redis database 0, the Celery broker      QRAP_REDIS_URL=redis://127.0.0.1:6379/1
#   - the API port 8083                        QRAP_API_PORT
#   - the worker's metrics port 9808           QRAP_WORKER_METRICS_PORT (0: none)
#   - Flower's port 5555                       FLOWER_PORT (0: any free port)
#   - beat's schedule file in $TMPDIR or /tmp  BEAT_SCHEDULE=path
# Two instances on one Redis database would take each other's tasks for runs the other's
# database does not hold.
set -euo pipefail
BIN=${BIN:-.venv/bin}

if [ -z "${QUANTUN_JWT_SECRET:-}${QUANTUN_API_KEYS:-}" ] && [ -z "${QRAP_AUTH_DISABLED:-}" ]; then
  echo "no QUANTUN_JWT_SECRET or QUANTUN_API_KEYS: starting with QRAP_AUTH_DISABLED=true (local use only)" >&2
  export QRAP_AUTH_DISABLED=true
fi

# `make migrate` ran as the configured owner; the services connect as the least-privilege role
# the migrations granted to (docs/deployment.md, "Database roles"). It has no password: trust
# authentication, or an entry for it in ~/.pgpass, lets it in.
app_role=${QRAP_DB_APP_ROLE:-qrap_app}
if [ -n "${QRAP_DATABASE_URL:-}" ]; then
  QRAP_DATABASE_URL=$("$BIN/python" - "$QRAP_DATABASE_URL" "$app_role" <<'PY'
import sys
from sqlalchemy.engine import URL, make_url

url = make_url(sys.argv[1])
if url.get_backend_name() in ("postgres", "postgresql"):
    url = URL.create(url.drivername, sys.argv[2], None, url.host, url.port, url.database, url.query)
print(url.render_as_string(hide_password=False))
PY
)
  export QRAP_DATABASE_URL
else
  export QRAP_DB_USER=$app_role
  unset QRAP_DB_PASSWORD
fi

pids=()
# make does not always pass a TERM on (its recipe shell may die first), so the loop at the end
# also watches the process that started this script.
parent=$PPID
stop() {
  trap - INT TERM HUP EXIT
  kill -TERM "${pids[@]}" 2>/dev/null || true
  # The worker's warm shutdown lets running tasks finish; after 30 s whatever is left is
  # killed, its pool processes too.
  for _ in $(seq 60); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait "${pids[@]}" 2>/dev/null || true
  if [ -n "${metrics_dir:-}" ]; then rm -rf "$metrics_dir"; fi
}
trap 'stop; exit 143' TERM
trap 'stop; exit 130' INT
trap 'stop; exit 129' HUP
trap stop EXIT

"$BIN/qrap" serve --host 127.0.0.1 & pids+=($!)
# The worker's metrics (QRAP_WORKER_METRICS_PORT, 9808; 0 turns them off) merge its pool
# processes' values through a directory of its own, emptied at each start.
metrics_dir=$(mktemp -d "${TMPDIR:-/tmp}/qrap-worker-metrics.XXXXXX")
PROMETHEUS_MULTIPROC_DIR=$metrics_dir "$BIN/celery" -A qrap_worker.app worker -Q assessments,maintenance,webhooks -c 2 --prefetch-multiplier 1 -E -l INFO & pids+=($!)
"$BIN/celery" -A qrap_worker.app beat -l INFO -s "${BEAT_SCHEDULE:-${TMPDIR:-/tmp}/qrap-celerybeat-schedule}" & pids+=($!)
# Flower reads FLOWER_PORT (5555), FLOWER_ADDRESS and FLOWER_BASIC_AUTH itself; it refuses to
# start without FLOWER_BASIC_AUTH unless QRAP_ENV=development (the default). FLOWER_PORT=0
# takes any free port (a second `make up` on the machine); Flower prints the one it took.
FLOWER_ADDRESS=${FLOWER_ADDRESS:-127.0.0.1} "$BIN/celery" -A qrap_worker.app flower & pids+=($!)

# Whichever process exits first (a crash, or Ctrl-C) brings the others down, and so does the
# end of the parent (`make` killed). A short `wait` keeps the traps prompt.
while kill -0 "$parent" 2>/dev/null; do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || exit 1
  done
  sleep 1 & wait $! || true
done
