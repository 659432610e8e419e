"""Complete report documents for tests that care about a few fields: every field a real report
has is filled, so the typed model accepts them, and the caller overrides what it checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qrap_core.reports.model import Report

_ASSESSMENT_ID = "6f0d2c3a-1b2c-4d5e-8f90-0a1b2c3d4e5f"
_RUN_ID = "7a1e3d4b-2c3d-4e5f-9a01-1b2c3d4e5f60"
_WHEN = "2026-01-02T03:04:05Z"
_SUMMARY: dict[str, Any] = {
    "total_findings": 0,
    "critical_findings": 0,
    "high_findings": 0,
    "medium_findings": 0,
    "low_findings": 0,
    "info_findings": 0,
    "pqc_readiness_percentage": 0.0,
    "assets_scanned": 0,
    "targets_total": 0,
    "targets_failed": 0,
    "partial": False,
    "model_risk_score": None,
    "risk_floor": None,
}


def finding_document(**overrides: Any) -> dict[str, Any]:
    finding: dict[str, Any] = {
        "id": "8b2f4e5c-3d4e-4f60-8b12-2c3d4e5f6071",
        "assessment_id": _ASSESSMENT_ID,
        "run_id": _RUN_ID,
        "asset_id": None,
        "category": "MISSING_PQC",
        "risk_level": "HIGH",
        "title": "Quantum-vulnerable key exchange",
        "description": "ECDHE only",
        "affected_asset": "example.test:443",
        "current_algorithm": "X25519",
        "recommended_algorithm": "X25519MLKEM768",
        "remediation": "enable a hybrid group",
        "discovered_at": _WHEN,
        "rule_id": "QRAP-TLS-001",
        "risk_score": 70.0,
        "explanation": [],
        "evidence": {},
        "deadline": "2030-12-31",
        "references": ["NIST IR 8547"],
        "triage_status": "open",
        "analyst_risk_level": None,
        "analyst_note": None,
        "fingerprint": "f" * 64,
    }
    return finding | overrides


def report_document(
    *,
    assessment: dict[str, Any] | None = None,
    summary: dict[str, Any] | None = None,
    findings: Sequence[dict[str, Any]] = (),
    targets: Sequence[dict[str, Any]] = (),
    unrecognised: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The JSON document; ``findings`` entries are merged over ``finding_document()``."""
    head: dict[str, Any] = {
        "id": _ASSESSMENT_ID,
        "name": "sample",
        "organization_id": "9c3a5f6d-4e5f-4a71-9c23-3d4e5f607182",
        "status": "COMPLETED",
        "overall_risk": None,
        "risk_score": 0.0,
        "target_assets": [],
        "targets": [],
        "data_profile": {},
        "summary": _SUMMARY | (summary or {}),
        "progress": 1.0,
        "error": None,
        "run_count": 1,
        "webhook_url": None,
        "schedule": None,
        "next_run_at": None,
        "created_by": "test",
        "created_at": _WHEN,
        "updated_at": _WHEN,
        "started_at": _WHEN,
        "completed_at": _WHEN,
    }
    return {
        "report_version": "1",
        "assessment": head | (assessment or {}),
        "run": None,
        "assets": [],
        "findings": [finding_document(**f) for f in findings],
        "migration_plan": {
            "steps": [],
            "total_assets": 0,
            "critical_count": 0,
            "estimated_phases": 0,
            "phases": [],
            "skipped": [],
            "profile": "nist",
            "unknown_algorithms": [],
        },
        "targets": list(targets),
        "unrecognised_algorithms": list(unrecognised),
    }


def sample_report(**parts: Any) -> Report:
    """``report_document(**parts)`` as the typed report the renderers take."""
    return Report.from_json(report_document(**parts))
