"""The interim model: an asset's score from the risk levels of its findings.

It was the pipeline's model until the XGBoost model shipped; it stays as a transparent
baseline (and a fallback a caller may pass to the pipeline explicitly), with the original
service's weights. The highest finding sets the floor; every further finding closes part of
the remaining gap to 100, so more findings never lower a score and no score passes 100.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import RiskLevel
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring.base import AssetScore, ScoringContext

LEVEL_WEIGHTS: dict[RiskLevel, float] = {
    RiskLevel.CRITICAL: 95.0,
    RiskLevel.HIGH: 75.0,
    RiskLevel.MEDIUM: 50.0,
    RiskLevel.LOW: 20.0,
    RiskLevel.INFO: 5.0,
}
# Share of its own weight that each finding after the first closes of the gap to 100: two
# HIGH findings (75 + 25 * 0.375 = 84.4) weigh more than one, but less than a CRITICAL.
FOLLOW_ON_FACTOR = 0.5


def combine(weights: Sequence[float]) -> tuple[float, list[float]]:
    """Combine 0-100 weights into one score; return it with each weight's contribution.

    Contributions follow ``weights`` sorted high to low and add up to the score. For any
    weights w and extra weight v: combine(w + [v]) >= combine(w), and the result is <= 100.
    """
    ordered = sorted((min(max(weight, 0.0), 100.0) for weight in weights), reverse=True)
    if not ordered:
        return 0.0, []
    score = ordered[0]
    contributions = [score]
    for weight in ordered[1:]:
        step = (100.0 - score) * (weight / 100.0) * FOLLOW_ON_FACTOR
        contributions.append(step)
        score += step
    return min(score, 100.0), contributions


class WeightedRiskModel:
    """Score = the combined weights of an asset's findings (CRITICAL 95 ... INFO 5)."""

    version: str = "weighted-1"

    def score_assets(
        self,
        assets: Sequence[CryptoAsset],
        findings: Sequence[FindingDraft],
        ctx: ScoringContext,
    ) -> list[AssetScore]:
        """One score per asset, same order; an asset without findings scores 0."""
        by_asset: dict[int, list[FindingDraft]] = defaultdict(list)
        for finding in findings:
            if 0 <= finding.asset_index < len(assets):
                by_asset[finding.asset_index].append(finding)
        return [self._score(by_asset.get(index, [])) for index in range(len(assets))]

    def _score(self, findings: list[FindingDraft]) -> AssetScore:
        # Sort the findings the way combine() sorts weights, so contributions line up.
        ordered = sorted(findings, key=lambda f: LEVEL_WEIGHTS[f.risk_level], reverse=True)
        score, contributions = combine([LEVEL_WEIGHTS[f.risk_level] for f in ordered])
        explanation: list[dict[str, Any]] = [
            {
                "feature": finding.rule_id,
                "value": finding.risk_level.value,
                "contribution": round(contribution, 4),
            }
            for finding, contribution in zip(ordered, contributions, strict=True)
        ]
        return AssetScore(score=round(score, 4), explanation=explanation)
