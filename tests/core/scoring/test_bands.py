"""Score bands: a finding's risk_level and risk_score tell the same story (docs/risk-scoring.md)."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qrap_cli.demo_server import serve_tls
from qrap_cli.embedded import EMBEDDED_ALLOW_NETWORKS, EmbeddedRunner
from qrap_core.assessment.schemas import DataProfile
from qrap_core.discovery.targets import CertificateTarget, InventoryItem, InventoryTarget, Target
from qrap_core.enums import RISK_ORDER, RiskLevel
from qrap_core.scoring import AssetScore, overall_risk_for
from qrap_core.scoring.aggregate import BAND_FEATURE, BANDS, finding_score, finding_scores
from qrap_core.settings import Settings
from tests.factories import make_draft

EXAMPLES = Path(__file__).resolve().parents[3] / "qrap_core" / "examples"
LEVELS = sorted(RiskLevel, key=RISK_ORDER.__getitem__)  # CRITICAL first
model_scores = st.floats(min_value=-50, max_value=150, allow_nan=False)


draft = make_draft


class TestBands:
    def test_bands_are_ordered_and_disjoint(self) -> None:
        assert BANDS[RiskLevel.CRITICAL][1] == 100.0
        assert BANDS[RiskLevel.INFO][0] == 0.0
        for higher, lower in pairwise(LEVELS):
            assert BANDS[lower][1] < BANDS[higher][0]
            # Contiguous at the scores' two decimals: nothing falls between two bands.
            assert BANDS[higher][0] - BANDS[lower][1] == pytest.approx(0.01)

    def test_floors_are_the_original_thresholds(self) -> None:
        assert [BANDS[level][0] for level in LEVELS[:3]] == [80.0, 60.0, 30.0]

    @pytest.mark.parametrize("level", list(RiskLevel))
    @pytest.mark.parametrize("model", [0.0, 0.01, 24.0, 50.0, 81.0, 99.99, 100.0])
    def test_a_findings_score_maps_back_to_its_level(self, level: RiskLevel, model: float) -> None:
        expected = RiskLevel.LOW if level is RiskLevel.INFO else level  # no INFO threshold
        assert overall_risk_for(finding_score(level, model)) is expected


class TestFindingScore:
    @pytest.mark.parametrize("level", list(RiskLevel))
    def test_model_score_places_the_finding_in_its_band(self, level: RiskLevel) -> None:
        floor, ceiling = BANDS[level]
        assert finding_score(level, 0) == floor
        assert finding_score(level, 100) == ceiling
        assert finding_score(level, -5) == floor  # out-of-range scores are clipped
        assert finding_score(level, 120) == ceiling
        assert floor < finding_score(level, 50) < ceiling

    def test_the_issues_example(self) -> None:
        # Before: a HIGH finding scored 24 and a MEDIUM one 81 (their assets' scores).
        assert finding_score(RiskLevel.HIGH, 24) == 64.8
        assert finding_score(RiskLevel.MEDIUM, 81) == 54.29

    @settings(max_examples=500, deadline=None)
    @given(
        higher=st.sampled_from(LEVELS[:-1]),
        steps=st.integers(min_value=1, max_value=4),
        a=model_scores,
        b=model_scores,
    )
    def test_a_higher_level_never_scores_lower(
        self, higher: RiskLevel, steps: int, a: float, b: float
    ) -> None:
        lower = LEVELS[min(LEVELS.index(higher) + steps, len(LEVELS) - 1)]
        assert finding_score(higher, a) > finding_score(lower, b)

    @settings(max_examples=300, deadline=None)
    @given(level=st.sampled_from(LEVELS), a=model_scores, b=model_scores)
    def test_the_model_still_orders_findings_of_one_level(
        self, level: RiskLevel, a: float, b: float
    ) -> None:
        low, high = sorted((a, b))
        assert finding_score(level, low) <= finding_score(level, high)


class TestFindingScores:
    def test_one_per_finding_with_the_band_in_the_explanation(self) -> None:
        explanation: list[dict[str, Any]] = [
            {"feature": "quantum_vulnerable", "value": 1, "contribution": 30.0},
            {"feature": "(baseline)", "value": None, "contribution": 10.0},
        ]
        assets = [AssetScore(40.0, explanation), AssetScore(90.0, [])]
        scored = finding_scores([draft(RiskLevel.HIGH, 0), draft(RiskLevel.LOW, 1)], assets)
        assert [s.score for s in scored] == [68.0, 27.99]
        high = scored[0].explanation
        assert [item["feature"] for item in high] == [
            "quantum_vulnerable",
            BAND_FEATURE,
            "(baseline)",
        ]
        assert high[1]["value"] == "HIGH 60-79.99"
        # The items still add up to the finding's score.
        assert sum(item["contribution"] for item in high) == pytest.approx(68.0)
        assert explanation[-1]["feature"] == "(baseline)"  # the asset's own list is untouched
        assert len(explanation) == 2
        assert scored[1].explanation == [
            {"feature": BAND_FEATURE, "value": "LOW 10-29.99", "contribution": -62.01}
        ]


class TestAnAssessmentOfTheExamples:
    """A real embedded assessment of every bundled example: certificates, the inventory and
    a local TLS server. Every finding's score lies in its level's band, so a higher level
    never has a lower score, and the run's level is not below its worst finding's."""

    def test_levels_and_scores_agree(self, tmp_path: Path) -> None:
        certs = EXAMPLES / "certs"
        targets: list[Target] = [
            CertificateTarget(name=path.name, pem=path.read_text())
            for path in sorted(certs.glob("*.pem"))
        ]
        inventory = json.loads((EXAMPLES / "inventory.json").read_text())
        targets.append(
            InventoryTarget(assets=[InventoryItem.model_validate(item) for item in inventory])
        )
        settings = Settings(scan_allow_networks=EMBEDDED_ALLOW_NETWORKS, auth_disabled=True)
        runner = EmbeddedRunner(settings, tmp_path / "embedded.db")
        try:
            with serve_tls(certs / "tls-server.pem", certs / "tls-server.key") as port:
                outcome, typed = runner.assess(
                    name="examples",
                    target_assets=[f"127.0.0.1:{port}"],
                    targets=targets,
                    data_profile=DataProfile(shelf_life_years=15),
                )
        finally:
            runner.close()
        assert outcome.status == "COMPLETED", outcome.detail
        report = typed.to_json()
        findings = report["findings"]
        assert len({f["risk_level"] for f in findings}) >= 3  # several levels to compare
        for finding in findings:
            floor, ceiling = BANDS[RiskLevel(finding["risk_level"])]
            assert floor <= finding["risk_score"] <= ceiling, finding
        for a in findings:
            for b in findings:
                if RISK_ORDER[RiskLevel(a["risk_level"])] < RISK_ORDER[RiskLevel(b["risk_level"])]:
                    assert a["risk_score"] > b["risk_score"], (a["rule_id"], b["rule_id"])
        worst = min((RiskLevel(f["risk_level"]) for f in findings), key=RISK_ORDER.__getitem__)
        assessment = report["assessment"]
        assert RISK_ORDER[RiskLevel(assessment["overall_risk"])] <= RISK_ORDER[worst]
        assert assessment["risk_score"] >= BANDS[worst][0]
        assert overall_risk_for(assessment["risk_score"]).value == assessment["overall_risk"]
