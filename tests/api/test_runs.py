"""Drift between runs (diff), recurring schedules, and the live events stream (SSE)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from qrap_core.assessment import service as assessment_service
from qrap_core.assessment import sweeper
from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.audit.service import Actor
from qrap_core.db import Database, DeferredTask, utcnow
from qrap_core.events import RedisPublisher, channel
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings
from qrap_core.webhook.models import WebhookDelivery

CERTS = Path(__file__).resolve().parents[2] / "qrap_core" / "examples" / "certs"
ACTOR = Actor(subject="runs-tests")


def _cert(name: str) -> dict[str, str]:
    return {"type": "certificate", "pem": (CERTS / name).read_text()}


def _run_latest(database: Database, settings: Settings, assessment_id: str) -> None:
    with database.unit_of_work() as uow:
        run = assessment_service.latest_run(uow, uuid.UUID(assessment_id))
        assert run is not None
        run_id = run.id
    assert RunExecutor(database, settings).execute(run_id).status == "COMPLETED"


class TestDiff:
    def test_new_fixed_unchanged_by_fingerprint(
        self, client: TestClient, org_id: str, database: Database, settings: Settings
    ) -> None:
        hook = client.post(
            "/api/v1/webhooks",
            json={"organization_id": org_id, "url": "https://93.184.216.34/h",
                  "events": ["assessment.completed"]},
        )  # fmt: skip
        assert hook.status_code == 201
        created = client.post(
            "/api/v1/assessments",
            json={"name": "drift", "organization_id": org_id, "run": True,
                  "targets": [_cert("rsa1024.pem"), _cert("sha1-rsa2048.pem")]},
        ).json()  # fmt: skip
        _run_latest(database, settings, created["id"])
        first = client.get(f"/api/v1/assessments/{created['id']}/runs/1/diff").json()
        assert first["previous_run_number"] is None
        assert first["counts"]["new"] > 0
        assert first["counts"]["fixed"] == first["counts"]["unchanged"] == 0
        # The estate changes: one certificate is replaced by another.
        with database.unit_of_work() as uow:
            assessment = uow.session.get_one(Assessment, uuid.UUID(created["id"]))
            assessment.targets = [_cert("rsa1024.pem"), _cert("expired-rsa2048.pem")]
        assert client.post(f"/api/v1/assessments/{created['id']}/run").status_code == 202
        _run_latest(database, settings, created["id"])
        second = client.get(f"/api/v1/assessments/{created['id']}/runs/2/diff").json()
        counts = second["counts"]
        assert second["previous_run_number"] == 1
        assert counts["unchanged"] > 0
        assert counts["new"] > 0
        assert counts["fixed"] > 0
        assert len(second["new"]) == counts["new"]
        new = {f["fingerprint"] for f in second["new"]}
        fixed = {f["fingerprint"] for f in second["fixed"]}
        unchanged = {f["fingerprint"] for f in second["unchanged"]}
        assert not (new & fixed)
        assert not (new & unchanged)
        assert not (fixed & unchanged)
        with database.unit_of_work() as uow:
            bodies = uow.session.scalars(
                select(WebhookDelivery.body).where(
                    WebhookDelivery.event_type == "assessment.completed",
                    WebhookDelivery.organization_id == uuid.UUID(org_id),
                )
            ).all()
        payloads = sorted((json.loads(b)["data"] for b in bodies), key=lambda d: d["run_number"])
        assert payloads[1]["diff"] == {"previous_run_number": 1, **counts}

    def test_errors(self, client: TestClient, org_id: str) -> None:
        created = client.post(
            "/api/v1/assessments",
            json={"name": "d", "organization_id": org_id, "targets": [_cert("rsa1024.pem")]},
        ).json()
        assert client.get(f"/api/v1/assessments/{created['id']}/runs/1/diff").status_code == 404
        assert client.get(f"/api/v1/assessments/{uuid.uuid4()}/runs/1/diff").status_code == 404
        assert client.get(f"/api/v1/assessments/{created['id']}/runs/0/diff").status_code == 400
        client.post(f"/api/v1/assessments/{created['id']}/run")
        queued = client.get(f"/api/v1/assessments/{created['id']}/runs/1/diff")
        assert queued.status_code == 409


class TestSchedule:
    def test_validated_with_the_field_named(self, client: TestClient, org_id: str) -> None:
        for bad in ("* * * * *", "61 * * * *", "@sometimes", "1 2 3"):
            response = client.post(
                "/api/v1/assessments",
                json={"name": "s", "organization_id": org_id, "schedule": bad,
                      "targets": [_cert("rsa1024.pem")]},
            )  # fmt: skip
            assert response.status_code == 400, bad
            assert response.json()["details"][0]["field"] == "schedule"

    def test_put_sets_next_run_and_beat_starts_one_run_at_a_time(
        self, client: TestClient, org_id: str, database: Database, dispatched: Any
    ) -> None:
        created = client.post(
            "/api/v1/assessments",
            json={"name": "nightly", "organization_id": org_id, "targets": [_cert("rsa1024.pem")]},
        ).json()
        put = client.put(
            f"/api/v1/assessments/{created['id']}/schedule", json={"schedule": "0 3 * * *"}
        )
        assert put.status_code == 200, put.text
        assert put.json()["schedule"] == "0 3 * * *"
        assert put.json()["next_run_at"].endswith(("03:00:00Z", "03:00:00+00:00"))
        bad = client.put(f"/api/v1/assessments/{created['id']}/schedule", json={"schedule": "x"})
        assert (bad.status_code, bad.json()["details"][0]["field"]) == (400, "schedule")

        def due_now() -> int:
            with database.unit_of_work() as uow:
                model = uow.session.get_one(Assessment, uuid.UUID(created["id"]))
                model.next_run_at = utcnow() - timedelta(seconds=1)
            sent: list[DeferredTask] = []
            with database.unit_of_work(sent.append) as uow:
                started = sweeper.start_due_schedules(uow)
            return started + 0 * len(sent)

        assert due_now() >= 1
        # Due again while that run is still queued: skipped, never a second concurrent run.
        due_now()
        with database.unit_of_work() as uow:
            runs = uow.session.scalars(
                select(AssessmentRun).where(AssessmentRun.assessment_id == uuid.UUID(created["id"]))
            ).all()
            model = uow.session.get_one(Assessment, uuid.UUID(created["id"]))
        assert len(runs) == 1
        assert runs[0].triggered_by == "qrap-scheduler"
        assert model.next_run_at is not None
        assert model.next_run_at > utcnow()
        cleared = client.put(
            f"/api/v1/assessments/{created['id']}/schedule", json={"schedule": None}
        )
        assert cleared.json()["next_run_at"] is None


def _subscribed(client: redis.Redis, assessment_id: str) -> bool:
    counts = dict(client.pubsub_numsub(channel(uuid.UUID(assessment_id))))
    return any(int(n) > 0 for n in counts.values())


def _events(client: TestClient, assessment_id: str) -> list[dict[str, Any]]:
    events = []
    with client.stream("GET", f"/api/v1/assessments/{assessment_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


class TestEvents:
    def test_stream_follows_a_run_to_its_end(
        self, client: TestClient, org_id: str, database: Database, settings: Settings
    ) -> None:
        created = client.post(
            "/api/v1/assessments",
            json={"name": "live", "organization_id": org_id, "run": True,
                  "targets": [_cert("rsa1024.pem"), _cert("ecdsa-p256.pem")]},
        ).json()  # fmt: skip
        run_id = uuid.UUID(created["latest_run"]["id"])
        publisher = RedisPublisher(settings.redis_url)

        subscribers = redis.Redis.from_url(settings.redis_url)

        def work() -> None:
            # Start once the stream has subscribed, so it sees every event of the run.
            deadline = time.monotonic() + 30
            while not _subscribed(subscribers, created["id"]) and time.monotonic() < deadline:
                time.sleep(0.02)
            RunExecutor(database, settings, events=publisher).execute(run_id)

        worker = threading.Thread(target=work)
        worker.start()
        events = _events(client, created["id"])
        worker.join()
        publisher.close()
        subscribers.close()
        kinds = [e["type"] for e in events]
        assert kinds[0] == "assessment.status"
        assert "assessment.started" in kinds
        assert "assessment.progress" in kinds
        assert kinds[-1] == "assessment.completed"
        assert events[-1]["status"] == "COMPLETED"
        # A client arriving after the end gets the terminal event at once.
        assert [e["type"] for e in _events(client, created["id"])] == ["assessment.completed"]

    def test_other_tenant_404(self, client: TestClient, settings: Settings) -> None:
        assert client.get(f"/api/v1/assessments/{uuid.uuid4()}/events").status_code == 404
