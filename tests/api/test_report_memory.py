"""Reports of large runs in bounded memory (issue 8, item 6): the migration plan of the JSON and
HTML reports is planned one asset at a time, SARIF and HTML are streamed like JSON, CSV and
CBOM, and each gives the very text the in-memory renderers give for the same run."""

from __future__ import annotations

import json
import tracemalloc
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from qrap_core.assessment import report as json_report
from qrap_core.assessment import report_stream
from qrap_core.assessment.models import Assessment
from qrap_core.crypto.policy import Profile
from qrap_core.db import Database
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import FindingCategory, RiskLevel, Usage
from qrap_core.finding import service as finding_service
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.finding.rows import RunScope, asset_rows, bulk_insert, finding_rows
from qrap_core.organization.models import Organization
from qrap_core.planning import stream as plan_stream
from qrap_core.reports import html, sarif
from qrap_core.reports.model import Report
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring.base import AssetScore
from tests.reportseed import NOW, SeededRun, seed_run

HOST = "edge.example:443"


@dataclass(frozen=True)
class Edge:
    """An asset written beside the sampled ones, with its findings (level, category, rule,
    recommendation, deadline) and its risk score."""

    asset: CryptoAsset
    findings: tuple[tuple[RiskLevel, FindingCategory, str, str | None, date | None], ...]
    score: float


def _cert(name: str, *, subject: str, issuer: str, ca: bool, root: bool = False) -> CryptoAsset:
    details = {"subject": subject, "issuer": issuer, "is_ca": ca, "self_signed": root}
    return CryptoAsset(
        kind="certificate", name=name, location=HOST, usage=Usage.SIGNATURE,
        algorithm="RSA", family="RSA", key_size=2048, details=details,
    )  # fmt: skip


MISSING = FindingCategory.MISSING_PQC
WEAK = FindingCategory.WEAK_ALGORITHM
EDGES = (
    # Two CA certificates with one subject: the issuer is the one whose first finding comes
    # last in the report's finding order, whatever the assets' order.
    Edge(_cert("CA one", subject="CN=CA", issuer="CN=Root", ca=True),
         ((RiskLevel.HIGH, MISSING, "QRAP-ALG-001", "ML-DSA-65", None),), 10.0),
    Edge(_cert("CA two", subject="CN=CA", issuer="CN=Root", ca=True),
         ((RiskLevel.MEDIUM, MISSING, "QRAP-ALG-001", "ML-DSA-65", None),), 90.0),
    Edge(_cert("leaf", subject="CN=leaf", issuer="CN=CA", ca=False),
         ((RiskLevel.CRITICAL, WEAK, "QRAP-ALG-002", "ML-DSA-65", date(2030, 1, 1)),
          (RiskLevel.CRITICAL, MISSING, "QRAP-ALG-001", "ML-DSA-44", date(2031, 1, 1))), 50.0),
    # The root is already post-quantum: skipped, so a dependency on it is dropped.
    Edge(CryptoAsset("certificate", "root", HOST, Usage.SIGNATURE, "ML-DSA-65",
                     details={"subject": "CN=Root", "issuer": "CN=Root", "is_ca": True}),
         ((RiskLevel.INFO, MISSING, "QRAP-ALG-001", None, None),), 40.0),
    Edge(_cert("leaf 2", subject="CN=leaf2", issuer="CN=Root", ca=False),
         ((RiskLevel.LOW, MISSING, "QRAP-OLD-999", "ML-DSA-65", None),), 45.0),
    # Unknown to the catalog, listed among the unrecognised algorithms; and an empty name.
    Edge(CryptoAsset("algorithm", "FROGCRYPT", HOST, Usage.UNKNOWN, "FROGCRYPT",
                     details={"unrecognised": True, "unrecognised_algorithm": "FrogCrypt"}),
         ((RiskLevel.MEDIUM, WEAK, "QRAP-ALG-009", "", None),), 30.0),
    Edge(CryptoAsset("protocol", "TLSv1.0", HOST, Usage.UNKNOWN, "TLSv1.0", protocol="TLSv1.0"),
         ((RiskLevel.HIGH, FindingCategory.DEPRECATED_PROTOCOL, "QRAP-PROTO-001", None,
           date(2027, 1, 1)),), 70.0),
)  # fmt: skip


