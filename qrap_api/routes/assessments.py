from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from qrap_api.deps import Analyst, Page, ReadUow, Uow, Viewer, get_state
from qrap_api.state import AppState
from qrap_core.assessment import report_stream
from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.models import Assessment
from qrap_core.assessment.schemas import AssessmentCreate, AssessmentRead, RunRead
from qrap_core.db import UnitOfWork
from qrap_core.enums import AssessmentStatus
from qrap_core.errors import InvalidInput
from qrap_core.finding import service as finding_service
from qrap_core.finding.schemas import CryptoAssetRead
from qrap_core.reports import cbom as cbom_export
from qrap_core.reports import csv_report
from qrap_core.reports import html as html_export
from qrap_core.reports import sarif as sarif_export
from qrap_core.reports.formats import ExportFormat

router = APIRouter(prefix="/api/v1/assessments", tags=["assessments"])
AssessmentId = Annotated[uuid.UUID, Path(description="assessment id")]


class AssessmentDetail(AssessmentRead):
    latest_run: RunRead | None = None
    webhook_secret: str | None = Field(
        default=None,
        description="whsec_ secret that signs this assessment's webhooks; in the creation"
        " response only",
    )


class AssessmentList(BaseModel):
    assessments: list[AssessmentRead]
    total_count: int
    offset: int
    limit: int


class RunList(BaseModel):
    runs: list[RunRead]
    total_count: int


class AssetList(BaseModel):
    assets: list[CryptoAssetRead]
    total_count: int
    offset: int
    limit: int


def _detail(uow: UnitOfWork, assessment: Assessment) -> AssessmentDetail:
    run = assessment_service.latest_run(uow, assessment.id)
    detail = AssessmentDetail.model_validate(assessment)
    detail.latest_run = RunRead.model_validate(run) if run is not None else None
    return detail


@router.post(
    "",
    status_code=201,
    response_model=AssessmentDetail,
    responses={202: {"model": AssessmentDetail, "description": "created and queued"}},
)
def create_assessment(
    spec: AssessmentCreate, uow: Uow, actor: Analyst, response: Response
) -> AssessmentDetail:
    """Create an assessment. With `run: true` a run is queued after commit and the answer is 202."""
    created = assessment_service.submit(uow, actor, spec)
    response.headers["Location"] = f"/api/v1/assessments/{created.assessment.id}"
    if spec.run:
        response.status_code = 202
    # Built from the rows just written: reading them back would cost round trips, not news.
    detail = AssessmentDetail.model_validate(created.assessment)
    detail.latest_run = RunRead.model_validate(created.run) if created.run is not None else None
    detail.webhook_secret = created.webhook.secret if created.webhook is not None else None
    return detail


@router.get("", response_model=AssessmentList)
def list_assessments(
    uow: ReadUow,
    actor: Viewer,
    page: Page,
    organization_id: uuid.UUID | None = None,
    status: AssessmentStatus | None = None,
) -> AssessmentList:
    result = assessment_service.list_(
        uow,
        actor,
        organization_id=organization_id,
        status=status,
        offset=page.offset,
        limit=page.limit,
    )
    return AssessmentList(
        assessments=[AssessmentRead.model_validate(a) for a in result.items],
        total_count=result.total_count,
        offset=result.offset,
        limit=result.limit,
    )


@router.get("/{assessment_id}", response_model=AssessmentDetail)
def get_assessment(assessment_id: AssessmentId, uow: Uow, actor: Viewer) -> AssessmentDetail:
    return _detail(uow, assessment_service.get(uow, actor, assessment_id))


@router.post("/{assessment_id}/run", status_code=202, response_model=AssessmentDetail)
def run_assessment(
    assessment_id: AssessmentId, uow: Uow, actor: Analyst, response: Response
) -> AssessmentDetail:
    """Queue a new run; the work happens in a worker. 409 while a run is queued or running."""
    assessment = assessment_service.get_for_update(uow, actor, assessment_id)
    assessment_service.start_run(uow, actor, assessment)
    response.headers["Location"] = f"/api/v1/assessments/{assessment.id}"
    return _detail(uow, assessment)


@router.post("/{assessment_id}/cancel", response_model=AssessmentDetail)
def cancel_assessment(assessment_id: AssessmentId, uow: Uow, actor: Analyst) -> AssessmentDetail:
    assessment = assessment_service.get_for_update(uow, actor, assessment_id)
    return _detail(uow, assessment_service.cancel(uow, actor, assessment))


@router.get("/{assessment_id}/runs", response_model=RunList)
def list_runs(assessment_id: AssessmentId, uow: ReadUow, actor: Viewer) -> RunList:
    runs = assessment_service.runs(uow, actor, assessment_id)
    return RunList(runs=[RunRead.model_validate(r) for r in runs], total_count=len(runs))


@router.get("/{assessment_id}/assets", response_model=AssetList)
def list_assets(
    assessment_id: AssessmentId,
    uow: ReadUow,
    actor: Viewer,
    page: Page,
    run_id: uuid.UUID | None = None,
) -> AssetList:
    result = finding_service.assets(
        uow, actor, assessment_id=assessment_id, run_id=run_id, offset=page.offset, limit=page.limit
    )
    return AssetList(
        assets=[CryptoAssetRead.model_validate(a) for a in result.items],
        total_count=result.total_count,
        offset=result.offset,
        limit=result.limit,
    )


_PAGE = "a page of the JSON report (1-based); without it the whole document is streamed"
MAX_REPORT_PAGE_SIZE = 10_000
_STREAMED = {
    "json": (report_stream.json_document, "application/json", "json"),
    "csv": (report_stream.csv_document, csv_report.MEDIA_TYPE, "csv"),
    "cbom": (report_stream.cbom_document, cbom_export.MEDIA_TYPE, "cdx.json"),
    "sarif": (report_stream.sarif_document, sarif_export.MEDIA_TYPE, "sarif"),
    "html": (report_stream.html_document, html_export.MEDIA_TYPE, "html"),
}


@router.get("/{assessment_id}/report", response_model=None)
def get_report(
    assessment_id: AssessmentId,
    uow: ReadUow,
    actor: Viewer,
    state: Annotated[AppState, Depends(get_state)],
    format: Annotated[ExportFormat, Query()] = "json",  # the public parameter name
    page: Annotated[int | None, Query(ge=1, le=1_000_000, description=_PAGE)] = None,
    page_size: Annotated[int, Query(ge=1, le=MAX_REPORT_PAGE_SIZE)] = 1000,
) -> dict[str, Any] | Response:
    """The latest completed run (else the latest run) as the Appendix B JSON document, a
    CycloneDX 1.6 CBOM, SARIF 2.1.0, CSV of the findings or a self-contained HTML report.

    Every format is streamed from batched queries, so memory does not grow with the run;
    ``page``/``page_size`` give the JSON report a page at a time (``page_size`` assets and
    findings, with the totals)."""
    assessment = assessment_service.get(uow, actor, assessment_id)
    if page is not None:
        if format != "json":
            raise InvalidInput(
                "page applies to format=json only",
                details=[{"field": "page", "message": "only with format=json"}],
            )
        return report_stream.page(uow, assessment, page, page_size)
    writer, media_type, extension = _STREAMED[format]
    return StreamingResponse(
        writer(state.db, assessment.id),
        media_type=media_type,
        headers=_disposition(assessment, extension) if format != "json" else None,
    )


def _disposition(assessment: Assessment, extension: str) -> dict[str, str]:
    return {"Content-Disposition": f'inline; filename="qrap-{assessment.id}.{extension}"'}
