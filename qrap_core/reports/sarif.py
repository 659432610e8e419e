"""SARIF 2.1.0 log of a run's findings, for code-scanning dashboards and CI gates.

Findings are about endpoints and documents, not source lines, so each result carries a
logical location (the affected asset) rather than a file region; ``partialFingerprints``
keeps QRAP's per-observation fingerprint so a dashboard tracks one finding across runs.
"""

from __future__ import annotations

import json
from typing import Any

from qrap_core import __version__
from qrap_core.rules.engine import rule_catalog

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
MEDIA_TYPE = "application/sarif+json"
_LEVELS = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning", "LOW": "note", "INFO": "note"}
# GitHub code scanning reads this property (0.0-10.0) to rank security alerts.
_SEVERITY = {"CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "3.0", "INFO": "1.0"}


def render(report: dict[str, Any]) -> str:
    """The SARIF log (JSON text) of a report built by ``json_report.build``."""
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
    results = []
    for finding in report["findings"]:
        rule_id = finding["rule_id"]
        if rule_id not in index:
            index[rule_id] = len(rules)
            rules.append({"id": rule_id, "shortDescription": {"text": finding["title"]}})
        level = finding["risk_level"]
        results.append(
            {
                "ruleId": rule_id,
                "ruleIndex": index[rule_id],
                "level": _LEVELS.get(level, "warning"),
                "message": {"text": f"{finding['title']}. {finding['description']}"},
                "locations": [
                    {"logicalLocations": [{"name": finding["affected_asset"], "kind": "resource"}]}
                ],
                "partialFingerprints": {"qrapFinding/v1": finding["fingerprint"]},
                "properties": {
                    "risk_level": level,
                    "risk_score": finding["risk_score"],
                    "category": finding["category"],
                    "current_algorithm": finding.get("current_algorithm"),
                    "recommended_algorithm": finding.get("recommended_algorithm"),
                    "remediation": finding.get("remediation"),
                    "deadline": finding.get("deadline"),
                    "references": finding.get("references") or [],
                    "triage_status": finding.get("triage_status"),
                    "security-severity": _SEVERITY.get(level, "5.0"),
                },
            }
        )
    run = report.get("run") or {}
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
                "automationDetails": {"id": f"qrap/{report['assessment']['id']}/"},
                "invocations": [
                    {
                        "executionSuccessful": run.get("status") in (None, "COMPLETED"),
                        **({"endTimeUtc": run["completed_at"]} if run.get("completed_at") else {}),
                    }
                ],
                "results": results,
                "properties": {
                    "assessment": report["assessment"]["name"],
                    "risk_score": report["assessment"].get("risk_score"),
                    "overall_risk": report["assessment"].get("overall_risk"),
                },
            }
        ],
    }
    return json.dumps(log, indent=2, default=str)


def _camel(text: str) -> str:
    words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if w]
    return "".join(w[:1].upper() + w[1:] for w in words) or "Rule"
