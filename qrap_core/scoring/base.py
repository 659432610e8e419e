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
    """The organization's assumptions a model may weigh (Mosca's x, y and z)."""

    now: datetime
    shelf_life_years: float
    migration_years: float
    crqc_year: int


@dataclass(frozen=True, slots=True)
class AssetScore:
    """A 0-100 risk score; ``explanation`` lists {"feature", "value", "contribution"} items,
    largest contribution first, whose contributions add up to the score."""

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
