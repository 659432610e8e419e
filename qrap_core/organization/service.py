"""Organizations: the tenants that own assessments."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from qrap_core.audit import service as audit
from qrap_core.audit.service import Actor
from qrap_core.db import UnitOfWork
from qrap_core.errors import Conflict, Forbidden, OrganizationNotFound
from qrap_core.organization.models import Organization
from qrap_core.organization.schemas import OrganizationCreate
from qrap_core.pagination import Page


def create(uow: UnitOfWork, actor: Actor, spec: OrganizationCreate) -> Organization:
    """Create an organization: platform admins only, so that the Conflict on a taken name
    (also enforced by a unique index) never tells a tenant which names other tenants use."""
    if not actor.platform_admin:
        raise Forbidden("only a platform admin may create organizations")
    taken = uow.session.scalar(select(Organization.id).where(Organization.name == spec.name))
    if taken is not None:
        raise Conflict(
            f"an organization named {spec.name!r} already exists",
            details=[{"field": "name", "message": "already exists"}],
        )
    # created_by is who authenticated; a value in the body (kept for old clients) is ignored.
    org = Organization(
        name=spec.name,
        description=spec.description,
        created_by=actor.subject,
        updated_by=actor.subject,
    )
    uow.session.add(org)
    uow.session.flush()
    details: dict[str, Any] = {"name": org.name}
    if spec.created_by is not None and spec.created_by != actor.subject:
        details["created_by_ignored"] = spec.created_by
    audit.record(
        uow, actor, "organization.create", "organization", org.id,
        organization_id=org.id, details=details,
    )  # fmt: skip
    return org


def get(uow: UnitOfWork, actor: Actor, org_id: uuid.UUID) -> Organization:
    org = uow.session.get(Organization, org_id)
    # Another tenant's organization answers exactly like a missing one.
    if org is None or not actor.can_access(org.id):
        raise OrganizationNotFound(f"organization {org_id} not found")
    return org


def list_(uow: UnitOfWork, actor: Actor, *, offset: int, limit: int) -> Page[Organization]:
    query = select(Organization)
    if actor.org_ids is not None:
        query = query.where(Organization.id.in_(actor.org_ids))
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = uow.session.scalars(
        query.order_by(Organization.created_at, Organization.id).offset(offset).limit(limit)
    ).all()
    return Page(list(rows), total, offset, limit)


def get_or_create_by_name(uow: UnitOfWork, actor: Actor, name: str) -> Organization:
    """Used by the embedded CLI, which keeps its runs under one local organization."""
    org = uow.session.scalar(select(Organization).where(Organization.name == name))
    if org is not None:
        return org
    return create(uow, actor, OrganizationCreate(name=name, description="embedded CLI runs"))
