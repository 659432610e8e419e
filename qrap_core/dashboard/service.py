"""What the dashboard shows, read from the stored runs; every query keeps to the caller's
organizations. Nothing here writes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Subquery, case, func, select, true

from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.audit.service import Actor
from qrap_core.db import UnitOfWork
from qrap_core.enums import AssessmentStatus, FindingCategory, RiskLevel, TriageStatus
from qrap_core.finding.models import Finding
from qrap_core.pagination import Page
from qrap_core.scoring.aggregate import combine_scores, overall_risk_for

FindingSort = Literal["level", "score", "category", "asset", "status", "title"]
FINDING_SORTS: tuple[FindingSort, ...] = ("level", "score", "category", "asset", "status", "title")
_LEVEL_RANK = case(
    {level.value: index for index, level in enumerate(RiskLevel)},
    value=Finding.risk_level,
    else_=len(RiskLevel),
)
_SORT_COLUMNS: dict[str, tuple[Any, ...]] = {
    "level": (_LEVEL_RANK, Finding.risk_score.desc()),
    "score": (Finding.risk_score.desc(), _LEVEL_RANK),
    "category": (Finding.category, _LEVEL_RANK),
    "asset": (Finding.affected_asset, _LEVEL_RANK),
    "status": (Finding.triage_status, _LEVEL_RANK),
    "title": (Finding.title, _LEVEL_RANK),
}
TREND_LIMIT = 200  # the latest completed runs drawn in the trend


@dataclass(frozen=True)
class TrendPoint:
    """One completed run: when it ended and what it scored."""

    assessment: str
    run_number: int
    completed_at: datetime
    risk_score: float
    pqc_readiness: float


@dataclass(frozen=True)
class Overview:
    """Roll-ups over the latest completed run of every assessment in scope."""

    assessments: int
    assessed: int  # assessments with at least one completed run
    risk_score: float | None  # 0.6 x max + 0.4 x mean of those runs' scores, as for a run
    overall_risk: RiskLevel | None
    pqc_readiness: float | None  # percent, weighted by the assets each run scanned
    by_level: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_category_level: dict[str, dict[str, int]] = field(default_factory=dict)
    trend: list[TrendPoint] = field(default_factory=list)


def _in_scope(column: Any, actor: Actor, organization_id: uuid.UUID | None) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = true()
    if actor.org_ids is not None:
        condition = condition & column.in_(actor.org_ids)
    if organization_id is not None:
        condition = condition & (column == organization_id)
    return condition


def latest_completed_runs(actor: Actor, organization_id: uuid.UUID | None = None) -> Subquery:
    """Each assessment's latest completed run in scope: (assessment_id, run_id)."""
    ranked = (
        select(
            AssessmentRun.assessment_id,
            AssessmentRun.id.label("run_id"),
            func.row_number()
            .over(
                partition_by=AssessmentRun.assessment_id, order_by=AssessmentRun.run_number.desc()
            )
            .label("rank"),
        )
        .where(
            AssessmentRun.status == AssessmentStatus.COMPLETED,
            _in_scope(AssessmentRun.organization_id, actor, organization_id),
        )
        .subquery()
    )
    return select(ranked.c.assessment_id, ranked.c.run_id).where(ranked.c.rank == 1).subquery()


