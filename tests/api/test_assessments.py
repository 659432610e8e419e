"""Assessment endpoints: create/run/cancel/list, and invalid input that changes nothing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.audit.models import AuditLogEntry
from qrap_core.db import Database
from tests.conftest import RecordingDispatcher

CERTS = Path(__file__).resolve().parents[2] / "qrap_core" / "examples" / "certs"


def _counts(database: Database) -> tuple[int, int, int]:
    with database.unit_of_work() as uow:
        return (
            uow.session.scalar(select(func.count()).select_from(Assessment)) or 0,
            uow.session.scalar(select(func.count()).select_from(AssessmentRun)) or 0,
            uow.session.scalar(select(func.count()).select_from(AuditLogEntry)) or 0,
        )


class TestCreate:
    def test_create_without_run_is_draft(
        self, client: TestClient, org_id: str, dispatched: RecordingDispatcher
    ) -> None:
        response = client.post(
            "/api/v1/assessments",
            json={"name": "draft", "organization_id": org_id, "target_assets": ["example.com"]},
        )
        assert response.status_code == 201
        body = response.json()
        assert body["status"] == "DRAFT"
        assert body["target_assets"] == ["example.com"]
        assert response.headers["Location"] == f"/api/v1/assessments/{body['id']}"
        assert dispatched.sent == []

    def test_create_with_run_queues_after_commit(
        self, client: TestClient, org_id: str, dispatched: RecordingDispatcher, database: Database
    ) -> None:
        response = client.post(
            "/api/v1/assessments",
            json={
                "name": "queued",
                "organization_id": org_id,
                "targets": [{"type": "certificate", "pem": (CERTS / "rsa2048.pem").read_text()}],
                "run": True,
            },
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["status"] == "QUEUED"
        assert body["latest_run"]["status"] == "QUEUED"
        assert [t.name for t in dispatched.sent] == ["qrap.assessment.run"]
        run_id = dispatched.sent[0].kwargs["run_id"]
        assert run_id == body["latest_run"]["id"]
        # The row the message points at is committed by the time the client has its 202.
        with database.unit_of_work() as uow:
            assert uow.session.get(AssessmentRun, uuid.UUID(run_id)) is not None

    def test_run_endpoint_answers_202_and_conflicts_while_active(
        self, client: TestClient, org_id: str, dispatched: RecordingDispatcher
    ) -> None:
        created = client.post(
            "/api/v1/assessments",
            json={"name": "r", "organization_id": org_id, "target_assets": ["127.0.0.1:1"]},
        ).json()
        first = client.post(f"/api/v1/assessments/{created['id']}/run")
        assert first.status_code == 202
        assert first.headers["Location"].endswith(created["id"])
        second = client.post(f"/api/v1/assessments/{created['id']}/run")
        assert second.status_code == 409
        assert len(dispatched.sent) == 1

    def test_cancel_then_cancel_again(self, client: TestClient, org_id: str) -> None:
        created = client.post(
            "/api/v1/assessments",
            json={
                "name": "c",
                "organization_id": org_id,
                "target_assets": ["127.0.0.1:1"],
                "run": True,
            },
        ).json()
        cancelled = client.post(f"/api/v1/assessments/{created['id']}/cancel")
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "CANCELLED"
        assert cancelled.json()["latest_run"]["status"] == "CANCELLED"
        assert client.post(f"/api/v1/assessments/{created['id']}/cancel").status_code == 409

    def test_mutations_are_audited(
        self, client: TestClient, org_id: str, database: Database
    ) -> None:
        created = client.post(
            "/api/v1/assessments",
            json={"name": "audited", "organization_id": org_id, "target_assets": ["a.example"]},
        ).json()
        with database.unit_of_work() as uow:
            actions = uow.session.scalars(
                select(AuditLogEntry.action).where(AuditLogEntry.object_id == created["id"])
            ).all()
        assert actions == ["assessment.create"]


class TestInvalidInput:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"organization_id": "x"}, "name"),
            ({"name": "n"}, "organization_id"),
            ({"name": "n", "organization_id": "not-a-uuid"}, "organization_id"),
            ({"name": "", "organization_id": str(uuid.uuid4())}, "name"),
            ({"name": "x" * 256, "organization_id": str(uuid.uuid4())}, "name"),
            (
                {"name": "n", "organization_id": "{org}", "targets": [{"type": "smtp"}]},
                "targets[0]",
            ),
            (
                {"name": "n", "organization_id": "{org}", "targets": [{"type": "tls", "port": 1}]},
                "targets[0].tls.host",
            ),
            (
                {"name": "n", "organization_id": "{org}", "target_assets": ["not a host!"]},
                "target_assets[0]",
            ),
            (
                {"name": "n", "organization_id": "{org}", "target_assets": ["ftp://example.com"]},
                "target_assets[0]",
            ),
            (
                {"name": "n", "organization_id": "{org}", "target_assets": ["example.com:99999"]},
                "target_assets[0]",
            ),
            (
                {
                    "name": "n",
                    "organization_id": "{org}",
                    "targets": [
                        {"type": "certificate", "pem": "-----BEGIN CERTIFICATE-----\nAAAA"}
                    ],
                },
                "targets[0].pem",
            ),
            ({"name": "n", "organization_id": "{org}", "run": True}, "target_assets"),
            ({"name": "n", "organization_id": "{org}", "unexpected": 1}, "unexpected"),
        ],
    )
    def test_400_names_the_field_and_changes_nothing(
        self,
        client: TestClient,
        org_id: str,
        database: Database,
        dispatched: RecordingDispatcher,
        body: dict[str, object],
        field: str,
    ) -> None:
        if body.get("organization_id") == "{org}":
            body = {**body, "organization_id": org_id}
        before = _counts(database)
        response = client.post("/api/v1/assessments", json=body)
        assert response.status_code == 400, response.text
        payload = response.json()
        assert payload["error"]
        assert any(d["field"].startswith(field) for d in payload["details"]), payload
        assert _counts(database) == before
        assert dispatched.sent == []

    def test_unknown_organization_is_404_and_changes_nothing(
        self, client: TestClient, database: Database
    ) -> None:
        before = _counts(database)
        response = client.post(
            "/api/v1/assessments", json={"name": "n", "organization_id": str(uuid.uuid4())}
        )
        assert response.status_code == 404
        assert _counts(database) == before

    def test_malformed_json_is_400(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/assessments",
            content=b'{"name": "x",',
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.json()["error"] == "malformed JSON body"

    def test_oversize_body_is_413(self, client: TestClient, database: Database) -> None:
        before = _counts(database)
        response = client.post(
            "/api/v1/assessments",
            content=b'{"name": "' + b"x" * 2_000_000 + b'"}',
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 413
        assert "exceeds" in response.json()["error"]
        assert _counts(database) == before

    @pytest.mark.parametrize(
        "path",
        [
            "/api/v1/assessments/not-a-uuid",
            "/api/v1/assessments/123/runs",
            "/api/v1/findings/zzz",
            "/api/v1/organizations/1",
        ],
    )
    def test_bad_uuid_in_path_is_400(self, client: TestClient, path: str) -> None:
        response = client.get(path)
        assert response.status_code == 400
        assert response.json()["error"]

    def test_unknown_ids_are_404(self, client: TestClient) -> None:
        missing = uuid.uuid4()
        for path in (
            f"/api/v1/assessments/{missing}",
            f"/api/v1/assessments/{missing}/runs",
            f"/api/v1/assessments/{missing}/assets",
            f"/api/v1/assessments/{missing}/report",
            f"/api/v1/findings/{missing}",
            f"/api/v1/organizations/{missing}",
        ):
            assert client.get(path).status_code == 404, path
        assert client.post(f"/api/v1/assessments/{missing}/run").status_code == 404

    @pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1", "status=DONE"])
    def test_bad_list_parameters_are_400(self, client: TestClient, query: str) -> None:
        assert client.get(f"/api/v1/assessments?{query}").status_code == 400

    def test_findings_need_assessment_id(self, client: TestClient) -> None:
        response = client.get("/api/v1/findings")
        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "assessment_id"


class TestList:
    def test_filters_and_pagination(self, client: TestClient, org_id: str) -> None:
        for index in range(3):
            client.post(
                "/api/v1/assessments",
                json={"name": f"a{index}", "organization_id": org_id, "target_assets": ["a.b"]},
            )
        page = client.get(f"/api/v1/assessments?organization_id={org_id}&limit=2").json()
        assert page["total_count"] == 3
        assert len(page["assessments"]) == 2
        assert page["limit"] == 2
        assert page["offset"] == 0
        rest = client.get(f"/api/v1/assessments?organization_id={org_id}&offset=2").json()
        assert len(rest["assessments"]) == 1
        drafts = client.get(f"/api/v1/assessments?organization_id={org_id}&status=QUEUED").json()
        assert drafts["total_count"] == 0


class TestMisc:
    def test_openapi_is_served(self, client: TestClient) -> None:
        spec = client.get("/openapi.json").json()
        assert "/api/v1/assessments/{assessment_id}/run" in spec["paths"]

    def test_security_headers(self, client: TestClient) -> None:
        response = client.get("/healthz")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" in response.headers

    def test_health_reports_ok(self, client: TestClient) -> None:
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert response.json()["service"] == "qrap-api"

    def test_organization_name_conflict(self, client: TestClient) -> None:
        name = f"dup-{uuid.uuid4()}"
        assert client.post("/api/v1/organizations", json={"name": name}).status_code == 201
        again = client.post("/api/v1/organizations", json={"name": name})
        assert again.status_code == 409
        assert again.json()["details"][0]["field"] == "name"
