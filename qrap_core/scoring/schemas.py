"""Request and response shapes of ``POST /score`` and ``POST /hndl`` (original fields first)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ThreatModelName = Literal["pessimistic", "median", "optimistic"]
Sensitivity = Literal["low", "medium", "high", "critical"]
Exposure = Literal["internal", "partner", "internet"]


class ScoreFinding(BaseModel):
    """One finding as the original API took it; level and category are checked by the engine
    (so that the 400 names ``findings[i].risk_level``), case-insensitively."""

    category: str
    risk_level: str
    affected_asset: str | None = Field(default=None, max_length=1024)
    current_algorithm: str | None = Field(default=None, max_length=255)
    recommended_algorithm: str | None = Field(default=None, max_length=255)


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    findings: list[ScoreFinding] = Field(max_length=10_000)
    total_assets: int = Field(ge=0, le=10_000_000)
    # New: the assumptions the model weighs (defaults from the server's settings).
    data_shelf_life_years: float | None = Field(default=None, ge=0, le=100)
    migration_time_years: float | None = Field(default=None, ge=0, le=50)
    sensitivity: Sensitivity | None = None
    exposure: Exposure | None = None
    threat_model: ThreatModelName | None = None


class AssetScoreRead(BaseModel):
    affected_asset: str
    current_algorithm: str | None
    score: float
    explanation: list[dict[str, Any]]


class ScoreResponse(BaseModel):
    risk_score: float
    overall_risk: str
    pqc_readiness: float
    finding_breakdown: dict[str, int]
    model_version: str
    assets: list[AssetScoreRead]


class HndlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    algorithm: str = Field(min_length=1, max_length=255)
    data_shelf_life_years: float = Field(default=10, ge=0, le=100)
    # New fields: Mosca's y, the timeline assumption, the year the question is asked in.
    migration_time_years: float | None = Field(default=None, ge=0, le=50)
    threat_model: ThreatModelName | None = None
    reference_year: int | None = Field(default=None, ge=2000, le=2100)
    key_size: int | None = Field(default=None, ge=1, le=65536)


class HndlResponse(BaseModel):
    algorithm: str
    estimated_break_year: int | None
    data_shelf_life_years: float
    risk_window_years: float
    is_at_risk: bool
    urgency: str
    probability_at_risk: float
    threat_model: str
    migration_time_years: float
    reference_year: int
    canonical_algorithm: str
    survey_edition: str
    quantum_vulnerable: bool
    classically_broken: bool
    applies: bool
    note: str
    probability_by_year: list[dict[str, float]]
