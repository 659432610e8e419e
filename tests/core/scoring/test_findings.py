"""The original POST /score, computed by the risk model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from qrap_core.enums import RiskLevel
from qrap_core.errors import InvalidInput
from qrap_core.scoring import ScoringContext, combine_scores
from qrap_core.scoring.findings import score_findings
from qrap_core.scoring.model import load_model

MODEL = load_model()
CTX = ScoringContext(
    now=datetime(2026, 11, 28, tzinfo=UTC), shelf_life_years=10, migration_years=3, crqc_year=2035
)


def finding(
    level: str, asset: str | None, category: str = "WEAK_ALGORITHM", algorithm: str | None = None
) -> dict[str, Any]:
    return {
        "category": category,
        "risk_level": level,
        "affected_asset": asset,
        "current_algorithm": algorithm,
    }


class TestScoreFindings:
    def test_original_fields_plus_model_and_assets(self) -> None:
        result = score_findings(
            [
                finding("HIGH", "vpn", "MISSING_PQC", "RSA-2048"),
                finding("CRITICAL", "vpn", "HARVEST_NOW_DECRYPT_LATER", "RSA-2048"),
                finding("CRITICAL", "legacy", "WEAK_ALGORITHM", "DES"),
                finding("low", "web", "WEAK_ALGORITHM", "ECDHE-RSA-AES128-SHA"),
            ],
            total_assets=5,
            model=MODEL,
            ctx=CTX,
        )
        body = result.to_dict()
        assert set(body) == {
            "risk_score",
            "overall_risk",
            "pqc_readiness",
            "finding_breakdown",
            "model_version",
            "assets",
        }
        assert body["finding_breakdown"] == {"CRITICAL": 2, "HIGH": 1, "MEDIUM": 0, "LOW": 1,
                                             "INFO": 0}  # fmt: skip
        assert body["pqc_readiness"] == 80.0  # one of five assets lacks PQC
        assert body["model_version"] == MODEL.version
        scores = {a["affected_asset"]: a["score"] for a in body["assets"]}
        assert list(scores) == sorted(scores, key=lambda name: -scores[name])
        assert scores["legacy"] >= 80  # DES with a CRITICAL classical finding
        # Two clean assets pull the combined score below 80; the CRITICAL findings floor it.
        assert combine_scores([*scores.values(), 0.0, 0.0]) < 80
        assert body["risk_score"] == 80.0
        assert result.overall_risk is RiskLevel.CRITICAL
        assert RiskLevel(body["overall_risk"]) is result.overall_risk
        assert all(a["explanation"] for a in body["assets"])

    def test_key_exchange_findings_make_the_asset_a_key_establishment(self) -> None:
        hndl = score_findings(
            [finding("HIGH", "a", "HARVEST_NOW_DECRYPT_LATER", "RSA-2048")], 1, model=MODEL, ctx=CTX
        )
        signature = score_findings(
            [finding("HIGH", "a", "MISSING_PQC", "ECDSA-P256")], 1, model=MODEL, ctx=CTX
        )
        assert hndl.assets[0]["score"] > signature.assets[0]["score"]

    def test_a_pqc_gap_without_a_known_algorithm_is_still_quantum_vulnerable(self) -> None:
        gap = score_findings([finding("HIGH", "a", "MISSING_PQC")], 1, model=MODEL, ctx=CTX)
        nothing = score_findings([finding("LOW", "a", "CERTIFICATE_EXPIRY")], 1, model=MODEL,
                                 ctx=CTX)  # fmt: skip
        assert gap.assets[0]["score"] > nothing.assets[0]["score"]

    @pytest.mark.parametrize(
        ("level", "floor"), [("CRITICAL", 80.0), ("HIGH", 60.0), ("MEDIUM", 30.0), ("LOW", 10.0)]
    )
    def test_overall_risk_is_never_below_the_worst_finding(self, level: str, floor: float) -> None:
        # One finding among many clean assets: the mean alone would call it LOW.
        result = score_findings(
            [finding(level, "a", "CERTIFICATE_EXPIRY", "AES-256")], 50, model=MODEL, ctx=CTX
        )
        assert result.risk_score >= floor
        assert result.overall_risk is RiskLevel(level)

    def test_a_score_above_the_floor_is_kept(self) -> None:
        result = score_findings(
            [finding("LOW", "legacy", "WEAK_ALGORITHM", "DES")], 1, model=MODEL, ctx=CTX
        )
        assert result.risk_score == combine_scores([result.assets[0]["score"]]) > 10

    def test_nothing_at_all(self) -> None:
        result = score_findings([], 0, model=MODEL, ctx=CTX)
        assert (result.risk_score, result.overall_risk, result.pqc_readiness) == (
            0.0,
            RiskLevel.LOW,
            0.0,
        )

    def test_clean_assets_count_as_zero(self) -> None:
        result = score_findings([], 3, model=MODEL, ctx=CTX)
        assert (result.risk_score, result.pqc_readiness) == (0.0, 100.0)

    def test_findings_without_an_asset_do_not_merge(self) -> None:
        result = score_findings([finding("HIGH", None), finding("HIGH", None)], 2, model=MODEL,
                                ctx=CTX)  # fmt: skip
        assert len(result.assets) == 2

    @pytest.mark.parametrize(
        ("bad", "field"),
        [
            (finding("SEVERE", "a"), "findings[0].risk_level"),
            ({"category": "WEAK_ALGORITHM", "affected_asset": "a"}, "findings[0].risk_level"),
            (finding("HIGH", "a", "BAD_CRYPTO"), "findings[0].category"),
        ],
    )
    def test_invalid_findings_name_the_field(self, bad: dict[str, Any], field: str) -> None:
        with pytest.raises(InvalidInput) as raised:
            score_findings([bad], 1, model=MODEL, ctx=CTX)
        assert [d["field"] for d in raised.value.details] == [field]

    def test_negative_total_assets(self) -> None:
        with pytest.raises(InvalidInput):
            score_findings([], -1, model=MODEL, ctx=CTX)
