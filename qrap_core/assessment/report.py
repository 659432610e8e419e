"""Build the report (the JSON report) from a stored run, for the API and ``qrap assess``."""

from __future__ import annotations

from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.assessment.schemas import AssessmentRead
from qrap_core.crypto.policy import Profile
from qrap_core.db import UnitOfWork
from qrap_core.finding import service as finding_service
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.planning.planner import plan_from_stored
from qrap_core.reports.model import (
    Report,
    ReportAssessment,
    ReportAsset,
    ReportFinding,
    ReportMigrationPlan,
    ReportRun,
    ReportSummary,
    ReportTarget,
    UnrecognisedAlgorithm,
)


def build(uow: UnitOfWork, assessment: Assessment) -> Report:
    """Report on the latest completed run, or on the latest run while none has completed."""
    run = assessment_service.latest_run(uow, assessment.id, completed=True)
    if run is None:
        run = assessment_service.latest_run(uow, assessment.id)
    assets = finding_service.all_assets_for_run(uow, run.id) if run else []
    findings = finding_service.all_for_run(uow, run.id) if run else []
    summary = ReportSummary.model_validate(run.summary if run and run.summary else {})
    head = AssessmentRead.model_validate(assessment).model_dump()
    return Report(
        assessment=ReportAssessment.model_validate(head | {"summary": summary}),
        run=ReportRun.model_validate(run) if run else None,
        assets=[ReportAsset.model_validate(a) for a in assets],
        findings=[ReportFinding.model_validate(f) for f in findings],
        migration_plan=migration_plan(assets, findings),
        targets=_targets(run),
        unrecognised_algorithms=unrecognised_algorithms(assets),
    )


def unrecognised_algorithms(assets: list[CryptoAssetRecord]) -> list[UnrecognisedAlgorithm]:
    """Assets whose algorithm the catalog did not recognise (``details.unrecognised``): listed
    here so that an unknown name is never silently left out of the assessment."""
    return [entry for asset in assets if (entry := unrecognised(asset)) is not None]


def unrecognised(asset: CryptoAssetRecord) -> UnrecognisedAlgorithm | None:
    """The asset's entry in ``unrecognised_algorithms``, or None when the catalog knew it."""
    if not asset.details.get("unrecognised"):
        return None
    return UnrecognisedAlgorithm(
        asset_id=str(asset.id),
        kind=asset.kind,
        name=asset.name,
        location=asset.location,
        algorithm=asset.details.get("unrecognised_algorithm") or asset.algorithm,
    )


def migration_plan(
    assets: list[CryptoAssetRecord], findings: list[Finding], profile: Profile = "nist"
) -> ReportMigrationPlan:
    """One plan step per affected asset (urgency = its worst finding), in phases, with
    deadlines and dependencies (a certificate after the CA that issued it)."""
    plan = plan_from_stored(assets, findings, profile=profile)
    return ReportMigrationPlan.model_validate(plan.to_dict())


def _targets(run: AssessmentRun | None) -> list[ReportTarget]:
    if run is None:
        return []
    return [
        ReportTarget(
            target=result["target"],
            type=result["type"],
            status=result["status"],
            error=result.get("error") or None,
            details=result.get("details") or None,
        )
        for result in run.target_results
    ]
