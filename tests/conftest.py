"""Shared fixtures: a real PostgreSQL database per test session, settings, app clients."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg2
import pytest
import redis
from fastapi.testclient import TestClient

from qrap_api.app import create_app
from qrap_api.auth import issue_token
from qrap_core import migrate
from qrap_core.db import Database, DeferredTask
from qrap_core.settings import Settings

PG_ADMIN_DSN = os.environ.get("QRAP_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres")
REDIS_BASE = os.environ.get("QRAP_TEST_REDIS", "redis://127.0.0.1:6379")
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
ADMIN_KEY = "admin-key-0123456789abcdef"
_BROKER_LOCK = "qrap:test-session-lock"
VIEWER_KEY = "viewer-key-0123456789abcdef"


def _worker_id(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.config, "workerinput", {}).get("workerid", "main"))


def _admin_exec(sql: str) -> None:
    conn = psycopg2.connect(PG_ADMIN_DSN + " dbname=postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database for this test session, built by the migrations."""
    name = f"qrap_test_{_worker_id(request)}_{os.getpid()}"
    _admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin_exec(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    migrate.upgrade(url)
    yield url
    _admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    """A Redis database of this test session's own, so parallel sessions never share queues.

    A worker of another session consuming our messages would find no such run in its own
    database and drop them, so each session locks one of databases 8-15 for its lifetime.
    """
    token = f"{os.getpid()}-{uuid.uuid4()}"
    for number in range(8, 16):
        client = redis.Redis.from_url(f"{REDIS_BASE}/{number}")
        if client.set(_BROKER_LOCK, token, nx=True, ex=3600):
            client.flushdb()
            client.set(_BROKER_LOCK, token, ex=3600)
            try:
                yield f"{REDIS_BASE}/{number}"
            finally:
                if client.get(_BROKER_LOCK) == token.encode():
                    client.flushdb()
                client.close()
            return
        client.close()
    raise RuntimeError("every test Redis database (8-15) is locked by another test session")


@pytest.fixture(scope="session")
def settings(pg_url: str, broker_url: str) -> Settings:
    return Settings(
        database_url=pg_url,
        redis_url=broker_url,
        QUANTUN_JWT_SECRET=JWT_SECRET,
        QUANTUN_JWT_ISSUER="qrap-test",
        QUANTUN_API_KEYS=f"{ADMIN_KEY}:ci-admin:admin,{VIEWER_KEY}:ci-viewer:viewer",
        scan_allow_networks="127.0.0.0/8",
        probe_timeout=3.0,
    )


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.sqlalchemy_url)
    yield db
    db.dispose()


class RecordingDispatcher:
    """Records task sends instead of publishing them (API tests without a worker)."""

    def __init__(self) -> None:
        self.sent: list[DeferredTask] = []

    def __call__(self, task: DeferredTask) -> None:
        self.sent.append(task)


@pytest.fixture
def dispatched() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def client(
    settings: Settings, database: Database, dispatched: RecordingDispatcher
) -> Iterator[TestClient]:
    app = create_app(settings, database=database, dispatcher=dispatched)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.headers["Authorization"] = f"ApiKey {ADMIN_KEY}"
        yield test_client


@pytest.fixture
def admin_token(settings: Settings) -> str:
    return issue_token(settings, subject="alice", role="admin")


@pytest.fixture
def org_id(client: TestClient) -> str:
    response = client.post("/api/v1/organizations", json={"name": f"org-{uuid.uuid4()}"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])
