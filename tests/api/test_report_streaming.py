"""Reports of large runs are streamed from batched queries (T21): the rows are read a batch
at a time while the document is being written, and the document is the one ``build`` gives."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, insert

from qrap_core.assessment import report as json_report
from qrap_core.assessment import report_stream
from qrap_core.assessment.models import Assessment
from qrap_core.db import Database
from qrap_core.finding.models import CryptoAssetRecord, Finding
from tests.conftest import RecordingDispatcher

ROWS = 3_000
BATCH = 200
LEVELS = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")


@pytest.fixture
def big_run(
    client: TestClient, org_id: str, dispatched: RecordingDispatcher, database: Database
) -> str:
    """An assessment whose (queued) run holds ROWS assets and ROWS findings."""
    created = client.post(
        "/api/v1/assessments",
        json={"name": "large", "organization_id": org_id, "target_assets": ["a.example"]},
    )
    assert created.status_code == 201, created.text
    assessment_id = str(created.json()["id"])
    assert client.post(f"/api/v1/assessments/{assessment_id}/run").status_code == 202
    run_id = uuid.UUID(dispatched.sent[-1].kwargs["run_id"])
    org = uuid.UUID(org_id)
    assets = [
        {
            "id": uuid.uuid4(), "run_id": run_id, "assessment_id": uuid.UUID(assessment_id),
            "organization_id": org, "kind": "algorithm", "name": f"RSA key {n}",
            "location": f"host{n}.example:443", "algorithm": "RSA", "family": "RSA",
            "key_size": 2048, "usage": "signature", "quantum_risk_score": n % 100,
            "details": {}, "explanation": [], "fingerprint": f"{n:064x}",
        }
        for n in range(ROWS)
    ]  # fmt: skip
    findings = [
        {
            "id": uuid.uuid4(), "run_id": run_id, "assessment_id": uuid.UUID(assessment_id),
            "asset_id": asset["id"], "organization_id": org, "category": "MISSING_PQC",
            "risk_level": LEVELS[n % 5], "title": f"finding {n}", "description": "d",
            "affected_asset": asset["location"], "current_algorithm": "RSA-2048",
            "recommended_algorithm": "ML-DSA-65", "remediation": "migrate",
            "rule_id": "QRAP-ALG-001", "risk_score": float(n % 97), "explanation": [],
            "evidence": {}, "references": [], "fingerprint": f"{n:064x}",
        }
        for n, asset in enumerate(assets)
    ]  # fmt: skip
    with database.unit_of_work() as uow:
        uow.session.execute(insert(CryptoAssetRecord), assets)
        uow.session.execute(insert(Finding), findings)
    return assessment_id


@pytest.fixture
def loads() -> Iterator[list[str]]:
    """Every asset and finding row the ORM builds, in order ("asset" or "finding")."""
    seen: list[str] = []

    def asset_loaded(*_: Any) -> None:
        seen.append("asset")

    def finding_loaded(*_: Any) -> None:
        seen.append("finding")

    event.listen(CryptoAssetRecord, "load", asset_loaded)
    event.listen(Finding, "load", finding_loaded)
    yield seen
    event.remove(CryptoAssetRecord, "load", asset_loaded)
    event.remove(Finding, "load", finding_loaded)


def expected(database: Database, assessment_id: str) -> dict[str, Any]:
    with database.unit_of_work() as uow:
        assessment = uow.session.get(Assessment, uuid.UUID(assessment_id))
        assert assessment is not None
        return json_report.build(uow, assessment).to_json()


class TestJsonDocument:
    def test_rows_are_read_while_the_document_is_written(
        self, big_run: str, database: Database, loads: list[str]
    ) -> None:
        chunks = report_stream.json_document(database, uuid.UUID(big_run), batch=BATCH)
        loaded_when: list[int] = []
        text = []
        for chunk in chunks:
            text.append(chunk)
            loaded_when.append(loads.count("asset"))

        # Each asset chunk was written when at most one more batch had been read.
        asset_chunks = [n for n in loaded_when if 0 < n < ROWS]
        assert len(asset_chunks) >= ROWS // BATCH - 1
        steps = [later - earlier for earlier, later in pairwise(asset_chunks)]
        assert max(steps) <= 2 * BATCH
        assert asset_chunks[0] <= 2 * BATCH
        assert len(text) >= 2 * ROWS // BATCH
        assert json.loads("".join(text)) == expected(database, big_run)

    def test_over_http_is_the_built_document(
        self, client: TestClient, big_run: str, database: Database
    ) -> None:
        response = client.get(f"/api/v1/assessments/{big_run}/report")

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert "content-length" not in response.headers  # streamed, not measured first
        assert response.json() == expected(database, big_run)

    def test_pages(self, client: TestClient, big_run: str, database: Database) -> None:
        whole = expected(database, big_run)

        response = client.get(
            f"/api/v1/assessments/{big_run}/report", params={"page": 3, "page_size": 100}
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["assets"] == whole["assets"][200:300]
        assert body["findings"] == whole["findings"][200:300]
        assert (body["page"], body["page_size"]) == (3, 100)
        assert (body["total_assets"], body["total_findings"]) == (ROWS, ROWS)
        assert body["assessment"] == whole["assessment"]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"page": 0}, "page"),
            ({"page": 1, "page_size": 0}, "page_size"),
            ({"page": 1, "page_size": 10_001}, "page_size"),
            ({"page": 1, "format": "csv"}, "page"),
        ],
    )
    def test_bad_paging_is_400(
        self, client: TestClient, org_id: str, params: dict[str, Any], field: str
    ) -> None:
        created = client.post("/api/v1/assessments", json={"name": "p", "organization_id": org_id})

        response = client.get(f"/api/v1/assessments/{created.json()['id']}/report", params=params)

        assert response.status_code == 400, response.text
        assert response.json()["details"][0]["field"] == field


class TestCsvAndCbom:
    def test_csv_streams_every_finding(
        self, client: TestClient, big_run: str, database: Database, loads: list[str]
    ) -> None:
        chunks = list(report_stream.csv_document(database, uuid.UUID(big_run), batch=BATCH))
        assert len(chunks) >= ROWS // BATCH
        response = client.get(f"/api/v1/assessments/{big_run}/report", params={"format": "csv"})

        assert response.status_code == 200
        assert "content-length" not in response.headers
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [r["title"] for r in rows] == [
            f["title"] for f in expected(database, big_run)["findings"]
        ]

    def test_cbom_streams_every_asset(
        self, client: TestClient, big_run: str, database: Database, loads: list[str]
    ) -> None:
        chunks = list(report_stream.cbom_document(database, uuid.UUID(big_run), batch=BATCH))
        assert len(chunks) >= ROWS // BATCH
        response = client.get(f"/api/v1/assessments/{big_run}/report", params={"format": "cbom"})

        assert response.status_code == 200
        document = response.json()
        refs = {c["bom-ref"] for c in document["components"]}
        assert len(refs) == ROWS
        root = document["dependencies"][0]
        assert root["ref"] == f"assessment:{big_run}"
        assert set(root["dependsOn"]) == refs
