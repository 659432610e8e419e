"""Risk scoring: the XGBoost model behind the ``RiskModel`` interface, HNDL, aggregation.

The model is resolved on first use: importing the package (every run needs ``aggregate``)
must not load numpy and XGBoost, which only the scoring step does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qrap_core.scoring.aggregate import (
    RunSummary,
    aggregate,
    combine_scores,
    overall_risk_for,
    pqc_readiness,
)
from qrap_core.scoring.base import AssetScore, RiskModel, ScoringContext
from qrap_core.scoring.interim import LEVEL_WEIGHTS, WeightedRiskModel

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name in ("XGBoostRiskModel", "get_risk_model"):
        from qrap_core.scoring import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