def _add_edges(database: Database, seeded: SeededRun) -> None:
    scope = RunScope(seeded.run_id, seeded.assessment_id, seeded.organization_id)
    live = [edge.asset for edge in EDGES]
    drafts = [
        FindingDraft(
            rule_id=rule, category=category, risk_level=level, title=f"{rule} on {index}",
            description="d", affected_asset=HOST, current_algorithm=None,
            recommended_algorithm=recommended, remediation="r", evidence={}, deadline=deadline,
            references=(), asset_index=index, fingerprint=f"edge-{index}-{n}",
        )
        for index, edge in enumerate(EDGES)
        for n, (level, category, rule, recommended, deadline) in enumerate(edge.findings)
    ]  # fmt: skip
    # A finding whose asset is gone: left out of the plan.
    drafts.append(replace(drafts[0], fingerprint="edge-orphan", risk_level=RiskLevel.CRITICAL))
    rows, ids = asset_rows(scope, live, [AssetScore(e.score, []) for e in EDGES], NOW)
    found = finding_rows(scope, drafts, [AssetScore(50.0, [])] * len(drafts), ids, NOW)
    found[-1]["asset_id"] = None
    with database.unit_of_work() as uow:
        bulk_insert(uow, CryptoAssetRecord.__table__, rows)  # type: ignore[arg-type]  # a Table
        bulk_insert(uow, Finding.__table__, found)  # type: ignore[arg-type]  # a Table


@pytest.fixture(scope="module")
def varied(database: Database) -> Iterator[SeededRun]:
    """About 1,500 sampled assets (chains, SSH, inventories) and the edge cases above."""
    with database.unit_of_work() as uow:
        seeded = seed_run(uow, assets=1_500, seed=3)
    _add_edges(database, seeded)
    yield seeded
    _drop(database, seeded)


def _drop(database: Database, seeded: SeededRun) -> None:
    with database.unit_of_work() as uow:
        uow.session.execute(delete(Assessment).where(Assessment.id == seeded.assessment_id))
        uow.session.execute(delete(Organization).where(Organization.id == seeded.organization_id))


def built(database: Database, seeded: SeededRun) -> Report:
    with database.read_unit_of_work() as uow:
        assessment = uow.session.get(Assessment, seeded.assessment_id)
        assert assessment is not None
        return json_report.build(uow, assessment)


class TestStreamedPlan:
    @pytest.mark.parametrize("profile", ["nist", "cnsa2"])
    def test_is_the_in_memory_plan_text_for_text(
        self, database: Database, varied: SeededRun, profile: Profile
    ) -> None:
        with database.read_unit_of_work() as uow:
            assets = finding_service.all_assets_for_run(uow, varied.run_id)
            findings = finding_service.all_for_run(uow, varied.run_id)
            old = json_report.migration_plan(assets, findings, profile=profile)
            new = "".join(report_stream.plan_document(uow, varied.run_id, profile, batch=50))

        assert new == json.dumps(old.model_dump(mode="json"))
        # The run exercises what could go wrong: several phases and priorities, chains,
        # skipped and unknown assets, spools spilled to their temporary files.
        assert len({(s.priority, s.phase) for s in old.steps}) >= 6
        assert any(s.depends_on for s in old.steps)
        assert old.unknown_algorithms
        assert old.skipped or profile == "cnsa2"  # CNSA 2.0 moves ML-DSA-65 on too
        assert len(new) > 4 * plan_stream.SPOOL_BYTES
        leaf = next(s for s in old.steps if s.asset == f"{HOST} (leaf)")
        assert leaf.depends_on == [f"{HOST} (CA two)"]
        leaf2 = next(s for s in old.steps if s.asset == f"{HOST} (leaf 2)")
        # Under NIST the root is skipped (already ML-DSA): no dependency on a skipped asset.
        assert leaf2.depends_on == ([] if profile == "nist" else [f"{HOST} (root)"])

    def test_json_document_is_the_built_report(self, database: Database, varied: SeededRun) -> None:
        text = "".join(report_stream.json_document(database, varied.assessment_id, batch=64))

        expected = built(database, varied).to_json()
        assert text == json.dumps(expected)
        assert expected["unrecognised_algorithms"][0]["algorithm"] == "FrogCrypt"


