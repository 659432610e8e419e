#!/usr/bin/env bash
# Back up QRAP's PostgreSQL database: pg_dump in the custom format (compressed, restorable with
# scripts/restore.sh or pg_restore).
#
#   scripts/backup.sh OUTFILE
#
# The database is the one the service uses, named by the same settings: QRAP_DATABASE_URL
# (postgres://, postgresql:// or postgresql+psycopg2:// URLs), else QRAP_DB_HOST, QRAP_DB_PORT,
# QRAP_DB_NAME, QRAP_DB_USER, QRAP_DB_PASSWORD and QRAP_DB_SSLMODE with the service's defaults
# (127.0.0.1, 5432, qrap, postgres, none, prefer). The password reaches pg_dump through its
# environment, never its command line. pg_dump must be at least the server's major version.
#
# OUTFILE is written next to itself first and renamed once the dump is complete and readable,
# so a failed run never leaves a truncated backup under the final name; it is readable by its
# owner only. Exit status: 0 done, 2 usage or configuration error, other: pg_dump's failure.
#
# restore.sh sources this file for qrap_pg_env; sourcing runs nothing else.
set -euo pipefail

qrap_die() {
  echo "${0##*/}: $*" >&2
  exit 2
}

# Percent-decoding; a literal backslash stays one.
qrap_urldecode() {
  local encoded=${1//\\/\\\\}
  printf '%b' "${encoded//%/\\x}"
}

# Export PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD and PGSSLMODE (and the libpq variables
# a URL's query names) for the database QRAP's settings point at.
qrap_pg_env() {
  unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSSLMODE PGSERVICE
  if [[ -n "${QRAP_DATABASE_URL:-}" ]]; then
    local url=$QRAP_DATABASE_URL scheme rest userinfo hostport path query user password
    scheme=${url%%://*}
    [[ "$scheme" != "$url" ]] || qrap_die "QRAP_DATABASE_URL is not a URL"
    case "${scheme,,}" in
      postgres | postgresql | postgres+* | postgresql+*) ;;
      *) qrap_die "QRAP_DATABASE_URL: $scheme:// is not PostgreSQL (backups cover PostgreSQL only)" ;;
    esac
    rest=${url#*://}
    query=""
    if [[ "$rest" == *\?* ]]; then
      query=${rest#*\?}
      rest=${rest%%\?*}
    fi
    path=""
    if [[ "$rest" == */* ]]; then
      path=${rest#*/}
      rest=${rest%%/*}
    fi
    userinfo=""
    if [[ "$rest" == *@* ]]; then
      userinfo=${rest%@*}
      rest=${rest##*@}
    fi
    hostport=$rest
    user=${userinfo%%:*}
    password=""
    if [[ "$userinfo" == *:* ]]; then password=${userinfo#*:}; fi
    export PGHOST=127.0.0.1 PGPORT=5432 PGSSLMODE=prefer
    if [[ "$hostport" == \[*\]* ]]; then # [IPv6]:port
      PGHOST=${hostport%%]*}
      PGHOST=${PGHOST#[}
      hostport=${hostport#*]}
      if [[ "$hostport" == :* ]]; then PGPORT=${hostport#:}; fi
    elif [[ -n "$hostport" ]]; then
      PGHOST=${hostport%%:*}
      if [[ "$hostport" == *:* ]]; then PGPORT=${hostport#*:}; fi
    fi
    if [[ -n "$user" ]]; then
      PGUSER=$(qrap_urldecode "$user")
      export PGUSER
    fi
    if [[ -n "$password" ]]; then
      PGPASSWORD=$(qrap_urldecode "$password")
      export PGPASSWORD
    fi
    if [[ -n "$path" ]]; then
      PGDATABASE=$(qrap_urldecode "$path")
      export PGDATABASE
    fi
    local pair key value pairs
    if [[ -n "$query" ]]; then
      IFS='&' read -r -a pairs <<<"$query"
      for pair in "${pairs[@]}"; do
        key=${pair%%=*}
        value=$(qrap_urldecode "${pair#*=}")
        case "$key" in
          sslmode) export PGSSLMODE=$value ;;
          sslrootcert) export PGSSLROOTCERT=$value ;;
          sslcert) export PGSSLCERT=$value ;;
          sslkey) export PGSSLKEY=$value ;;
          connect_timeout) export PGCONNECT_TIMEOUT=$value ;;
          application_name) export PGAPPNAME=$value ;;
          options) export PGOPTIONS=$value ;;
          target_session_attrs) export PGTARGETSESSIONATTRS=$value ;;
          host) export PGHOST=$value ;;
          port) export PGPORT=$value ;;
          user) export PGUSER=$value ;;
          password) export PGPASSWORD=$value ;;
          dbname) export PGDATABASE=$value ;;
          *) qrap_die "QRAP_DATABASE_URL: unsupported query parameter ${key}" ;;
        esac
      done
    fi
    : "${PGUSER:=postgres}" "${PGDATABASE:=qrap}"
    export PGUSER PGDATABASE
  else
    export PGHOST=${QRAP_DB_HOST:-127.0.0.1}
    export PGPORT=${QRAP_DB_PORT:-5432}
    export PGDATABASE=${QRAP_DB_NAME:-qrap}
    export PGUSER=${QRAP_DB_USER:-postgres}
    export PGSSLMODE=${QRAP_DB_SSLMODE:-prefer}
    if [[ -n "${QRAP_DB_PASSWORD:-}" ]]; then
      export PGPASSWORD=$QRAP_DB_PASSWORD
    fi
  fi
  [[ "$PGPORT" =~ ^[0-9]+$ ]] || qrap_die "database port is not a number: $PGPORT"
}

qrap_backup_main() {
  if [[ $# -ne 1 || -z "$1" || "$1" == -* ]]; then
    echo "usage: ${0##*/} OUTFILE   (database from QRAP_DATABASE_URL or QRAP_DB_*)" >&2
    exit 2
  fi
  local outfile=$1
  command -v pg_dump >/dev/null || qrap_die "pg_dump not found (PostgreSQL client tools)"
  qrap_pg_env
  [[ -d "$(dirname -- "$outfile")" ]] || qrap_die "no such directory: $(dirname -- "$outfile")"
  # Global, not local: the EXIT trap runs after the function's variables are gone.
  QRAP_BACKUP_PARTIAL="$outfile.partial.$$"
  umask 077
  trap 'rm -f -- "$QRAP_BACKUP_PARTIAL"' EXIT
  echo "backing up database $PGDATABASE on $PGHOST:$PGPORT as $PGUSER" >&2
  pg_dump --format=custom --compress=9 --no-password --file="$QRAP_BACKUP_PARTIAL"
  # A dump that pg_restore cannot list is no backup.
  pg_restore --list -- "$QRAP_BACKUP_PARTIAL" >/dev/null
  mv -f -- "$QRAP_BACKUP_PARTIAL" "$outfile"
  trap - EXIT
  echo "wrote $outfile ($(wc -c <"$outfile") bytes)" >&2
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  qrap_backup_main "$@"
fi
