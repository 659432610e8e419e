"""`qrap assess --api-url`: submit to a real uvicorn, follow its SSE stream, print the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qrap_cli.main import app
from qrap_cli.remote import parse_sse
from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY, JWT_SECRET
from tests.integration.conftest import worker_env
from tests.reliability.harness import Process, free_port, start_api, uvicorn

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CERTS = Path(__file__).resolve().parents[2] / "qrap_core" / "examples" / "certs"


def test_parse_sse() -> None:
    lines = iter(
        [
            "id: 1",
            "event: x",
            'data: {"type": "a"}',
            "",
            ": keepalive",
            "",
            "data: {",
            "data: }",
            "",
        ]
    )
    assert list(parse_sse(lines)) == [{"type": "a"}, {}]


def test_assess_against_a_server(settings: Settings, celery_worker: Path, tmp_path: Path) -> None:
    env = worker_env(settings)
    env.update(
        {
            "QUANTUN_API_KEYS": f"{ADMIN_KEY}:ci-admin:admin",
            "QUANTUN_JWT_SECRET": JWT_SECRET,
            "QRAP_AUTH_DISABLED": "false",
        }
    )
    port = free_port()
    api: Process = start_api(uvicorn(env, tmp_path / "api.log", port))
    try:
        result = CliRunner().invoke(
            app,
            [
                "assess", "--api-url", f"http://127.0.0.1:{port}", "--api-key", ADMIN_KEY,
                "--cert", str(CERTS / "rsa1024.pem"), "--format", "json",
                "--organization", "remote-cli", "--wait-timeout", "60",
            ],
        )  # fmt: skip
    finally:
        api.stop(timeout=15)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["assessment"]["status"] == "COMPLETED"
    assert report["findings"]
    assert "/events" in api.log.read_text()  # progress came from the live stream


def test_refused_submission_exits_nonzero(settings: Settings, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["assess", "--api-url", "http://127.0.0.1:9", "--cert", str(CERTS / "rsa1024.pem")],
    )
    assert result.exit_code != 0
    assert "cannot reach the server" in result.output
