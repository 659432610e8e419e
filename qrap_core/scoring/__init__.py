"""Risk scoring: per-asset models behind one interface, and the run's aggregation."""

from qrap_core.scoring.aggregate import (
    FindingsScore,
    RunSummary,
    aggregate,
    overall_risk_for,
    pqc_readiness,
    score_findings,
)
from qrap_core.scoring.base import AssetScore, RiskModel, ScoringContext
from qrap_core.scoring.interim import LEVEL_WEIGHTS, WeightedRiskModel, get_risk_model

__all__ = [
    "LEVEL_WEIGHTS",
    "AssetScore",
    "FindingsScore",
    "RiskModel",
    "RunSummary",
    "ScoringContext",
    "WeightedRiskModel",
    "aggregate",
    "get_risk_model",
    "overall_risk_for",
    "pqc_readiness",
    "score_findings",
]
