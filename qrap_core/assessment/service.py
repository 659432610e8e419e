"""Assessments: create, queue a run, cancel, list. Runs are executed by `qrap_core.pipeline`;
the state changes themselves are `lifecycle`'s."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from qrap_core import schedule as schedule_lib
from qrap_core.artifact.models import AssessmentArtifact
from qrap_core.assessment import lifecycle
from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.assessment.schemas import AssessmentCreate
from qrap_core.audit import service as audit
from qrap_core.audit.service import Actor
from qrap_core.db import UnitOfWork, new_id, utcnow
from qrap_core.discovery import certificate
from qrap_core.discovery.targets import (
    CbomTarget,
    CertificateTarget,
    Target,
    parse_target_string,
)
from qrap_core.enums import ACTIVE_STATUSES, AssessmentStatus
from qrap_core.errors import AssessmentNotFound, Conflict, InvalidInput, InvalidState, QrapError
from qrap_core.organization import service as organization_service
from qrap_core.pagination import Page
from qrap_core.settings import get_settings
from qrap_core.webhook import service as webhook_service
from qrap_core.webhook.models import WebhookEndpoint


def resolve_targets(target_assets: list[str], targets: list[Target]) -> list[Target]:
    """Validate every target and return the typed list a run analyzes (strings first).

    Raises InvalidInput naming the offending field (``target_assets[2]``, ``targets[0].pem``).
    """
    resolved: list[Target] = []
    problems: list[dict[str, Any]] = []
    for index, raw in enumerate(target_assets):
        try:
            resolved.append(parse_target_string(raw))
        except QrapError as exc:
            problems.append({"field": f"target_assets[{index}]", "message": exc.message})
    for index, target in enumerate(targets):
        if isinstance(target, CertificateTarget):
            try:
                certificate.decode_target(target)
            except QrapError as exc:
                field = "der_base64" if target.der_base64 and not target.pem else "pem"
                problems.append({"field": f"targets[{index}].{field}", "message": exc.message})
                continue
        resolved.append(target)
    if problems:
        raise InvalidInput("invalid targets: " + problems[0]["message"], details=problems)
    return resolved


def check_artifacts(uow: UnitOfWork, organization_id: uuid.UUID, targets: list[Target]) -> None:
    """Every ``artifact_id`` a cbom target names must be a document this organization uploaded.

    Raises InvalidInput naming ``targets[i].artifact_id``: another organization's document is
    answered like an unknown one, so nobody learns which ids exist elsewhere.
    """
    wanted = {
        index: target.artifact_id
        for index, target in enumerate(targets)
        if isinstance(target, CbomTarget) and target.artifact_id is not None
    }
    if not wanted:
        return
    owned = set(
        uow.session.scalars(
            select(AssessmentArtifact.id).where(
                AssessmentArtifact.id.in_(set(wanted.values())),
                AssessmentArtifact.organization_id == organization_id,
            )
        )
    )
    problems = [
        {
            "field": f"targets[{index}].artifact_id",
            "message": f"no uploaded document {artifact_id} in this organization",
        }
        for index, artifact_id in wanted.items()
        if artifact_id not in owned
    ]
    if problems:
        raise InvalidInput("invalid targets: " + problems[0]["message"], details=problems)


@dataclass(frozen=True, slots=True)
class Submission:
    """What ``submit`` wrote: the assessment, its queued run and its webhook endpoint, if any."""

    assessment: Assessment
    run: AssessmentRun | None
    webhook: WebhookEndpoint | None


def create(uow: UnitOfWork, actor: Actor, spec: AssessmentCreate) -> Assessment:
    """Create an assessment; with ``spec.run`` also queue its first run (sent after commit)."""
    return submit(uow, actor, spec).assessment


def submit(uow: UnitOfWork, actor: Actor, spec: AssessmentCreate) -> Submission:
    """``create``, returning every row it wrote, so an answer needs no reads after it.

    The assessment gets its id here, so nothing is flushed before its run: one flush writes the
    assessment (already QUEUED) and its run, and both audit entries go in one INSERT after it.
    """
    org = organization_service.get(uow, actor, spec.organization_id)
    resolve_targets(spec.target_assets, spec.targets)
    check_artifacts(uow, org.id, spec.targets)
    if spec.run and not (spec.target_assets or spec.targets):
        raise InvalidInput(
            "an assessment to run needs at least one target",
            details=[{"field": "target_assets", "message": "empty"}],
        )
    assessment = _new_assessment(org.id, actor, spec)
    uow.session.add(assessment)
    webhook = None
    if spec.webhook_url:
        webhook = webhook_service.attach_to_assessment(
            uow, actor, assessment, spec.webhook_url, get_settings()
        )
    # A new assessment is DRAFT with targets, so start_run's other refusals cannot apply.
    run = _queue(uow, actor, assessment) if spec.run else None
    audit.record(
        uow, actor, "assessment.create", "assessment", assessment.id,
        organization_id=org.id, details=_creation_details(assessment, spec),
    )  # fmt: skip
    if run is not None:
        _record_run(uow, actor, assessment, run)
    uow.session.flush()  # the answer needs the defaults (created_at...) of every row
    return Submission(assessment, run, webhook)


def _new_assessment(organization_id: uuid.UUID, actor: Actor, spec: AssessmentCreate) -> Assessment:
    # The authenticated principal, never what the body claims (old clients still send it).
    creator = actor.subject
    return Assessment(
        id=new_id(),
        organization_id=organization_id,
        name=spec.name,
        status=AssessmentStatus.DRAFT,
        target_assets=list(spec.target_assets),
        targets=[t.model_dump(mode="json", exclude_none=True) for t in spec.targets],
        data_profile=spec.data_profile.model_dump(exclude_none=True),
        created_by=creator,
        updated_by=creator,
        risk_score=0.0,
        pqc_readiness=0.0,
        assets_scanned=0,
        progress=0.0,
        run_count=0,
        webhook_url=spec.webhook_url,
        schedule=spec.schedule,
        next_run_at=schedule_lib.next_due(spec.schedule, utcnow()) if spec.schedule else None,
    )


def _creation_details(assessment: Assessment, spec: AssessmentCreate) -> dict[str, Any]:
    details: dict[str, Any] = {"name": assessment.name, "run": spec.run}
    if spec.created_by is not None and spec.created_by != assessment.created_by:
        details["created_by_ignored"] = spec.created_by
    return details


def get(uow: UnitOfWork, actor: Actor, assessment_id: uuid.UUID) -> Assessment:
    assessment = uow.session.get(Assessment, assessment_id)
    if assessment is None or not actor.can_access(assessment.organization_id):
        raise AssessmentNotFound(f"assessment {assessment_id} not found")
    return assessment


def get_for_update(uow: UnitOfWork, actor: Actor, assessment_id: uuid.UUID) -> Assessment:
    """Lock the row so two concurrent run/cancel requests serialize (no-op on SQLite)."""
    assessment = uow.session.scalar(
        select(Assessment).where(Assessment.id == assessment_id).with_for_update()
    )
    if assessment is None or not actor.can_access(assessment.organization_id):
        raise AssessmentNotFound(f"assessment {assessment_id} not found")
    return assessment


def list_(
    uow: UnitOfWork,
    actor: Actor,
    *,
    organization_id: uuid.UUID | None,
    status: AssessmentStatus | None,
    offset: int,
    limit: int,
) -> Page[Assessment]:
    query = select(Assessment)
    if actor.org_ids is not None:
        query = query.where(Assessment.organization_id.in_(actor.org_ids))
    if organization_id is not None:
        query = query.where(Assessment.organization_id == organization_id)
    if status is not None:
        query = query.where(Assessment.status == status)
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = uow.session.scalars(
        query.order_by(Assessment.created_at.desc(), Assessment.id).offset(offset).limit(limit)
    ).all()
    return Page(list(rows), total, offset, limit)


def start_run(uow: UnitOfWork, actor: Actor, assessment: Assessment) -> AssessmentRun:
    """Queue a new run. One active run per assessment: a second request is a Conflict."""
    if assessment.status in ACTIVE_STATUSES:
        raise Conflict(f"assessment {assessment.id} already has a run {assessment.status}")
    if assessment.status == AssessmentStatus.ARCHIVED:
        raise InvalidState(f"assessment {assessment.id} is archived")
    if not (assessment.target_assets or assessment.targets):
        raise InvalidInput(
            "the assessment has no targets to analyze",
            details=[{"field": "target_assets", "message": "empty"}],
        )
    run = _queue(uow, actor, assessment)
    _record_run(uow, actor, assessment, run)
    return run


def _queue(uow: UnitOfWork, actor: Actor, assessment: Assessment) -> AssessmentRun:
    return lifecycle.queue(
        uow,
        assessment,
        triggered_by=actor.subject,
        max_attempts=get_settings().run_max_attempts,
        now=utcnow(),
    )


def _record_run(uow: UnitOfWork, actor: Actor, assessment: Assessment, run: AssessmentRun) -> None:
    audit.record(
        uow, actor, "assessment.run", "assessment", assessment.id,
        organization_id=assessment.organization_id,
        details={"run_id": str(run.id), "run_number": run.run_number},
    )  # fmt: skip


def cancel(uow: UnitOfWork, actor: Actor, assessment: Assessment) -> Assessment:
    """Cancel queued or running work; the worker sees the status and stops writing."""
    if assessment.status not in ACTIVE_STATUSES:
        raise InvalidState(
            f"assessment {assessment.id} is {assessment.status}; only QUEUED or IN_PROGRESS"
            " assessments can be cancelled"
        )
    lifecycle.cancel(uow, assessment, by=actor.subject, now=utcnow())
    audit.record(
        uow, actor, "assessment.cancel", "assessment", assessment.id,
        organization_id=assessment.organization_id,
    )  # fmt: skip
    return assessment


def runs(uow: UnitOfWork, actor: Actor, assessment_id: uuid.UUID) -> list[AssessmentRun]:
    assessment = get(uow, actor, assessment_id)
    return list(
        uow.session.scalars(
            select(AssessmentRun)
            .where(AssessmentRun.assessment_id == assessment.id)
            .order_by(AssessmentRun.run_number.desc())
        )
    )


def latest_run(
    uow: UnitOfWork, assessment_id: uuid.UUID, *, completed: bool = False
) -> AssessmentRun | None:
    query = select(AssessmentRun).where(AssessmentRun.assessment_id == assessment_id)
    if completed:
        query = query.where(AssessmentRun.status == AssessmentStatus.COMPLETED)
    return uow.session.scalar(query.order_by(AssessmentRun.run_number.desc()).limit(1))


def set_schedule(
    uow: UnitOfWork, actor: Actor, assessment: Assessment, expression: str | None
) -> Assessment:
    """Set or clear the cron schedule; the next run is due at its next firing (UTC)."""
    if expression is not None:
        expression = schedule_lib.validate(expression)
        if not (assessment.target_assets or assessment.targets):
            raise InvalidInput(
                "a scheduled assessment needs at least one target",
                details=[{"field": "schedule", "message": "the assessment has no targets"}],
            )
    assessment.schedule = expression
    assessment.next_run_at = schedule_lib.next_due(expression, utcnow()) if expression else None
    assessment.updated_by = actor.subject
    uow.session.flush()
    audit.record(
        uow, actor, "assessment.schedule", "assessment", assessment.id,
        organization_id=assessment.organization_id, details={"schedule": expression},
    )  # fmt: skip
    return assessment
