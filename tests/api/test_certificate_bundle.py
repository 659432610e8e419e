"""A CA bundle as a `certificate` target: accepted, assessed truthfully, limits name the field."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qrap_core.assessment import service as assessment_service
from qrap_core.db import Database
from qrap_core.discovery.certificate import MAX_CERTIFICATES
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings
from tests import cabundle
from tests.conftest import RecordingDispatcher


def _body(org_id: str, pem: bytes) -> dict[str, Any]:
    return {
        "name": "trust store",
        "organization_id": org_id,
        "run": True,
        "targets": [{"type": "certificate", "name": "ca-certificates.crt", "pem": pem.decode()}],
    }


class TestCertificateBundle:
    def test_fits_the_default_body_limit(self, settings: Settings) -> None:
        size = len(json.dumps(_body(str(uuid.uuid4()), cabundle.bundle().pem)))
        assert 150_000 < size < settings.max_body_size // 4

    # The bundle's roots with serials <= 0 make cryptography warn, in the API and the worker.
    @pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
    def test_accepted_and_assessed(
        self,
        client: TestClient,
        org_id: str,
        database: Database,
        settings: Settings,
        dispatched: RecordingDispatcher,
    ) -> None:
        response = client.post("/api/v1/assessments", json=_body(org_id, cabundle.bundle().pem))
        assert response.status_code == 202, response.text
        assert [t.name for t in dispatched.sent] == ["qrap.assessment.run"]
        with database.unit_of_work() as uow:
            run = assessment_service.latest_run(uow, uuid.UUID(response.json()["id"]))
            assert run is not None
            run_id = run.id
        assert RunExecutor(database, settings).execute(run_id).status == "COMPLETED"

        report = client.get(f"/api/v1/assessments/{response.json()['id']}/report").json()

        [target] = report["targets"]
        assert (target["status"], target["details"]["certificates"]) == ("ok", 150)
        subjects = {a["id"]: a["details"]["subject"] for a in report["assets"]}
        by_root: dict[str, dict[str, dict[str, Any]]] = {}
        for finding in report["findings"]:
            by_root.setdefault(subjects[finding["asset_id"]], {})[finding["rule_id"]] = finding
        roots = cabundle.bundle().roots
        for root in (r for r in roots if r.expired):
            findings = by_root[root.subject]
            assert findings["QRAP-CERT-002"]["risk_level"] == "LOW"
            assert findings["QRAP-PQC-002"]["risk_level"] == "INFO"
            assert findings["QRAP-PQC-002"]["remediation"].startswith("Nothing to re-issue")
        self_signature_levels = Counter(
            f["risk_level"] for f in report["findings"] if f["rule_id"] == "QRAP-CERT-001"
        )
        assert self_signature_levels == {"INFO": sum(r.sha1 for r in roots)}

    def test_over_the_limit_is_a_400_naming_the_field(
        self, client: TestClient, org_id: str, dispatched: RecordingDispatcher
    ) -> None:
        body = _body(org_id, cabundle.over_limit(MAX_CERTIFICATES + 1))
        response = client.post("/api/v1/assessments", json=body)
        assert response.status_code == 400, response.text
        [detail] = response.json()["details"]
        assert detail["field"] == "targets[0].pem"
        assert "too many PEM blocks: 1,001" in detail["message"]
        assert dispatched.sent == []
