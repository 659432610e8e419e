"""Writing the audit trail: every mutation records who did what to which object."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from qrap_core.audit.models import AuditLogEntry
from qrap_core.db import UnitOfWork


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: an authenticated principal, the worker, or the embedded CLI."""

    subject: str
    kind: str = "user"  # user | api_key | system
    role: str = "admin"
    org_ids: frozenset[uuid.UUID] | None = None  # None: every organization
    request_id: str | None = None

    def can_access(self, organization_id: uuid.UUID) -> bool:
        return self.org_ids is None or organization_id in self.org_ids


SYSTEM = Actor(subject="qrap-worker", kind="system")


def record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: uuid.UUID | str | None,
    *,
    organization_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    uow.session.add(
        AuditLogEntry(
            actor=actor.subject,
            actor_type=actor.kind,
            organization_id=organization_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id) if object_id is not None else None,
            details=details or {},
            request_id=actor.request_id,
        )
    )
