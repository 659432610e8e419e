"""Uploads of documents to an assessment: CycloneDX 1.6 CBOMs (multipart ``file``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Path, Response, UploadFile
from pydantic import BaseModel

from qrap_api.deps import Analyst, Uow, Viewer
from qrap_core.artifact import service as artifact_service
from qrap_core.artifact.schemas import ArtifactRead
from qrap_core.assessment import service as assessment_service

router = APIRouter(prefix="/api/v1/assessments", tags=["artifacts"])
AssessmentId = Annotated[uuid.UUID, Path(description="assessment id")]


class ArtifactList(BaseModel):
    artifacts: list[ArtifactRead]
    total_count: int


@router.post("/{assessment_id}/artifacts", status_code=201, response_model=ArtifactRead)
def upload_artifact(
    assessment_id: AssessmentId,
    file: Annotated[UploadFile, File(description="a CycloneDX 1.6 CBOM (JSON)")],
    uow: Uow,
    actor: Analyst,
    response: Response,
) -> ArtifactRead:
    """Add a CBOM to the assessment: checked, stored, and analyzed by every later run.

    Its size limit is QRAP_CBOM_MAX_UPLOAD_SIZE (50 MB), not the generic body limit. An
    invalid document answers 400 with the JSON pointer of each problem in ``details``.
    """
    assessment = assessment_service.get_for_update(uow, actor, assessment_id)
    artifact = artifact_service.add_cbom(
        uow,
        actor,
        assessment,
        filename=file.filename or "cbom.json",
        media_type=file.content_type or "application/json",
        stream=file.file,
    )
    response.headers["Location"] = f"/api/v1/assessments/{assessment.id}/artifacts"
    return ArtifactRead.model_validate(artifact)


@router.get("/{assessment_id}/artifacts", response_model=ArtifactList)
def list_artifacts(assessment_id: AssessmentId, uow: Uow, actor: Viewer) -> ArtifactList:
    assessment = assessment_service.get(uow, actor, assessment_id)
    items = artifact_service.list_for(uow, assessment)
    return ArtifactList(
        artifacts=[ArtifactRead.model_validate(a) for a in items], total_count=len(items)
    )
