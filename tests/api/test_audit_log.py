"""GET /api/v1/audit-log (admins, filtered, paginated, bounded to the caller's organizations),
and the audit row every mutation writes, walked over the app's routes with the API connected
as the least-privilege application role."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from qrap_api.app import create_app
from qrap_api.auth import issue_token
from qrap_core.audit.models import AuditLogEntry
from qrap_core.db import Database
from qrap_core.enums import DeliveryStatus
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings
from qrap_core.webhook.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import ADMIN_KEY, VIEWER_KEY, RecordingDispatcher

AUDIT = "/api/v1/audit-log"
ADMIN_SUBJECT = "ci-admin"  # the subject of ADMIN_KEY in the settings fixture
# A public address literal: accepted by the network policy without DNS, never dialled here.
PUBLIC_URL = "https://93.184.216.34/hooks/qrap"
INVENTORY = [
    {"type": "inventory", "name": "estate", "assets": [{"asset": "old", "algorithm": "DES"}]}
]


def _org(client: TestClient) -> str:
    response = client.post("/api/v1/organizations", json={"name": f"audit-{uuid.uuid4()}"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _entries(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(AUDIT, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _bearer(settings: Settings, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings, **claims)}"}


class TestListAuditLog:
    def test_an_admin_reads_the_entry_of_a_mutation(self, client: TestClient) -> None:
        org_id = _org(client)
        body = _entries(client, object_id=org_id)
        assert body["total_count"] == 1
        (entry,) = body["entries"]
        assert (entry["action"], entry["object_type"]) == ("organization.create", "organization")
        assert (entry["actor"], entry["actor_type"]) == (ADMIN_SUBJECT, "api_key")
        assert entry["organization_id"] == org_id
        assert entry["details"]["name"].startswith("audit-")

    def test_filters_all_apply(self, client: TestClient) -> None:
        org_id = _org(client)
        created = client.post(
            "/api/v1/assessments", json={"name": "audited", "organization_id": org_id}
        ).json()
        assert _entries(client, organization_id=org_id)["total_count"] == 2
        only = _entries(client, organization_id=org_id, action="assessment.create")
        assert [e["object_id"] for e in only["entries"]] == [created["id"]]
        by_type = _entries(client, organization_id=org_id, object_type="organization")
        assert [e["action"] for e in by_type["entries"]] == ["organization.create"]
        assert _entries(client, organization_id=org_id, actor=ADMIN_SUBJECT)["total_count"] == 2
        assert _entries(client, organization_id=org_id, actor="somebody-else")["total_count"] == 0
        now = datetime.now(UTC)
        assert _entries(client, organization_id=org_id, since=now.isoformat())["total_count"] == 0
        hour_ago = (now - timedelta(hours=1)).isoformat()
        assert _entries(client, organization_id=org_id, until=hour_ago)["total_count"] == 0
        window = {"since": hour_ago, "until": (now + timedelta(hours=1)).isoformat()}
        assert _entries(client, organization_id=org_id, **window)["total_count"] == 2
        # A time without an offset is read as UTC.
        naive = (now - timedelta(hours=1)).replace(tzinfo=None).isoformat()
        assert _entries(client, organization_id=org_id, since=naive)["total_count"] == 2

    def test_pages_newest_first(self, client: TestClient) -> None:
        org_id = _org(client)
        for name in ("first", "second", "third"):
            client.post("/api/v1/assessments", json={"name": name, "organization_id": org_id})
        first = _entries(client, organization_id=org_id, limit=2)
        assert (first["total_count"], first["offset"], first["limit"]) == (4, 0, 2)
        rest = _entries(client, organization_id=org_id, limit=2, offset=2)
        entries = first["entries"] + rest["entries"]
        names = [e["details"].get("name") for e in entries]
        assert names[:3] == ["third", "second", "first"]
        assert entries[3]["action"] == "organization.create"
        assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)

    def test_is_for_admins_only(self, client: TestClient, settings: Settings) -> None:
        org_id = _org(client)
        viewer = client.get(AUDIT, headers={"Authorization": f"ApiKey {VIEWER_KEY}"})
        assert viewer.status_code == 403, viewer.text
        for role in ("viewer", "analyst"):
            headers = _bearer(settings, subject=f"a-{role}", role=role, org_ids=[org_id])
            response = client.get(AUDIT, headers=headers)
            assert response.status_code == 403, (role, response.text)
        assert client.get(AUDIT, headers={"Authorization": ""}).status_code == 401

    def test_an_organization_bound_admin_sees_its_organizations_only(
        self, client: TestClient, settings: Settings
    ) -> None:
        mine, theirs = _org(client), _org(client)
        headers = _bearer(settings, subject="bound-admin", role="admin", org_ids=[mine])
        response = client.get(AUDIT, params={"limit": 100}, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total_count"] >= 1
        assert {e["organization_id"] for e in body["entries"]} == {mine}
        for params in ({"organization_id": theirs}, {"object_id": theirs}):
            other = client.get(AUDIT, params=params, headers=headers).json()
            assert (other["total_count"], other["entries"]) == (0, []), params
        assert _entries(client, object_id=theirs)["total_count"] == 1  # the platform admin's view

    @pytest.mark.parametrize(
        ("params", "field_name"),
        [
            ({"action": "a\x00b"}, "action"),
            ({"action": "a" * 65}, "action"),
            ({"object_id": "\x00"}, "object_id"),
            ({"actor": "x" * 256}, "actor"),
            ({"organization_id": "not-a-uuid"}, "organization_id"),
            ({"since": "yesterday"}, "since"),
            ({"since": "2026-12-02T10:00:00Z", "until": "2026-12-01T10:00:00Z"}, "since"),
            ({"limit": 0}, "limit"),
            ({"limit": 101}, "limit"),
            ({"offset": -1}, "offset"),
        ],
    )
    def test_bad_filters_name_the_field(
        self, client: TestClient, params: dict[str, Any], field_name: str
    ) -> None:
        response = client.get(AUDIT, params=params)
        assert response.status_code == 400, response.text
        assert response.json()["details"][0]["field"] == field_name


# -- every mutation is audited ----------------------------------------------------------------

# POST routes that compute an answer and store nothing.
PURE = {("POST", "/api/v1/score"), ("POST", "/api/v1/hndl"), ("POST", "/api/v1/migration-plan")}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class World:
    """What the walk has created so far; each step adds the ids the next ones use."""

    client: TestClient
    owner: Database  # the migrations' role: arranges what no route can (a failed delivery)
    app_db: Database
    settings: Settings
    dispatched: RecordingDispatcher
    ids: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, path.format(**self.ids), **kwargs)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response


def _create_org(w: World) -> list[str]:
    body = w.call("POST", "/api/v1/organizations", json={"name": f"walk-{uuid.uuid4()}"}).json()
    w.ids["organization_id"] = body["id"]
    return ["organization.create"]


def _create_api_key(w: World) -> list[str]:
    body = w.call(
        "POST",
        "/api/v1/api-keys",
        json={"name": "walk", "role": "viewer", "organization_id": w.ids["organization_id"]},
    ).json()
    w.ids["api_key_id"] = body["id"]
    return ["api_key.create"]


def _revoke_api_key(w: World) -> list[str]:
    w.call("DELETE", "/api/v1/api-keys/{api_key_id}")
    return ["api_key.revoke"]


def _create_assessment(w: World) -> list[str]:
    """With ``run`` and ``webhook_url``: three changes, three entries; ``created_by`` is the
    caller's subject whatever the body says (old clients still send the field)."""
    body = w.call(
        "POST",
        "/api/v1/assessments",
        json={"name": "walk", "organization_id": w.ids["organization_id"], "targets": INVENTORY,
              "run": True, "webhook_url": PUBLIC_URL, "created_by": "mallory"},
    ).json()  # fmt: skip
    w.ids["assessment_id"] = body["id"]
    assert body["created_by"] == ADMIN_SUBJECT
    with w.owner.unit_of_work() as uow:
        endpoint = uow.session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.assessment_id == uuid.UUID(body["id"]))
        ).one()
        assert endpoint.created_by == ADMIN_SUBJECT
        w.ids["hook_id"] = str(endpoint.id)
    return ["assessment.create", "assessment.run", "webhook.create"]


