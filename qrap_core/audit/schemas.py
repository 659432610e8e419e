"""What the audit-log endpoint accepts (filters) and answers (entries)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from qrap_core.validation import Text


class AuditLogFilter(BaseModel):
    """Every filter is optional; those given must all match. Times are inclusive, in UTC
    when the caller gives none."""

    model_config = ConfigDict(extra="forbid")

    action: Text | None = Field(default=None, max_length=64)
    object_type: Text | None = Field(default=None, max_length=64)
    object_id: Text | None = Field(default=None, max_length=64)
    actor: Text | None = Field(default=None, max_length=255, description="the actor's subject")
    organization_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None

    @model_validator(mode="after")
    def _ordered(self) -> AuditLogFilter:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError("since must not be after until")
        return self


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC, read as UTC when it carries no offset.

    Converted, not only labelled: PostgreSQL refuses offsets beyond 15:59, which ISO 8601
    allows. Raises OverflowError for an instant outside the calendar once converted.
    """
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


class AuditLogRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor: str
    actor_type: str
    organization_id: uuid.UUID | None
    action: str
    object_type: str
    object_id: str | None
    details: dict[str, Any]
    request_id: str | None
