"""Typed factories for the domain's plain values, shared by the tests."""

from __future__ import annotations

from qrap_core.enums import FindingCategory, RiskLevel
from qrap_core.rules.base import FindingDraft


def make_draft(level: RiskLevel, index: int = 0) -> FindingDraft:
    """A finding of ``level`` on asset ``index``: what the scoring code reads of one."""
    return FindingDraft(
        rule_id="QRAP-TEST-001",
        category=FindingCategory.MISSING_PQC,
        risk_level=level,
        title="t",
        description="d",
        affected_asset="host:443",
        current_algorithm=None,
        recommended_algorithm=None,
        remediation="r",
        evidence={},
        deadline=None,
        references=(),
        asset_index=index,
        fingerprint=f"{index}-{level}",
    )
