#!/usr/bin/env bash
# `make up`: API, worker, beat and Flower in the foreground against local PostgreSQL and Redis.
# Ctrl-C (or TERM) stops all four.
set -euo pipefail
BIN=${BIN:-.venv/bin}

if [ -z "${QUANTUN_JWT_SECRET:-}${QUANTUN_API_KEYS:-}" ] && [ -z "${QRAP_AUTH_DISABLED:-}" ]; then
  echo "no QUANTUN_JWT_SECRET or QUANTUN_API_KEYS: starting with QRAP_AUTH_DISABLED=true (local use only)" >&2
  export QRAP_AUTH_DISABLED=true
fi

pids=()
stop() {
  trap - INT TERM EXIT
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

"$BIN/qrap" serve --host 127.0.0.1 & pids+=($!)
"$BIN/celery" -A qrap_worker.app worker -Q assessments,maintenance,webhooks -c 2 --prefetch-multiplier 1 -l INFO & pids+=($!)
"$BIN/celery" -A qrap_worker.app beat -l INFO -s "${TMPDIR:-/tmp}/qrap-celerybeat-schedule" & pids+=($!)
"$BIN/celery" -A qrap_worker.app flower --address=127.0.0.1 --port=5555 & pids+=($!)

# Whichever process exits first (a crash, or Ctrl-C) brings the others down.
wait -n "${pids[@]}"
