from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from qrap_api.deps import Admin, Page, ReadUow, Uow, Viewer
from qrap_core.organization import service as organization_service
from qrap_core.organization.schemas import OrganizationCreate, OrganizationRead

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations"])


class OrganizationList(BaseModel):
    organizations: list[OrganizationRead]
    total_count: int
    offset: int
    limit: int


@router.post("", status_code=201, response_model=OrganizationRead)
def create_organization(
    spec: OrganizationCreate, uow: Uow, actor: Admin, response: Response
) -> OrganizationRead:
    org = organization_service.create(uow, actor, spec)
    response.headers["Location"] = f"/api/v1/organizations/{org.id}"
    return OrganizationRead.model_validate(org)


@router.get("", response_model=OrganizationList)
def list_organizations(uow: ReadUow, actor: Viewer, page: Page) -> OrganizationList:
    result = organization_service.list_(uow, actor, offset=page.offset, limit=page.limit)
    return OrganizationList(
        organizations=[OrganizationRead.model_validate(o) for o in result.items],
        total_count=result.total_count,
        offset=result.offset,
        limit=result.limit,
    )


@router.get("/{organization_id}", response_model=OrganizationRead)
def get_organization(
    organization_id: Annotated[uuid.UUID, Path()], uow: Uow, actor: Viewer
) -> OrganizationRead:
    return OrganizationRead.model_validate(organization_service.get(uow, actor, organization_id))
