"""/api/v1/api-keys: keys bound to one organization, shown once, stored as a hash, rotated
without downtime, revoked at once, expiring."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from qrap_core.apikey import service as apikey_service
from qrap_core.apikey.models import ApiKey
from qrap_core.apikey.schemas import ApiKeyCreate
from qrap_core.audit.models import AuditLogEntry
from qrap_core.audit.service import Actor
from qrap_core.db import Database
from qrap_core.errors import Forbidden

URL = "/api/v1/api-keys"


def _create(client: TestClient, org_id: str, role: str = "viewer", **extra: Any) -> dict[str, Any]:
    response = client.post(
        URL, json={"name": f"ci {role}", "role": role, "organization_id": org_id, **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"ApiKey {key}"}


@pytest.fixture
def other_org(client: TestClient) -> str:
    response = client.post("/api/v1/organizations", json={"name": f"other-{uuid.uuid4()}"})
    assert response.status_code == 201
    return str(response.json()["id"])


class TestCreate:
    def test_the_key_is_shown_once_and_stored_as_a_hash(
        self, client: TestClient, org_id: str, database: Database
    ) -> None:
        response = client.post(
            URL, json={"name": "ci", "role": "analyst", "organization_id": org_id}
        )
        assert response.status_code == 201, response.text
        assert response.headers["cache-control"] == "no-store"
        created = response.json()
        key = created["key"]
        assert key.startswith(created["prefix"])
        assert len(key) >= 40
        assert response.headers["location"] == f"{URL}/{created['id']}"
        shown = client.get(f"{URL}/{created['id']}").json()
        assert "key" not in shown
        assert shown["prefix"] == created["prefix"]
        listed = client.get(URL, params={"organization_id": org_id}).json()
        assert key not in str(listed)
        with database.engine.connect() as connection:
            row = connection.execute(
                text("SELECT * FROM api_keys WHERE id = :id"), {"id": created["id"]}
            ).one()
            audit = connection.execute(
                select(AuditLogEntry.details).where(
                    AuditLogEntry.action == "api_key.create",
                    AuditLogEntry.object_id == created["id"],
                )
            ).scalar_one()
        assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert key not in str(tuple(row))
        assert key not in str(audit)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"role": "root"}, "role"),
            ({"role": None}, "role"),
            ({"name": "a\x00b"}, "name"),
            ({"name": "x" * 256}, "name"),
            ({"organization_id": "not-a-uuid"}, "organization_id"),
            ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
            ({"expires_at": "2999-01-01T00:00:00"}, "expires_at"),
            ({"expires_at": "9999-12-31T23:59:59-23:00"}, "expires_at"),
            ({"extra": 1}, "extra"),
        ],
    )
    def test_bad_input_is_400_naming_the_field(
        self, client: TestClient, org_id: str, body: dict[str, Any], field: str
    ) -> None:
        full = {"name": "ci", "role": "viewer", "organization_id": org_id, **body}
        response = client.post(URL, json=full)
        assert response.status_code == 400, response.text
        assert field in [d["field"] for d in response.json()["details"]]

    def test_an_expiry_with_any_offset_is_stored_in_utc(
        self, client: TestClient, org_id: str
    ) -> None:
        created = _create(client, org_id, expires_at="2999-01-01T00:00:00+23:00")
        assert created["expires_at"] in ("2998-12-31T01:00:00Z", "2998-12-31T01:00:00+00:00")

    def test_an_unknown_organization_is_404(self, client: TestClient) -> None:
        response = client.post(
            URL, json={"name": "ci", "role": "viewer", "organization_id": str(uuid.uuid4())}
        )
        assert response.status_code == 404


class TestAuthenticating:
    def test_a_key_sees_its_organization_through_both_headers(
        self, client: TestClient, org_id: str, other_org: str
    ) -> None:
        key = _create(client, org_id, "viewer")["key"]
        for headers in (_as(key), {"Authorization": "", "X-API-Key": key}):
            assert client.get(f"/api/v1/organizations/{org_id}", headers=headers).status_code == 200
            assert (
                client.get(f"/api/v1/organizations/{other_org}", headers=headers).status_code == 404
            )
            listed = client.get("/api/v1/organizations", headers=headers).json()
            assert [o["id"] for o in listed["organizations"]] == [org_id]

    def test_last_used_at_is_recorded(self, client: TestClient, org_id: str) -> None:
        created = _create(client, org_id)
        assert created["last_used_at"] is None
        client.get("/api/v1/organizations", headers=_as(created["key"]))
        used = client.get(f"{URL}/{created['id']}").json()["last_used_at"]
        assert used is not None

    def test_rotation_without_downtime(self, client: TestClient, org_id: str) -> None:
        old = _create(client, org_id, "analyst")
        new = _create(client, org_id, "analyst")
        for key in (old["key"], new["key"]):  # both valid during the move
            assert client.get("/api/v1/organizations", headers=_as(key)).status_code == 200
        revoked = client.delete(f"{URL}/{old['id']}")
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        assert client.get("/api/v1/organizations", headers=_as(old["key"])).status_code == 401
        assert client.get("/api/v1/organizations", headers=_as(new["key"])).status_code == 200
        again = client.delete(f"{URL}/{old['id']}")  # revoking twice changes nothing
        assert again.json()["revoked_at"] == revoked.json()["revoked_at"]

    def test_an_expired_key_is_refused(
        self, client: TestClient, org_id: str, database: Database
    ) -> None:
        soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        created = _create(client, org_id, expires_at=soon)
        assert client.get("/api/v1/organizations", headers=_as(created["key"])).status_code == 200
        with database.unit_of_work() as uow:
            uow.session.execute(
                update(ApiKey)
                .where(ApiKey.id == uuid.UUID(created["id"]))
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        assert client.get("/api/v1/organizations", headers=_as(created["key"])).status_code == 401

    @pytest.mark.parametrize("mangle", [lambda k: k[:-1], lambda k: k + "x", str.upper])
    def test_near_misses_are_refused(self, client: TestClient, org_id: str, mangle: Any) -> None:
        key = _create(client, org_id)["key"]
        assert client.get("/api/v1/organizations", headers=_as(mangle(key))).status_code == 401


class TestWhoManages:
    def test_an_organization_admin_manages_its_own_keys_only(
        self, client: TestClient, org_id: str, other_org: str
    ) -> None:
        admin = _as(_create(client, org_id, "admin")["key"])
        theirs = _create(client, other_org, "viewer")
        mine = client.post(
            URL, json={"name": "mine", "role": "admin", "organization_id": org_id}, headers=admin
        )
        assert mine.status_code == 201
        foreign = client.post(
            URL, json={"name": "x", "role": "viewer", "organization_id": other_org}, headers=admin
        )
        assert foreign.status_code == 404
        assert client.get(f"{URL}/{theirs['id']}", headers=admin).status_code == 404
        assert client.delete(f"{URL}/{theirs['id']}", headers=admin).status_code == 404
        listed = client.get(URL, params={"limit": 100}, headers=admin).json()
        assert {k["organization_id"] for k in listed["api_keys"]} == {org_id}
        assert client.get("/api/v1/organizations", headers=_as(theirs["key"])).status_code == 200
        created_org = client.post("/api/v1/organizations", json={"name": "x"}, headers=admin)
        assert created_org.status_code == 403

    @pytest.mark.parametrize("role", ["viewer", "analyst"])
    def test_below_admin_cannot_manage_keys(
        self, client: TestClient, org_id: str, role: str
    ) -> None:
        caller = _as(_create(client, org_id, role)["key"])
        victim = _create(client, org_id)
        body = {"name": "x", "role": "viewer", "organization_id": org_id}
        assert client.post(URL, json=body, headers=caller).status_code == 403
        assert client.get(URL, headers=caller).status_code == 403
        assert client.delete(f"{URL}/{victim['id']}", headers=caller).status_code == 403

    def test_no_role_above_ones_own(self, database: Database, org_id: str) -> None:
        analyst = Actor(
            subject="ann", kind="user", role="analyst", org_ids=frozenset({uuid.UUID(org_id)})
        )
        spec = ApiKeyCreate(name="up", role="admin", organization_id=uuid.UUID(org_id))
        with database.unit_of_work() as uow, pytest.raises(Forbidden, match="admin"):
            apikey_service.create(uow, analyst, spec)
