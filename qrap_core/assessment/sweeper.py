"""Find runs whose wake-up message was lost and send it again; fail runs out of attempts.

The broker is not a database: a Redis flush or a worker killed with -9 can drop a message.
The run rows in PostgreSQL say what still has to happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, or_, select

from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.assessment.service import RUN_QUEUE, RUN_TASK
from qrap_core.audit import service as audit
from qrap_core.db import UnitOfWork, utcnow
from qrap_core.enums import AssessmentStatus


@dataclass(frozen=True, slots=True)
class SweepResult:
    requeued: int
    failed: int


def sweep(uow: UnitOfWork, *, queued_grace_seconds: int, batch: int = 100) -> SweepResult:
    """Re-send runs QUEUED longer than the grace period or whose lease expired."""
    now = utcnow()
    stale = now - timedelta(seconds=queued_grace_seconds)
    runs = uow.session.scalars(
        select(AssessmentRun)
        .where(
            or_(
                and_(
                    AssessmentRun.status == AssessmentStatus.QUEUED,
                    AssessmentRun.queued_at < stale,
                ),
                and_(
                    AssessmentRun.status == AssessmentStatus.IN_PROGRESS,
                    AssessmentRun.lease_expires_at < now,
                ),
            )
        )
        .order_by(AssessmentRun.queued_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    requeued = failed = 0
    for run in runs:
        if run.status == AssessmentStatus.IN_PROGRESS and run.attempts >= run.max_attempts:
            _fail(uow, run, f"gave up after {run.attempts} attempts (lease expired)")
            failed += 1
            continue
        if run.status == AssessmentStatus.QUEUED:
            # Restart the grace period so one lost message is re-sent once per period.
            run.queued_at = now
        uow.defer(RUN_TASK, queue=RUN_QUEUE, run_id=str(run.id))
        requeued += 1
    return SweepResult(requeued, failed)


def _fail(uow: UnitOfWork, run: AssessmentRun, error: str) -> None:
    now = utcnow()
    run.status = AssessmentStatus.FAILED
    run.error = error
    run.completed_at = now
    run.lease_owner = None
    assessment = uow.session.get_one(Assessment, run.assessment_id)
    assessment.status = AssessmentStatus.FAILED
    assessment.error = error
    assessment.completed_at = now
    audit.record(
        uow, audit.SYSTEM, "assessment.run.failed", "assessment", assessment.id,
        organization_id=assessment.organization_id,
        details={"run_id": str(run.id), "error": error},
    )  # fmt: skip
