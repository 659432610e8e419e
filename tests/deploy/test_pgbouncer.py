"""The service through a real PgBouncer in transaction mode (deploy/pgbouncer/pgbouncer.ini).

The shipped file is used with its deployment values swapped (addresses, authentication, admin
user; each key must be present once) and a pool of one server connection, so that every client
shares it: migrations, an assessment created through the API and run by the executor, an
Idempotency-Key replay and the audit log all go through it, and a read-only transaction leaves
nothing behind for the next client.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from qrap_api.app import create_app
from qrap_core import migrate
from qrap_core.audit.models import AuditLogEntry
from qrap_core.db import Database
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY, RecordingDispatcher, _admin_exec
from tests.reliability.harness import Process, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
INI = ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini"
CERTS = ROOT / "qrap_core" / "examples" / "certs"
USER = "postgres"


def _config(port: int, userlist: Path) -> str:
    """The shipped file with this machine's values: PostgreSQL on 127.0.0.1:5432, trust."""
    overrides = {
        "listen_addr": "127.0.0.1",
        "listen_port": str(port),
        "auth_type": "trust",
        "auth_file": str(userlist),
        "admin_users": USER,
        "stats_users": USER,
        "default_pool_size": "1",
        "min_pool_size": "0",
        "reserve_pool_size": "0",
    }
    lines = []
    for line in INI.read_text().splitlines():
        key = line.split("=", 1)[0].strip()
        if key == "qrap":  # the [databases] entry: every database name, to the local server
            line = "* = host=127.0.0.1 port=5432"
        elif key in overrides and "=" in line:
            line = f"{key} = {overrides.pop(key)}"
        lines.append(line)
    assert not overrides, f"missing from {INI.name}: {sorted(overrides)}"
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def bouncer_port(pg_url: str) -> Iterator[int]:
    binary = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if binary is None:
        pytest.skip("pgbouncer is not installed (`make test-deps` installs it)")
    # PgBouncer refuses to run as root: it switches to USER, who must read these files.
    folder = Path(tempfile.mkdtemp(prefix="qrap-pgbouncer-"))
    folder.chmod(0o755)
    userlist = folder / "userlist.txt"
    userlist.write_text(f'"{USER}" ""\n')
    port = free_port()
    ini = folder / "pgbouncer.ini"
    ini.write_text(_config(port, userlist))
    for path in (userlist, ini):
        path.chmod(0o644)
    as_user = ["-u", USER] if os.geteuid() == 0 else []
    process = Process([binary, *as_user, str(ini)], dict(os.environ), folder / "pgbouncer.log")
    process.start()
    try:
        wait_until(lambda: _listening(port), 30, "pgbouncer to listen")
        yield port
    finally:
        process.stop(timeout=15)
        shutil.rmtree(folder, ignore_errors=True)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _console(port: int, command: str) -> list[dict[str, Any]]:
    """A SHOW command on PgBouncer's admin console, as dictionaries by column name."""
    connection = psycopg2.connect(host="127.0.0.1", port=port, user=USER, dbname="pgbouncer")
    connection.autocommit = True  # the console takes no transactions
    try:
        with connection.cursor() as cursor:
            cursor.execute(command)
            if cursor.description is None:  # KILL, PAUSE and the like answer no rows
                return []
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.close()


@pytest.fixture(scope="module")
def bounced_url(bouncer_port: int) -> Iterator[str]:
    """A fresh database, migrated through PgBouncer."""
    name = f"qrap_test_bouncer_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin_exec(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg2://{USER}@127.0.0.1:{bouncer_port}/{name}"
    try:
        migrate.upgrade(url)
        yield url
    finally:
        # Close PgBouncer's server connection first, or the drop waits for it.
        _console(bouncer_port, f'KILL "{name}"')
        _admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def bounced(bounced_url: str) -> Iterator[Database]:
    database = Database(bounced_url)
    yield database
    database.dispose()


class TestThroughPgBouncer:
    def test_pools_in_transaction_mode(self, bouncer_port: int, bounced_url: str) -> None:
        name = bounced_url.rsplit("/", 1)[1]
        pools = [p for p in _console(bouncer_port, "SHOW POOLS") if p["database"] == name]
        assert [p["pool_mode"] for p in pools] == ["transaction"]
        with Database(bounced_url).unit_of_work() as uow:
            revision = uow.session.scalar(text("SELECT version_num FROM alembic_version"))
        script = ScriptDirectory.from_config(migrate.alembic_config(bounced_url))
        assert revision == script.get_current_head()

    def test_assessment_idempotency_and_audit(
        self, settings: Settings, bounced: Database, bouncer_port: int
    ) -> None:
        app = create_app(settings, database=bounced, dispatcher=RecordingDispatcher())
        with TestClient(app, raise_server_exceptions=False) as client:
            client.headers["Authorization"] = f"ApiKey {ADMIN_KEY}"
            key = {"Idempotency-Key": str(uuid.uuid4())}
            body = {"name": f"bounced-{uuid.uuid4()}"}
            org = client.post("/api/v1/organizations", json=body, headers=key)
            again = client.post("/api/v1/organizations", json=body, headers=key)
            assert org.status_code == again.status_code == 201, org.text
            assert again.headers.get("idempotent-replayed") == "true"
            assert again.json()["id"] == org.json()["id"]
            target = {"type": "certificate", "pem": (CERTS / "rsa1024.pem").read_text()}
            created = client.post(
                "/api/v1/assessments",
                json={"name": "through pgbouncer", "organization_id": org.json()["id"],
                      "targets": [target], "run": True},
            )  # fmt: skip
            assert created.status_code == 202, created.text
            assessment_id = created.json()["id"]
            runs = client.get(f"/api/v1/assessments/{assessment_id}/runs").json()["runs"]
            outcome = RunExecutor(bounced, settings).execute(uuid.UUID(runs[0]["id"]))
            assert outcome.status == "COMPLETED"
            report = client.get(f"/api/v1/assessments/{assessment_id}/report")
            assert report.status_code == 200, report.text
            assert report.json()["findings"]
        with bounced.unit_of_work() as uow:
            actions = uow.session.scalars(
                select(AuditLogEntry.action).where(
                    AuditLogEntry.organization_id == uuid.UUID(org.json()["id"])
                )
            ).all()
        assert "assessment.create" in actions
        name = bounced.url.rsplit("/", 1)[1]
        stats = [s for s in _console(bouncer_port, "SHOW STATS") if s["database"] == name]
        assert stats[0]["total_xact_count"] > 0

    def test_a_read_only_transaction_leaves_the_shared_connection_writable(
        self, bounced_url: str
    ) -> None:
        """Two engines, so two client connections, over PgBouncer's one server connection."""
        reader = Database(bounced_url, read_url=bounced_url)
        try:
            with reader.read_unit_of_work() as uow:
                assert uow.session.scalar(text("SHOW transaction_read_only")) == "on"
            with reader.unit_of_work() as uow:
                assert uow.session.scalar(text("SHOW transaction_read_only")) == "off"
        finally:
            reader.dispose()
