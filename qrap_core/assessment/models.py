from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from qrap_core.db import Base, JsonType, new_id, utcnow
from qrap_core.enum_type import enum_type
from qrap_core.enums import AssessmentStatus, ExecutionOutcome

_STATUS_CHECK = (
    "status IN ('DRAFT','QUEUED','IN_PROGRESS','COMPLETED','FAILED','CANCELLED','ARCHIVED')"
)


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        Index("ix_assessments_org_status", "organization_id", "status"),
        Index("ix_assessments_next_run_at", "next_run_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[AssessmentStatus] = mapped_column(
        enum_type(AssessmentStatus, 16), default=AssessmentStatus.DRAFT
    )
    overall_risk: Mapped[str | None] = mapped_column(String(16))
    risk_score: Mapped[float] = mapped_column(Float, default=0.0)
    # The original API's list of strings, kept verbatim; `targets` holds the typed form.
    target_assets: Mapped[list[str]] = mapped_column(JsonType, default=list)
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    data_profile: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    webhook_url: Mapped[str | None] = mapped_column(String(2048))
    pqc_readiness: Mapped[float] = mapped_column(Float, default=0.0)
    assets_scanned: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    error: Mapped[str | None] = mapped_column(Text)
    schedule: Mapped[str | None] = mapped_column(String(255))
    # When beat next starts a run of a scheduled assessment (UTC); NULL without a schedule.
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    run_count: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class AssessmentRun(Base):
    """One execution of an assessment; its assets and findings hang off it, so history stays."""

    __tablename__ = "assessment_runs"
    __table_args__ = (
        UniqueConstraint("assessment_id", "run_number", name="uq_assessment_runs_number"),
        CheckConstraint(_STATUS_CHECK, name="status"),
        Index("ix_assessment_runs_status_lease", "status", "lease_expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    assessment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("assessments.id", ondelete="CASCADE")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    run_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[AssessmentStatus] = mapped_column(
        enum_type(AssessmentStatus, 16), default=AssessmentStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    targets_total: Mapped[int] = mapped_column(Integer, default=0)
    targets_done: Mapped[int] = mapped_column(Integer, default=0)
    risk_score: Mapped[float | None] = mapped_column(Float)
    overall_risk: Mapped[str | None] = mapped_column(String(16))
    pqc_readiness: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    target_results: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    # A run cut into chunks (run_chunks): how many, and how many have committed their rows.
    chunks_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chunks_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    model_version: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    triggered_by: Mapped[str] = mapped_column(String(255))
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RunExecution(Base):
    """One claim of a run by a worker: a redelivered or retried run leaves one row per try."""

    __tablename__ = "run_executions"
    __table_args__ = (UniqueConstraint("run_id", "attempt", name="uq_run_executions_attempt"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("assessment_runs.id", ondelete="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[ExecutionOutcome | None] = mapped_column(enum_type(ExecutionOutcome, 16))


class RunChunk(Base):
    """One slice of a big run's targets (``first_target`` up to ``end_target``, in the order the
    run resolved them): claimed, leased and written like a run, by any worker."""

    __tablename__ = "run_chunks"
    __table_args__ = (
        UniqueConstraint("run_id", "chunk_index", name="uq_run_chunks_index"),
        CheckConstraint(_STATUS_CHECK, name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("assessment_runs.id", ondelete="CASCADE")
    )
    chunk_index: Mapped[int] = mapped_column(Integer)
    first_target: Mapped[int] = mapped_column(Integer)
    end_target: Mapped[int] = mapped_column(Integer)
    status: Mapped[AssessmentStatus] = mapped_column(
        enum_type(AssessmentStatus, 16), default=AssessmentStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the chunk found, for the run's summary: counts, score sums, its targets' results.
    results: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RunInput(Base):
    """Something a run prepared for its chunks, by name: a slice of a big CBOM's components,
    or a part of its link index (``assessment.inputs``). Deleted when the run ends."""

    __tablename__ = "run_inputs"

    run_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("assessment_runs.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
