from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from qrap_core.validation import Text

Role = Literal["viewer", "analyst", "admin"]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=255)
    role: Role
    organization_id: uuid.UUID
    expires_at: datetime | None = Field(
        default=None, description="when the key stops working (ISO 8601 with a time zone)"
    )

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        return value

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("must carry a time zone, e.g. 2027-01-01T00:00:00Z")
        try:
            # Stored in UTC: PostgreSQL refuses offsets beyond 15:59, which ISO 8601 allows.
            value = value.astimezone(UTC)
        except OverflowError:
            raise ValueError("out of range") from None
        if value <= datetime.now(UTC):
            raise ValueError("must be in the future")
        return value


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    role: str
    prefix: str = Field(description="the key's first characters, to recognise it")
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="the key itself: shown this once, never stored")
