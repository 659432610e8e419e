"""PATCH /findings/{id} (analyst triage, audited) and `qrap model train --feedback`, which
turns the verdicts into a model version that scores similar assets the analysts' way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from qrap_api.auth import issue_token
from qrap_core.audit.models import AuditLogEntry
from qrap_core.db import Database
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import Usage
from qrap_core.finding import service as finding_service
from qrap_core.rules import RuleContext, evaluate
from qrap_core.scoring import ScoringContext, get_risk_model
from qrap_core.scoring.feedback import VERDICT_SCORES, verdict_score
from qrap_core.scoring.training import SHIPPED_VERSION
from qrap_core.settings import Settings
from tests.api.test_analysis import run_inventory
from tests.conftest import VIEWER_KEY, RecordingDispatcher

ROOT = Path(__file__).resolve().parents[2]


def findings_of(client: TestClient, assessment_id: str) -> dict[str, dict[str, Any]]:
    body = client.get("/api/v1/findings", params={"assessment_id": assessment_id, "limit": 100})
    return {f"{f['affected_asset']}/{f['rule_id']}": f for f in body.json()["findings"]}


@pytest.fixture
def assessment(
    client: TestClient,
    org_id: str,
    database: Database,
    settings: Settings,
    dispatched: RecordingDispatcher,
) -> str:
    return run_inventory(
        client, org_id, database, settings, dispatched,
        [{"asset": "pay-signer", "algorithm": "ECDSA-P256", "usage": "signature"},
         {"asset": "pay-vpn", "algorithm": "X25519", "usage": "key-exchange"},
         {"asset": "pay-old", "algorithm": "DES"}],
        shelf_life_years=5,
    )  # fmt: skip


class TestPatchFinding:
    def test_triage_is_stored_returned_and_audited(
        self, client: TestClient, assessment: str, database: Database
    ) -> None:
        finding = findings_of(client, assessment)["pay-signer/QRAP-PQC-002"]
        response = client.patch(
            f"/api/v1/findings/{finding['id']}",
            json={"triage_status": "accepted_risk", "analyst_risk_level": "LOW",
                  "analyst_note": "internal signing only; replaced in 2027"},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["triage_status"], body["analyst_risk_level"]) == ("accepted_risk", "LOW")
        assert body["analyst_note"] == "internal signing only; replaced in 2027"
        assert client.get(f"/api/v1/findings/{finding['id']}").json()["triage_status"] == (
            "accepted_risk"
        )
        with database.unit_of_work() as uow:
            entry = uow.session.scalars(
                select(AuditLogEntry).where(
                    AuditLogEntry.action == "finding.triaged",
                    AuditLogEntry.object_id == finding["id"],
                )
            ).one()
        assert entry.actor == "ci-admin"
        assert entry.details["changes"]["analyst_risk_level"] == {"from": None, "to": "LOW"}
        assert entry.details["changes"]["triage_status"] == {"from": "open", "to": "accepted_risk"}

    def test_null_clears_the_level(self, client: TestClient, assessment: str) -> None:
        finding = findings_of(client, assessment)["pay-vpn/QRAP-PQC-001"]
        url = f"/api/v1/findings/{finding['id']}"
        assert client.patch(url, json={"analyst_risk_level": "HIGH"}).status_code == 200
        cleared = client.patch(url, json={"analyst_risk_level": None}).json()
        assert cleared["analyst_risk_level"] is None
        assert cleared["triage_status"] == "open"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"triage_status": "ignored"}, "triage_status"),
            ({"analyst_risk_level": "SEVERE"}, "analyst_risk_level"),
            ({"analyst_note": "x" * 4001}, "analyst_note"),
            ({"risk_score": 1}, "risk_score"),
            ({"triage_status": None}, "triage_status"),
            ({}, "body"),
        ],
    )
    def test_400_names_the_bad_field(
        self, client: TestClient, assessment: str, body: dict[str, Any], field: str
    ) -> None:
        finding = findings_of(client, assessment)["pay-old/QRAP-ALG-001"]
        response = client.patch(f"/api/v1/findings/{finding['id']}", json=body)
        assert response.status_code == 400
        assert field in [d["field"] for d in response.json()["details"]]
        unchanged = client.get(f"/api/v1/findings/{finding['id']}").json()
        assert (unchanged["triage_status"], unchanged["analyst_risk_level"]) == ("open", None)

    def test_needs_the_analyst_role(
        self, client: TestClient, assessment: str, settings: Settings, org_id: str
    ) -> None:
        finding = findings_of(client, assessment)["pay-old/QRAP-ALG-001"]
        url = f"/api/v1/findings/{finding['id']}"
        viewer = client.patch(
            url, json={"triage_status": "fixed"}, headers={"Authorization": f"ApiKey {VIEWER_KEY}"}
        )
        assert viewer.status_code == 403
        token = issue_token(settings, subject="ann", role="analyst", org_ids=[org_id])
        analyst = client.patch(
            url, json={"triage_status": "fixed"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert analyst.status_code == 200

    def test_unknown_finding_is_404(self, client: TestClient) -> None:
        response = client.patch(f"/api/v1/findings/{uuid.uuid4()}", json={"triage_status": "fixed"})
        assert response.status_code == 404


class TestVerdictScore:
    def test_level_wins_then_false_positive(self) -> None:
        class Row:
            def __init__(self, status: str, level: str | None) -> None:
                self.id = uuid.uuid4()
                self.triage_status = status
                self.analyst_risk_level = level

        assert verdict_score([Row("open", "LOW"), Row("fixed", "HIGH")]) == 70.0  # type: ignore[list-item]
        assert verdict_score([Row("false_positive", None)]) == 0.0  # type: ignore[list-item]
        assert verdict_score([Row("accepted_risk", None)]) is None  # type: ignore[list-item]
        assert VERDICT_SCORES == {"CRITICAL": 90.0, "HIGH": 70.0, "MEDIUM": 45.0, "LOW": 15.0,
                                  "INFO": 5.0}  # fmt: skip


def score_signer(model_settings: Settings, name: str) -> float:
    """A similar asset the analysts never saw: another P-256 signing key, other assumptions."""
    asset = CryptoAsset("algorithm", name, name, Usage.SIGNATURE, "ECDSA-P256",
                        details={"declared": True})  # fmt: skip
    now = datetime(2026, 12, 1, tzinfo=UTC)
    ctx = ScoringContext(now=now, shelf_life_years=8, migration_years=2, crqc_year=2035,
                         sensitivity="high")  # fmt: skip
    findings = evaluate([asset], RuleContext(now=now))
    return get_risk_model(model_settings).score_assets([asset], findings, ctx)[0].score


class TestTrainWithFeedback:
    def test_feedback_moves_similar_assets_the_analysts_way(
        self,
        client: TestClient,
        assessment: str,
        org_id: str,
        database: Database,
        settings: Settings,
        tmp_path: Path,
    ) -> None:
        signer = findings_of(client, assessment)["pay-signer/QRAP-PQC-002"]
        response = client.patch(
            f"/api/v1/findings/{signer['id']}",
            json={"analyst_risk_level": "INFO", "triage_status": "accepted_risk"},
        )
        assert response.status_code == 200
        with database.unit_of_work() as uow:
            verdicts = finding_service.feedback_verdicts(uow, uuid.UUID(org_id))
        assert [asset.name for asset, _, _, _ in verdicts] == ["pay-signer"]
        # The CLI as an operator runs it: verdicts from the database into QRAP_MODEL_DIR.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QRAP_", "QUANTUN_"))}
        env |= {"QRAP_DATABASE_URL": settings.sqlalchemy_url, "QRAP_MODEL_DIR": str(tmp_path)}
        result = subprocess.run(
            [sys.executable, "-m", "qrap_cli.main", "model", "train", "--feedback",
             "--organization", org_id],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        trained = json.loads(result.stdout)
        version = trained["version"]
        assert version.startswith(f"{SHIPPED_VERSION}+fb.")
        assert trained["feedback"]["verdicts"] == 1
        assert (tmp_path / f"risk-model-{version}.json").exists()
        assert (tmp_path / f"risk-model-{version}.md").exists()

        shipped = score_signer(Settings(), "ledger-signer")
        tuned_settings = Settings(model_dir=tmp_path, model_version=version)
        tuned = score_signer(tuned_settings, "ledger-signer")
        assert get_risk_model(tuned_settings).version == f"xgb-risk-{version}"
        assert tuned < shipped - 5, (shipped, tuned)

        info = subprocess.run(
            [sys.executable, "-m", "qrap_cli.main", "model", "info"],
            cwd=ROOT, env=env | {"QRAP_MODEL_VERSION": version}, capture_output=True,
            text=True, timeout=120, check=False,
        )  # fmt: skip
        assert info.returncode == 0, info.stderr
        assert json.loads(info.stdout)["model_id"] == f"xgb-risk-{version}"

    def test_no_verdicts_is_an_error(self, settings: Settings, tmp_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QRAP_", "QUANTUN_"))}
        env |= {"QRAP_DATABASE_URL": settings.sqlalchemy_url, "QRAP_MODEL_DIR": str(tmp_path)}
        result = subprocess.run(
            [sys.executable, "-m", "qrap_cli.main", "model", "train", "--feedback",
             "--organization", str(uuid.uuid4())],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 1
        assert "no analyst verdicts" in result.stderr
