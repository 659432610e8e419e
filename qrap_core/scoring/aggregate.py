"""From per-asset scores to a run's summary, and the original ``POST /score`` contract."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from qrap_core.crypto import parse_algorithm
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import FindingCategory, RiskLevel, Usage
from qrap_core.errors import InvalidInput
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring.base import AssetScore
from qrap_core.scoring.interim import LEVEL_WEIGHTS, combine

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


class FindingsScore(NamedTuple):
    """The ``POST /score`` answer; ``breakdown`` counts findings per level (all five keys)."""

    risk_score: float
    overall_risk: RiskLevel
    pqc_readiness: float
    breakdown: dict[str, int]


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


def score_findings(findings: Sequence[Mapping[str, Any]], total_assets: int) -> FindingsScore:
    """The original ``POST /score``: findings as dicts -> score, level, readiness, breakdown.

    Findings are grouped by ``affected_asset`` and each group scored like an asset by the
    interim model; assets without findings count as 0. Readiness is the share of assets with
    no MISSING_PQC or HARVEST_NOW_DECRYPT_LATER finding. Raises InvalidInput naming the bad
    fields.
    """
    if total_assets < 0:
        raise InvalidInput(
            "total_assets must not be negative",
            details=[{"field": "total_assets", "message": "must be >= 0"}],
        )
    parsed = [_parse_finding(index, finding) for index, finding in enumerate(findings)]
    weights: dict[str, list[float]] = {}
    pqc_gaps: set[str] = set()
    for asset, level, category in parsed:
        weights.setdefault(asset, []).append(LEVEL_WEIGHTS[level])
        if category in _PQC_CATEGORIES:
            pqc_gaps.add(asset)
    # Findings may name assets beyond the declared count: never let the mean exceed reality.
    asset_count = max(total_assets, len(weights))
    scores = [combine(group)[0] for group in weights.values()]
    scores += [0.0] * (asset_count - len(scores))
    risk_score = combine_scores(scores)
    readiness = (
        round(100.0 * (asset_count - len(pqc_gaps)) / asset_count, 1) if asset_count else 0.0
    )
    counts = Counter(level for _, level, _ in parsed)
    return FindingsScore(
        risk_score=risk_score,
        overall_risk=overall_risk_for(risk_score),
        pqc_readiness=readiness,
        breakdown={level.value: counts[level] for level in RiskLevel},
    )


def _parse_finding(
    index: int, finding: Mapping[str, Any]
) -> tuple[str, RiskLevel, FindingCategory]:
    problems: list[dict[str, Any]] = []
    level = _enum(RiskLevel, finding.get("risk_level"))
    if level is None:
        problems.append(_problem(index, "risk_level", [v.value for v in RiskLevel]))
    category = _enum(FindingCategory, finding.get("category"))
    if category is None:
        problems.append(_problem(index, "category", [v.value for v in FindingCategory]))
    if problems or level is None or category is None:
        raise InvalidInput(f"invalid finding at index {index}", details=problems)
    asset = finding.get("affected_asset")
    # A finding without an asset is its own asset: it must not merge into another's score.
    key = asset if isinstance(asset, str) and asset else f"#finding-{index}"
    return key, level, category


def _enum(kind: type[_E], value: object) -> _E | None:
    if not isinstance(value, str):
        return None
    try:
        return kind(value.strip().upper())
    except ValueError:
        return None


def _problem(index: int, field: str, allowed: list[str]) -> dict[str, Any]:
    return {"field": f"findings[{index}].{field}", "message": f"must be one of {allowed}"}
