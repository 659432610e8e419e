from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from qrap_core import schedule as schedule_lib
from qrap_core.discovery.targets import Target
from qrap_core.errors import QrapError
from qrap_core.validation import Text
from qrap_core.webhook.schemas import check_webhook_url


class DataProfile(BaseModel):
    """What the protected data is like; drives harvest-now-decrypt-later judgements.

    Frozen: one profile travels a whole run, from the claim to the scoring model.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The original API spelled it data_shelf_life_years (as /hndl and /score still do).
    shelf_life_years: float | None = Field(
        default=None,
        ge=0,
        le=100,
        validation_alias=AliasChoices("shelf_life_years", "data_shelf_life_years"),
        description="how long the data must stay secret (also accepted as data_shelf_life_years)",
    )
    migration_years: float | None = Field(
        default=None, ge=0, le=50, description="how long moving this system to PQC will take"
    )
    sensitivity: Literal["low", "medium", "high", "critical"] | None = None
    exposure: Literal["internal", "partner", "internet"] | None = None

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> DataProfile:
        """The profile an assessments row holds; keys this version does not know are ignored,
        as they always were, so an older row still runs."""
        return cls.model_validate({k: v for k, v in stored.items() if k in cls.model_fields})


class AssessmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=255)
    organization_id: uuid.UUID
    target_assets: list[Annotated[Text, Field(max_length=2048)]] = Field(
        default_factory=list, max_length=1000
    )
    targets: list[Target] = Field(default_factory=list, max_length=1000)
    data_profile: DataProfile = Field(default_factory=DataProfile)
    run: bool = Field(default=False, description="queue a run right away (answers 202)")
    created_by: Text | None = Field(default=None, max_length=255)
    webhook_url: Text | None = Field(
        default=None,
        max_length=2048,
        description="http(s) URL that receives this assessment's signed events; the signing"
        " secret is in the creation response only",
    )
    schedule: Text | None = Field(
        default=None,
        max_length=255,
        description="cron expression (5 fields, UTC) or @daily/@weekly/...: beat starts a run"
        " when due, never while one is queued or running",
    )

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        return None if value is None else check_webhook_url(value)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return schedule_lib.validate(value)
        except QrapError as exc:
            raise ValueError(exc.details[0]["message"]) from None

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        return value


class AssessmentSummary(BaseModel):
    total_findings: int = 0
    critical_findings: int = 0
    high_findings: int = 0
    medium_findings: int = 0
    low_findings: int = 0
    info_findings: int = 0
    pqc_readiness_percentage: float = 0.0
    assets_scanned: int = 0
    targets_total: int = 0
    targets_failed: int = 0
    partial: bool = False  # some targets could not be assessed
    model_risk_score: float | None = None  # before the worst finding's floor (risk_floor)
    risk_floor: str | None = None


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    run_number: int
    status: str
    attempts: int
    progress: float
    targets_total: int
    targets_done: int
    risk_score: float | None
    overall_risk: str | None
    pqc_readiness: float | None
    summary: dict[str, Any] | None
    target_results: list[dict[str, Any]]
    model_version: str | None
    error: str | None
    triggered_by: str
    queued_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class AssessmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    organization_id: uuid.UUID
    status: str
    overall_risk: str | None
    risk_score: float
    target_assets: list[str]
    targets: list[dict[str, Any]]
    data_profile: dict[str, Any]
    summary: AssessmentSummary | None
    progress: float
    error: str | None
    run_count: int
    webhook_url: str | None = None
    schedule: str | None = None
    next_run_at: datetime | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
