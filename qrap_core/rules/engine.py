"""Run every rule over every asset and return the findings, in a stable order."""

from __future__ import annotations

from collections.abc import Sequence

from qrap_core.discovery.types import CryptoAsset
from qrap_core.rules import certificate, classical, quantum, ssh, tls
from qrap_core.rules.base import FindingDraft, Rule, RuleContext, RuleSpec, build_facts

__all__ = ["RULES", "FindingDraft", "RuleContext", "evaluate", "rule_catalog"]

# Order matters only for presentation: per asset, findings come out in this order.
RULES: tuple[Rule, ...] = (
    *classical.RULES,
    *certificate.RULES,
    *tls.RULES,
    *ssh.RULES,
    *quantum.RULES,
)


def evaluate(assets: Sequence[CryptoAsset], ctx: RuleContext) -> list[FindingDraft]:
    """Findings for ``assets``, ordered by asset index then rule.

    Deterministic: the same assets and context give the same findings and fingerprints.
    An asset listed twice is one observation, so its findings appear once (the first index).
    Unknown algorithms produce no finding.
    """
    findings: list[FindingDraft] = []
    seen: set[str] = set()
    for facts in build_facts(assets):
        for rule in RULES:
            finding = rule.check(facts, ctx)
            if finding is None or finding.fingerprint in seen:
                continue
            seen.add(finding.fingerprint)
            findings.append(finding)
    return findings


def rule_catalog() -> list[RuleSpec]:
    """Every rule's stable id, category, name and summary (for reports and SARIF)."""
    return [rule.spec for rule in RULES]
