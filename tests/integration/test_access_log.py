"""uvicorn's access log, written by a real server process, shows no query-string credential."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY, JWT_SECRET
from tests.integration.conftest import worker_env
from tests.logcapture import register_secret
from tests.reliability.harness import Process, free_port, start_api, uvicorn

pytestmark = pytest.mark.integration


def test_query_credentials_are_redacted(settings: Settings, tmp_path: Path) -> None:
    secrets = {name: f"{name}-{uuid.uuid4().hex}" for name in ("token", "api_key", "signature")}
    for value in secrets.values():
        register_secret(value, "a query-string credential sent to uvicorn")
    env = worker_env(settings)
    env.update(
        {"QUANTUN_API_KEYS": f"{ADMIN_KEY}:ci-admin:admin", "QUANTUN_JWT_SECRET": JWT_SECRET}
    )
    port = free_port()
    api: Process = start_api(uvicorn(env, tmp_path / "api.log", port))
    try:
        query = "&".join(f"{name}={value}" for name, value in secrets.items())
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            health = client.get(f"/healthz?verbose=1&{query}")
            listed = client.get(
                f"/api/v1/organizations?limit=5&access_token={secrets['token']}",
                headers={"Authorization": f"ApiKey {ADMIN_KEY}"},
            )
        api.wait_log("/api/v1/organizations?limit=5", 10)
    finally:
        api.stop(timeout=15)
    log = api.log.read_text()

    assert health.status_code == 200
    assert listed.status_code == 200
    for value in secrets.values():
        assert value not in log
    assert "GET /healthz?verbose=1&token=[redacted]&api_key=[redacted]&signature=[redacted]" in log
    assert "GET /api/v1/organizations?limit=5&access_token=[redacted]" in log
