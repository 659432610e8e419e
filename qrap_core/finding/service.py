"""Findings and crypto assets: read access and analyst triage, scoped to the caller's
organizations."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import case, func, select

from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.audit import service as audit
from qrap_core.audit.service import Actor
from qrap_core.db import UnitOfWork
from qrap_core.enums import FindingCategory, RiskLevel, TriageStatus
from qrap_core.errors import FindingNotFound, InvalidInput
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.finding.schemas import FindingUpdate
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


def update(uow: UnitOfWork, actor: Actor, finding_id: uuid.UUID, spec: FindingUpdate) -> Finding:
    """Apply an analyst's triage; the audit log records each field's old and new value."""
    given = spec.model_fields_set
    if not given:
        raise InvalidInput(
            "nothing to update",
            details=[
                {
                    "field": "body",
                    "message": "give triage_status, analyst_risk_level or analyst_note",
                }
            ],
        )
    if "triage_status" in given and spec.triage_status is None:
        raise InvalidInput(
            "triage_status cannot be null",
            details=[{"field": "triage_status", "message": "one of open, accepted_risk, "
                      "false_positive, fixed"}],
        )  # fmt: skip
    finding = get(uow, actor, finding_id)
    changes: dict[str, dict[str, str | None]] = {}
    for name in sorted(given):
        value = getattr(spec, name)
        new = value.value if isinstance(value, TriageStatus | RiskLevel) else value
        old = getattr(finding, name)
        if old != new:
            setattr(finding, name, new)
            changes[name] = {"from": old, "to": new}
    uow.session.flush()
    audit.record(
        uow, actor, "finding.triaged", "finding", finding.id,
        organization_id=finding.organization_id,
        details={"changes": changes, "rule_id": finding.rule_id},
    )  # fmt: skip
    return finding


def feedback_verdicts(
    uow: UnitOfWork, organization_id: uuid.UUID | None = None
) -> list[tuple[CryptoAssetRecord, list[Finding], dict[str, object], datetime]]:
    """Assets that analysts judged: each with all its findings of that run, its assessment's
    data profile and when the run completed (the situation the verdict was about)."""
    judged = select(Finding.asset_id).where(
        Finding.asset_id.is_not(None),
        (Finding.analyst_risk_level.is_not(None)) | (Finding.triage_status == "false_positive"),
    )
    if organization_id is not None:
        judged = judged.where(Finding.organization_id == organization_id)
    rows = uow.session.execute(
        select(CryptoAssetRecord, Assessment.data_profile, AssessmentRun.completed_at)
        .join(Assessment, Assessment.id == CryptoAssetRecord.assessment_id)
        .join(AssessmentRun, AssessmentRun.id == CryptoAssetRecord.run_id)
        .where(CryptoAssetRecord.id.in_(judged.distinct()))
        .order_by(CryptoAssetRecord.id)
    ).all()
    ids = [asset.id for asset, _, _ in rows]
    findings: dict[uuid.UUID, list[Finding]] = {}
    for finding in uow.session.scalars(
        select(Finding).where(Finding.asset_id.in_(ids)).order_by(Finding.id)
    ):
        if finding.asset_id is not None:
            findings.setdefault(finding.asset_id, []).append(finding)
    return [
        (asset, findings.get(asset.id, []), dict(profile or {}), completed or asset.discovered_at)
        for asset, profile, completed in rows
    ]


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
