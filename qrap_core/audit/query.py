"""Reading the audit trail: filtered, newest first, bounded to the caller's organizations."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, select

from qrap_core.audit.models import AuditLogEntry
from qrap_core.audit.schemas import AuditLogFilter
from qrap_core.audit.service import Actor
from qrap_core.db import UnitOfWork
from qrap_core.pagination import Page


def visible_organizations(actor: Actor) -> frozenset[uuid.UUID] | None:
    """The organizations whose entries ``actor`` may read; None for all of them.

    Entries without an organization (platform-wide events) are for platform admins only.
    """
    if getattr(actor, "platform_admin", False):
        return None
    return actor.org_ids


def list_(
    uow: UnitOfWork, actor: Actor, filters: AuditLogFilter, *, offset: int, limit: int
) -> Page[AuditLogEntry]:
    """The entries matching every given filter that ``actor`` may read, newest first.

    The caller checks the role (admins only); an organization outside ``actor``'s answers an
    empty page, like every other list.
    """
    query = _filtered(select(AuditLogEntry), filters)
    visible = visible_organizations(actor)
    if visible is not None:
        query = query.where(AuditLogEntry.organization_id.in_(visible))
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = uow.session.scalars(
        query.order_by(AuditLogEntry.occurred_at.desc(), AuditLogEntry.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return Page(list(rows), total, offset, limit)


def _filtered(query: Select[AuditLogEntry], filters: AuditLogFilter) -> Select[AuditLogEntry]:
    exact = [
        (AuditLogEntry.action, filters.action),
        (AuditLogEntry.object_type, filters.object_type),
        (AuditLogEntry.object_id, filters.object_id),
        (AuditLogEntry.actor, filters.actor),
        (AuditLogEntry.organization_id, filters.organization_id),
    ]
    for column, value in exact:
        if value is not None:
            query = query.where(column == value)
    if filters.since is not None:
        query = query.where(AuditLogEntry.occurred_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditLogEntry.occurred_at <= filters.until)
    return query
