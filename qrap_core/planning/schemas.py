"""Request and response shapes of ``POST /migration-plan`` (original fields first).

The CLI's ``qrap plan FILE`` reads the same request document.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from qrap_core.crypto.policy import Profile, Role
from qrap_core.discovery.inventory import parse_usage
from qrap_core.enums import RiskLevel
from qrap_core.planning.planner import MigrationPlan, PlanInput

Urgency = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]


class PlanAsset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset: str = Field(min_length=1, max_length=1024)
    algorithm: str = Field(min_length=1, max_length=255)
    urgency: Urgency = "MEDIUM"
    # New: what the planner needs to pick a target and an order.
    usage: str | None = Field(default=None, max_length=64)
    protocol: str | None = Field(default=None, max_length=64)
    key_size: int | None = Field(default=None, ge=1, le=65536)
    role: Role | None = None
    depends_on: list[str] = Field(default_factory=list, max_length=100)
    notes: str | None = Field(default=None, max_length=2000)

    @field_validator("urgency", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    def to_input(self) -> PlanInput:
        return PlanInput(
            asset=self.asset,
            algorithm=self.algorithm,
            urgency=RiskLevel(self.urgency),
            usage=parse_usage(self.usage),
            protocol=self.protocol,
            key_size=self.key_size,
            notes=self.notes,
            role=self.role,
            depends_on=tuple(self.depends_on),
        )


# A request example shown in the OpenAPI document (/docs) and the README; a test posts it.
MIGRATION_PLAN_EXAMPLE: dict[str, JsonValue] = {
    "profile": "nist",
    "assets": [
        {"asset": "vpn-gw", "algorithm": "RSA-2048", "urgency": "HIGH", "usage": "key-exchange"},
        {
            "asset": "code-signing",
            "algorithm": "ECDSA-P256",
            "urgency": "MEDIUM",
            "usage": "signature",
            "depends_on": ["vpn-gw"],
        },
    ],
}


class MigrationPlanRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [MIGRATION_PLAN_EXAMPLE]}
    )

    assets: list[PlanAsset] = Field(max_length=10_000)
    profile: Profile = "nist"


class StepRead(BaseModel):
    asset: str
    current_algorithm: str
    target_algorithm: str
    priority: str
    estimated_effort: str
    notes: str
    phase: int
    deadline: str | None
    depends_on: list[str]
    usage: str | None
    role: str | None


class PhaseRead(BaseModel):
    number: int
    key: str
    name: str
    description: str
    priority: str
    deadline: str | None
    depends_on: list[int]
    assets: list[str]


class SkippedRead(BaseModel):
    asset: str
    algorithm: str
    reason: str


class MigrationPlanFields(BaseModel):
    """``MigrationPlan.to_dict`` typed: what the API's answer and the report both carry."""

    steps: list[StepRead]
    total_assets: int
    critical_count: int
    estimated_phases: int
    phases: list[PhaseRead]
    skipped: list[SkippedRead]
    profile: str
    unknown_algorithms: list[str]


class MigrationPlanResponse(MigrationPlanFields):
    assessment_id: uuid.UUID | None = None
    run_id: uuid.UUID | None = None

    @classmethod
    def from_plan(cls, plan: MigrationPlan, **extra: Any) -> MigrationPlanResponse:
        return cls.model_validate(plan.to_dict() | extra)
