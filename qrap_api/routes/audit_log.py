"""The audit trail, read-only: who changed what, for admins of the organizations concerned."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from qrap_api.deps import Admin, Page, Uow
from qrap_core.audit import query as audit_query
from qrap_core.audit.schemas import AuditLogFilter, AuditLogRead, as_utc
from qrap_core.errors import InvalidInput
from qrap_core.validation import Text

router = APIRouter(prefix="/api/v1/audit-log", tags=["audit"])


class AuditLogList(BaseModel):
    entries: list[AuditLogRead]
    total_count: int
    offset: int
    limit: int


@router.get("", response_model=AuditLogList)
def list_audit_log(
    uow: Uow,
    actor: Admin,
    page: Page,
    action: Annotated[Text | None, Query(max_length=64)] = None,
    object_type: Annotated[Text | None, Query(max_length=64)] = None,
    object_id: Annotated[Text | None, Query(max_length=64)] = None,
    actor_subject: Annotated[
        Text | None, Query(alias="actor", max_length=255, description="the actor's subject")
    ] = None,
    organization_id: uuid.UUID | None = None,
    since: Annotated[datetime | None, Query(description="inclusive; UTC if no offset")] = None,
    until: Annotated[datetime | None, Query(description="inclusive; UTC if no offset")] = None,
) -> AuditLogList:
    """Entries newest first. An organization-bound admin sees its organizations' entries only;
    entries of other organizations, and platform-wide ones, are left out as if absent."""
    since, until = _utc("since", since), _utc("until", until)
    if since is not None and until is not None and since > until:
        raise InvalidInput(
            "since must not be after until",
            details=[{"field": "since", "message": "must not be after until"}],
        )
    filters = AuditLogFilter(
        action=action,
        object_type=object_type,
        object_id=object_id,
        actor=actor_subject,
        organization_id=organization_id,
        since=since,
        until=until,
    )
    result = audit_query.list_(uow, actor, filters, offset=page.offset, limit=page.limit)
    return AuditLogList(
        entries=[AuditLogRead.model_validate(e) for e in result.items],
        total_count=result.total_count,
        offset=result.offset,
        limit=result.limit,
    )


def _utc(field: str, value: datetime | None) -> datetime | None:
    try:
        return as_utc(value) if value is not None else None
    except OverflowError:
        raise InvalidInput(
            f"{field} is out of range", details=[{"field": field, "message": "out of range"}]
        ) from None
