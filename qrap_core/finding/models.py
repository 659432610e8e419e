from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from qrap_core.db import Base, JsonType, new_id, utcnow
from qrap_core.enum_type import enum_type
from qrap_core.enums import TriageStatus


class CryptoAssetRecord(Base):
    """A crypto asset discovered by one run (table `crypto_assets`)."""

    __tablename__ = "crypto_assets"
    __table_args__ = (
        UniqueConstraint("run_id", "fingerprint", name="uq_crypto_assets_run_fingerprint"),
        Index("ix_crypto_assets_assessment", "assessment_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("assessment_runs.id", ondelete="CASCADE")
    )
    assessment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("assessments.id", ondelete="CASCADE")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(1024))
    location: Mapped[str] = mapped_column(String(1024))
    algorithm: Mapped[str | None] = mapped_column(String(255))
    family: Mapped[str | None] = mapped_column(String(64))
    key_size: Mapped[int | None] = mapped_column(Integer)
    usage: Mapped[str] = mapped_column(String(32))
    protocol: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    quantum_risk_score: Mapped[float] = mapped_column(Float, default=0.0)
    explanation: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    fingerprint: Mapped[str] = mapped_column(String(64))
    discovered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Finding(Base):
    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("run_id", "fingerprint", name="uq_findings_run_fingerprint"),
        Index("ix_findings_assessment_level", "assessment_id", "risk_level"),
        Index("ix_findings_assessment_category", "assessment_id", "category"),
        CheckConstraint(
            "risk_level IN ('CRITICAL','HIGH','MEDIUM','LOW','INFO')", name="risk_level"
        ),
        CheckConstraint(
            "triage_status IN ('open','accepted_risk','false_positive','fixed')",
            name="triage_status",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    assessment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("assessments.id", ondelete="CASCADE")
    )
    run_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("assessment_runs.id", ondelete="CASCADE")
    )
    asset_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("crypto_assets.id", ondelete="SET NULL")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    category: Mapped[str] = mapped_column(String(64))
    risk_level: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    affected_asset: Mapped[str] = mapped_column(String(1024))
    current_algorithm: Mapped[str | None] = mapped_column(String(255))
    recommended_algorithm: Mapped[str | None] = mapped_column(String(255))
    remediation: Mapped[str | None] = mapped_column(Text)
    discovered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    rule_id: Mapped[str] = mapped_column(String(64))
    risk_score: Mapped[float] = mapped_column(Float, default=0.0)
    explanation: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    deadline: Mapped[date | None] = mapped_column(Date)
    references: Mapped[list[str]] = mapped_column(JsonType, default=list)
    triage_status: Mapped[TriageStatus] = mapped_column(
        enum_type(TriageStatus, 32), default=TriageStatus.OPEN
    )
    analyst_risk_level: Mapped[str | None] = mapped_column(String(16))
    analyst_note: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
