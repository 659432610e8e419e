"""Find runs whose wake-up message was lost and send it again; fail runs out of attempts;
start the runs of recurring assessments that are due.

The broker is not a database: a Redis flush or a worker killed with -9 can drop a message.
The run rows in PostgreSQL say what still has to happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from qrap_core import schedule
from qrap_core.assessment import inputs as run_inputs
from qrap_core.assessment import lifecycle
from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.audit.service import Actor
from qrap_core.db import UnitOfWork, utcnow
from qrap_core.enums import ACTIVE_STATUSES, AssessmentStatus
from qrap_core.logging import get_logger

log = get_logger(__name__)
SCHEDULER = Actor(subject="qrap-scheduler", kind="system")


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
        if run.attempts >= run.max_attempts:
            # Nobody may claim it again (the claim checks attempts), so end it here.
            reason = "lease expired" if run.status == AssessmentStatus.IN_PROGRESS else "queued"
            lifecycle.give_up(uow, run, now, reason)
            failed += 1
            continue
        lifecycle.requeue(uow, run, now)
        requeued += 1
    # What fanned-out runs prepared for their chunks, once they ended other than by their
    # last chunk (a cancel, a give-up): big CBOMs' slices are megabytes.
    discarded = run_inputs.discard_ended(uow)
    if requeued or failed or discarded:
        log.info("sweep.done", requeued=requeued, failed=failed, inputs_discarded=discarded)
    return SweepResult(requeued, failed)


def start_due_schedules(uow: UnitOfWork, *, now: datetime | None = None, batch: int = 100) -> int:
    """Queue a run of every scheduled assessment that is due; return how many were queued.

    A due assessment whose previous run is still queued or running gets no second run: that
    slot is skipped and the next one computed, so runs of one assessment never overlap.
    """
    now = now or utcnow()
    due = uow.session.scalars(
        select(Assessment)
        .where(Assessment.schedule.is_not(None), Assessment.next_run_at <= now)
        .order_by(Assessment.next_run_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    started = 0
    for assessment in due:
        expression = assessment.schedule or ""
        assessment.next_run_at = schedule.next_due(expression, now)
        if assessment.status in ACTIVE_STATUSES or assessment.status == AssessmentStatus.ARCHIVED:
            log.info("schedule.skipped", assessment_id=str(assessment.id), status=assessment.status)
            continue
        if not (assessment.target_assets or assessment.targets):
            continue
        assessment_service.start_run(uow, SCHEDULER, assessment)
        started += 1
    return started
