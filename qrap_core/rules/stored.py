"""Stored assets and findings (database rows) as the rule engine's live objects.

The planner and the risk model's feedback read stored runs with the same code they use for
live ones; these protocols say what they read, so the core needs no ORM import.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol

from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import FindingCategory, RiskLevel, Usage
from qrap_core.rules.base import FindingDraft


class StoredAsset(Protocol):
    """What the planner reads of a stored crypto asset (``finding.models.CryptoAssetRecord``)."""

    @property
    def id(self) -> Any: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def location(self) -> str: ...
    @property
    def algorithm(self) -> str | None: ...
    @property
    def family(self) -> str | None: ...
    @property
    def key_size(self) -> int | None: ...
    @property
    def usage(self) -> str: ...
    @property
    def protocol(self) -> str | None: ...
    @property
    def details(self) -> dict[str, Any]: ...


class StoredFinding(Protocol):
    """What the planner reads of a stored finding (``finding.models.Finding``)."""

    @property
    def asset_id(self) -> Any: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def risk_level(self) -> str: ...
    @property
    def affected_asset(self) -> str: ...
    @property
    def current_algorithm(self) -> str | None: ...
    @property
    def recommended_algorithm(self) -> str | None: ...
    @property
    def deadline(self) -> date | None: ...
    @property
    def fingerprint(self) -> str: ...


def from_stored(
    assets: Sequence[StoredAsset], findings: Sequence[StoredFinding]
) -> tuple[list[CryptoAsset], list[FindingDraft]]:
    """Live assets in order, and the findings that point at one of them (by asset id)."""
    index_of = {asset.id: index for index, asset in enumerate(assets)}
    live = [
        CryptoAsset(
            kind=asset.kind,  # type: ignore[arg-type]  # stored from an AssetKind
            name=asset.name,
            location=asset.location,
            usage=_usage(asset.usage),
            algorithm=asset.algorithm,
            family=asset.family,
            key_size=asset.key_size,
            protocol=asset.protocol,
            details=dict(asset.details or {}),
        )
        for asset in assets
    ]
    drafts = [
        FindingDraft(
            rule_id=finding.rule_id,
            category=FindingCategory(finding.category),
            risk_level=RiskLevel(finding.risk_level),
            title="",
            description="",
            affected_asset=finding.affected_asset,
            current_algorithm=finding.current_algorithm,
            recommended_algorithm=finding.recommended_algorithm,
            remediation="",
            evidence={},
            deadline=finding.deadline,
            references=(),
            asset_index=index_of[finding.asset_id],
            fingerprint=finding.fingerprint,
        )
        for finding in findings
        if finding.asset_id in index_of
    ]
    return live, drafts


def _usage(value: str) -> Usage:
    try:
        return Usage(value)
    except ValueError:
        return Usage.UNKNOWN