def overview(uow: UnitOfWork, actor: Actor, organization_id: uuid.UUID | None) -> Overview:
    """Risk, readiness and findings of the latest completed runs; the trend over all runs."""
    latest = latest_completed_runs(actor, organization_id)
    assessments = uow.session.scalar(
        select(func.count(Assessment.id)).where(
            _in_scope(Assessment.organization_id, actor, organization_id)
        )
    )
    runs = uow.session.scalars(
        select(AssessmentRun).where(AssessmentRun.id.in_(select(latest.c.run_id)))
    ).all()
    scores = [run.risk_score for run in runs if run.risk_score is not None]
    score = round(combine_scores(scores), 1) if scores else None
    levels: dict[str, dict[str, int]] = {}
    rows = uow.session.execute(
        select(Finding.category, Finding.risk_level, func.count())
        .where(Finding.run_id.in_(select(latest.c.run_id)))
        .group_by(Finding.category, Finding.risk_level)
    ).all()
    for category, level, count in rows:
        levels.setdefault(category, {})[level] = count
    return Overview(
        assessments=assessments or 0,
        assessed=len(runs),
        risk_score=score,
        overall_risk=overall_risk_for(score) if score is not None else None,
        pqc_readiness=_readiness(runs),
        by_level=_totals_by_level(levels),
        by_category={
            category.value: sum(levels.get(category.value, {}).values())
            for category in FindingCategory
        },
        by_category_level=levels,
        trend=trend(uow, actor, organization_id),
    )


def _readiness(runs: Sequence[AssessmentRun]) -> float | None:
    weighted = [
        (run.pqc_readiness, max(1, int((run.summary or {}).get("assets_scanned", 0))))
        for run in runs
        if run.pqc_readiness is not None
    ]
    if not weighted:
        return None
    total = sum(weight for _, weight in weighted)
    return round(sum(value * weight for value, weight in weighted) / total, 1)


def _totals_by_level(levels: dict[str, dict[str, int]]) -> dict[str, int]:
    return {
        level.value: sum(counts.get(level.value, 0) for counts in levels.values())
        for level in RiskLevel
    }


def trend(uow: UnitOfWork, actor: Actor, organization_id: uuid.UUID | None) -> list[TrendPoint]:
    """The latest ``TREND_LIMIT`` completed runs in scope, oldest first."""
    rows = uow.session.execute(
        select(Assessment.name, AssessmentRun)
        .join(Assessment, Assessment.id == AssessmentRun.assessment_id)
        .where(
            AssessmentRun.status == AssessmentStatus.COMPLETED,
            AssessmentRun.completed_at.is_not(None),
            _in_scope(AssessmentRun.organization_id, actor, organization_id),
        )
        .order_by(AssessmentRun.completed_at.desc(), AssessmentRun.id)
        .limit(TREND_LIMIT)
    ).all()
    points = [
        TrendPoint(
            assessment=name,
            run_number=run.run_number,
            completed_at=run.completed_at,
            risk_score=run.risk_score or 0.0,
            pqc_readiness=run.pqc_readiness or 0.0,
        )
        for name, run in rows
        if run.completed_at is not None
    ]
    return points[::-1]


@dataclass(frozen=True)
class FindingFilter:
    organization_id: uuid.UUID | None = None
    assessment_id: uuid.UUID | None = None
    risk_level: RiskLevel | None = None
    category: FindingCategory | None = None
    triage_status: TriageStatus | None = None
    sort: FindingSort = "level"


def findings(
    uow: UnitOfWork, actor: Actor, spec: FindingFilter, *, offset: int, limit: int
) -> Page[tuple[Finding, str]]:
    """Findings of each assessment's latest completed run, with the assessment's name."""
    latest = latest_completed_runs(actor, spec.organization_id)
    query = (
        select(Finding, Assessment.name)
        .join(Assessment, Assessment.id == Finding.assessment_id)
        .where(Finding.run_id.in_(select(latest.c.run_id)))
    )
    if spec.assessment_id is not None:
        query = query.where(Finding.assessment_id == spec.assessment_id)
    if spec.risk_level is not None:
        query = query.where(Finding.risk_level == spec.risk_level)
    if spec.category is not None:
        query = query.where(Finding.category == spec.category)
    if spec.triage_status is not None:
        query = query.where(Finding.triage_status == spec.triage_status)
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = uow.session.execute(
        query.order_by(*_SORT_COLUMNS[spec.sort], Finding.id).offset(offset).limit(limit)
    ).all()
    return Page([(finding, name) for finding, name in rows], total, offset, limit)
