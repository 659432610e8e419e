"""GET /metrics: the series the API and a run produce, queue depths, settings, multiprocess."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from qrap_api.app import create_app
from qrap_core import metrics
from qrap_core.assessment import service as assessment_service
from qrap_core.db import Database
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings
from qrap_core.webhook import delivery
from tests.conftest import ADMIN_KEY, VIEWER_KEY, RecordingDispatcher

CERTS = Path(__file__).resolve().parents[2] / "qrap_core" / "examples" / "certs"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@contextmanager
def _app_client(settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(settings, database=database, dispatcher=RecordingDispatcher())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


class TestRequests:
    def test_latency_by_route_template_and_status(self, client: TestClient, org_id: str) -> None:
        missing = f"/api/v1/assessments/{uuid.uuid4()}"
        route = "/api/v1/assessments/{assessment_id}"
        before = scrape(client)
        for _ in range(3):
            assert client.get(missing).status_code == 404
        assert client.get("/no/such/path").status_code == 404
        after = scrape(client)
        count = "qrap_http_request_duration_seconds_count"
        labels = {"method": "GET", "route": route, "status": "404"}
        assert value(after, count, **labels) - value(before, count, **labels) == 3
        unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
        assert value(after, count, **unmatched) - value(before, count, **unmatched) == 1
        # The raw path never becomes a label value.
        assert not any(missing in str(key) for key in after)

    def test_submissions_and_a_run(
        self, client: TestClient, org_id: str, database: Database, settings: Settings
    ) -> None:
        before = scrape(client)
        created = client.post(
            "/api/v1/assessments",
            json={"name": "metrics", "organization_id": org_id, "run": True,
                  "targets": [{"type": "certificate", "pem": (CERTS / "rsa1024.pem").read_text()}]},
        )  # fmt: skip
        assert created.status_code == 202, created.text
        with database.unit_of_work() as uow:
            run = assessment_service.latest_run(uow, uuid.UUID(created.json()["id"]))
            assert run is not None
            run_id = run.id
        assert RunExecutor(database, settings).execute(run_id).status == "COMPLETED"
        assets = client.get(f"/api/v1/assessments/{created.json()['id']}").json()["summary"]
        after = scrape(client)

        def delta(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert delta("qrap_runs_submitted_total") == 1
        assert delta("qrap_run_claims_total", attempt="first") == 1
        assert delta("qrap_runs_finished_total", outcome="completed") == 1
        assert delta("qrap_run_duration_seconds_count", outcome="completed") == 1
        assert assets["assets_scanned"] >= 1
        assert delta("qrap_assets_scored_total") == assets["assets_scanned"]
        posted = {"method": "POST", "route": "/api/v1/assessments", "status": "202"}
        assert delta("qrap_http_request_duration_seconds_count", **posted) == 1


class _Receiver(BaseHTTPRequestHandler):
    status = 204

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


class TestWebhookAttempts:
    def test_outcomes_are_counted(
        self, client: TestClient, receiver: tuple[str, type[_Receiver]]
    ) -> None:
        url, handler = receiver
        before = scrape(client)
        private = delivery.webhook_policy(allow_private=True)
        assert delivery.post(url, b"{}", {}, policy=private, timeout=5).succeeded
        handler.status = 500
        assert delivery.post(url, b"{}", {}, policy=private, timeout=5).status_code == 500
        refused = delivery.post(url, b"{}", {}, policy=delivery.webhook_policy(False), timeout=5)
        assert refused.status_code is None
        after = scrape(client)
        name = "qrap_webhook_attempts_total"
        for outcome in ("succeeded", "http_error", "refused"):
            assert value(after, name, outcome=outcome) - value(before, name, outcome=outcome) == 1


class TestQueueDepth:
    def test_reads_each_queue_at_scrape_time(self, client: TestClient, broker_url: str) -> None:
        # scoring.gpu: no test worker consumes it, so the messages stay where they are put.
        broker = redis.Redis.from_url(broker_url)
        try:
            broker.rpush("scoring.gpu", "a", "b", "c")
            broker.rpush("scoring.gpu\x06\x169", "d")  # kombu's list for priority 9
            samples = scrape(client)
        finally:
            broker.delete("scoring.gpu", "scoring.gpu\x06\x169")
            broker.close()
        assert value(samples, "qrap_queue_depth", queue="scoring.gpu") == 4
        assert value(samples, "qrap_queue_depth_up") == 1
        for queue in ("assessments", "maintenance", "webhooks", "scoring.cpu"):
            assert ("qrap_queue_depth", frozenset({("queue", queue)})) in samples

    def test_a_broker_that_does_not_answer_costs_only_the_queue_series(
        self, settings: Settings, database: Database
    ) -> None:
        down = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
        with _app_client(down, database) as client:
            samples = scrape(client)
            assert value(samples, "qrap_queue_depth_up") == 0
            assert not any(name == "qrap_queue_depth" for name, _ in samples)
            assert any(name == "qrap_http_request_duration_seconds_count" for name, _ in samples)


class TestSettings:
    def test_disabled_has_no_route(self, settings: Settings, database: Database) -> None:
        off = settings.model_copy(update={"metrics_enabled": False})
        with _app_client(off, database) as client:
            assert client.get("/metrics").status_code == 404

    def test_auth_required_takes_an_admin(self, settings: Settings, database: Database) -> None:
        guarded = settings.model_copy(update={"metrics_require_auth": True})
        with _app_client(guarded, database) as client:
            assert client.get("/metrics").status_code == 401
            viewer = client.get("/metrics", headers={"Authorization": f"ApiKey {VIEWER_KEY}"})
            assert viewer.status_code == 403
            admin = client.get("/metrics", headers={"Authorization": f"ApiKey {ADMIN_KEY}"})
            assert admin.status_code == 200
            assert "qrap_http_request_duration_seconds" in admin.text


# Each process counts 'n' submissions and holds one request in progress until told to go.
_WRITER = """
import sys
from qrap_core import metrics
metrics.RUNS_SUBMITTED.inc(int(sys.argv[1]))
metrics.HTTP_REQUESTS_IN_PROGRESS.inc()
print("ready", flush=True)
sys.stdin.readline()
"""


class TestMultiprocess:
    def test_two_processes_merge_and_dead_ones_stop_counting_as_live(
        self, tmp_path: Path, settings: Settings, database: Database
    ) -> None:
        env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", _WRITER, str(n)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in (2, 3)
        ]
        try:
            for writer in writers:
                assert writer.stdout is not None
                assert writer.stdout.readline().strip() == "ready"
            served = settings.model_copy(update={"prometheus_multiproc_dir": tmp_path})
            with _app_client(served, database) as client:
                live = scrape(client)
                assert value(live, "qrap_runs_submitted_total") == 5
                # Only the writers' files are merged: this test process keeps its own values
                # in memory, so the scrape itself is not among the requests in progress.
                assert value(live, "qrap_http_requests_in_progress") == 2
                writers[0].communicate("go\n", timeout=30)
                gone = scrape(client)
                assert value(gone, "qrap_runs_submitted_total") == 5  # totals stay
                assert value(gone, "qrap_http_requests_in_progress") == 1
                assert metrics.forget_dead_processes(tmp_path) == []  # the scrape did it
        finally:
            for writer in writers:
                if writer.poll() is None:
                    writer.communicate("go\n", timeout=30)
