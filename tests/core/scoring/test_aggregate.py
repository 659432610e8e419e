"""A run's summary and the original POST /score contract."""

from __future__ import annotations

from typing import Any

import pytest

from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import FindingCategory, RiskLevel, Usage
from qrap_core.errors import InvalidInput
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring import AssetScore, aggregate, overall_risk_for, pqc_readiness, score_findings


def asset(
    kind: str = "algorithm",
    algorithm: str = "AES-256",
    usage: Usage = Usage.ENCRYPTION,
    **details: Any,
) -> CryptoAsset:
    return CryptoAsset(
        kind=kind,  # type: ignore[arg-type]  # tests pass kinds from the AssetKind literal
        name=algorithm,
        location="host:443",
        usage=usage,
        algorithm=algorithm,
        details=details,
    )


def draft(level: RiskLevel, index: int = 0) -> FindingDraft:
    return FindingDraft(
        rule_id="QRAP-TEST-001",
        category=FindingCategory.MISSING_PQC,
        risk_level=level,
        title="t",
        description="d",
        affected_asset="host:443",
        current_algorithm=None,
        recommended_algorithm=None,
        remediation="r",
        evidence={},
        deadline=None,
        references=(),
        asset_index=index,
        fingerprint=f"{index}-{level}",
    )


def scores(*values: float) -> list[AssetScore]:
    return [AssetScore(score=v, explanation=[]) for v in values]


class TestOverallRiskFor:
    @pytest.mark.parametrize(
        ("score", "level"),
        [
            (100, "CRITICAL"),
            (80, "CRITICAL"),
            (79.9, "HIGH"),
            (60, "HIGH"),
            (59.9, "MEDIUM"),
            (30, "MEDIUM"),
            (29.9, "LOW"),
            (0, "LOW"),
        ],
    )
    def test_original_thresholds(self, score: float, level: str) -> None:
        assert overall_risk_for(score) is RiskLevel(level)


class TestAggregate:
    def test_score_is_weighted_max_and_mean(self) -> None:
        assets = [asset(), asset(), asset(), asset()]
        summary = aggregate(assets, [], scores(90, 50, 0, 0))
        # 0.6 * 90 + 0.4 * 35 = 68
        assert summary.risk_score == 68.0
        assert summary.overall_risk is RiskLevel.HIGH
        assert summary.assets_scanned == 4

    def test_rounds_to_one_decimal(self) -> None:
        summary = aggregate([asset(), asset(), asset()], [], scores(50, 20, 0))
        assert summary.risk_score == round(0.6 * 50 + 0.4 * 70 / 3, 1) == 39.3

    def test_counts_findings_per_level(self) -> None:
        findings = [
            draft(RiskLevel.CRITICAL),
            draft(RiskLevel.HIGH),
            draft(RiskLevel.HIGH),
            draft(RiskLevel.MEDIUM),
            draft(RiskLevel.LOW),
            draft(RiskLevel.INFO),
        ]
        summary = aggregate([asset()], findings, scores(99))
        assert (
            summary.total_findings,
            summary.critical_findings,
            summary.high_findings,
            summary.medium_findings,
            summary.low_findings,
            summary.info_findings,
        ) == (6, 1, 2, 1, 1, 1)

    def test_no_assets(self) -> None:
        summary = aggregate([], [], [])
        assert (summary.risk_score, summary.overall_risk, summary.pqc_readiness) == (
            0.0,
            RiskLevel.LOW,
            0.0,
        )

    def test_refuses_scores_that_do_not_match_the_assets(self) -> None:
        with pytest.raises(ValueError, match="2 scores for 1 assets"):
            aggregate([asset()], [], scores(1, 2))


