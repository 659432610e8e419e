"""Prometheus scrapes GET /metrics every few seconds per target: the rate limiter never counts
or refuses them, whereas the API routes next to it stay limited."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from qrap_api.app import create_app
from qrap_core.db import Database
from qrap_core.settings import Settings
from tests.conftest import RecordingDispatcher

LIMIT = 5


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    key = uuid.uuid4().hex
    limited = settings.model_copy(
        update={
            "rate_limit": LIMIT,
            "api_keys_raw": SecretStr(f"{key}:scrape-{key[:8]}:admin"),
        }
    )
    app = create_app(limited, database=database, dispatcher=RecordingDispatcher())
    number = uuid.uuid4().int
    address = f"10.{number % 250}.{number // 250 % 250}.{number // 62500 % 250 + 1}"
    with TestClient(app, client=(address, 50000)) as test_client:
        test_client.headers["X-API-Key"] = key
        yield test_client


def test_metrics_scrapes_are_never_limited(client: TestClient) -> None:
    scrapes = [client.get("/metrics") for _ in range(LIMIT * 3)]
    assert {answer.status_code for answer in scrapes} == {200}
    assert not any("x-ratelimit-limit" in answer.headers for answer in scrapes)
    assert "qrap_http_request_duration_seconds" in scrapes[-1].text


def test_api_routes_stay_limited(client: TestClient) -> None:
    statuses = [client.get("/api/v1/organizations").status_code for _ in range(LIMIT + 1)]
    assert statuses == [200] * LIMIT + [429]
