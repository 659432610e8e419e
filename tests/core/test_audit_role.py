"""The least-privilege application role (migration 0006), on the real PostgreSQL: connected as
it, the service can append to the audit log and read it, and nothing more; the owner's
triggers still refuse UPDATE and DELETE."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing

import psycopg2
import psycopg2.errors
import pytest
from psycopg2.extensions import connection as pg_connection
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from alembic import command
from qrap_core import migrate
from qrap_core.audit import approle
from qrap_core.settings import get_settings
from tests.conftest import PG_ADMIN_DSN

ROLE = get_settings().db_app_role
APPEND = (
    "INSERT INTO qrap_audit_log (occurred_at, actor, actor_type, action, object_type, details)"
    " VALUES (now(), 'role-test', 'system', %s, 'test', '{}') RETURNING id"
)


def _connect(database: str, user: str) -> pg_connection:
    conn = psycopg2.connect(f"{PG_ADMIN_DSN} dbname={database} user={user}")
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def database(pg_url: str) -> str:
    name = make_url(pg_url).database
    assert name is not None
    return name


@pytest.fixture
def as_app(database: str) -> Iterator[pg_connection]:
    conn = _connect(database, ROLE)
    yield conn
    conn.close()


@pytest.fixture
def as_owner(database: str) -> Iterator[pg_connection]:
    conn = _connect(database, "postgres")
    yield conn
    conn.close()


@pytest.fixture
def audit_row(as_app: pg_connection) -> int:
    with as_app.cursor() as cursor:
        cursor.execute(APPEND, (f"test.{uuid.uuid4().hex[:8]}",))
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _refused(conn: pg_connection, sql: str) -> psycopg2.Error:
    with pytest.raises(psycopg2.Error) as caught, conn.cursor() as cursor:
        cursor.execute(sql)
    return caught.value


class TestTheRole:
    def test_is_no_superuser_and_owns_nothing(self, as_owner: pg_connection) -> None:
        with as_owner.cursor() as cursor:
            cursor.execute(
                "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
                " WHERE rolname = %s",
                (ROLE,),
            )
            assert cursor.fetchone() == (False, False, False, False)
            cursor.execute("SELECT count(*) FROM pg_class WHERE relowner = %s::regrole", (ROLE,))
            assert cursor.fetchone() == (0,)

    def test_connects_as_itself(self, as_app: pg_connection) -> None:
        with as_app.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (ROLE,)


class TestAuditLogAsAppRole:
    def test_can_insert_and_select(self, as_app: pg_connection, audit_row: int) -> None:
        with as_app.cursor() as cursor:
            cursor.execute("SELECT actor FROM qrap_audit_log WHERE id = %s", (audit_row,))
            assert cursor.fetchone() == ("role-test",)

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE qrap_audit_log SET actor = 'rewritten' WHERE id = {id}",
            "DELETE FROM qrap_audit_log WHERE id = {id}",
            "TRUNCATE qrap_audit_log",
            "TRUNCATE qrap_audit_log CASCADE",
        ],
    )
    def test_cannot_rewrite(self, as_app: pg_connection, audit_row: int, sql: str) -> None:
        error = _refused(as_app, sql.format(id=audit_row))
        assert isinstance(error, psycopg2.errors.InsufficientPrivilege), error
        with as_app.cursor() as cursor:
            cursor.execute("SELECT actor FROM qrap_audit_log WHERE id = %s", (audit_row,))
            assert cursor.fetchone() == ("role-test",)

    @pytest.mark.parametrize(
        "sql",
        [
            "ALTER TABLE qrap_audit_log DISABLE TRIGGER ALL",
            "ALTER TABLE qrap_audit_log DISABLE TRIGGER qrap_audit_log_no_update_delete",
            "ALTER TABLE qrap_audit_log DISABLE TRIGGER USER",
            "DROP TRIGGER qrap_audit_log_no_update_delete ON qrap_audit_log",
            "ALTER TABLE qrap_audit_log OWNER TO CURRENT_USER",
            "CREATE OR REPLACE FUNCTION qrap_audit_log_immutable() RETURNS trigger"
            " LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
        ],
    )
    def test_cannot_disable_the_triggers(self, as_app: pg_connection, sql: str) -> None:
        error = _refused(as_app, sql)
        assert isinstance(error, psycopg2.errors.InsufficientPrivilege), error

    @pytest.mark.parametrize("scope", ["SESSION", "LOCAL"])
    def test_cannot_set_session_replication_role(self, as_app: pg_connection, scope: str) -> None:
        with as_app.cursor() as cursor:
            cursor.execute("BEGIN")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute(f"SET {scope} session_replication_role = replica")
            cursor.execute("ROLLBACK")
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone() == ("origin",)


class TestTriggersAsOwner:
    """The owner holds every privilege; the append-only triggers are what stop it."""

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE qrap_audit_log SET actor = 'rewritten' WHERE id = {id}",
            "DELETE FROM qrap_audit_log WHERE id = {id}",
            "TRUNCATE qrap_audit_log",
        ],
    )
    def test_refuse(self, as_owner: pg_connection, audit_row: int, sql: str) -> None:
        error = _refused(as_owner, sql.format(id=audit_row))
        assert isinstance(error, psycopg2.errors.RaiseException), error
        assert "append-only" in str(error)


class TestApplicationTablesAsAppRole:
    def test_reads_and_writes_application_rows(self, as_app: pg_connection) -> None:
        name = f"role-test-{uuid.uuid4()}"
        with as_app.cursor() as cursor:
            cursor.execute(
                "INSERT INTO organizations (id, name, created_by, created_at, updated_by,"
                " updated_at) VALUES (%s, %s, 'role-test', now(), 'role-test', now())",
                (str(uuid.uuid4()), name),
            )
            cursor.execute("UPDATE organizations SET description = 'x' WHERE name = %s", (name,))
            assert cursor.rowcount == 1
            cursor.execute("DELETE FROM organizations WHERE name = %s", (name,))
            assert cursor.rowcount == 1

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE alembic_version SET version_num = 'x'",
            "TRUNCATE organizations",
            "CREATE TABLE role_test_scratch (id int)",
            "ALTER TABLE organizations ADD COLUMN role_test int",
            "DROP TABLE idempotency_keys",
        ],
    )
    def test_cannot_change_the_schema(self, as_app: pg_connection, sql: str) -> None:
        error = _refused(as_app, sql)
        assert isinstance(error, psycopg2.errors.InsufficientPrivilege), error

    def test_tables_of_later_migrations_get_the_same_rights(self, as_owner: pg_connection) -> None:
        """ALTER DEFAULT PRIVILEGES: what the owner creates next is usable by the service."""
        with as_owner.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("CREATE TABLE role_test_later (id bigserial PRIMARY KEY)")
            cursor.execute(
                "SELECT privilege, has_table_privilege(%s, 'role_test_later', privilege)"
                " FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE']) privilege",
                (ROLE,),
            )
            rights = dict(cursor.fetchall())
            cursor.execute(
                "SELECT has_sequence_privilege(%s, 'role_test_later_id_seq', 'USAGE')", (ROLE,)
            )
            sequence = cursor.fetchone()
            cursor.execute("ROLLBACK")
        assert rights == {
            "SELECT": True,
            "INSERT": True,
            "UPDATE": True,
            "DELETE": True,
            "TRUNCATE": False,
        }
        assert sequence == (True,)


class TestMigration:
    """Upgrade and downgrade in a database of their own (roles are cluster-wide)."""

    @pytest.fixture
    def scratch(self) -> Iterator[str]:
        name = f"qrap_test_role_{uuid.uuid4().hex[:12]}"
        admin = _connect("postgres", "postgres")
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        try:
            yield name
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()

    def test_is_idempotent_and_downgrade_revokes(self, scratch: str) -> None:
        config = migrate.alembic_config(f"postgresql+psycopg2://postgres@127.0.0.1:5432/{scratch}")
        command.upgrade(config, "0006")
        assert self._rights(scratch) == (True, True, False)
        command.downgrade(config, "0005")
        assert self._rights(scratch) == (False, False, False)
        with closing(_connect(scratch, "postgres")) as conn, conn.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_default_acl WHERE %s::regrole::oid = ANY("
                " SELECT (aclexplode(defaclacl)).grantee)",
                (ROLE,),
            )
            assert cursor.fetchone() == (0,)
        command.upgrade(config, "0006")  # the role already exists: created once, granted again
        assert self._rights(scratch) == (True, True, False)

    def test_grants_again_after_a_restore_without_privileges(self, scratch: str) -> None:
        """scripts/restore.sh restores with --no-privileges: the module grants them again."""
        url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{scratch}"
        command.upgrade(migrate.alembic_config(url), "heads")
        engine = create_engine(url, poolclass=NullPool)
        with engine.begin() as connection:
            approle.revoke(connection, ROLE)
        engine.dispose()
        assert self._rights(scratch) == (False, False, False)
        env = {**os.environ, "QRAP_DATABASE_URL": url, "QRAP_DB_APP_ROLE": ROLE}
        subprocess.run(
            [sys.executable, "-m", "qrap_core.audit.approle"], env=env, check=True, timeout=120
        )
        assert self._rights(scratch) == (True, True, False)

    @staticmethod
    def _rights(database: str) -> tuple[bool, bool, bool]:
        """INSERT on organizations, INSERT and UPDATE on the audit log."""
        with closing(_connect(database, "postgres")) as conn, conn.cursor() as cursor:
            cursor.execute(
                "SELECT has_table_privilege(%(r)s, 'organizations', 'INSERT'),"
                " has_table_privilege(%(r)s, 'qrap_audit_log', 'INSERT'),"
                " has_table_privilege(%(r)s, 'qrap_audit_log', 'UPDATE')",
                {"r": ROLE},
            )
            row = cursor.fetchone()
        assert row is not None
        return (bool(row[0]), bool(row[1]), bool(row[2]))
