"""Run history extras under /api/v1/assessments: drift between runs and the schedule."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from qrap_api.deps import Analyst, Uow, Viewer
from qrap_core.assessment import diff as run_diff
from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.schemas import AssessmentRead
from qrap_core.finding.models import Finding
from qrap_core.webhook.schemas import RunDiffCounts

router = APIRouter(prefix="/api/v1/assessments", tags=["assessments"])
AssessmentId = Annotated[uuid.UUID, Path(description="assessment id")]
RunNumber = Annotated[int, Path(ge=1, le=1_000_000, description="run number (1, 2, ...)")]


class DiffFinding(BaseModel):
    id: uuid.UUID
    run_id: uuid.UUID
    fingerprint: str
    rule_id: str
    category: str
    risk_level: str
    title: str
    affected_asset: str
    current_algorithm: str | None


class RunDiffRead(BaseModel):
    assessment_id: uuid.UUID
    run_number: int
    previous_run_number: int | None
    counts: RunDiffCounts
    new: list[DiffFinding]
    fixed: list[DiffFinding]
    unchanged: list[DiffFinding]


class ScheduleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedule: str | None = Field(
        description="cron expression (5 fields, UTC) or @daily/@weekly/...; null clears it"
    )


def _finding(f: Finding) -> DiffFinding:
    return DiffFinding(
        id=f.id,
        run_id=f.run_id,
        fingerprint=f.fingerprint,
        rule_id=f.rule_id,
        category=f.category,
        risk_level=f.risk_level,
        title=f.title,
        affected_asset=f.affected_asset,
        current_algorithm=f.current_algorithm,
    )


@router.get("/{assessment_id}/runs/{run_number}/diff", response_model=RunDiffRead)
def get_run_diff(
    assessment_id: AssessmentId, run_number: RunNumber, uow: Uow, actor: Viewer
) -> RunDiffRead:
    """Findings new, fixed and unchanged in this run against the previous completed run."""
    result = run_diff.diff(uow, actor, assessment_id, run_number)
    return RunDiffRead(
        assessment_id=assessment_id,
        run_number=result.run.run_number,
        previous_run_number=result.previous.run_number if result.previous else None,
        counts=result.counts,
        new=[_finding(f) for f in result.new],
        fixed=[_finding(f) for f in result.fixed],
        unchanged=[_finding(f) for f in result.unchanged],
    )


@router.put("/{assessment_id}/schedule", response_model=AssessmentRead)
def put_schedule(
    assessment_id: AssessmentId, body: ScheduleUpdate, uow: Uow, actor: Analyst
) -> AssessmentRead:
    """Set or clear the recurring schedule; beat starts a run at each firing."""
    assessment = assessment_service.get_for_update(uow, actor, assessment_id)
    assessment_service.set_schedule(uow, actor, assessment, body.schedule)
    return AssessmentRead.model_validate(assessment)
