"""SARIF 2.1.0 log of a run's findings, for code-scanning dashboards and CI gates.

Findings are about endpoints and documents, not source lines, so each result carries a
logical location (the affected asset) rather than a file region; ``partialFingerprints``
keeps QRAP's per-observation fingerprint so a dashboard tracks one finding across runs.
"""

from __future__ import annotations

import json
from typing import Any

from qrap_core import __version__
from qrap_core.enums import AssessmentStatus, RiskLevel
from qrap_core.reports.model import Report, ReportFinding, ReportRun, json_time
from qrap_core.rules.engine import rule_catalog

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
MEDIA_TYPE = "application/sarif+json"
_LEVELS: dict[RiskLevel, str] = {
    RiskLevel.CRITICAL: "error",
    RiskLevel.HIGH: "error",
    RiskLevel.MEDIUM: "warning",
    RiskLevel.LOW: "note",
    RiskLevel.INFO: "note",
}
# GitHub code scanning reads this property (0.0-10.0) to rank security alerts.
_SEVERITY: dict[RiskLevel, str] = {
    RiskLevel.CRITICAL: "9.5",
    RiskLevel.HIGH: "8.0",
    RiskLevel.MEDIUM: "5.5",
    RiskLevel.LOW: "3.0",
    RiskLevel.INFO: "1.0",
}


def render(report: Report) -> str:
    """The SARIF log (JSON text) of a report built by ``assessment.report.build``."""
    rules, index = _rules()
    results = [_result(finding, rules, index) for finding in report.findings]
    assessment = report.assessment
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "QRAP",
                        "fullName": "Quantum Risk Assessment Platform",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"qrap/{assessment.id}/"},
                "invocations": [_invocation(report.run)],
                "results": results,
                "properties": {
                    "assessment": assessment.name,
                    "risk_score": assessment.risk_score,
                    "overall_risk": assessment.overall_risk,
                },
            }
        ],
    }
    return json.dumps(log, indent=2)


def _rules() -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every rule QRAP has, and each rule id's index in that list."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for spec in rule_catalog():
        index[spec.rule_id] = len(rules)
        rules.append(
            {
                "id": spec.rule_id,
                "name": _camel(spec.name),
                "shortDescription": {"text": spec.name},
                "fullDescription": {"text": spec.summary},
                "properties": {"category": str(spec.category), "tags": ["security", "crypto"]},
            }
        )
    return rules, index


def _result(
    finding: ReportFinding, rules: list[dict[str, Any]], index: dict[str, int]
) -> dict[str, Any]:
    """One SARIF result; a rule the catalog no longer has is added to ``rules`` on first use."""
    rule_id = finding.rule_id
    if rule_id not in index:
        index[rule_id] = len(rules)
        rules.append({"id": rule_id, "shortDescription": {"text": finding.title}})
    level = finding.risk_level
    return {
        "ruleId": rule_id,
        "ruleIndex": index[rule_id],
        "level": _LEVELS[level],
        "message": {"text": f"{finding.title}. {finding.description}"},
        "locations": [{"logicalLocations": [{"name": finding.affected_asset, "kind": "resource"}]}],
        "partialFingerprints": {"qrapFinding/v1": finding.fingerprint},
        "properties": {
            "risk_level": level,
            "risk_score": finding.risk_score,
            "category": finding.category,
            "current_algorithm": finding.current_algorithm,
            "recommended_algorithm": finding.recommended_algorithm,
            "remediation": finding.remediation,
            "deadline": finding.deadline.isoformat() if finding.deadline else None,
            "references": finding.references,
            "triage_status": finding.triage_status,
            "security-severity": _SEVERITY[level],
        },
    }


def _invocation(run: ReportRun | None) -> dict[str, Any]:
    invocation: dict[str, Any] = {
        "executionSuccessful": run is None or run.status == AssessmentStatus.COMPLETED
    }
    if run is not None and run.completed_at is not None:
        invocation["endTimeUtc"] = json_time(run.completed_at)
    return invocation


def _camel(text: str) -> str:
    words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if w]
    return "".join(w[:1].upper() + w[1:] for w in words) or "Rule"
