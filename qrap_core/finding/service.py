"""Findings and crypto assets: read access, scoped to the caller's organizations."""

from __future__ import annotations

import uuid

from sqlalchemy import case, func, select

from qrap_core.assessment import service as assessment_service
from qrap_core.audit.service import Actor
from qrap_core.db import UnitOfWork
from qrap_core.enums import FindingCategory, RiskLevel
from qrap_core.errors import FindingNotFound
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.pagination import Page

_LEVEL_ORDER = case(
    {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFO": 4}, value=Finding.risk_level
)


def _run_id(
    uow: UnitOfWork, actor: Actor, assessment_id: uuid.UUID, run_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The run to read: the one asked for, else the latest completed one."""
    assessment = assessment_service.get(uow, actor, assessment_id)
    if run_id is not None:
        return run_id
    run = assessment_service.latest_run(uow, assessment.id, completed=True)
    return run.id if run is not None else None


def list_(
    uow: UnitOfWork,
    actor: Actor,
    *,
    assessment_id: uuid.UUID,
    run_id: uuid.UUID | None = None,
    risk_level: RiskLevel | None = None,
    category: FindingCategory | None = None,
    offset: int,
    limit: int,
) -> Page[Finding]:
    chosen = _run_id(uow, actor, assessment_id, run_id)
    if chosen is None:
        return Page([], 0, offset, limit)
    query = select(Finding).where(Finding.assessment_id == assessment_id, Finding.run_id == chosen)
    if risk_level is not None:
        query = query.where(Finding.risk_level == risk_level)
    if category is not None:
        query = query.where(Finding.category == category)
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = uow.session.scalars(
        query.order_by(_LEVEL_ORDER, Finding.risk_score.desc(), Finding.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return Page(list(rows), total, offset, limit)


def all_for_run(uow: UnitOfWork, run_id: uuid.UUID) -> list[Finding]:
    return list(
        uow.session.scalars(
            select(Finding)
            .where(Finding.run_id == run_id)
            .order_by(_LEVEL_ORDER, Finding.risk_score.desc(), Finding.id)
        )
    )


def get(uow: UnitOfWork, actor: Actor, finding_id: uuid.UUID) -> Finding:
    finding = uow.session.get(Finding, finding_id)
    if finding is None or not actor.can_access(finding.organization_id):
        raise FindingNotFound(f"finding {finding_id} not found")
    return finding


def assets(
    uow: UnitOfWork,
    actor: Actor,
    *,
    assessment_id: uuid.UUID,
    run_id: uuid.UUID | None = None,
    offset: int,
    limit: int,
) -> Page[CryptoAssetRecord]:
    chosen = _run_id(uow, actor, assessment_id, run_id)
    if chosen is None:
        return Page([], 0, offset, limit)
    query = select(CryptoAssetRecord).where(
        CryptoAssetRecord.assessment_id == assessment_id, CryptoAssetRecord.run_id == chosen
    )
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = uow.session.scalars(
        query.order_by(
            CryptoAssetRecord.quantum_risk_score.desc(),
            CryptoAssetRecord.location,
            CryptoAssetRecord.id,
        )
        .offset(offset)
        .limit(limit)
    ).all()
    return Page(list(rows), total, offset, limit)


def all_assets_for_run(uow: UnitOfWork, run_id: uuid.UUID) -> list[CryptoAssetRecord]:
    return list(
        uow.session.scalars(
            select(CryptoAssetRecord)
            .where(CryptoAssetRecord.run_id == run_id)
            .order_by(CryptoAssetRecord.quantum_risk_score.desc(), CryptoAssetRecord.id)
        )
    )
