"""Flower behind basic auth, and a prefork worker's own /metrics, around one real run.

The module starts its own worker (task events on, a queue of its own so the session's worker
never takes its run, PROMETHEUS_MULTIPROC_DIR and a metrics port) and Flower against the
session's broker, then runs one assessment through them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from celery import Celery
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from qrap_api.app import create_app
from qrap_core.db import Database, DeferredTask
from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import ROOT, worker_env

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

CERTS = ROOT / "qrap_core" / "examples" / "certs"
QUEUE = f"flower-test-{os.getpid()}"
AUTH = ("ops", "flower-test-password")
CELERY = [sys.executable, "-m", "celery", "-A", "qrap_worker.app"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until(ready: Any, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 60
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n" + log.read_text()[-4000:])
        time.sleep(0.2)


@pytest.fixture(scope="module")
def worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A prefork worker with task events and a metrics endpoint; yields the metrics port."""
    folder = tmp_path_factory.mktemp("flower-worker")
    (folder / "prom").mkdir()
    port = _free_port()
    env = worker_env(settings) | {
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "prom"),
        "QRAP_WORKER_METRICS_PORT": str(port),
    }
    log = folder / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*CELERY, "worker", "-Q", QUEUE, "-c", "2", "-E", "-n", f"{QUEUE}@%h"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_until(lambda: b" ready." in log.read_bytes(), process, log, "celery worker")
        yield port
    finally:
        _stop(process)


def _flower(settings: Settings, log: Path, **env: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [*CELERY, "flower", "--address=127.0.0.1"],
            cwd=ROOT, env=worker_env(settings) | env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


@pytest.fixture(scope="module")
def flower(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Flower on a free port (FLOWER_PORT) behind FLOWER_BASIC_AUTH; yields its base URL."""
    log = tmp_path_factory.mktemp("flower") / "flower.log"
    port = _free_port()
    process = _flower(
        settings,
        log,
        FLOWER_PORT=str(port),
        FLOWER_BASIC_AUTH=":".join(AUTH),
        QRAP_ENV="production",
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/healthcheck", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait_until(healthy, process, log, "flower")
        yield url
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def completed_run(
    settings: Settings, database: Database, worker: int, flower: str
) -> dict[str, Any]:
    """One assessment run on the module's worker, submitted through the API."""
    client_app = Celery("qrap-flower-test")
    client_app.conf.update(broker_url=settings.celery_broker_url)

    def dispatch(task: DeferredTask) -> None:
        client_app.send_task(task.name, kwargs=task.kwargs, queue=QUEUE)

    app = create_app(settings, database=database, dispatcher=dispatch)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"ApiKey {ADMIN_KEY}"
        org = client.post("/api/v1/organizations", json={"name": f"flower-{uuid.uuid4()}"})
        created = client.post(
            "/api/v1/assessments",
            json={"name": "flower", "organization_id": org.json()["id"], "run": True,
                  "targets": [{"type": "certificate", "pem": (CERTS / "rsa1024.pem").read_text()}]},
        )  # fmt: skip
        assert created.status_code == 202, created.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            shown = client.get(f"/api/v1/assessments/{created.json()['id']}").json()
            if shown["status"] in ("COMPLETED", "FAILED"):
                break
            time.sleep(0.2)
        assert shown["status"] == "COMPLETED", shown
        return dict(shown)


def _api(flower: str, path: str) -> Any:
    response = httpx.get(f"{flower}{path}", auth=AUTH, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


class TestFlower:
    def test_refuses_requests_without_credentials(self, flower: str) -> None:
        assert httpx.get(f"{flower}/api/workers", timeout=10).status_code == 401
        assert httpx.get(f"{flower}/", timeout=10).status_code == 401
        wrong = httpx.get(f"{flower}/api/workers", auth=("ops", "wrong"), timeout=10)
        assert wrong.status_code == 401

    def test_shows_the_worker_its_queue_and_task_counts(
        self, flower: str, completed_run: dict[str, Any]
    ) -> None:
        workers = _api(flower, "/api/workers?refresh=1")
        name = next(n for n in workers if n.startswith(f"{QUEUE}@"))
        assert [q["name"] for q in workers[name]["active_queues"]] == [QUEUE]
        assert workers[name]["stats"]["total"]["qrap.assessment.run"] == 1
        lengths = _api(flower, "/api/queues/length")["active_queues"]
        assert {"name": QUEUE, "messages": 0} in lengths
        # Task events arrive asynchronously: wait for the run's SUCCESS event to be folded in.
        deadline = time.monotonic() + 30
        while True:
            tasks = _api(flower, "/api/tasks?taskname=qrap.assessment.run")
            states = [t["state"] for t in tasks.values() if t.get("worker") == name]
            if states == ["SUCCESS"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert states == ["SUCCESS"]

    def test_does_not_start_without_auth_outside_development(
        self, settings: Settings, tmp_path: Path
    ) -> None:
        log = tmp_path / "flower.log"
        process = _flower(settings, log, FLOWER_PORT=str(_free_port()), QRAP_ENV="production")
        try:
            assert process.wait(timeout=60) != 0
        finally:
            if process.poll() is None:
                _stop(process)
        assert "FLOWER_BASIC_AUTH" in log.read_text()


class TestWorkerMetrics:
    def test_the_pool_processes_values_are_served_on_the_workers_port(
        self, worker: int, completed_run: dict[str, Any]
    ) -> None:
        response = httpx.get(f"http://127.0.0.1:{worker}/metrics", timeout=10)
        assert response.status_code == 200
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples
        }
        assert samples[("qrap_run_claims_total", (("attempt", "first"),))] == 1
        assert samples[("qrap_runs_finished_total", (("outcome", "completed"),))] == 1
        assert samples[("qrap_run_duration_seconds_count", (("outcome", "completed"),))] == 1
        scored = samples[("qrap_assets_scored_total", ())]
        assert scored == completed_run["summary"]["assets_scanned"] >= 1