def _complete_the_run(w: World) -> None:
    """The worker's part, in-process and as the application role (its entries are SYSTEM's)."""
    run_id = uuid.UUID(w.dispatched.sent[-1].kwargs["run_id"])
    assert RunExecutor(w.app_db, w.settings).execute(run_id).status == "COMPLETED"
    findings = w.call("GET", "/api/v1/findings", params={"assessment_id": w.ids["assessment_id"]})
    w.ids["finding_id"] = findings.json()["findings"][0]["id"]
    with w.owner.unit_of_work() as uow:
        delivery = uow.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == uuid.UUID(w.ids["hook_id"]))
            .order_by(WebhookDelivery.created_at)
            .limit(1)
        ).one()
        delivery.status, delivery.attempts = DeliveryStatus.FAILED, 10
        w.ids["delivery_id"] = str(delivery.id)


def _put_schedule(w: World) -> list[str]:
    w.call("PUT", "/api/v1/assessments/{assessment_id}/schedule", json={"schedule": "@weekly"})
    return ["assessment.schedule"]


def _triage(w: World) -> list[str]:
    w.call("PATCH", "/api/v1/findings/{finding_id}", json={"triage_status": "accepted_risk"})
    return ["finding.triaged"]


def _upload(w: World) -> list[str]:
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
        {"type": "cryptographic-asset", "name": "RSA-1024", "bom-ref": "alg:0",
         "cryptoProperties": {"assetType": "algorithm"}}]}  # fmt: skip
    body = w.call(
        "POST",
        "/api/v1/assessments/{assessment_id}/artifacts",
        files={"file": ("estate.cdx.json", json.dumps(document).encode(), "application/json")},
    ).json()
    w.ids["artifact_id"] = body["id"]
    return ["assessment.artifact.add"]


