"""Request and response shapes of ``POST /score`` and ``POST /hndl`` (original fields first)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

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


# Request examples shown in the OpenAPI document (/docs) and the README; a test posts each.
SCORE_EXAMPLE: dict[str, JsonValue] = {
    "findings": [
        {
            "category": "WEAK_ALGORITHM",
            "risk_level": "CRITICAL",
            "affected_asset": "legacy-vpn",
            "current_algorithm": "RSA-1024",
            "recommended_algorithm": "ML-KEM-768",
        },
        {
            "category": "MISSING_PQC",
            "risk_level": "HIGH",
            "affected_asset": "api.example.com:443",
            "current_algorithm": "ECDHE-P256",
        },
    ],
    "total_assets": 12,
    "data_shelf_life_years": 15,
    "sensitivity": "high",
    "exposure": "internet",
}
HNDL_EXAMPLE: dict[str, JsonValue] = {
    "algorithm": "RSA-2048",
    "data_shelf_life_years": 15,
    "migration_time_years": 3,
}


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SCORE_EXAMPLE]})

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
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [HNDL_EXAMPLE]})

    algorithm: str = Field(min_length=1, max_length=255)
    # Whole years, as the original API took and answers it.
    data_shelf_life_years: int = Field(default=10, ge=0, le=100)
    # New fields: Mosca's y, the timeline assumption, the year the question is asked in.
    migration_time_years: float | None = Field(default=None, ge=0, le=50)
    threat_model: ThreatModelName | None = None
    reference_year: int | None = Field(default=None, ge=2000, le=2100)
    key_size: int | None = Field(default=None, ge=1, le=65536)


class HndlResponse(BaseModel):
    algorithm: str
    estimated_break_year: int = Field(
        description="the year a CRQC is as likely as not (the reference year for a classically "
        "broken algorithm; the survey's horizon year where no break is expected within it, "
        "e.g. for PQC and symmetric algorithms: see break_year_basis)"
    )
    data_shelf_life_years: int
    risk_window_years: int = Field(
        ge=0,
        description="whole years data recorded now stays secret after the estimated break "
        "(rounded up; 0 when it expires first or nothing can be decrypted)",
    )
    is_at_risk: bool = Field(description="urgency is above LOW")
    urgency: str = Field(
        description="the higher of the window's urgency (>= 10 years CRITICAL, >= 5 HIGH, > 0 "
        "MEDIUM) and the probability's (probability_at_risk >= 0.50 CRITICAL, >= 0.25 HIGH, "
        ">= 0.10 MEDIUM); else LOW"
    )
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
    break_year_basis: str = Field(description="broken-now, survey-median or survey-horizon")
