from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from qrap_core.enums import RiskLevel, TriageStatus
from qrap_core.validation import Text


class FindingRead(BaseModel):
    """The original finding fields plus rule, score, explanation, evidence and triage."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    assessment_id: uuid.UUID
    run_id: uuid.UUID
    asset_id: uuid.UUID | None
    category: str
    risk_level: str
    title: str
    description: str
    affected_asset: str
    current_algorithm: str | None
    recommended_algorithm: str | None
    remediation: str | None
    discovered_at: datetime
    rule_id: str
    risk_score: float
    explanation: list[dict[str, Any]]
    evidence: dict[str, Any]
    deadline: date | None
    references: list[str]
    triage_status: str
    analyst_risk_level: str | None
    analyst_note: str | None
    fingerprint: str


class CryptoAssetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    run_id: uuid.UUID
    kind: str
    name: str
    location: str
    algorithm: str | None
    family: str | None
    key_size: int | None
    usage: str
    protocol: str | None
    details: dict[str, Any]
    quantum_risk_score: float
    explanation: list[dict[str, Any]]
    discovered_at: datetime


class FindingUpdate(BaseModel):
    """An analyst's triage (``PATCH /findings/{id}``): any of the three fields; null clears
    the analyst's level or note. The verdicts are what ``qrap model train --feedback`` learns."""

    # Shown in the OpenAPI document (/docs) and the README; a test sends it.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "triage_status": "accepted_risk",
                    "analyst_risk_level": "MEDIUM",
                    "analyst_note": "internal only; replaced in Q3",
                }
            ]
        },
    )

    triage_status: TriageStatus | None = None
    analyst_risk_level: RiskLevel | None = None
    analyst_note: Text | None = Field(default=None, max_length=4000)
