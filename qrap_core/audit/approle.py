"""The least-privilege application role: created if missing, granted what the service needs.

The service may read and write the application tables but only append to and read the audit
log, and it owns nothing, so it can neither disable the log's triggers nor truncate it (see
"Database roles" in docs/deployment.md). Migration 0006 calls ``grant``; run
``python -m qrap_core.audit.approle`` as the owner to grant again after a restore without
privileges (scripts/restore.sh) or into a new database.
"""

from __future__ import annotations

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from qrap_core.settings import get_settings

AUDIT_TABLE = "qrap_audit_log"


def grant(connection: Connection, role_name: str) -> None:
    """Create ``role_name`` if missing (LOGIN, no password) and grant its rights in this
    database, including default privileges on what this owner creates later. Idempotent."""
    _create_role(connection, role_name)
    role, schema, database = _quoted(connection, role_name)
    for statement in (
        f"GRANT CONNECT ON DATABASE {database} TO {role}",
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        # The audit trail is append-only for the service; alembic_version is the owner's.
        f"REVOKE UPDATE, DELETE ON {AUDIT_TABLE} FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}"
        f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE ON SEQUENCES TO {role}",
    ):
        connection.execute(text(statement))


def revoke(connection: Connection, role_name: str) -> None:
    """Revoke every grant of ``grant`` in this database; the role itself stays (roles belong
    to the whole cluster, other databases may use it)."""
    exists = connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": role_name}
    )
    if exists.first() is None:
        return
    role, schema, database = _quoted(connection, role_name)
    for statement in (
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON SEQUENCES FROM {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON TABLES FROM {role}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
        f"REVOKE USAGE ON SCHEMA {schema} FROM {role}",
        f"REVOKE CONNECT ON DATABASE {database} FROM {role}",
    ):
        connection.execute(text(statement))


def _quoted(connection: Connection, role_name: str) -> tuple[str, str, str]:
    """The role, the current schema and the current database, quoted as identifiers."""
    quote = connection.dialect.identifier_preparer.quote
    schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    database = connection.execute(text("SELECT current_database()")).scalar_one()
    return quote(role_name), quote(schema), quote(database)


def _create_role(connection: Connection, name: str) -> None:
    """Create the role if missing; refuse one that could bypass the audit log's triggers.

    Test sessions migrate several databases at once, so a concurrent CREATE ROLE losing the
    race counts as success.
    """
    role = connection.dialect.identifier_preparer.quote(name)
    literal = "'" + name.replace("'", "''") + "'"
    connection.execute(
        text(
            f"""
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {literal}) THEN
                    BEGIN
                        CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
                            NOREPLICATION NOBYPASSRLS;
                    EXCEPTION
                        WHEN duplicate_object OR unique_violation THEN NULL;
                        WHEN insufficient_privilege THEN
                            RAISE EXCEPTION 'role % does not exist and % may not create it',
                                {literal}, current_user
                                USING HINT = 'create it first (docs/deployment.md)';
                    END;
                END IF;
                IF {literal} = current_user OR EXISTS (
                    SELECT FROM pg_roles WHERE rolname = {literal} AND (rolsuper OR rolbypassrls)
                ) OR pg_has_role({literal}, current_user, 'MEMBER') THEN
                    RAISE EXCEPTION 'QRAP_DB_APP_ROLE % must be a role of its own', {literal}
                        USING HINT = 'not a superuser, not the migrating role nor a member of it';
                END IF;
            END
            $$
            """  # noqa: S608  # a settings-validated identifier, quoted as a name and a literal
        )
    )


def main() -> None:
    """Grant the configured QRAP_DB_APP_ROLE its rights, connected with the owner's settings."""
    settings = get_settings()
    engine = create_engine(settings.sqlalchemy_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                grant(connection, settings.db_app_role)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
