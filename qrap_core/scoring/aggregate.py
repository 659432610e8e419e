"""From per-asset scores to findings' scores and a run's summary (docs/risk-scoring.md).

One story (docs/risk-scoring.md): the model scores assets; a finding's ``risk_score`` lies in its
``risk_level``'s band (``BANDS``), placed inside the band by its asset's model score, so a
higher level never scores lower and the model still orders findings of one level. A run's
``risk_score`` combines the asset scores and is then raised to the band floor of its worst
finding's level, so ``overall_risk`` is never below that level.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from qrap_core.crypto import parse_algorithm
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import RISK_ORDER, FindingCategory, RiskLevel, Usage
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring.base import AssetScore

# The run's score leans on its worst asset but still moves with the rest.
MAX_WEIGHT = 0.6
MEAN_WEIGHT = 0.4
# The original service's thresholds, highest first.
_THRESHOLDS = ((80.0, RiskLevel.CRITICAL), (60.0, RiskLevel.HIGH), (30.0, RiskLevel.MEDIUM))
# Each finding level's score band (floor, ceiling), both inclusive, in the scores' two
# decimals. CRITICAL, HIGH and MEDIUM start at the original thresholds, so overall_risk_for
# maps a finding's score back to its level (INFO's band reads as LOW, as it always has).
BANDS: dict[RiskLevel, tuple[float, float]] = {
    RiskLevel.CRITICAL: (80.0, 100.0),
    RiskLevel.HIGH: (60.0, 79.99),
    RiskLevel.MEDIUM: (30.0, 59.99),
    RiskLevel.LOW: (10.0, 29.99),
    RiskLevel.INFO: (0.0, 9.99),
}
BAND_FEATURE = "(risk level band)"
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
    # The combined model score before the floor, and the level whose band floor raised it
    # (None when the model's score already reached the worst finding's level).
    model_risk_score: float = 0.0
    risk_floor: RiskLevel | None = None


def overall_risk_for(score: float) -> RiskLevel:
    """>= 80 CRITICAL, >= 60 HIGH, >= 30 MEDIUM, else LOW."""
    for threshold, level in _THRESHOLDS:
        if score >= threshold:
            return level
    return RiskLevel.LOW


def finding_score(level: RiskLevel, model_score: float) -> float:
    """The score of a finding at ``level`` on an asset the model scored ``model_score``.

    Linear inside the level's band: model score 0 gives the band's floor, 100 its ceiling.
    """
    floor, ceiling = BANDS[level]
    position = min(max(model_score, 0.0), 100.0) / 100.0
    return round(floor + (ceiling - floor) * position, 2)


def finding_scores(
    findings: Sequence[FindingDraft], scores: Sequence[AssetScore]
) -> list[AssetScore]:
    """One score per finding (``findings[i].asset_index`` points into ``scores``).

    The explanation is the asset's, with a ``(risk level band)`` item before the baseline
    whose contribution moves the model's score into the band, so the items still add up.
    """
    out: list[AssetScore] = []
    # Assets with equal feature rows share one explanation (``scoring.model``): their findings
    # of one level share one banded copy too (kept by the explanation's identity).
    banded: dict[tuple[int, RiskLevel, float], AssetScore] = {}
    for draft in findings:
        asset = scores[draft.asset_index]
        key = (id(asset.explanation), draft.risk_level, asset.score)
        found = banded.get(key)
        if found is None:
            score = finding_score(draft.risk_level, asset.score)
            contribution = score - asset.score
            found = AssetScore(score, _banded(asset.explanation, draft.risk_level, contribution))
            banded[key] = found
        out.append(found)
    return out


def _banded(
    explanation: list[dict[str, Any]], level: RiskLevel, contribution: float
) -> list[dict[str, Any]]:
    floor, ceiling = BANDS[level]
    item = {
        "feature": BAND_FEATURE,
        "value": f"{level.value} {floor:g}-{ceiling:g}",
        "contribution": round(contribution, 3),
    }
    items = [dict(entry) for entry in explanation]
    at = len(items) - 1 if items and items[-1].get("feature") == "(baseline)" else len(items)
    items.insert(at, item)
    return items


def worst_level(levels: Iterable[RiskLevel]) -> RiskLevel | None:
    """The most severe of ``levels``; None for none."""
    return min(levels, key=RISK_ORDER.__getitem__, default=None)


def floored(score: float, worst: RiskLevel | None) -> tuple[float, RiskLevel | None]:
    """``score`` raised to the band floor of ``worst`` (the worst finding's level).

    Returns the score and the level whose floor raised it, or None when it needed no raise.
    """
    if worst is None or score >= BANDS[worst][0]:
        return score, None
    return BANDS[worst][0], worst


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
    """The run's summary. ``scores`` has one entry per asset (a RiskModel's output).

    ``risk_score`` is the combined asset scores raised to the band floor of the worst
    finding's level; ``overall_risk`` maps it with the original thresholds.
    """
    if len(scores) != len(assets):
        raise ValueError(f"{len(scores)} scores for {len(assets)} assets")
    model_score = combine_scores([score.score for score in scores])
    risk_score, floor = floored(model_score, worst_level(f.risk_level for f in findings))
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
        model_risk_score=model_score,
        risk_floor=floor,
    )
