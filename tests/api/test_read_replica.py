"""QRAP_DB_READ_URL: lists and reports read through the replica's engine in read-only
transactions; writes, details and everything that mutates stay on the primary.

The "replica" is a second database on the test server, built by the same migrations and holding
rows the primary does not have, so which engine answered is visible in every response.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from qrap_api.app import create_app
from qrap_core import migrate
from qrap_core.db import Database
from qrap_core.errors import ConfigurationError
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings, load_settings
from tests.conftest import ADMIN_KEY, RecordingDispatcher, _admin_exec

CERTS = Path(__file__).resolve().parents[2] / "qrap_core" / "examples" / "certs"


@pytest.fixture(scope="module")
def replica_url(pg_url: str) -> Iterator[str]:
    name = f"qrap_test_replica_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin_exec(f'CREATE DATABASE "{name}"')
    url = pg_url.rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade(url)
    yield url
    _admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _client(settings: Settings) -> TestClient:
    app = create_app(settings, dispatcher=RecordingDispatcher())
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"ApiKey {ADMIN_KEY}"
    return client


@pytest.fixture(scope="module")
def replica_rows(settings: Settings, replica_url: str) -> dict[str, str]:
    """An organization and a completed assessment that exist only in the replica."""
    with _client(settings.model_copy(update={"database_url": replica_url})) as client:
        org = client.post("/api/v1/organizations", json={"name": f"replica-{uuid.uuid4()}"})
        assert org.status_code == 201, org.text
        target = {"type": "certificate", "pem": (CERTS / "rsa1024.pem").read_text()}
        created = client.post(
            "/api/v1/assessments",
            json={"name": "on the replica", "organization_id": org.json()["id"],
                  "targets": [target], "run": True},
        )  # fmt: skip
        assert created.status_code == 202, created.text
        runs = client.get(f"/api/v1/assessments/{created.json()['id']}/runs").json()["runs"]
    replica = Database(replica_url)
    try:
        outcome = RunExecutor(replica, settings).execute(uuid.UUID(runs[0]["id"]))
        assert outcome.status == "COMPLETED"
    finally:
        replica.dispose()
    return {"organization": org.json()["id"], "assessment": created.json()["id"]}


@pytest.fixture
def replica_client(settings: Settings, replica_url: str) -> Iterator[TestClient]:
    with _client(settings.model_copy(update={"db_read_url": replica_url})) as client:
        yield client


class TestWithReplica:
    def test_lists_read_the_replica_and_writes_go_to_the_primary(
        self, replica_client: TestClient, replica_rows: dict[str, str]
    ) -> None:
        created = replica_client.post("/api/v1/organizations", json={"name": "on the primary"})
        assert created.status_code == 201, created.text
        listed = replica_client.get("/api/v1/organizations", params={"limit": 100}).json()
        ids = {o["id"] for o in listed["organizations"]}
        assert replica_rows["organization"] in ids
        assert created.json()["id"] not in ids
        # A detail read is on the primary, where the new row is and the replica's is not.
        assert replica_client.get(f"/api/v1/organizations/{created.json()['id']}").is_success
        assert (
            replica_client.get(f"/api/v1/organizations/{replica_rows['organization']}").status_code
            == 404
        )

    def test_reports_and_finding_lists_read_the_replica(
        self, replica_client: TestClient, replica_rows: dict[str, str]
    ) -> None:
        assessment_id = replica_rows["assessment"]
        report = replica_client.get(f"/api/v1/assessments/{assessment_id}/report")
        assert report.status_code == 200, report.text
        findings = replica_client.get("/api/v1/findings", params={"assessment_id": assessment_id})
        assert findings.status_code == 200, findings.text
        assert findings.json()["total_count"] > 0
        listed = replica_client.get(
            "/api/v1/assessments", params={"organization_id": replica_rows["organization"]}
        ).json()
        assert [a["id"] for a in listed["assessments"]] == [assessment_id]
        # Running it again mutates, so it goes to the primary, which has no such assessment.
        rerun = replica_client.post(f"/api/v1/assessments/{assessment_id}/run")
        assert rerun.status_code == 404, rerun.text


class TestWithoutReplica:
    def test_lists_read_the_primary(self, client: TestClient) -> None:
        created = client.post("/api/v1/organizations", json={"name": "no replica"})
        assert created.status_code == 201, created.text
        listed = client.get("/api/v1/organizations", params={"limit": 100}).json()
        assert created.json()["id"] in {o["id"] for o in listed["organizations"]}


class TestReadUnitOfWork:
    def test_is_read_only_and_leaves_the_pooled_connection_writable(self, pg_url: str) -> None:
        # One pooled connection, no replica: the read and the write share it.
        database = Database(pg_url, pool_size=1, max_overflow=0)
        try:
            with database.read_unit_of_work() as uow:
                assert uow.session.scalar(text("SHOW transaction_read_only")) == "on"
            with (
                pytest.raises(DBAPIError, match="read-only transaction"),
                database.read_unit_of_work() as uow,
            ):
                uow.session.execute(text("CREATE TEMPORARY TABLE replica_probe (x int)"))
            with database.unit_of_work() as uow:
                assert uow.session.scalar(text("SHOW transaction_read_only")) == "off"
        finally:
            database.dispose()


class TestReadUrlSetting:
    def test_accepts_the_database_url_forms(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("QRAP_DB_READ_URL", "postgres://reader@replica:5432/qrap")
        assert load_settings().db_read_url == "postgresql+psycopg2://reader@replica:5432/qrap"

    def test_unset_means_the_primary(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("QRAP_DB_READ_URL", raising=False)
        assert load_settings().db_read_url is None

    def test_a_bad_scheme_names_the_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("QRAP_DB_READ_URL", "mysql://replica/qrap")
        with pytest.raises(ConfigurationError, match="QRAP_DB_READ_URL"):
            load_settings()
