"""Idempotency-Key on POST (docs/reliability.md, P6): replay, mismatch, in flight, scope,
no stored failures."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from qrap_api.auth import issue_token
from qrap_core.assessment.models import Assessment
from qrap_core.audit.service import Actor
from qrap_core.db import Database
from qrap_core.idempotency import service as idempotency_service
from qrap_core.idempotency.models import IdempotencyRecord
from qrap_core.settings import Settings
from tests.conftest import RecordingDispatcher


def _count(database: Database, name: str) -> int:
    with database.unit_of_work() as uow:
        return int(
            uow.session.scalar(
                select(func.count()).select_from(Assessment).where(Assessment.name == name)
            )
            or 0
        )


def _body(org_id: str, name: str) -> dict[str, object]:
    return {"name": name, "organization_id": org_id, "target_assets": ["example.com"], "run": True}


class TestIdempotencyKey:
    def test_replays_the_first_answer(
        self,
        client: TestClient,
        org_id: str,
        database: Database,
        dispatched: RecordingDispatcher,
    ) -> None:
        name, key = f"idem-{uuid.uuid4()}", str(uuid.uuid4())
        first = client.post(
            "/api/v1/assessments", json=_body(org_id, name), headers={"Idempotency-Key": key}
        )
        second = client.post(
            "/api/v1/assessments", json=_body(org_id, name), headers={"Idempotency-Key": key}
        )
        assert first.status_code == second.status_code == 202
        assert second.json() == first.json()
        assert second.headers["location"] == first.headers["location"]
        assert second.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert _count(database, name) == 1
        assert len(dispatched.sent) == 1

    def test_other_body_is_422(self, client: TestClient, org_id: str, database: Database) -> None:
        name, key = f"idem-{uuid.uuid4()}", str(uuid.uuid4())
        headers = {"Idempotency-Key": key}
        assert (
            client.post(
                "/api/v1/assessments", json=_body(org_id, name), headers=headers
            ).status_code
            == 202
        )
        other = client.post("/api/v1/assessments", json=_body(org_id, name + "x"), headers=headers)
        assert other.status_code == 422
        assert other.json()["code"] == "IdempotencyKeyMismatch"
        assert other.json()["details"][0]["field"] == "Idempotency-Key"
        assert _count(database, name + "x") == 0

    def test_validation_failure_is_not_stored(
        self, client: TestClient, org_id: str, database: Database
    ) -> None:
        name, key = f"idem-{uuid.uuid4()}", str(uuid.uuid4())
        headers = {"Idempotency-Key": key}
        bad = client.post("/api/v1/assessments", json={"organization_id": org_id}, headers=headers)
        assert bad.status_code == 400
        fixed = client.post("/api/v1/assessments", json=_body(org_id, name), headers=headers)
        assert fixed.status_code == 202
        assert _count(database, name) == 1

    def test_in_flight_is_409(self, client: TestClient, org_id: str, database: Database) -> None:
        name, key = f"idem-{uuid.uuid4()}", str(uuid.uuid4())
        raw = json.dumps(_body(org_id, name)).encode()
        # The first request with this key has begun and not finished.
        principal = idempotency_service.principal_of(Actor(subject="ci-admin", kind="api_key"))
        decision = idempotency_service.begin(
            database,
            principal=principal,
            key=key,
            method="POST",
            path="/api/v1/assessments",
            fingerprint=idempotency_service.request_hash("POST", "/api/v1/assessments", b"", raw),
            ttl=timedelta(hours=1),
            lock=timedelta(seconds=60),
        )
        assert decision.action == "proceed"
        response = client.post(
            "/api/v1/assessments",
            content=raw,
            headers={"Idempotency-Key": key, "content-type": "application/json"},
        )
        assert response.status_code == 409
        assert response.json()["code"] == "IdempotencyKeyInFlight"
        assert response.headers["retry-after"] == "1"
        assert _count(database, name) == 0

    def test_scoped_to_the_principal(
        self, client: TestClient, org_id: str, database: Database, settings: Settings
    ) -> None:
        name, key = f"idem-{uuid.uuid4()}", str(uuid.uuid4())
        tokens = [issue_token(settings, subject=s, role="admin") for s in ("ann", "ben")]
        for token in tokens:
            response = client.post(
                "/api/v1/assessments",
                json=_body(org_id, name),
                headers={"Idempotency-Key": key, "Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 202
            assert "idempotent-replayed" not in response.headers
        assert _count(database, name) == 2

    def test_bad_keys_and_unauthenticated_calls(self, client: TestClient, org_id: str) -> None:
        too_long = client.post(
            "/api/v1/organizations", json={"name": "x"}, headers={"Idempotency-Key": "k" * 256}
        )
        assert too_long.status_code == 400
        assert too_long.json()["details"][0]["field"] == "Idempotency-Key"
        anonymous = client.post(
            "/api/v1/organizations",
            json={"name": "x"},
            headers={"Idempotency-Key": "k", "Authorization": "Bearer nope"},
        )
        assert anonymous.status_code == 401

    def test_every_creating_post_is_covered(self, client: TestClient, database: Database) -> None:
        key = str(uuid.uuid4())
        name = f"org-{uuid.uuid4()}"
        first = client.post(
            "/api/v1/organizations", json={"name": name}, headers={"Idempotency-Key": key}
        )
        again = client.post(
            "/api/v1/organizations", json={"name": name}, headers={"Idempotency-Key": key}
        )
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        with database.unit_of_work() as uow:
            record = uow.session.scalars(
                select(IdempotencyRecord).where(IdempotencyRecord.key == key)
            ).one()
        assert record.state == "completed"
        assert record.expires_at - record.created_at >= timedelta(hours=24)


class TestStoredBeforeTheClientHasIt:
    def test_the_answer_is_stored_before_its_last_byte_is_sent(
        self, client: TestClient, org_id: str, database: Database
    ) -> None:
        """A client that has the whole 202 and retries at once must get the replay, not a 409:
        so when the last byte leaves, the key already holds the answer."""
        key = str(uuid.uuid4())
        body = json.dumps(_body(org_id, f"stored-{key}")).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"idempotency-key", key.encode()),
            (b"authorization", client.headers["Authorization"].encode()),
        ]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/api/v1/assessments",
            "raw_path": b"/api/v1/assessments", "query_string": b"", "headers": headers,
            "client": ("127.0.0.1", 50000), "server": ("testserver", 80), "root_path": "",
            "app": client.app, "state": {},
        }  # fmt: skip
        states_at_last_byte: list[tuple[str, int | None]] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                with database.unit_of_work() as uow:
                    record = uow.session.scalars(
                        select(IdempotencyRecord).where(IdempotencyRecord.key == key)
                    ).one()
                    states_at_last_byte.append((record.state, record.response_status))

        client.portal.call(client.app, scope, receive, send)  # type: ignore[union-attr, arg-type]
        assert states_at_last_byte == [("completed", 202)]
