from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from qrap_core.db import Base, JsonType, utcnow


class AuditLogEntry(Base):
    """Append-only: the database refuses UPDATE and DELETE on this table (see the migration)."""

    __tablename__ = "qrap_audit_log"
    __table_args__ = (Index("ix_qrap_audit_log_org_time", "organization_id", "occurred_at"),)

    # SQLite only auto-increments an INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    actor_type: Mapped[str] = mapped_column(String(32))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
