"""Health answers 503 naming the dependency that is down."""

from __future__ import annotations

from fastapi.testclient import TestClient

from qrap_api.app import create_app
from qrap_core.db import Database
from qrap_core.settings import Settings
from tests.conftest import RecordingDispatcher


def test_broker_down_is_503_naming_it(settings: Settings, database: Database) -> None:
    broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    app = create_app(broken, database=database, dispatcher=RecordingDispatcher())
    with TestClient(app) as client:
        for path in ("/healthz", "/health"):
            response = client.get(path)
            assert response.status_code == 503
            body = response.json()
            assert body["checks"]["database"] == "ok"
            assert body["checks"]["broker"].startswith("down")
            assert "broker" in body["error"]


def test_database_down_is_503_naming_it(settings: Settings) -> None:
    dead = Database("postgresql+psycopg2://postgres@127.0.0.1:1/none")
    app = create_app(settings, database=dead, dispatcher=RecordingDispatcher())
    with TestClient(app) as client:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["checks"]["database"].startswith("down")
        assert "database" in response.json()["error"]
    dead.dispose()