def _delete_artifact(w: World) -> list[str]:
    w.call("DELETE", "/api/v1/artifacts/{artifact_id}")
    return ["assessment.artifact.delete"]


def _create_webhook(w: World) -> list[str]:
    body = w.call(
        "POST",
        "/api/v1/webhooks",
        json={"organization_id": w.ids["organization_id"], "url": PUBLIC_URL},
    ).json()
    w.ids["endpoint_id"] = body["id"]
    return ["webhook.create"]


def _rotate(w: World) -> list[str]:
    w.call("POST", "/api/v1/webhooks/{endpoint_id}/rotate-secret")
    return ["webhook.rotate_secret"]


def _redeliver(w: World) -> list[str]:
    """A failed message of the endpoint behind the assessment's ``webhook_url``."""
    w.call("POST", "/api/v1/webhooks/{hook_id}/deliveries/{delivery_id}/redeliver")
    return ["webhook.redeliver"]


def _delete_webhook(w: World) -> list[str]:
    w.call("DELETE", "/api/v1/webhooks/{endpoint_id}")
    return ["webhook.delete"]


def _run(w: World) -> list[str]:
    w.call("POST", "/api/v1/assessments/{assessment_id}/run")
    return ["assessment.run"]


def _cancel(w: World) -> list[str]:
    w.call("POST", "/api/v1/assessments/{assessment_id}/cancel")
    return ["assessment.cancel"]


