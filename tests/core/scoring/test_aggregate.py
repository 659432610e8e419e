"""A run's summary: score, level, PQC readiness and counts (docs/risk-scoring.md)."""

from __future__ import annotations

from typing import Any

import pytest

from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import RiskLevel, Usage
from qrap_core.scoring import AssetScore, aggregate, overall_risk_for, pqc_readiness
from qrap_core.scoring.aggregate import BANDS, floored, worst_level
from tests.factories import make_draft


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


draft = make_draft


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

    def test_findings_at_or_below_the_models_level_change_nothing(self) -> None:
        summary = aggregate([asset(), asset()], [draft(RiskLevel.HIGH)], scores(90, 90))
        assert (summary.risk_score, summary.overall_risk) == (90.0, RiskLevel.CRITICAL)
        assert (summary.model_risk_score, summary.risk_floor) == (90.0, None)

    def test_refuses_scores_that_do_not_match_the_assets(self) -> None:
        with pytest.raises(ValueError, match="2 scores for 1 assets"):
            aggregate([asset()], [], scores(1, 2))


class TestWorstFindingFloor:
    """overall_risk is never below the worst finding's level ("one story")."""

    def test_twelve_critical_findings_make_a_critical_server(self) -> None:
        # The model scores the server's assets HIGH-ish, the rules say CRITICAL twelve times.
        assets = [asset(), asset(), asset()]
        findings = [draft(RiskLevel.CRITICAL, i % 3) for i in range(12)]
        summary = aggregate(assets, findings, scores(75, 60, 40))
        assert summary.model_risk_score == round(0.6 * 75 + 0.4 * 175 / 3, 1) == 68.3
        assert (summary.risk_score, summary.overall_risk) == (80.0, RiskLevel.CRITICAL)
        assert summary.risk_floor is RiskLevel.CRITICAL

    def test_three_high_findings_are_at_least_high(self) -> None:
        findings = [draft(RiskLevel.HIGH, i) for i in range(3)]
        summary = aggregate([asset(), asset(), asset()], findings, scores(24, 10, 5))
        assert (summary.risk_score, summary.overall_risk) == (60.0, RiskLevel.HIGH)
        assert summary.risk_floor is RiskLevel.HIGH

    @pytest.mark.parametrize(
        ("level", "score", "overall"),
        [("CRITICAL", 80.0, "CRITICAL"), ("HIGH", 60.0, "HIGH"), ("MEDIUM", 30.0, "MEDIUM"),
         ("LOW", 10.0, "LOW")],
    )  # fmt: skip
    def test_each_level_raises_a_zero_score_to_its_floor(
        self, level: str, score: float, overall: str
    ) -> None:
        summary = aggregate([asset()], [draft(RiskLevel(level))], scores(0))
        assert (summary.risk_score, summary.overall_risk) == (score, RiskLevel(overall))
        # The floor is consistent with the findings' bands and the original thresholds.
        assert score == BANDS[RiskLevel(level)][0]

    def test_info_findings_raise_nothing(self) -> None:
        summary = aggregate([asset()], [draft(RiskLevel.INFO)], scores(3))
        assert (summary.risk_score, summary.overall_risk, summary.risk_floor) == (
            3.0,
            RiskLevel.LOW,
            None,
        )

    def test_no_findings_no_floor(self) -> None:
        assert floored(12.5, None) == (12.5, None)
        assert worst_level([]) is None

    def test_worst_level(self) -> None:
        levels = [RiskLevel.LOW, RiskLevel.HIGH, RiskLevel.INFO, RiskLevel.MEDIUM]
        assert worst_level(levels) is RiskLevel.HIGH


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