class TestPqcReadiness:
    def test_share_of_key_establishment_and_signature_assets(self) -> None:
        assets = [
            asset("key_exchange", "X25519MLKEM768", Usage.KEY_ESTABLISHMENT, hybrid_pqc=True),
            asset("key_exchange", "X25519", Usage.KEY_ESTABLISHMENT),
            asset("certificate", "RSA", Usage.SIGNATURE),
            asset("algorithm", "ML-DSA-65", Usage.SIGNATURE),
            # Not in the population: symmetric, hash, protocol, suite.
            asset("algorithm", "AES-128", Usage.ENCRYPTION),
            asset("algorithm", "SHA-256", Usage.HASH),
            asset("protocol", "TLSv1.3", Usage.PROTOCOL),
            asset("cipher_suite", "TLS_AES_128_GCM_SHA256", Usage.ENCRYPTION),
        ]
        assert pqc_readiness(assets) == 50.0

    def test_catalog_decides_when_details_are_silent(self) -> None:
        assets = [
            asset("key_exchange", "SecP256r1MLKEM768", Usage.KEY_ESTABLISHMENT),
            asset("algorithm", "RSA-2048", Usage.UNKNOWN),  # undeclared usage: still public-key
            asset("algorithm", "ML-KEM-768", Usage.UNKNOWN),
        ]
        assert pqc_readiness(assets) == 66.7

    def test_none_in_scope_is_zero(self) -> None:
        assert pqc_readiness([asset(), asset("protocol", "TLSv1.2", Usage.PROTOCOL)]) == 0.0

    def test_is_part_of_the_summary(self) -> None:
        assets = [asset("key_exchange", "MLKEM1024", Usage.KEY_ESTABLISHMENT)]
        assert aggregate(assets, [], scores(0)).pqc_readiness == 100.0


def original(level: str, asset_name: str, category: str = "WEAK_ALGORITHM") -> dict[str, Any]:
    return {"category": category, "risk_level": level, "affected_asset": asset_name}


class TestScoreFindings:
    def test_original_contract(self) -> None:
        result = score_findings(
            [
                original("CRITICAL", "a", "MISSING_PQC"),
                original("HIGH", "b"),
                original("LOW", "b"),
            ],
            total_assets=4,
        )
        b = 75 + 25 * 0.2 * 0.5
        assert result.risk_score == round(0.6 * 95 + 0.4 * (95 + b) / 4, 1) == 74.2
        assert result.overall_risk is RiskLevel.HIGH
        assert result.pqc_readiness == 75.0
        assert result.breakdown == {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 0, "LOW": 1, "INFO": 0}

    def test_unpacks_as_a_tuple(self) -> None:
        risk_score, overall, readiness, breakdown = score_findings([], total_assets=3)
        assert (risk_score, overall, readiness) == (0.0, RiskLevel.LOW, 100.0)
        assert sum(breakdown.values()) == 0

    def test_nothing_at_all(self) -> None:
        assert score_findings([], total_assets=0)[:3] == (0.0, RiskLevel.LOW, 0.0)

    def test_more_affected_assets_than_declared(self) -> None:
        result = score_findings(
            [original("MEDIUM", "a", "HARVEST_NOW_DECRYPT_LATER"), original("MEDIUM", "b")],
            total_assets=1,
        )
        assert result.risk_score == 50.0
        assert result.pqc_readiness == 50.0

    def test_accepts_lower_case_levels(self) -> None:
        assert score_findings([original("high", "a")], total_assets=1).risk_score == 75.0

    def test_findings_without_an_asset_do_not_merge(self) -> None:
        findings = [{"category": "WEAK_ALGORITHM", "risk_level": "HIGH"}] * 2
        assert score_findings(findings, total_assets=2).risk_score == 75.0

    def test_more_findings_never_lower_the_score(self) -> None:
        base = score_findings([original("HIGH", "a")], total_assets=2).risk_score
        more = score_findings([original("HIGH", "a"), original("INFO", "a")], 2).risk_score
        assert more >= base

    @pytest.mark.parametrize(
        ("finding", "field"),
        [
            (original("SEVERE", "a"), "findings[0].risk_level"),
            ({"category": "WEAK_ALGORITHM", "affected_asset": "a"}, "findings[0].risk_level"),
            (original("HIGH", "a", "BAD_CRYPTO"), "findings[0].category"),
        ],
    )
    def test_invalid_findings_name_the_field(self, finding: dict[str, Any], field: str) -> None:
        with pytest.raises(InvalidInput) as raised:
            score_findings([finding], total_assets=1)
        assert [d["field"] for d in raised.value.details] == [field]

    def test_negative_total_assets(self) -> None:
        with pytest.raises(InvalidInput):
            score_findings([], total_assets=-1)
