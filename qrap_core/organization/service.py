"""Organizations: the tenants that own assessments."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from qrap_core.audit import service as audit
from qrap_core.audit.service import Actor
from qrap_core.db import UnitOfWork
from qrap_core.errors import Conflict, OrganizationNotFound
from qrap_core.organization.models import Organization
from qrap_core.organization.schemas import OrganizationCreate
from qrap_core.pagination import Page


def create(uow: UnitOfWork, actor: Actor, spec: OrganizationCreate) -> Organization:
    """Create an organization; a taken name is a Conflict (also enforced by a unique index)."""
    taken = uow.session.scalar(select(Organization.id).where(Organization.name == spec.name))
    if taken is not None:
        raise Conflict(
            f"an organization named {spec.name!r} already exists",
            details=[{"field": "name", "message": "already exists"}],
        )
    creator = spec.created_by or actor.subject
    org = Organization(
        name=spec.name, description=spec.description, created_by=creator, updated_by=creator
    )
    uow.session.add(org)
    uow.session.flush()
    audit.record(
        uow, actor, "organization.create", "organization", org.id,
        organization_id=org.id, details={"name": org.name},
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