Step = Callable[[World], list[str]]
# In order: each step may use what an earlier one created. The route is the app's own path.
WALK: list[tuple[str, str, Step]] = [
    ("POST", "/api/v1/organizations", _create_org),
    ("POST", "/api/v1/api-keys", _create_api_key),
    ("DELETE", "/api/v1/api-keys/{api_key_id}", _revoke_api_key),
    ("POST", "/api/v1/assessments", _create_assessment),
    ("PUT", "/api/v1/assessments/{assessment_id}/schedule", _put_schedule),
    ("PATCH", "/api/v1/findings/{finding_id}", _triage),
    ("POST", "/api/v1/assessments/{assessment_id}/artifacts", _upload),
    ("DELETE", "/api/v1/artifacts/{artifact_id}", _delete_artifact),
    ("POST", "/api/v1/webhooks", _create_webhook),
    ("POST", "/api/v1/webhooks/{endpoint_id}/rotate-secret", _rotate),
    ("POST", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver", _redeliver),
    ("DELETE", "/api/v1/webhooks/{endpoint_id}", _delete_webhook),
    ("POST", "/api/v1/assessments/{assessment_id}/run", _run),
    ("POST", "/api/v1/assessments/{assessment_id}/cancel", _cancel),
]
BETWEEN: dict[str, Callable[[World], None]] = {"/api/v1/assessments": _complete_the_run}


@pytest.fixture
def world(
    settings: Settings, database: Database, app_db: Database, dispatched: RecordingDispatcher
) -> Iterator[World]:
    app = create_app(settings, database=app_db, dispatcher=dispatched)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"ApiKey {ADMIN_KEY}"
        yield World(client, database, app_db, settings, dispatched)


def _mutation_routes() -> set[tuple[str, str]]:
    """Every (method, path) of the app that may change something, included routers too."""
    app = create_app(Settings(QUANTUN_API_KEYS=f"{ADMIN_KEY}:{ADMIN_SUBJECT}:admin"))
    return {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if route.path is not None
        for method in (route.methods or set()) & MUTATING
    }


def test_the_walk_covers_every_mutation_route() -> None:
    """A new POST/PUT/PATCH/DELETE route fails here until WALK (or PURE) names it."""
    routes = _mutation_routes() - PURE
    walked = {(method, path) for method, path, _ in WALK}
    assert routes - walked == set(), "mutation routes the audit walk does not cover"
    assert walked - routes == set(), "walk steps for routes the app does not have"


def test_every_mutation_writes_one_entry_per_change(world: World) -> None:
    for method, path, step in WALK:
        with world.owner.unit_of_work() as uow:
            before = uow.session.scalar(select(func.max(AuditLogEntry.id))) or 0
        expected = step(world)
        with world.owner.unit_of_work() as uow:
            written = uow.session.scalars(
                select(AuditLogEntry).where(AuditLogEntry.id > before).order_by(AuditLogEntry.id)
            ).all()
            actions = sorted(entry.action for entry in written)
            assert actions == sorted(expected), f"{method} {path}"
            for entry in written:
                where = f"{method} {path}: {entry.action}"
                assert (entry.actor, entry.actor_type) == (ADMIN_SUBJECT, "api_key"), where
                assert str(entry.organization_id) == world.ids["organization_id"], where
        if path in BETWEEN:
            BETWEEN[path](world)


def test_created_by_in_a_body_is_ignored(client: TestClient, org_id: str) -> None:
    response = client.post(
        "/api/v1/assessments",
        json={"name": "claimed", "organization_id": org_id, "created_by": "mallory"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["created_by"] == ADMIN_SUBJECT
    (entry,) = _entries(client, object_id=response.json()["id"])["entries"]
    assert entry["details"]["created_by_ignored"] == "mallory"


def test_an_organizations_created_by_is_the_caller(client: TestClient) -> None:
    response = client.post(
        "/api/v1/organizations", json={"name": f"claimed-{uuid.uuid4()}", "created_by": "mallory"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["created_by"] == ADMIN_SUBJECT
    (entry,) = _entries(client, object_id=response.json()["id"])["entries"]
    assert entry["details"]["created_by_ignored"] == "mallory"


@pytest.mark.parametrize(
    ("query", "status"),
    [("since=2000-01-01T00:00:00%2B16:00", 200), ("until=0001-01-01T00:00:00%2B01:00", 400)],
)
def test_offsets_postgresql_cannot_store_are_converted_or_refused(
    client: TestClient, query: str, status: int
) -> None:
    """ISO 8601 allows offsets up to 23:59; PostgreSQL stops at 15:59 (found by the fuzzer)."""
    answer = client.get(f"{AUDIT}?{query}")
    assert answer.status_code == status, answer.text
    if status == 400:
        assert answer.json()["details"][0]["field"] == "until"
