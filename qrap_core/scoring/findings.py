"""The original ``POST /score``: a list of findings scored by the risk model.

Findings are grouped by ``affected_asset``; each group becomes one declared asset (its
``current_algorithm`` parsed by the catalog) and is scored by the model like any asset of a
run, with the findings' classical categories as its classical weakness. Assets counted in
``total_assets`` but named by no finding score 0. Aggregation and PQC readiness follow
docs/risk-scoring.md and the original contract: readiness is the share of assets with no
MISSING_PQC or HARVEST_NOW_DECRYPT_LATER finding. As for a run, ``risk_score`` is raised to the
band floor of the worst submitted level (``aggregate.BANDS``), so ``overall_risk`` is never
below it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from qrap_core.crypto import parse_algorithm
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import FindingCategory, RiskLevel, Usage
from qrap_core.errors import InvalidInput
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring.aggregate import combine_scores, floored, overall_risk_for, worst_level
from qrap_core.scoring.base import ScoringContext
from qrap_core.scoring.features import INDEX, extract
from qrap_core.scoring.model import XGBoostRiskModel, explanation

_PQC_CATEGORIES = frozenset(
    {FindingCategory.MISSING_PQC, FindingCategory.HARVEST_NOW_DECRYPT_LATER}
)
_E = TypeVar("_E", RiskLevel, FindingCategory)


@dataclass(frozen=True)
class ScoreResult:
    """The original answer (``risk_score``, ``overall_risk``, ``pqc_readiness``,
    ``finding_breakdown``) plus the model version and each asset's score and explanation."""

    risk_score: float
    overall_risk: RiskLevel
    pqc_readiness: float
    finding_breakdown: dict[str, int]
    model_version: str
    assets: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "risk_score": self.risk_score,
            "overall_risk": self.overall_risk.value,
            "pqc_readiness": self.pqc_readiness,
            "finding_breakdown": self.finding_breakdown,
            "model_version": self.model_version,
            "assets": self.assets,
        }


@dataclass
class _Group:
    name: str
    algorithm: str | None = None
    findings: list[tuple[RiskLevel, FindingCategory]] = field(default_factory=list)


def score_findings(
    findings: Sequence[Mapping[str, Any]],
    total_assets: int,
    *,
    model: XGBoostRiskModel,
    ctx: ScoringContext,
) -> ScoreResult:
    """Score the findings' assets with ``model``. Raises InvalidInput naming bad fields."""
    if total_assets < 0:
        raise InvalidInput(
            "total_assets must not be negative",
            details=[{"field": "total_assets", "message": "must be >= 0"}],
        )
    groups = _groups(findings)
    assets, drafts = _assets(groups)
    rows = extract(assets, drafts, model.feature_context(ctx))
    for index, group in enumerate(groups):
        stated_pqc_gap = any(category in _PQC_CATEGORIES for _, category in group.findings)
        if stated_pqc_gap and not parse_algorithm(group.algorithm or "").known:
            # The finding itself says this asset lacks PQC: it is a quantum-vulnerable key
            # even though its algorithm was not named in a way the catalog knows.
            rows[index, INDEX["quantum_vulnerable"]] = 1.0
            rows[index, INDEX["quantum_level"]] = 0.0
    explained = model.explain_rows(rows)
    contributions = explained.contributions
    assert contributions is not None  # noqa: S101  # explain_rows(contributions=True)
    per_asset = [
        {
            "affected_asset": group.name,
            "current_algorithm": group.algorithm,
            "score": round(float(explained.scores[i]), 2),
            "explanation": explanation(rows[i], contributions[i]),
        }
        for i, group in enumerate(groups)
    ]
    # Findings may name assets beyond the declared count: never let the mean exceed reality.
    asset_count = max(total_assets, len(groups))
    scores = [float(s) for s in explained.scores] + [0.0] * (asset_count - len(groups))
    worst = worst_level(level for group in groups for level, _ in group.findings)
    risk_score, _ = floored(combine_scores(scores), worst)
    gaps = sum(1 for g in groups if any(c in _PQC_CATEGORIES for _, c in g.findings))
    readiness = round(100.0 * (asset_count - gaps) / asset_count, 1) if asset_count else 0.0
    counts = Counter(level for group in groups for level, _ in group.findings)
    return ScoreResult(
        risk_score=risk_score,
        overall_risk=overall_risk_for(risk_score),
        pqc_readiness=readiness,
        finding_breakdown={level.value: counts[level] for level in RiskLevel},
        model_version=model.version,
        assets=sorted(per_asset, key=lambda a: -float(a["score"])),
    )


def _groups(findings: Sequence[Mapping[str, Any]]) -> list[_Group]:
    groups: dict[str, _Group] = {}
    problems: list[dict[str, Any]] = []
    for index, finding in enumerate(findings):
        level = _enum(RiskLevel, finding.get("risk_level"))
        if level is None:
            problems.append(_problem(index, "risk_level", [v.value for v in RiskLevel]))
        category = _enum(FindingCategory, finding.get("category"))
        if category is None:
            problems.append(_problem(index, "category", [v.value for v in FindingCategory]))
        if level is None or category is None:
            continue
        asset = finding.get("affected_asset")
        # A finding without an asset is its own asset: it must not merge into another's score.
        key = asset if isinstance(asset, str) and asset else f"#finding-{index}"
        group = groups.setdefault(key, _Group(key))
        algorithm = finding.get("current_algorithm")
        if group.algorithm is None and isinstance(algorithm, str) and algorithm.strip():
            group.algorithm = algorithm.strip()
        group.findings.append((level, category))
    if problems:
        fields = ", ".join(p["field"] for p in problems)
        raise InvalidInput(f"invalid findings: {fields}", details=problems)
    return list(groups.values())


def _assets(groups: list[_Group]) -> tuple[list[CryptoAsset], list[FindingDraft]]:
    assets: list[CryptoAsset] = []
    drafts: list[FindingDraft] = []
    for index, group in enumerate(groups):
        info = parse_algorithm(group.algorithm or "")
        categories = {category for _, category in group.findings}
        usage = info.usage if info.known else Usage.UNKNOWN
        if FindingCategory.HARVEST_NOW_DECRYPT_LATER in categories:
            usage = Usage.KEY_ESTABLISHMENT  # HNDL is only ever about key establishment
        assets.append(
            CryptoAsset(
                kind="algorithm",
                name=group.name,
                location=group.name,
                usage=usage,
                algorithm=info.canonical if info.known else group.algorithm,
                family=info.family,
                key_size=info.key_size,
                details={"declared": True},
            )
        )
        drafts += [_draft(index, group.name, level, category) for level, category in group.findings]
    return assets, drafts


def _draft(index: int, asset: str, level: RiskLevel, category: FindingCategory) -> FindingDraft:
    return FindingDraft(
        rule_id="SUBMITTED",
        category=category,
        risk_level=level,
        title="",
        description="",
        affected_asset=asset,
        current_algorithm=None,
        recommended_algorithm=None,
        remediation="",
        evidence={},
        deadline=None,
        references=(),
        asset_index=index,
        fingerprint=f"{index}",
    )


def _enum(kind: type[_E], value: object) -> _E | None:
    if not isinstance(value, str):
        return None
    try:
        return kind(value.strip().upper())
    except ValueError:
        return None


def _problem(index: int, field_name: str, allowed: list[str]) -> dict[str, Any]:
    return {"field": f"findings[{index}].{field_name}", "message": f"must be one of {allowed}"}
