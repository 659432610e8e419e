"""Writing the audit trail: every mutation records who did what to which object."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from qrap_core.audit.models import AuditLogEntry
from qrap_core.db import UnitOfWork


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: an authenticated principal, the worker, or the embedded CLI.

    ``org_ids`` is the set of organizations the actor may see. ``None`` (every organization) is
    for the worker, the embedded CLI and platform admins only: the API gives it to a caller
    solely on an explicit platform-admin credential (a three-field ``admin`` key of
    QUANTUN_API_KEYS, or a token with ``platform_admin: true``), never for a missing claim.
    """

    subject: str
    kind: str = "user"  # user | api_key | system
    role: str = "admin"
    org_ids: frozenset[uuid.UUID] | None = None  # None: every organization (see above)
    request_id: str | None = None

    @property
    def platform_admin(self) -> bool:
        """Sees every organization and may create organizations."""
        return self.org_ids is None and self.role == "admin"

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
