"""API keys bound to one organization: created (the key shown once), listed, revoked.

A platform admin manages keys of any organization, an organization's admin those of its own.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel

from qrap_api.deps import Admin, Page, Uow
from qrap_core.apikey import service as apikey_service
from qrap_core.apikey.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead

router = APIRouter(prefix="/api/v1/api-keys", tags=["api-keys"])
ApiKeyId = Annotated[uuid.UUID, Path()]


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyRead]
    total_count: int
    offset: int
    limit: int


@router.post("", status_code=201, response_model=ApiKeyCreated)
def create_api_key(spec: ApiKeyCreate, uow: Uow, actor: Admin, response: Response) -> ApiKeyCreated:
    row, key = apikey_service.create(uow, actor, spec)
    response.headers["Location"] = f"/api/v1/api-keys/{row.id}"
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyCreated.model_validate({**ApiKeyRead.model_validate(row).model_dump(), "key": key})


@router.get("", response_model=ApiKeyList)
def list_api_keys(
    uow: Uow,
    actor: Admin,
    page: Page,
    organization_id: Annotated[uuid.UUID | None, Query()] = None,
) -> ApiKeyList:
    result = apikey_service.list_(
        uow, actor, organization_id=organization_id, offset=page.offset, limit=page.limit
    )
    return ApiKeyList(
        api_keys=[ApiKeyRead.model_validate(k) for k in result.items],
        total_count=result.total_count,
        offset=result.offset,
        limit=result.limit,
    )


@router.get("/{api_key_id}", response_model=ApiKeyRead)
def get_api_key(api_key_id: ApiKeyId, uow: Uow, actor: Admin) -> ApiKeyRead:
    return ApiKeyRead.model_validate(apikey_service.get(uow, actor, api_key_id))


@router.delete("/{api_key_id}", response_model=ApiKeyRead)
def revoke_api_key(api_key_id: ApiKeyId, uow: Uow, actor: Admin) -> ApiKeyRead:
    """Revoke the key: it stops working at once; the record stays, with ``revoked_at``."""
    return ApiKeyRead.model_validate(apikey_service.revoke(uow, actor, api_key_id))
