"""From per-asset scores to a run's summary (DESIGN §6)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from qrap_core.crypto import parse_algorithm
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import FindingCategory, RiskLevel, Usage
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring.base import AssetScore

# The run's score leans on its worst asset but still moves with the rest.
MAX_WEIGHT = 0.6
MEAN_WEIGHT = 0.4
# The original service's thresholds, highest first.
_THRESHOLDS = ((80.0, RiskLevel.CRITICAL), (60.0, RiskLevel.HIGH), (30.0, RiskLevel.MEDIUM))
_PQC_CATEGORIES = frozenset(
    {FindingCategory.MISSING_PQC, FindingCategory.HARVEST_NOW_DECRYPT_LATER}
)
_PUBLIC_KEY_USAGES = frozenset({Usage.KEY_ESTABLISHMENT, Usage.SIGNATURE})
_E = TypeVar("_E", RiskLevel, FindingCategory)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What an assessment run reports: its score, level, PQC readiness and counts."""

    risk_score: float
    overall_risk: RiskLevel
    pqc_readiness: float
    total_findings: int
    critical_findings: int
    high_findings: int
    medium_findings: int
    low_findings: int
    info_findings: int
    assets_scanned: int


def overall_risk_for(score: float) -> RiskLevel:
    """>= 80 CRITICAL, >= 60 HIGH, >= 30 MEDIUM, else LOW."""
    for threshold, level in _THRESHOLDS:
        if score >= threshold:
            return level
    return RiskLevel.LOW


def combine_scores(scores: Sequence[float]) -> float:
    """0.6 * max + 0.4 * mean, rounded to one decimal; 0 for no scores."""
    if not scores:
        return 0.0
    return round(MAX_WEIGHT * max(scores) + MEAN_WEIGHT * (sum(scores) / len(scores)), 1)


def is_public_key_asset(asset: CryptoAsset) -> bool:
    """Key establishment or signature: the assets PQC readiness is measured over."""
    if asset.kind in ("certificate", "key_exchange") or asset.usage in _PUBLIC_KEY_USAGES:
        return True
    if asset.kind not in ("algorithm", "key"):
        return False
    info = parse_algorithm(asset.algorithm or asset.name, asset.key_size)
    return info.quantum_vulnerable or info.post_quantum


def is_post_quantum(asset: CryptoAsset) -> bool:
    """PQC or hybrid, as the analyzer marked it or as the catalog knows the algorithm."""
    if asset.details.get("pqc") or asset.details.get("hybrid_pqc"):
        return True
    return parse_algorithm(asset.algorithm or asset.name, asset.key_size).post_quantum


def pqc_readiness(assets: Sequence[CryptoAsset]) -> float:
    """Percentage (one decimal) of key-establishment and signature assets that are PQC or
    hybrid; 0 when there are none."""
    population = [asset for asset in assets if is_public_key_asset(asset)]
    if not population:
        return 0.0
    ready = sum(1 for asset in population if is_post_quantum(asset))
    return round(100.0 * ready / len(population), 1)


def aggregate(
    assets: Sequence[CryptoAsset],
    findings: Sequence[FindingDraft],
    scores: Sequence[AssetScore],
) -> RunSummary:
    """The run's summary. ``scores`` has one entry per asset (a RiskModel's output)."""
    if len(scores) != len(assets):
        raise ValueError(f"{len(scores)} scores for {len(assets)} assets")
    risk_score = combine_scores([score.score for score in scores])
    counts = Counter(finding.risk_level for finding in findings)
    return RunSummary(
        risk_score=risk_score,
        overall_risk=overall_risk_for(risk_score),
        pqc_readiness=pqc_readiness(assets),
        total_findings=len(findings),
        critical_findings=counts[RiskLevel.CRITICAL],
        high_findings=counts[RiskLevel.HIGH],
        medium_findings=counts[RiskLevel.MEDIUM],
        low_findings=counts[RiskLevel.LOW],
        info_findings=counts[RiskLevel.INFO],
        assets_scanned=len(assets),
    )
