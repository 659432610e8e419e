"""The analysis endpoints of the original API (``/score``, ``/hndl``, ``/migration-plan``) and
an assessment's migration plan, computed by the risk engine."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from qrap_api.deps import Uow, Viewer, get_state
from qrap_core.assessment import service as assessment_service
from qrap_core.crypto.policy import Profile
from qrap_core.db import utcnow
from qrap_core.errors import NotFound
from qrap_core.finding import service as finding_service
from qrap_core.planning import plan_from_stored, plan_migration
from qrap_core.planning.schemas import MigrationPlanRequest, MigrationPlanResponse
from qrap_core.scoring import ScoringContext, get_risk_model
from qrap_core.scoring import hndl as hndl_service
from qrap_core.scoring.findings import score_findings
from qrap_core.scoring.schemas import HndlRequest, HndlResponse, ScoreRequest, ScoreResponse
from qrap_core.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["analysis"])


def _settings(request: Request) -> Settings:
    return get_state(request).settings


AppSettings = Annotated[Settings, Depends(_settings)]


@router.post("/score", response_model=ScoreResponse)
def score(body: ScoreRequest, actor: Viewer, settings: AppSettings) -> ScoreResponse:
    """Score findings with the risk model: the original fields plus per-asset explanations.

    `risk_score` combines the asset scores (0.6 x max + 0.4 x mean) and is raised to the band
    floor of the worst submitted level (CRITICAL 80, HIGH 60, MEDIUM 30, LOW 10), so
    `overall_risk` is never below the worst finding's level.
    """
    model = get_risk_model(settings)
    ctx = ScoringContext(
        now=utcnow(),
        shelf_life_years=_or(body.data_shelf_life_years, settings.default_shelf_life_years),
        migration_years=_or(body.migration_time_years, settings.default_migration_years),
        crqc_year=settings.crqc_year,
        sensitivity=body.sensitivity,
        exposure=body.exposure,
        threat_model=body.threat_model,
    )
    result = score_findings(
        [finding.model_dump() for finding in body.findings],
        body.total_assets,
        model=model,
        ctx=ctx,
    )
    return ScoreResponse.model_validate(result.to_dict())


@router.post("/hndl", response_model=HndlResponse)
def hndl(body: HndlRequest, actor: Viewer, settings: AppSettings) -> HndlResponse:
    """Mosca's inequality with the CRQC time as a distribution; 400 for an unknown algorithm.

    `urgency` is the higher of the risk window's (>= 10 years CRITICAL, >= 5 HIGH, > 0 MEDIUM)
    and the probability of exposure's (`probability_at_risk` >= 0.50 CRITICAL, >= 0.25 HIGH,
    >= 0.10 MEDIUM); `is_at_risk` is true when urgency is above LOW. `risk_window_years` is a
    whole number of years, never negative; `estimated_break_year` is always a year (the survey's
    horizon year when no break is expected within it, e.g. for PQC and symmetric algorithms).
    """
    timeline = hndl_service.timeline_for(
        body.threat_model or settings.threat_model,
        survey_file=settings.crqc_survey_file,
        edition=settings.crqc_survey_edition,
    )
    result = hndl_service.assess(
        body.algorithm,
        shelf_life_years=body.data_shelf_life_years,
        migration_years=_or(body.migration_time_years, settings.default_migration_years),
        timeline=timeline,
        reference_year=body.reference_year or utcnow().year,
        key_size=body.key_size,
    )
    return HndlResponse.model_validate(result.to_dict())


@router.post("/migration-plan", response_model=MigrationPlanResponse)
def migration_plan(body: MigrationPlanRequest, actor: Viewer) -> MigrationPlanResponse:
    """Steps CRITICAL first, in phases with deadlines and dependencies; PQC assets left out."""
    plan = plan_migration([asset.to_input() for asset in body.assets], profile=body.profile)
    return MigrationPlanResponse.from_plan(plan)


@router.get("/assessments/{assessment_id}/migration-plan", response_model=MigrationPlanResponse)
def assessment_migration_plan(
    assessment_id: Annotated[uuid.UUID, Path(description="assessment id")],
    uow: Uow,
    actor: Viewer,
    profile: Annotated[Profile, Query()] = "nist",
    run_id: uuid.UUID | None = None,
) -> MigrationPlanResponse:
    """The plan for the assessment's latest completed run (or ``run_id``)."""
    assessment = assessment_service.get(uow, actor, assessment_id)
    if run_id is None:
        run = assessment_service.latest_run(uow, assessment.id, completed=True)
    else:
        runs = assessment_service.runs(uow, actor, assessment.id)
        run = next((candidate for candidate in runs if candidate.id == run_id), None)
        if run is None:
            raise NotFound(f"run {run_id} of assessment {assessment_id} not found")
    if run is None:
        plan = plan_migration([], profile=profile)
        return MigrationPlanResponse.from_plan(plan, assessment_id=assessment.id)
    assets = finding_service.all_assets_for_run(uow, run.id)
    findings = finding_service.all_for_run(uow, run.id)
    plan = plan_from_stored(assets, findings, profile=profile)
    return MigrationPlanResponse.from_plan(plan, assessment_id=assessment.id, run_id=run.id)


def _or(value: float | None, default: float) -> float:
    return float(default if value is None else value)
