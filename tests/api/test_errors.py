"""Every error answer has one shape, whichever part of the API builds it (qrap_api.errors)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from qrap_api.app import create_app
from qrap_api.auth import Authenticator
from qrap_core.audit.service import Actor
from qrap_core.db import Database
from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY, RecordingDispatcher

SHAPE = {"error", "code", "details"}


def _error(
    response: httpx.Response, status: int, code: str, *, secured: bool = True
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    # Errors from middleware pass through SecurityHeaders like any other answer.
    assert ("x-content-type-options" in response.headers) is secured
    body: dict[str, Any] = response.json()
    assert set(body) >= SHAPE
    assert isinstance(body["error"], str)
    assert body["error"]
    assert body["code"] == code
    assert isinstance(body["details"], list)
    return body


class CountingAuthenticator(Authenticator):
    """Counts credential checks, to show a request is authenticated once."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.calls = 0

    def authenticate(self, authorization: str | None, api_key_header: str | None) -> Actor:
        self.calls += 1
        return super().authenticate(authorization, api_key_header)


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    app = create_app(settings, database=database, dispatcher=RecordingDispatcher())

    @app.get("/test/boom")
    def boom() -> None:
        raise RuntimeError("an unexpected failure")

    return app


@pytest.fixture
def api(app: FastAPI, settings: Settings) -> Iterator[tuple[TestClient, CountingAuthenticator]]:
    with TestClient(app, raise_server_exceptions=False) as client:
        counting = CountingAuthenticator(settings)
        app.state.qrap.authenticator = counting
        client.headers["Authorization"] = f"ApiKey {ADMIN_KEY}"
        yield client, counting


class TestErrorShape:
    def test_core_error_handler(self, client: TestClient) -> None:
        response = client.get(f"/api/v1/assessments/{uuid.uuid4()}")
        assert set(_error(response, 404, "AssessmentNotFound")) == SHAPE

    def test_validation_handler(self, client: TestClient) -> None:
        response = client.post("/api/v1/organizations", json={"name": 7})
        body = _error(response, 400, "ValidationError")
        assert set(body) == SHAPE
        assert body["details"][0]["field"] == "name"

    def test_malformed_json(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/organizations",
            content=b'{"name": ',
            headers={"content-type": "application/json"},
        )
        assert set(_error(response, 400, "MalformedJSON")) == SHAPE

    def test_http_exception_handler(self, client: TestClient) -> None:
        body = _error(client.get("/api/v1/no-such-thing"), 404, "HTTPError")
        assert (set(body), body["error"]) == (SHAPE, "not found")

    def test_unexpected_exception_handler(
        self, api: tuple[TestClient, CountingAuthenticator]
    ) -> None:
        client, _ = api
        # SecurityHeaders answers it, so the 500 carries the headers of every other answer.
        body = _error(client.get("/test/boom"), 500, "InternalError")
        assert (set(body), body["error"]) == (SHAPE, "internal server error")

    def test_authentication_once_per_request(
        self, api: tuple[TestClient, CountingAuthenticator]
    ) -> None:
        client, counting = api
        response = client.post(
            "/api/v1/organizations",
            json={"name": "x"},
            headers={"Authorization": "Bearer nope", "Idempotency-Key": str(uuid.uuid4())},
        )
        assert set(_error(response, 401, "Unauthorized")) == SHAPE
        assert response.headers["www-authenticate"] == 'Bearer realm="qrap", ApiKey'
        assert counting.calls == 1  # by the idempotency middleware; the route reused it
        created = client.post(
            "/api/v1/organizations",
            json={"name": f"org-{uuid.uuid4()}"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert created.status_code == 201
        assert counting.calls == 2

    def test_body_size_middleware(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/organizations",
            content=b'{"name": "' + b"x" * 2_000_000 + b'"}',
            headers={"content-type": "application/json"},
        )
        assert set(_error(response, 413, "PayloadTooLarge")) == SHAPE
        bad = client.post(
            "/api/v1/organizations",
            content=b"{}",
            headers={"content-type": "application/json", "content-length": "many"},
        )
        assert set(_error(bad, 400, "InvalidContentLength")) == SHAPE

    def test_idempotency_middleware(self, client: TestClient) -> None:
        bad_key = client.post(
            "/api/v1/organizations", json={"name": "x"}, headers={"Idempotency-Key": " "}
        )
        body = _error(bad_key, 400, "InvalidIdempotencyKey")
        assert (set(body), body["details"][0]["field"]) == (SHAPE, "Idempotency-Key")
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        name = f"org-{uuid.uuid4()}"
        first = client.post("/api/v1/organizations", json={"name": name}, headers=headers)
        assert first.status_code == 201
        other = client.post("/api/v1/organizations", json={"name": name + "x"}, headers=headers)
        body = _error(other, 422, "IdempotencyKeyMismatch")
        assert (set(body), body["details"][0]["field"]) == (SHAPE, "Idempotency-Key")

    def test_health_503(self, settings: Settings, database: Database) -> None:
        broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
        app = create_app(broken, database=database, dispatcher=RecordingDispatcher())
        with TestClient(app) as client:
            body = _error(client.get("/healthz"), 503, "ServiceUnavailable")
        # The health fields stay beside the error's, for probes that read them.
        assert set(body) == SHAPE | {"status", "service", "checks"}
        assert body["status"] == "unavailable"
