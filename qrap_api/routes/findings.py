from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from qrap_api.deps import Analyst, Page, ReadUow, Uow, Viewer
from qrap_core.enums import FindingCategory, RiskLevel
from qrap_core.finding import service as finding_service
from qrap_core.finding.schemas import FindingRead, FindingUpdate

router = APIRouter(prefix="/api/v1/findings", tags=["findings"])


class FindingList(BaseModel):
    findings: list[FindingRead]
    total_count: int
    offset: int
    limit: int


@router.get("", response_model=FindingList)
def list_findings(
    uow: ReadUow,
    actor: Viewer,
    page: Page,
    assessment_id: Annotated[uuid.UUID, Query()],
    run_id: uuid.UUID | None = None,
    risk_level: RiskLevel | None = None,
    category: FindingCategory | None = None,
) -> FindingList:
    """Findings of the assessment's latest completed run (or of `run_id`)."""
    result = finding_service.list_(
        uow,
        actor,
        assessment_id=assessment_id,
        run_id=run_id,
        risk_level=risk_level,
        category=category,
        offset=page.offset,
        limit=page.limit,
    )
    return FindingList(
        findings=[FindingRead.model_validate(f) for f in result.items],
        total_count=result.total_count,
        offset=result.offset,
        limit=result.limit,
    )


@router.get("/{finding_id}", response_model=FindingRead)
def get_finding(finding_id: Annotated[uuid.UUID, Path()], uow: Uow, actor: Viewer) -> FindingRead:
    return FindingRead.model_validate(finding_service.get(uow, actor, finding_id))


@router.patch("/{finding_id}", response_model=FindingRead)
def update_finding(
    finding_id: Annotated[uuid.UUID, Path()], body: FindingUpdate, uow: Uow, actor: Analyst
) -> FindingRead:
    """Triage: status, the analyst's risk level and a note (analyst role; audited)."""
    return FindingRead.model_validate(finding_service.update(uow, actor, finding_id, body))
