"""DELETE /api/v1/artifacts/{id}: analysts and admins of its organization, 404 elsewhere,
409 while it is still in use, audited."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from qrap_api.auth import issue_token
from qrap_core.audit.models import AuditLogEntry
from qrap_core.db import Database
from qrap_core.settings import Settings

DOCUMENT = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "components": [
        {
            "type": "cryptographic-asset",
            "name": "RSA",
            "cryptoProperties": {"assetType": "algorithm"},
        }
    ],
}


def bearer(settings: Settings, role: str, org_id: str) -> dict[str, str]:
    token = issue_token(settings, subject=f"{role}-{org_id[:8]}", role=role, org_ids=[org_id])
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def assessment_id(client: TestClient, org_id: str) -> str:
    response = client.post("/api/v1/assessments", json={"name": "docs", "organization_id": org_id})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
def artifact(client: TestClient, assessment_id: str) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/assessments/{assessment_id}/artifacts",
        files={"file": ("estate.cdx.json", json.dumps(DOCUMENT).encode(), "application/json")},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


class TestDeleteArtifact:
    def test_analyst_deletes_it_and_its_target(
        self,
        client: TestClient,
        settings: Settings,
        org_id: str,
        assessment_id: str,
        artifact: dict[str, Any],
        database: Database,
    ) -> None:
        response = client.delete(
            f"/api/v1/artifacts/{artifact['id']}", headers=bearer(settings, "analyst", org_id)
        )

        assert response.status_code == 204, response.text
        listed = client.get(f"/api/v1/assessments/{assessment_id}/artifacts").json()
        assert listed["total_count"] == 0
        assert client.get(f"/api/v1/assessments/{assessment_id}").json()["targets"] == []
        assert client.delete(f"/api/v1/artifacts/{artifact['id']}").status_code == 404
        with database.unit_of_work() as uow:
            entry = uow.session.scalars(
                select(AuditLogEntry).where(
                    AuditLogEntry.object_id == assessment_id,
                    AuditLogEntry.action == "assessment.artifact.delete",
                )
            ).one()
            assert entry.details["artifact_id"] == artifact["id"]
            assert entry.actor == f"analyst-{org_id[:8]}"

    def test_viewer_may_not(
        self, client: TestClient, settings: Settings, org_id: str, artifact: dict[str, Any]
    ) -> None:
        response = client.delete(
            f"/api/v1/artifacts/{artifact['id']}", headers=bearer(settings, "viewer", org_id)
        )

        assert response.status_code == 403

    @pytest.mark.parametrize("role", ["admin", "analyst", "viewer"])
    def test_other_tenant_gets_404(
        self, client: TestClient, settings: Settings, artifact: dict[str, Any], role: str
    ) -> None:
        other = client.post("/api/v1/organizations", json={"name": f"other-{uuid.uuid4()}"})
        assert other.status_code == 201, other.text

        response = client.delete(
            f"/api/v1/artifacts/{artifact['id']}",
            headers=bearer(settings, role, str(other.json()["id"])),
        )

        assert response.status_code in (403, 404) if role == "viewer" else 404
        assert response.status_code != 204
        assert client.get(
            f"/api/v1/assessments/{artifact['assessment_id']}/artifacts"
        ).json()["total_count"] == 1  # fmt: skip

    def test_unknown_and_malformed_ids(self, client: TestClient) -> None:
        assert client.delete(f"/api/v1/artifacts/{uuid.uuid4()}").status_code == 404
        response = client.delete("/api/v1/artifacts/not-a-uuid")
        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "artifact_id"

    def test_in_use_by_another_assessment_is_409(
        self, client: TestClient, org_id: str, artifact: dict[str, Any]
    ) -> None:
        user = client.post(
            "/api/v1/assessments",
            json={
                "name": "reuses the upload",
                "organization_id": org_id,
                "targets": [{"type": "cbom", "artifact_id": artifact["id"]}],
            },
        )
        assert user.status_code == 201, user.text

        response = client.delete(f"/api/v1/artifacts/{artifact['id']}")

        assert response.status_code == 409, response.text
        assert response.json()["code"] == "Conflict"
        assert user.json()["id"] in response.json()["details"][0]["message"]

    def test_while_a_run_is_queued_is_409(
        self, client: TestClient, assessment_id: str, artifact: dict[str, Any]
    ) -> None:
        assert client.post(f"/api/v1/assessments/{assessment_id}/run").status_code == 202

        response = client.delete(f"/api/v1/artifacts/{artifact['id']}")

        assert response.status_code == 409, response.text
        assert response.json()["code"] == "InvalidState"
