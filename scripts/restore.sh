#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into an EMPTY PostgreSQL database.
#
#   createdb -h HOST -U USER qrap          # once: an empty database
#   scripts/restore.sh INFILE
#
# The target database is named by the service's own settings, exactly as for backup.sh:
# QRAP_DATABASE_URL, else QRAP_DB_HOST/PORT/NAME/USER/PASSWORD/SSLMODE. It must exist and be
# empty: a database holding any table, view, sequence, function or type outside the system
# schemas is refused (exit 3), so a restore can never be mixed into live data. Objects are
# owned by the connecting user (--no-owner) and privileges are left to that user's defaults
# (--no-privileges), so a backup restores into another cluster whose roles differ. Everything
# is restored in a single transaction: on any error nothing is left behind.
#
# Stop the API, the workers and beat before restoring into the service's database, and start
# them again afterwards; the schema comes back at the backup's migration revision, and
# `alembic upgrade heads` brings it forward when the release is newer.
# Exit status: 0 restored, 2 usage or configuration error, 3 target not empty, other: failure.
set -euo pipefail

# shellcheck source=scripts/backup.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/backup.sh"

qrap_restore_main() {
  if [[ $# -ne 1 || -z "$1" || "$1" == -* ]]; then
    echo "usage: ${0##*/} INFILE   (database from QRAP_DATABASE_URL or QRAP_DB_*)" >&2
    exit 2
  fi
  local infile=$1 objects
  command -v pg_restore >/dev/null || qrap_die "pg_restore not found (PostgreSQL client tools)"
  command -v psql >/dev/null || qrap_die "psql not found (PostgreSQL client tools)"
  [[ -f "$infile" && -r "$infile" ]] || qrap_die "cannot read $infile"
  pg_restore --list -- "$infile" >/dev/null 2>&1 ||
    qrap_die "$infile is not a pg_dump custom-format archive (scripts/backup.sh writes one)"
  qrap_pg_env

  objects=$(psql --no-password --no-psqlrc --quiet --tuples-only --no-align \
    --set=ON_ERROR_STOP=1 --command="
      SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
                 AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%')
           + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))
           + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
               WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
                 AND n.nspname NOT LIKE 'pg\\_toast%' AND t.typrelid = 0
                 AND t.typelem = 0)")
  if [[ "$objects" != "0" ]]; then
    echo "${0##*/}: refusing to restore: database $PGDATABASE on $PGHOST:$PGPORT is not empty" \
      "($objects objects outside the system schemas). Restore into a new, empty database" \
      "(createdb), or drop and recreate this one if you mean to replace it." >&2
    exit 3
  fi

  echo "restoring $infile into database $PGDATABASE on $PGHOST:$PGPORT as $PGUSER" >&2
  pg_restore --no-password --no-owner --no-privileges --single-transaction --exit-on-error \
    --dbname="$PGDATABASE" -- "$infile"
  echo "restored $infile" >&2
}

qrap_restore_main "$@"
