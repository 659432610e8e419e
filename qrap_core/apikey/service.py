"""API keys created through the API: bound to one organization, stored as a SHA-256 hash.

Keys are ``qrap_`` and 43 URL-safe characters (256 random bits), so a plain SHA-256 is a safe
store: there is nothing to guess that a slow hash would protect. Several keys may be valid at
once, so a key is rotated by creating the new one, moving clients over, then revoking the old.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select

from qrap_core.apikey.models import ApiKey
from qrap_core.apikey.schemas import ApiKeyCreate
from qrap_core.audit import service as audit
from qrap_core.audit.service import Actor
from qrap_core.db import UnitOfWork, utcnow
from qrap_core.errors import Forbidden, NotFound, OrganizationNotFound
from qrap_core.organization.models import Organization
from qrap_core.pagination import Page

KEY_PREFIX = "qrap_"
_VISIBLE_CHARS = len(KEY_PREFIX) + 8
ROLE_ORDER = ("viewer", "analyst", "admin")
# last_used_at is written at most this often per key, not on every request.
_LAST_USED_RESOLUTION = timedelta(seconds=60)


class ApiKeyNotFound(NotFound):
    pass


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create(uow: UnitOfWork, actor: Actor, spec: ApiKeyCreate) -> tuple[ApiKey, str]:
    """Create a key for ``spec.organization_id``; returns the row and the key (shown once).

    The caller must see the organization, and may not hand out a role above its own.
    """
    org = uow.session.get(Organization, spec.organization_id)
    if org is None or not actor.can_access(org.id):
        raise OrganizationNotFound(f"organization {spec.organization_id} not found")
    if ROLE_ORDER.index(spec.role) > ROLE_ORDER.index(actor.role):
        raise Forbidden(
            f"you cannot create a key with the {spec.role} role: yours is {actor.role}",
            details=[{"field": "role", "message": "above your own role"}],
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        organization_id=org.id,
        name=spec.name,
        role=spec.role,
        prefix=key[:_VISIBLE_CHARS],
        key_hash=hash_key(key),
        created_by=actor.subject,
        expires_at=spec.expires_at,
    )
    uow.session.add(row)
    uow.session.flush()
    audit.record(
        uow, actor, "api_key.create", "api_key", row.id, organization_id=org.id,
        details={"name": row.name, "role": row.role, "prefix": row.prefix},
    )  # fmt: skip
    return row, key


def get(uow: UnitOfWork, actor: Actor, key_id: uuid.UUID) -> ApiKey:
    row = uow.session.get(ApiKey, key_id)
    # Another tenant's key answers exactly like a missing one.
    if row is None or not actor.can_access(row.organization_id):
        raise ApiKeyNotFound(f"API key {key_id} not found")
    return row


def list_(
    uow: UnitOfWork,
    actor: Actor,
    *,
    organization_id: uuid.UUID | None,
    offset: int,
    limit: int,
) -> Page[ApiKey]:
    query = select(ApiKey)
    if actor.org_ids is not None:
        query = query.where(ApiKey.organization_id.in_(actor.org_ids))
    if organization_id is not None:
        query = query.where(ApiKey.organization_id == organization_id)
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = uow.session.scalars(
        query.order_by(ApiKey.created_at, ApiKey.id).offset(offset).limit(limit)
    ).all()
    return Page(list(rows), total, offset, limit)


def revoke(uow: UnitOfWork, actor: Actor, key_id: uuid.UUID) -> ApiKey:
    """Revoke a key at once; revoking a revoked key changes nothing."""
    row = get(uow, actor, key_id)
    if ROLE_ORDER.index(row.role) > ROLE_ORDER.index(actor.role):
        raise Forbidden(f"you cannot revoke a key with the {row.role} role")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        uow.session.flush()
        audit.record(
            uow, actor, "api_key.revoke", "api_key", row.id,
            organization_id=row.organization_id, details={"prefix": row.prefix},
        )  # fmt: skip
    return row


def authenticate(uow: UnitOfWork, presented: str, *, now: datetime | None = None) -> ApiKey | None:
    """The valid (not revoked, not expired) key ``presented`` is, or None; notes its use."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 256:
        return None
    row = uow.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(presented)))
    now = now or utcnow()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at >= _LAST_USED_RESOLUTION:
        row.last_used_at = now
        uow.session.flush()
    return row
