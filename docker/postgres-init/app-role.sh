#!/bin/sh
# Run by the postgres image on the first start of an empty data volume (compose.prod.yml):
# creates the application role the API and the workers log in as, with APP_DB_PASSWORD. The
# migrations grant its rights (alembic/versions/20261202_0006_audit_app_role.py). For a volume
# created before this script existed, see "Database roles" in docs/deployment.md.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v role="${QRAP_DB_APP_ROLE:-qrap_app}" -v password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
SQL
