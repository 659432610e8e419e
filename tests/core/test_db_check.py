"""A missing database is one line naming it and how to create it (qrap_core/db_check.py), at
every entry point: `alembic upgrade` (make migrate), `qrap db upgrade`, `qrap serve`,
`qrap worker`, and the API's start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qrap_api.app import create_app
from qrap_core.db_check import check_database
from qrap_core.errors import ConfigurationError
from qrap_core.settings import Settings
from tests.conftest import RecordingDispatcher

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def missing_url() -> str:
    return f"postgresql+psycopg2://postgres@127.0.0.1:5432/qrap_missing_{uuid.uuid4().hex[:8]}"


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QRAP_", "QUANTUN_"))}
    return env | {"QRAP_DATABASE_URL": url, "QRAP_AUTH_DISABLED": "true"}


def _assert_one_clear_line(output: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert f'database "{name}" does not exist on 127.0.0.1:5432' in lines[0]
    assert f"createdb -h 127.0.0.1 -p 5432 -U postgres {name}" in lines[0]
    assert "make migrate" in lines[0]
    assert "Traceback" not in output


class TestCheckDatabase:
    def test_missing_database_is_named(self, missing_url: str) -> None:
        with pytest.raises(ConfigurationError) as raised:
            check_database(missing_url)
        _assert_one_clear_line(raised.value.message, missing_url)

    def test_existing_database_passes(self, pg_url: str) -> None:
        check_database(pg_url)

    def test_other_failures_are_left_to_the_caller(self) -> None:
        check_database("postgresql+psycopg2://postgres@127.0.0.1:1/qrap")  # nothing listens
        check_database("sqlite:///nowhere/qrap.db")


@pytest.mark.parametrize(
    "argv",
    [
        [str(BIN / "alembic"), "upgrade", "heads"],
        [str(BIN / "qrap"), "db", "upgrade"],
        [str(BIN / "qrap"), "serve", "--port", "1"],
        [str(BIN / "qrap"), "worker"],
    ],
    ids=["alembic-upgrade", "qrap-db-upgrade", "qrap-serve", "qrap-worker"],
)
def test_commands_print_one_line(argv: list[str], missing_url: str) -> None:
    done = subprocess.run(
        argv, cwd=ROOT, env=_env(missing_url), capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    _assert_one_clear_line(done.stdout + done.stderr, missing_url)


def test_api_start_logs_one_line(
    settings: Settings, missing_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    app = create_app(
        settings.model_copy(update={"database_url": missing_url}),
        dispatcher=RecordingDispatcher(),
    )
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 503  # started; the check names the DB
    output = "".join(capfd.readouterr())
    missing = [line for line in output.splitlines() if "database.missing" in line]
    assert len(missing) == 1
    assert "createdb" in missing[0]
    assert "Traceback" not in output