class TestSarifAndHtml:
    def test_sarif_streams_the_rendered_log(
        self, client: TestClient, database: Database, varied: SeededRun
    ) -> None:
        chunks = list(report_stream.sarif_document(database, varied.assessment_id, batch=100))
        response = client.get(
            f"/api/v1/assessments/{varied.assessment_id}/report", params={"format": "sarif"}
        )

        expected = sarif.render(built(database, varied))
        assert len(chunks) >= varied.findings // 100
        assert "".join(chunks) == expected
        assert response.status_code == 200
        assert response.text == expected
        assert "content-length" not in response.headers
        assert response.headers["content-disposition"].endswith('.sarif"')
        log = json.loads(expected)
        rules = [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]]
        assert rules[-1] == "QRAP-OLD-999"  # a rule the catalog no longer has, listed once

    def test_html_streams_the_rendered_page(
        self, client: TestClient, database: Database, varied: SeededRun
    ) -> None:
        chunks = list(report_stream.html_document(database, varied.assessment_id, batch=100))
        response = client.get(
            f"/api/v1/assessments/{varied.assessment_id}/report", params={"format": "html"}
        )

        expected = html.render(built(database, varied))
        assert len(chunks) >= varied.findings // 100
        assert "".join(chunks) == expected
        assert response.status_code == 200
        assert response.text == expected
        assert "content-length" not in response.headers

    @pytest.mark.parametrize("fmt", ["sarif", "html", "json"])
    def test_an_assessment_without_runs(
        self, client: TestClient, database: Database, org_id: str, fmt: str
    ) -> None:
        created = client.post("/api/v1/assessments", json={"name": "e", "organization_id": org_id})
        assessment_id = uuid.UUID(created.json()["id"])

        response = client.get(f"/api/v1/assessments/{assessment_id}/report", params={"format": fmt})

        with database.read_unit_of_work() as uow:
            assessment = uow.session.get(Assessment, assessment_id)
            assert assessment is not None
            report = json_report.build(uow, assessment)
        assert response.status_code == 200
        rendered = {"sarif": sarif.render, "html": html.render}.get(fmt)
        if rendered is None:
            assert response.json() == report.to_json()
        else:
            assert response.text == rendered(report)


def _peak(database: Database, assessment_id: uuid.UUID) -> tuple[int, int]:
    """(peak bytes of Python heap, bytes written) while the whole JSON report is produced."""
    tracemalloc.start()
    try:
        written = sum(len(c) for c in report_stream.json_document(database, assessment_id))
        return tracemalloc.get_traced_memory()[1], written
    finally:
        tracemalloc.stop()


class TestMemory:
    def test_json_report_peak_does_not_grow_with_the_run(self, database: Database) -> None:
        runs = []
        try:
            for count in (2_500, 10_000):
                with database.unit_of_work() as uow:
                    runs.append(seed_run(uow, assets=count, seed=count))
            small, large = runs
            assert large.findings >= 3 * small.findings
            # Imports and the catalog's caches settle first.
            assert sum(len(c) for c in report_stream.json_document(database, small.assessment_id))
            small_peak, small_bytes = _peak(database, small.assessment_id)
            large_peak, large_bytes = _peak(database, large.assessment_id)
        finally:
            for run in runs:
                _drop(database, run)

        assert large_bytes > 3 * small_bytes
        # Four times the rows and the document (about 20 MB), nearly the same peak (about
        # 5 MiB), where the report built in memory grew with the rows.
        assert large_peak < small_peak * 1.2, (small_peak, large_peak)
        assert large_peak < 16 * 2**20, large_peak
