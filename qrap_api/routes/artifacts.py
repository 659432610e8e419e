"""Uploads of documents to an assessment: CycloneDX 1.6 CBOMs (multipart ``file``), listed
per assessment and deleted by id."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Response, UploadFile
from pydantic import BaseModel

from qrap_api.deps import Analyst, ReadUow, Uow, Viewer, get_state
from qrap_api.state import AppState
from qrap_core.artifact import service as artifact_service
from qrap_core.artifact.schemas import ArtifactRead
from qrap_core.assessment import service as assessment_service

router = APIRouter(prefix="/api/v1", tags=["artifacts"])
AssessmentId = Annotated[uuid.UUID, Path(description="assessment id")]
ArtifactId = Annotated[uuid.UUID, Path(description="artifact id")]


class ArtifactList(BaseModel):
    artifacts: list[ArtifactRead]
    total_count: int


@router.post("/assessments/{assessment_id}/artifacts", status_code=201, response_model=ArtifactRead)
def upload_artifact(
    assessment_id: AssessmentId,
    file: Annotated[UploadFile, File(description="a CycloneDX 1.6 CBOM (JSON)")],
    uow: Uow,
    actor: Analyst,
    response: Response,
    state: Annotated[AppState, Depends(get_state)],
) -> ArtifactRead:
    """Add a CBOM to the assessment: checked, stored, and analyzed by every later run.

    Its size limit is QRAP_CBOM_MAX_UPLOAD_SIZE (50 MB), not the generic body limit; it may
    nest 64 levels and hold QRAP_CBOM_MAX_COMPONENTS components (100,000), both checked while
    it streams. An invalid document answers 400 with the JSON pointer of each problem in
    ``details``.
    """
    assessment = assessment_service.get_for_update(uow, actor, assessment_id)
    artifact = artifact_service.add_cbom(
        uow,
        actor,
        assessment,
        filename=file.filename or "cbom.json",
        media_type=file.content_type or "application/json",
        stream=file.file,
        max_components=state.settings.cbom_max_components,
    )
    response.headers["Location"] = f"/api/v1/assessments/{assessment.id}/artifacts"
    return ArtifactRead.model_validate(artifact)


@router.get("/assessments/{assessment_id}/artifacts", response_model=ArtifactList)
def list_artifacts(assessment_id: AssessmentId, uow: ReadUow, actor: Viewer) -> ArtifactList:
    assessment = assessment_service.get(uow, actor, assessment_id)
    items = artifact_service.list_for(uow, assessment)
    return ArtifactList(
        artifacts=[ArtifactRead.model_validate(a) for a in items], total_count=len(items)
    )


@router.delete(
    "/artifacts/{artifact_id}",
    status_code=204,
    responses={404: {"description": "no such artifact in the caller's organizations"},
               409: {"description": "a run is active, or another assessment names it"}},
)  # fmt: skip
def delete_artifact(artifact_id: ArtifactId, uow: Uow, actor: Analyst) -> Response:
    """Delete an uploaded CBOM, and the target its upload added to its assessment.

    Later runs no longer analyze it; stored runs keep their results. 409 while the assessment
    has a run queued or in progress, or while another assessment's targets name the document.
    """
    artifact_service.delete(uow, actor, artifact_id)
    return Response(status_code=204)
