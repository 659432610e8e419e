"""The JSON report (DESIGN Appendix B), shared by the API and `qrap assess --format json`."""

from __future__ import annotations

from typing import Any

from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.assessment.schemas import AssessmentRead, AssessmentSummary, RunRead
from qrap_core.crypto.policy import Profile
from qrap_core.db import UnitOfWork
from qrap_core.finding import service as finding_service
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.finding.schemas import CryptoAssetRead, FindingRead
from qrap_core.planning.planner import plan_from_stored

REPORT_VERSION = "1"


def build(uow: UnitOfWork, assessment: Assessment) -> dict[str, Any]:
    """Report on the latest completed run, or on the latest run while none has completed."""
    run = assessment_service.latest_run(uow, assessment.id, completed=True)
    if run is None:
        run = assessment_service.latest_run(uow, assessment.id)
    assets = finding_service.all_assets_for_run(uow, run.id) if run else []
    findings = finding_service.all_for_run(uow, run.id) if run else []
    head = AssessmentRead.model_validate(assessment).model_dump(mode="json")
    head["summary"] = AssessmentSummary.model_validate(
        (run.summary if run and run.summary else None) or {}
    ).model_dump(mode="json")
    return {
        "report_version": REPORT_VERSION,
        "assessment": head,
        "run": RunRead.model_validate(run).model_dump(mode="json") if run else None,
        "assets": [CryptoAssetRead.model_validate(a).model_dump(mode="json") for a in assets],
        "findings": [FindingRead.model_validate(f).model_dump(mode="json") for f in findings],
        "migration_plan": migration_plan(assets, findings),
        "targets": _targets(run),
        "unrecognised_algorithms": unrecognised_algorithms(assets),
    }


def unrecognised_algorithms(assets: list[CryptoAssetRecord]) -> list[dict[str, Any]]:
    """Assets whose algorithm the catalog did not recognise (``details.unrecognised``): listed
    here so that an unknown name is never silently left out of the assessment."""
    return [
        {
            "asset_id": str(asset.id),
            "kind": asset.kind,
            "name": asset.name,
            "location": asset.location,
            "algorithm": asset.details.get("unrecognised_algorithm") or asset.algorithm,
        }
        for asset in assets
        if asset.details.get("unrecognised")
    ]


def migration_plan(
    assets: list[CryptoAssetRecord], findings: list[Finding], profile: Profile = "nist"
) -> dict[str, Any]:
    """One plan step per affected asset (urgency = its worst finding), in phases, with
    deadlines and dependencies (a certificate after the CA that issued it)."""
    return plan_from_stored(assets, findings, profile=profile).to_dict()


def _targets(run: AssessmentRun | None) -> list[dict[str, Any]]:
    if run is None:
        return []
    out = []
    for result in run.target_results:
        entry = {"target": result["target"], "type": result["type"], "status": result["status"]}
        if result.get("error"):
            entry["error"] = result["error"]
        if result.get("details"):
            entry["details"] = result["details"]
        out.append(entry)
    return out
