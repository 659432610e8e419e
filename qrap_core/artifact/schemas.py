from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class ArtifactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    assessment_id: uuid.UUID
    kind: str
    filename: str
    media_type: str
    size: int
    sha256: str
    summary: dict[str, Any]
    created_by: str
    created_at: datetime
