"""The interface every risk model implements: one score per asset, with its explanation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from qrap_core.discovery.types import CryptoAsset
from qrap_core.rules.base import FindingDraft


@dataclass(frozen=True, slots=True)
class ScoringContext:
    """The organization's assumptions a model may weigh (Mosca's x, y and z).

    ``sensitivity`` (low, medium, high, critical), ``exposure`` (internal, partner, internet)
    and ``threat_model`` (pessimistic, median, optimistic) come from the assessment's data
    profile; None lets the model use an asset's own details, then its defaults.
    """

    now: datetime
    shelf_life_years: float
    migration_years: float
    crqc_year: int
    sensitivity: str | None = None
    exposure: str | None = None
    threat_model: str | None = None


@dataclass(frozen=True, slots=True)
class AssetScore:
    """A 0-100 risk score and what drove it.

    ``explanation`` lists {"feature", "value", "contribution"} items, largest absolute
    contribution first. For the XGBoost model these are its SHAP values: the top features,
    then "(other features)" and "(baseline)", so the contributions add up to the model's raw
    output (the score before clipping to 0-100).
    """

    score: float
    explanation: list[dict[str, Any]]


class RiskModel(Protocol):
    """A scorer of assets. The XGBoost model and the interim weighted model both fit it."""

    version: str

    def score_assets(
        self,
        assets: Sequence[CryptoAsset],
        findings: Sequence[FindingDraft],
        ctx: ScoringContext,
    ) -> list[AssetScore]:
        """One AssetScore per asset, in the order of ``assets``.

        ``findings[i].asset_index`` points into ``assets``.
        """
        ...
