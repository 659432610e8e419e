"""X-Request-ID: kept when sane, echoed once, and on the API's log lines with the assessment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qrap_api.app import create_app
from qrap_core.db import Database
from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY, RecordingDispatcher


@pytest.fixture
def json_client(settings: Settings, database: Database) -> Iterator[TestClient]:
    """The API with production logging: one JSON object per line on stderr."""
    production = settings.model_copy(update={"env": "production"})
    app = create_app(production, database=database, dispatcher=RecordingDispatcher())
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"ApiKey {ADMIN_KEY}"
        yield client


def _lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


class TestHeader:
    def test_a_sane_id_is_echoed_once(self, client: TestClient) -> None:
        response = client.get("/healthz", headers={"X-Request-ID": "req-1.2:3_abc"})
        assert response.headers.get_list("x-request-id") == ["req-1.2:3_abc"]

    @pytest.mark.parametrize(
        "sent", ["has spaces", "x" * 65, 'quote"d', "semi;colon", "new\\nline"]
    )
    def test_an_insane_id_is_replaced(self, client: TestClient, sent: str) -> None:
        response = client.get("/healthz", headers={"X-Request-ID": sent})
        echoed = response.headers.get_list("x-request-id")
        assert len(echoed) == 1
        assert echoed[0] != sent
        assert len(echoed[0]) == 32
        int(echoed[0], 16)

    def test_without_one_each_request_gets_its_own(self, client: TestClient) -> None:
        first = client.get("/healthz").headers["x-request-id"]
        second = client.get("/healthz").headers["x-request-id"]
        assert first != second

    def test_refusals_before_routing_carry_it(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/organizations",
            content=b"[" * 200,
            headers={"X-Request-ID": "deep-1", "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.headers.get_list("x-request-id") == ["deep-1"]


class TestLogLines:
    def test_request_lines_carry_the_id_and_the_created_assessment(
        self, json_client: TestClient, capsys: pytest.CaptureFixture[str]
    ) -> None:
        org = json_client.post("/api/v1/organizations", json={"name": "rid-org-" + "x" * 8})
        assert org.status_code == 201, org.text
        capsys.readouterr()
        created = json_client.post(
            "/api/v1/assessments",
            json={"name": "rid", "organization_id": org.json()["id"], "run": True,
                  "target_assets": ["example.com:443"]},
            headers={"X-Request-ID": "trace-create-1"},
        )  # fmt: skip
        assert created.status_code == 202, created.text
        assessment_id = created.json()["id"]
        shown = json_client.get(
            f"/api/v1/assessments/{assessment_id}", headers={"X-Request-ID": "trace-show-1"}
        )
        assert shown.status_code == 200
        lines = _lines(capsys.readouterr().err)
        done = {line["request_id"]: line for line in lines if line["event"] == "request.completed"}
        assert done["trace-create-1"]["assessment_id"] == assessment_id
        assert done["trace-create-1"]["route"] == "/api/v1/assessments"
        assert done["trace-create-1"]["status"] == 202
        assert done["trace-create-1"]["level"] == "info"
        assert done["trace-show-1"]["assessment_id"] == assessment_id
        assert done["trace-show-1"]["route"] == "/api/v1/assessments/{assessment_id}"

    def test_health_probes_log_at_debug_only(
        self, json_client: TestClient, capsys: pytest.CaptureFixture[str]
    ) -> None:
        capsys.readouterr()
        json_client.get("/healthz", headers={"X-Request-ID": "probe-1"})
        assert not [line for line in _lines(capsys.readouterr().err) if line.get("request_id")]
