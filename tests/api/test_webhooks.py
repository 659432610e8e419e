"""/api/v1/webhooks: endpoints (secret shown once), deliveries and redelivery; webhook_url."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from qrap_api.auth import issue_token
from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.db import Database, utcnow
from qrap_core.enums import DeliveryStatus
from qrap_core.settings import Settings
from qrap_core.webhook import service as webhook_service
from qrap_core.webhook.models import WebhookDelivery
from tests.conftest import VIEWER_KEY

CERT = (Path(__file__).resolve().parents[2] / "qrap_core/examples/certs/rsa1024.pem").read_text()
# A public address literal: accepted by the policy without DNS, and never dialled here (no
# worker runs in API tests).
PUBLIC_URL = "https://93.184.216.34/hooks/qrap"


def _create(client: TestClient, org_id: str, **extra: object) -> dict[str, object]:
    response = client.post(
        "/api/v1/webhooks", json={"organization_id": org_id, "url": PUBLIC_URL, **extra}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


class TestEndpoints:
    def test_crud_and_secret_shown_once(self, client: TestClient, org_id: str) -> None:
        created = _create(client, org_id, events=["assessment.completed"])
        assert str(created["secret"]).startswith("whsec_")
        assert created["events"] == ["assessment.completed"]
        one = client.get(f"/api/v1/webhooks/{created['id']}")
        assert one.status_code == 200
        assert "secret" not in one.json()
        listed = client.get("/api/v1/webhooks", params={"organization_id": org_id}).json()
        assert [w["id"] for w in listed["webhooks"]] == [created["id"]]
        rotated = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret").json()
        assert rotated["secret"] != created["secret"]
        assert client.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
        assert client.get(f"/api/v1/webhooks/{created['id']}").status_code == 404

    def test_bad_urls_name_the_field(self, client: TestClient, org_id: str) -> None:
        for url in (
            "ftp://example.com/x",
            "http://user:pw@example.com/",
            "http://169.254.169.254/latest/meta-data/",
            "http://127.0.0.1:9000/",
            "not a url",
        ):
            response = client.post("/api/v1/webhooks", json={"organization_id": org_id, "url": url})
            assert response.status_code == 400, (url, response.text)
            assert response.json()["details"][0]["field"] == "url"
        unknown_event = client.post(
            "/api/v1/webhooks",
            json={"organization_id": org_id, "url": PUBLIC_URL, "events": ["assessment.nope"]},
        )
        assert unknown_event.status_code == 400
        assert unknown_event.json()["details"][0]["field"].startswith("events")

    def test_another_tenant_sees_404(
        self, client: TestClient, org_id: str, settings: Settings
    ) -> None:
        created = _create(client, org_id)
        other = issue_token(settings, subject="mallory", role="admin", org_ids=[str(uuid.uuid4())])
        headers = {"Authorization": f"Bearer {other}"}
        for method, path in (
            ("GET", f"/api/v1/webhooks/{created['id']}"),
            ("GET", f"/api/v1/webhooks/{created['id']}/deliveries"),
            ("DELETE", f"/api/v1/webhooks/{created['id']}"),
        ):
            assert client.request(method, path, headers=headers).status_code == 404
        assert client.get("/api/v1/webhooks", headers=headers).json()["total_count"] == 0

    def test_viewer_cannot_create(self, client: TestClient, org_id: str) -> None:
        response = client.post(
            "/api/v1/webhooks",
            json={"organization_id": org_id, "url": PUBLIC_URL},
            headers={"Authorization": f"ApiKey {VIEWER_KEY}"},
        )
        assert response.status_code == 403


class TestDeliveries:
    def test_list_and_redeliver(self, client: TestClient, org_id: str, database: Database) -> None:
        created = _create(client, org_id)
        assessment = client.post(
            "/api/v1/assessments",
            json={"name": "hooked", "organization_id": org_id,
                  "targets": [{"type": "certificate", "pem": CERT}], "run": True},
        ).json()  # fmt: skip
        with database.unit_of_work() as uow:
            model = uow.session.get_one(Assessment, uuid.UUID(assessment["id"]))
            run = uow.session.scalars(
                select(AssessmentRun).where(AssessmentRun.assessment_id == model.id)
            ).one()
            webhook_service.enqueue_assessment_event(
                uow, "assessment.completed", model, run, now=utcnow()
            )
        listed = client.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()
        assert listed["total_count"] == 1
        delivery = listed["deliveries"][0]
        assert delivery["status"] == "pending"
        assert delivery["payload"]["data"]["assessment_id"] == assessment["id"]
        path = f"/api/v1/webhooks/{created['id']}/deliveries/{delivery['id']}/redeliver"
        assert client.post(path).status_code == 409  # still pending: it will be retried anyway
        with database.unit_of_work() as uow:
            row = uow.session.get_one(WebhookDelivery, uuid.UUID(delivery["id"]))
            row.status, row.attempts = DeliveryStatus.FAILED, 10
        again = client.post(path)
        assert again.status_code == 202
        assert again.json()["status"] == "pending"
        assert again.json()["max_attempts"] == 11
        other = f"/api/v1/webhooks/{created['id']}/deliveries/{uuid.uuid4()}/redeliver"
        assert client.post(other).status_code == 404


class TestAssessmentWebhookUrl:
    def test_secret_in_creation_response_only(self, client: TestClient, org_id: str) -> None:
        response = client.post(
            "/api/v1/assessments",
            json={"name": "with url", "organization_id": org_id, "webhook_url": PUBLIC_URL,
                  "targets": [{"type": "certificate", "pem": CERT}]},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["webhook_url"] == PUBLIC_URL
        assert body["webhook_secret"].startswith("whsec_")
        again = client.get(f"/api/v1/assessments/{body['id']}").json()
        assert again["webhook_secret"] is None
        hooks = client.get("/api/v1/webhooks", params={"organization_id": org_id}).json()
        assert [h["assessment_id"] for h in hooks["webhooks"]] == [body["id"]]

    def test_refused_url_names_webhook_url(self, client: TestClient, org_id: str) -> None:
        for url in ("http://169.254.169.254/", "gopher://x"):
            response = client.post(
                "/api/v1/assessments",
                json={"name": "bad", "organization_id": org_id, "webhook_url": url},
            )
            assert response.status_code == 400
            assert response.json()["details"][0]["field"] == "webhook_url"
