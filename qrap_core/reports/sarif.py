"""SARIF 2.1.0 log of a run's findings, for code-scanning dashboards and CI gates.

Findings are about endpoints and documents, not source lines, so each result carries a
logical location (the affected asset) rather than a file region; ``partialFingerprints``
keeps QRAP's per-observation fingerprint so a dashboard tracks one finding across runs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from qrap_core import __version__
from qrap_core.enums import AssessmentStatus, RiskLevel
from qrap_core.reports.model import (
    Report,
    ReportAssessment,
    ReportFinding,
    ReportRun,
    json_time,
)
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
    unlisted = unlisted_rules((f.rule_id, f.title) for f in report.findings)
    return "".join(stream(report.assessment, report.run, report.findings, unlisted))


def unlisted_rules(rules: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (rule id, title) of each rule the catalog no longer has, in the order the findings
    first name it, with that first finding's title; ``rules`` is (rule id, title) per finding."""
    _, index = _rules()
    seen: dict[str, str] = {}
    for rule_id, title in rules:
        if rule_id not in index and rule_id not in seen:
            seen[rule_id] = title
    return list(seen.items())


def stream(
    assessment: ReportAssessment,
    run: ReportRun | None,
    findings: Iterable[ReportFinding],
    unlisted: Sequence[tuple[str, str]],
    batch: int = 500,
) -> Iterator[str]:
    """``render``'s text in pieces, the results written ``batch`` findings at a time as they
    are read. ``unlisted`` (``unlisted_rules`` of the findings) must be known first: the
    rules precede the results in the log."""
    rules, index = _rules()
    for rule_id, title in unlisted:
        index[rule_id] = len(rules)
        rules.append({"id": rule_id, "shortDescription": {"text": title}})
    marker = f"qrap-results-{uuid.uuid4().hex}"
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
                "invocations": [_invocation(run)],
                "results": [marker],
                "properties": {
                    "assessment": assessment.name,
                    "risk_score": assessment.risk_score,
                    "overall_risk": assessment.overall_risk,
                },
            }
        ],
    }
    # The log as json.dumps(indent=2) writes it, the results array spliced in where the
    # marker (a string no value can equal) stands.
    head, tail = json.dumps(log, indent=2).split(json.dumps(marker), 1)
    pad = head[head.rindex("\n") :]
    results = iter(findings)
    first = next(results, None)
    if first is None:
        yield head[: head.rindex("[") + 1] + "]" + tail[tail.index("]") + 1 :]
        return
    yield head
    parts = [_indented(first, rules, index, pad)]
    for finding in results:
        parts.append("," + pad + _indented(finding, rules, index, pad))
        if len(parts) >= batch:
            yield "".join(parts)
            parts = []
    yield "".join(parts) + tail


def _indented(
    finding: ReportFinding, rules: list[dict[str, Any]], index: dict[str, int], pad: str
) -> str:
    return json.dumps(_result(finding, rules, index), indent=2).replace("\n", pad)


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
