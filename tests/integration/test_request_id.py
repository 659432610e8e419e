"""A request's X-Request-ID travels with its task: the worker's log lines carry it and the
assessment id, at their own level (not as WARNING lines of ForkPoolWorker)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from fastapi.testclient import TestClient

from qrap_api.app import create_app
from qrap_core.db import Database
from qrap_core.settings import Settings
from qrap_worker.app import make_dispatcher
from tests.conftest import ADMIN_KEY

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CERTS = Path(__file__).resolve().parents[2] / "qrap_core" / "examples" / "certs"


@pytest.fixture
def traced_client(
    settings: Settings, database: Database, celery_client: Celery, celery_worker: Path
) -> Iterator[TestClient]:
    """The API with the service's own dispatcher (the one that sends the trace headers)."""
    app = create_app(settings, database=database, dispatcher=make_dispatcher(celery_client))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"ApiKey {ADMIN_KEY}"
        yield client


def test_worker_lines_carry_the_request_and_assessment_ids(
    traced_client: TestClient, celery_worker: Path
) -> None:
    request_id = f"it-{uuid.uuid4().hex[:12]}"
    org = traced_client.post("/api/v1/organizations", json={"name": f"rid-{uuid.uuid4()}"})
    created = traced_client.post(
        "/api/v1/assessments",
        json={"name": "rid", "organization_id": org.json()["id"], "run": True,
              "targets": [{"type": "certificate", "pem": (CERTS / "rsa2048.pem").read_text()}]},
        headers={"X-Request-ID": request_id},
    )  # fmt: skip
    assert created.status_code == 202, created.text
    assert created.headers["x-request-id"] == request_id
    assessment_id = created.json()["id"]
    deadline = time.monotonic() + 60
    status = ""
    while time.monotonic() < deadline and status not in ("COMPLETED", "FAILED"):
        status = traced_client.get(f"/api/v1/assessments/{assessment_id}").json()["status"]
        time.sleep(0.1)
    assert status == "COMPLETED"
    ours = [
        line
        for line in celery_worker.read_text(errors="replace").splitlines()
        if f"request_id={request_id}" in line
    ]
    claimed = [line for line in ours if "run.claimed" in line]
    completed = [line for line in ours if "run.completed" in line]
    assert claimed, ours
    assert completed, ours
    for line in claimed + completed:
        assert f"assessment_id={assessment_id}" in line
        assert "task=qrap.assessment.run" in line
        assert "[info" in line
        assert "WARNING" not in line
