"""Rules that turn crypto assets into findings. Rule ids are stable: triage keys on them."""

from qrap_core.rules.base import FindingDraft, RuleContext, RuleSpec, finding_fingerprint
from qrap_core.rules.engine import RULES, evaluate, rule_catalog

__all__ = [
    "RULES",
    "FindingDraft",
    "RuleContext",
    "RuleSpec",
    "evaluate",
    "finding_fingerprint",
    "rule_catalog",
]
