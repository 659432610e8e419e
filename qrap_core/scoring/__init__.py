"""Risk scoring: the XGBoost model behind the ``RiskModel`` interface, HNDL, aggregation.

Names are resolved on first use: importing ``qrap_core.scoring.aggregate`` (which every run
needs) must not load numpy and XGBoost, which only the scoring step does.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "RunSummary": "aggregate",
    "aggregate": "aggregate",
    "combine_scores": "aggregate",
    "overall_risk_for": "aggregate",
    "pqc_readiness": "aggregate",
    "AssetScore": "base",
    "RiskModel": "base",
    "ScoringContext": "base",
    "LEVEL_WEIGHTS": "interim",
    "WeightedRiskModel": "interim",
    "XGBoostRiskModel": "model",
    "get_risk_model": "model",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
