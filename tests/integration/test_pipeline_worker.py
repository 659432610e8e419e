"""End to end through a real worker: QUEUED -> IN_PROGRESS -> COMPLETED with findings."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from qrap_api.app import create_app
from qrap_cli.demo_server import serve_tls
from qrap_core.assessment.models import AssessmentRun
from qrap_core.db import Database
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import celery_dispatcher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CERTS = Path(__file__).resolve().parents[2] / "qrap_core" / "examples" / "certs"


def _wait_for(
    client: TestClient, assessment_id: str, statuses: set[str], timeout: float
) -> list[str]:
    """Poll until the status is in ``statuses``; return every status seen on the way."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/assessments/{assessment_id}").json()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in statuses:
            return seen
        time.sleep(0.1)
    raise AssertionError(f"assessment {assessment_id} stuck; saw {seen}")


def _skipped_runs(worker_log: Path) -> int:
    """Run messages the worker has acknowledged as not claimable (Celery logs each result)."""
    return sum(
        1
        for line in worker_log.read_text(errors="replace").splitlines()
        if "qrap.assessment.run[" in line and "succeeded in" in line and "'SKIPPED'" in line
    )


def _create(client: TestClient, org_id: str, **body: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/assessments", json={"name": "e2e", "organization_id": org_id, "run": True, **body}
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


class TestWorkerPipeline:
    def test_certificate_and_tls_target_complete_with_findings(
        self, live_client: TestClient, stalling_server: int
    ) -> None:
        org = live_client.post("/api/v1/organizations", json={"name": f"e2e-{uuid.uuid4()}"})
        org_id = org.json()["id"]
        with serve_tls(CERTS / "tls-server.pem", CERTS / "tls-server.key") as port:
            created = _create(
                live_client,
                org_id,
                target_assets=[f"127.0.0.1:{port}", f"tls://127.0.0.1:{stalling_server}"],
                targets=[{"type": "certificate", "pem": (CERTS / "rsa1024.pem").read_text()}],
                data_profile={"shelf_life_years": 20},
            )
            assert created["status"] == "QUEUED"
            seen = _wait_for(live_client, created["id"], {"COMPLETED", "FAILED"}, 60)
        assert seen[-1] == "COMPLETED", seen
        # The stalling target keeps the run busy for the probe timeout, so polling sees it.
        assert "IN_PROGRESS" in seen

        detail = live_client.get(f"/api/v1/assessments/{created['id']}").json()
        assert detail["progress"] == 100.0
        assert detail["summary"]["total_findings"] > 0
        assert detail["overall_risk"] in {"CRITICAL", "HIGH", "MEDIUM", "LOW"}
        assert detail["latest_run"]["attempts"] == 1

        findings = live_client.get(
            f"/api/v1/findings?assessment_id={created['id']}&limit=100"
        ).json()
        assert findings["total_count"] == detail["summary"]["total_findings"]
        categories = {f["category"] for f in findings["findings"]}
        assert "SHORT_KEY_LENGTH" in categories  # the RSA-1024 certificate
        assert "MISSING_PQC" in categories
        tls_findings = [
            f for f in findings["findings"] if f["affected_asset"] == f"127.0.0.1:{port}"
        ]
        assert tls_findings, "the live TLS server produced no findings"
        one = live_client.get(f"/api/v1/findings/{findings['findings'][0]['id']}").json()
        assert one["rule_id"]
        assert one["explanation"]

        report = live_client.get(f"/api/v1/assessments/{created['id']}/report?format=json").json()
        by_target = {t["target"]: t for t in report["targets"]}
        assert by_target[f"127.0.0.1:{port}"]["status"] == "ok"
        stalled = by_target[f"127.0.0.1:{stalling_server}"]
        assert stalled["status"] == "error"
        assert stalled["error"]
        assert not [f for f in report["findings"] if str(stalling_server) in f["affected_asset"]]
        assert report["assets"]
        assert set(report) >= {"assessment", "assets", "findings", "migration_plan", "targets"}

        runs = live_client.get(f"/api/v1/assessments/{created['id']}/runs").json()
        assert runs["total_count"] == 1

    def test_duplicate_delivery_does_not_duplicate_findings(
        self,
        settings: Settings,
        database: Database,
        celery_client: Celery,
        celery_worker: Path,
        live_client: TestClient,
    ) -> None:
        org_id = live_client.post(
            "/api/v1/organizations", json={"name": f"dup-{uuid.uuid4()}"}
        ).json()["id"]
        # Every task message is published three times, as a redelivering broker might.
        app = create_app(
            settings, database=database, dispatcher=celery_dispatcher(celery_client, copies=3)
        )
        skipped_before = _skipped_runs(celery_worker)
        with TestClient(app) as client:
            client.headers["Authorization"] = f"ApiKey {ADMIN_KEY}"
            created = _create(
                client,
                org_id,
                targets=[
                    {"type": "certificate", "pem": (CERTS / name).read_text()}
                    for name in ("rsa1024.pem", "sha1-rsa2048.pem", "expired-rsa2048.pem")
                ],
            )
            assert _wait_for(client, created["id"], {"COMPLETED", "FAILED"}, 60)[-1] == "COMPLETED"
        run_id = uuid.UUID(created["latest_run"]["id"])
        # The two extra copies reach the worker and are skipped: wait until it says so.
        deadline = time.monotonic() + 60
        while _skipped_runs(celery_worker) < skipped_before + 2:
            assert time.monotonic() < deadline, "the extra copies never reached the worker"
            time.sleep(0.1)
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            findings = uow.session.scalar(
                select(func.count()).select_from(Finding).where(Finding.run_id == run_id)
            )
            distinct = uow.session.scalar(
                select(func.count(func.distinct(Finding.fingerprint))).where(
                    Finding.run_id == run_id
                )
            )
            assets = uow.session.scalar(
                select(func.count())
                .select_from(CryptoAssetRecord)
                .where(CryptoAssetRecord.run_id == run_id)
            )
        assert run.attempts == 1
        assert findings == distinct
        assert findings == run.summary["total_findings"] if run.summary else False
        assert assets == 3
