"""The interim weighted model: scores from finding levels, monotone and bounded."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import FindingCategory, RiskLevel, Usage
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring import LEVEL_WEIGHTS, RiskModel, ScoringContext
from qrap_core.scoring.interim import WeightedRiskModel, combine

CTX = ScoringContext(
    now=datetime(2026, 1, 1, tzinfo=UTC), shelf_life_years=10, migration_years=3, crqc_year=2035
)
LEVELS = list(RiskLevel)


def asset(name: str) -> CryptoAsset:
    return CryptoAsset(kind="algorithm", name=name, location=name, usage=Usage.UNKNOWN)


def finding(index: int, level: RiskLevel, rule_id: str = "QRAP-TEST-001") -> FindingDraft:
    return FindingDraft(
        rule_id=rule_id,
        category=FindingCategory.WEAK_ALGORITHM,
        risk_level=level,
        title="t",
        description="d",
        affected_asset=f"a{index}",
        current_algorithm=None,
        recommended_algorithm=None,
        remediation="r",
        evidence={},
        deadline=None,
        references=(),
        asset_index=index,
        fingerprint=f"{rule_id}-{index}-{level}",
    )


class TestCombine:
    @pytest.mark.parametrize(
        ("level", "score"),
        [("CRITICAL", 95), ("HIGH", 75), ("MEDIUM", 50), ("LOW", 20), ("INFO", 5)],
    )
    def test_a_single_finding_scores_its_weight(self, level: str, score: float) -> None:
        assert combine([LEVEL_WEIGHTS[RiskLevel(level)]]) == (score, [score])

    def test_nothing_scores_zero(self) -> None:
        assert combine([]) == (0.0, [])

    def test_two_highs_weigh_more_than_one_but_less_than_a_critical(self) -> None:
        score, contributions = combine([75, 75])
        assert score == pytest.approx(84.375)
        assert contributions == pytest.approx([75, 9.375])
        assert 75 < score < 95

    @pytest.mark.parametrize(
        "weights",
        [
            list(c)
            for n in range(1, 5)
            for c in itertools.combinations_with_replacement([95.0, 75.0, 50.0, 20.0, 5.0], n)
        ],
    )
    def test_more_findings_never_lower_the_score(self, weights: list[float]) -> None:
        score, contributions = combine(weights)
        assert score <= 100
        assert sum(contributions) == pytest.approx(score)
        for extra in LEVEL_WEIGHTS.values():
            assert combine([*weights, extra])[0] >= score

    def test_order_of_findings_does_not_matter(self) -> None:
        assert combine([20, 95, 50])[0] == combine([95, 50, 20])[0]

    def test_many_criticals_stay_within_100(self) -> None:
        assert combine([95.0] * 50)[0] <= 100


class TestWeightedRiskModel:
    def test_fits_the_protocol(self) -> None:
        model: RiskModel = WeightedRiskModel()
        assert model.version == "weighted-1"

    def test_one_score_per_asset_in_order(self) -> None:
        assets = [asset("a"), asset("b"), asset("c")]
        findings = [finding(2, RiskLevel.LOW), finding(0, RiskLevel.CRITICAL)]
        scores = WeightedRiskModel().score_assets(assets, findings, CTX)
        assert [s.score for s in scores] == [95.0, 0.0, 20.0]
        assert scores[1].explanation == []

    def test_explanation_names_the_rules_largest_first(self) -> None:
        findings = [
            finding(0, RiskLevel.MEDIUM, "QRAP-PQC-002"),
            finding(0, RiskLevel.HIGH, "QRAP-CERT-001"),
        ]
        (score,) = WeightedRiskModel().score_assets([asset("a")], findings, CTX)
        assert score.score == pytest.approx(81.25)
        assert score.explanation == [
            {"feature": "QRAP-CERT-001", "value": "HIGH", "contribution": 75.0},
            {"feature": "QRAP-PQC-002", "value": "MEDIUM", "contribution": 6.25},
        ]
        assert sum(item["contribution"] for item in score.explanation) == pytest.approx(score.score)

    def test_findings_pointing_outside_the_assets_are_ignored(self) -> None:
        scores = WeightedRiskModel().score_assets([asset("a")], [finding(5, RiskLevel.HIGH)], CTX)
        assert [s.score for s in scores] == [0.0]

    @pytest.mark.parametrize(("first", "second"), list(itertools.product(LEVELS, LEVELS)))
    def test_adding_a_finding_never_lowers_an_asset(
        self, first: RiskLevel, second: RiskLevel
    ) -> None:
        model = WeightedRiskModel()
        (one,) = model.score_assets([asset("a")], [finding(0, first)], CTX)
        (two,) = model.score_assets(
            [asset("a")], [finding(0, first), finding(0, second, "QRAP-TEST-002")], CTX
        )
        assert one.score <= two.score <= 100
