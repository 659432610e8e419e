"""Risk scoring: the XGBoost model behind the ``RiskModel`` interface, HNDL, aggregation."""

from qrap_core.scoring.aggregate import (
    RunSummary,
    aggregate,
    combine_scores,
    overall_risk_for,
    pqc_readiness,
)
from qrap_core.scoring.base import AssetScore, RiskModel, ScoringContext
from qrap_core.scoring.interim import LEVEL_WEIGHTS, WeightedRiskModel
from qrap_core.scoring.model import XGBoostRiskModel, get_risk_model

__all__ = [
    "LEVEL_WEIGHTS",
    "AssetScore",
    "RiskModel",
    "RunSummary",
    "ScoringContext",
    "WeightedRiskModel",
    "XGBoostRiskModel",
    "aggregate",
    "combine_scores",
    "get_risk_model",
    "overall_risk_for",
    "pqc_readiness",
]
