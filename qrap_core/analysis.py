"""Analyze an assessment's targets: discover assets, raise findings, score, aggregate.

Pure: nothing here reads or writes the database. The caller supplies the discovery context
(which may open uploaded documents) and hears about each finished target through
``on_progress``; a callback that raises (the run was cancelled) stops the analysis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qrap_core.assessment.schemas import DataProfile
from qrap_core.discovery.registry import DiscoveryContext, analyze_all
from qrap_core.discovery.targets import Target
from qrap_core.discovery.types import CryptoAsset, TargetResult
from qrap_core.rules.engine import FindingDraft, RuleContext, evaluate
from qrap_core.scoring.aggregate import RunSummary, aggregate, finding_scores
from qrap_core.scoring.base import AssetScore, RiskModel, ScoringContext

# (targets done, targets in all, label of the target that just finished)
ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class AnalysisContext:
    """Where and under which assumptions one analysis runs; ``discovery.now`` is its clock."""

    discovery: DiscoveryContext
    crqc_year: int
    # Used where the assessment's data profile leaves the horizon open.
    default_shelf_life_years: float
    default_migration_years: float


@dataclass(frozen=True, slots=True)
class Analysis:
    """What analyzing every target produced, before anything is written."""

    results: list[TargetResult]
    assets: list[CryptoAsset]
    findings: list[FindingDraft]
    scores: list[AssetScore]  # one per asset: the model's
    summary: RunSummary
    model_version: str
    # One per finding: inside its level's band, placed by its asset's score (aggregate.BANDS).
    finding_scores: list[AssetScore]

    @property
    def assessed_nothing(self) -> bool:
        """No target was reached or read: the run has no results to report."""
        return not any(result.status == "ok" for result in self.results)


def analyze(
    targets: Sequence[Target],
    profile: DataProfile,
    ctx: AnalysisContext,
    model: Callable[[], RiskModel],
    on_progress: ProgressCallback | None = None,
) -> Analysis:
    """Analyze every target (network probes in parallel), apply rules, score, aggregate.

    ``model`` is asked for only once discovery is done, so that loading it (XGBoost and the
    booster) does not delay the first probe.
    """
    now = ctx.discovery.now
    done = 0

    def finished(index: int, _result: TargetResult) -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, len(targets), targets[index].label())

    ordered = analyze_all(targets, ctx.discovery, finished)
    assets = [asset for result in ordered if result.status == "ok" for asset in result.assets]
    shelf = _or_default(profile.shelf_life_years, ctx.default_shelf_life_years)
    migration = _or_default(profile.migration_years, ctx.default_migration_years)
    findings = _dedupe(
        evaluate(
            assets,
            RuleContext(
                now=now,
                shelf_life_years=shelf,
                migration_years=migration,
                crqc_year=ctx.crqc_year,
            ),
        )
    )
    risk_model = model()
    scores = risk_model.score_assets(
        assets,
        findings,
        ScoringContext(
            now=now,
            shelf_life_years=shelf,
            migration_years=migration,
            crqc_year=ctx.crqc_year,
            # The assessment's own answers win over what the model infers per asset.
            sensitivity=profile.sensitivity,
            exposure=profile.exposure,
        ),
    )
    return Analysis(
        results=ordered,
        assets=assets,
        findings=findings,
        scores=scores,
        summary=aggregate(assets, findings, scores),
        model_version=risk_model.version,
        finding_scores=finding_scores(findings, scores),
    )


def nothing_assessed_error(results: Sequence[TargetResult]) -> str:
    """The error of a run that assessed no target: each target with its own error."""
    if not results:
        return "no target could be assessed: the run had no targets"
    return "no target could be assessed: " + "; ".join(
        f"{result.target}: {result.error or 'no result'}" for result in results
    )


def _or_default(value: float | None, default: float) -> float:
    return float(default if value is None else value)


def _dedupe(findings: list[FindingDraft]) -> list[FindingDraft]:
    """Drop repeats of one observation (the same target listed twice) before counting."""
    seen: set[str] = set()
    unique = []
    for draft in findings:
        if draft.fingerprint not in seen:
            seen.add(draft.fingerprint)
            unique.append(draft)
    return unique
