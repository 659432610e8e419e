"""Every transition of a run, each writing the run and then mirroring it onto its assessment.

QUEUED -> IN_PROGRESS (claim, again after a lapsed lease) -> COMPLETED | FAILED | CANCELLED.
A claim is a conditional UPDATE, so a duplicate or late message is a no-op; it returns the run
(RETURNING), so claiming reads nothing before it writes. A lease renewal only succeeds while
the renewing worker still holds the run. Each claim counts an attempt and opens a
``run_executions`` row; a run out of attempts ends FAILED. A terminal status and the
webhook messages announcing it are written in one transaction: the caller's. Nothing here
commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Update, or_, select, update

from qrap_core import metrics
from qrap_core.assessment.lease import Lease
from qrap_core.assessment.models import Assessment, AssessmentRun, RunChunk, RunExecution
from qrap_core.assessment.results import RunResults
from qrap_core.assessment.schemas import DataProfile
from qrap_core.audit import service as audit
from qrap_core.db import UnitOfWork, utcnow
from qrap_core.discovery.targets import TARGET_LIST_ADAPTER, Target
from qrap_core.enums import ACTIVE_STATUSES, AssessmentStatus, ExecutionOutcome
from qrap_core.webhook import service as webhook_service
from qrap_core.webhook.schemas import RunDiffCounts

RUN_TASK = "qrap.assessment.run"
RUN_QUEUE = "assessments"


@dataclass(frozen=True, slots=True)
class ClaimedRun:
    """A run this worker now holds, with its assessment's inputs as they were at the claim.

    The inputs stay as stored until the worker parses them inside its failure handling: a row
    that no longer parses then fails its run instead of undoing the claim.
    """

    run_id: uuid.UUID
    assessment_id: uuid.UUID
    organization_id: uuid.UUID
    run_number: int
    attempt: int
    target_assets: tuple[str, ...]
    targets: tuple[dict[str, Any], ...]
    data_profile: dict[str, Any]

    @classmethod
    def of(cls, run: AssessmentRun, assessment: Assessment) -> ClaimedRun:
        """The run as claimed now, its assessment's inputs copied out of the session."""
        return cls(
            run_id=run.id,
            assessment_id=assessment.id,
            organization_id=assessment.organization_id,
            run_number=run.run_number,
            attempt=run.attempts,
            target_assets=tuple(assessment.target_assets),
            targets=tuple(assessment.targets),
            data_profile=dict(assessment.data_profile or {}),
        )

    def parsed_targets(self) -> list[Target]:
        return TARGET_LIST_ADAPTER.validate_python(list(self.targets))

    def parsed_profile(self) -> DataProfile:
        return DataProfile.from_stored(self.data_profile)


def queue(
    uow: UnitOfWork, assessment: Assessment, *, triggered_by: str, max_attempts: int, now: datetime
) -> AssessmentRun:
    """Add the assessment's next run, QUEUED; its wake-up message is sent after the commit."""
    assessment.run_count += 1
    run = AssessmentRun(
        assessment_id=assessment.id,
        organization_id=assessment.organization_id,
        run_number=assessment.run_count,
        status=AssessmentStatus.QUEUED,
        attempts=0,
        max_attempts=max_attempts,
        progress=0.0,
        targets_total=0,
        targets_done=0,
        target_results=[],
        triggered_by=triggered_by,
        queued_at=now,
    )
    uow.session.add(run)
    assessment.status = AssessmentStatus.QUEUED
    assessment.progress = 0.0
    assessment.error = None
    assessment.completed_at = None
    assessment.updated_by = triggered_by
    uow.session.flush()  # the message below needs run.id
    uow.defer(RUN_TASK, queue=RUN_QUEUE, run_id=str(run.id))
    metrics.RUNS_SUBMITTED.inc()
    return run


def requeue(uow: UnitOfWork, run: AssessmentRun, now: datetime) -> None:
    """Send a stalled run's wake-up message again (the sweeper holds the run locked)."""
    if run.status == AssessmentStatus.QUEUED:
        # Restart the grace period so one lost message is re-sent once per period.
        run.queued_at = now
    uow.defer(RUN_TASK, queue=RUN_QUEUE, run_id=str(run.id))


def claim(
    uow: UnitOfWork,
    run_id: uuid.UUID,
    lease: Lease,
    now: datetime,
    *,
    count_targets: Callable[[ClaimedRun], int | None] | None = None,
) -> ClaimedRun | None:
    """Take the run for ``lease.owner``: a QUEUED run, one whose lease lapsed (taken over), or
    the owner's own (a retried task). None when it is not claimable; a lapsed run out of
    attempts is then ended FAILED.

    ``count_targets`` gives the run's number of targets (None when its inputs do not parse):
    the count is then written with the claim, in its transaction (``set_targets_total``)."""
    run = _take(uow, run_id, lease, now)
    if run is None:
        _give_up_if_exhausted(uow, run_id, now)
        return None
    # Mirrored by one UPDATE that also hands back the row (no read before the write).
    assessment = uow.session.scalars(
        update(Assessment)
        .where(Assessment.id == run.assessment_id)
        .values(status=AssessmentStatus.IN_PROGRESS, started_at=now, progress=0.0)
        .returning(Assessment)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).one()
    structlog.contextvars.bind_contextvars(assessment_id=str(assessment.id))  # the task's logs
    metrics.RUN_CLAIMS.labels("first" if run.attempts == 1 else "again").inc()
    if run.attempts > 1:
        # An earlier attempt that died left its execution open; it ended when its lease did.
        # The first claim has no earlier execution (only a claim opens one).
        uow.session.execute(
            update(RunExecution)
            .where(RunExecution.run_id == run_id, RunExecution.ended_at.is_(None))
            .values(ended_at=now, outcome=ExecutionOutcome.ABANDONED)
        )
    uow.session.add(
        RunExecution(run_id=run_id, attempt=run.attempts, worker=lease.owner, started_at=now)
    )
    if run.attempts == 1:
        webhook_service.enqueue_assessment_event(
            uow, "assessment.started", assessment, run, now=now
        )
    claimed = ClaimedRun.of(run, assessment)
    total = count_targets(claimed) if count_targets is not None else None
    if total is not None:
        run.targets_total = total
        run.targets_done = 0
    return claimed


def set_targets_total(uow: UnitOfWork, run_id: uuid.UUID, total: int) -> None:
    uow.session.execute(
        update(AssessmentRun)
        .where(AssessmentRun.id == run_id)
        .values(targets_total=total, targets_done=0)
    )


def renew(uow: UnitOfWork, run_id: uuid.UUID, lease: Lease, now: datetime) -> bool:
    """Push the lease forward; False when the run is no longer the owner's (cancelled, taken)."""
    return _renew(uow, run_id, lease, now, {})


def record_progress(
    uow: UnitOfWork, run_id: uuid.UUID, lease: Lease, now: datetime, *, done: int, progress: float
) -> uuid.UUID | None:
    """Renew the lease with the run's progress and mirror it; return the run's assessment id,
    None when the run is no longer the owner's (and nothing was written)."""
    renewal = _renewal(run_id, lease, now, {"targets_done": done, "progress": progress})
    assessment_id: uuid.UUID | None = uow.session.scalar(
        renewal.returning(AssessmentRun.assessment_id)
    )
    if assessment_id is None:
        return None
    uow.session.execute(
        update(Assessment).where(Assessment.id == assessment_id).values(progress=progress)
    )
    return assessment_id


def owned_run(uow: UnitOfWork, run_id: uuid.UUID, lease: Lease) -> AssessmentRun | None:
    """The run, locked, while ``lease.owner`` still holds it; None once cancelled or taken."""
    return uow.session.scalar(
        select(AssessmentRun)
        .where(
            AssessmentRun.id == run_id,
            AssessmentRun.status == AssessmentStatus.IN_PROGRESS,
            AssessmentRun.lease_owner == lease.owner,
        )
        .with_for_update()
    )


def complete(
    uow: UnitOfWork,
    run: AssessmentRun,
    results: RunResults,
    *,
    drift: RunDiffCounts,
    findings: int,
    now: datetime,
) -> None:
    """End an owned run COMPLETED and queue its ``assessment.completed`` webhooks."""
    summary = {**results.summary, "diff": drift.model_dump()}
    _record(run, results)
    run.status = AssessmentStatus.COMPLETED
    run.progress = 100.0
    run.risk_score = results.risk_score
    run.overall_risk = results.overall_risk
    run.pqc_readiness = results.pqc_readiness
    run.summary = summary
    run.completed_at = now
    run.lease_owner = None
    run.lease_expires_at = None
    # Mirrored by one UPDATE that also hands back the row (no read before the write).
    assessment = uow.session.scalars(
        update(Assessment)
        .where(Assessment.id == run.assessment_id)
        .values(
            status=AssessmentStatus.COMPLETED,
            risk_score=results.risk_score,
            overall_risk=results.overall_risk,
            pqc_readiness=results.pqc_readiness,
            assets_scanned=results.assets_scanned,
            summary=summary,
            progress=100.0,
            completed_at=now,
            error=None,
        )
        .returning(Assessment)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).one()
    _close_execution(uow, run.id, run.attempts, ExecutionOutcome.COMPLETED, now)
    metrics.run_ended("completed", run.started_at, now)
    metrics.ASSETS_SCORED.inc(results.assets_scanned)
    audit.record(
        uow, audit.SYSTEM, "assessment.run.completed", "assessment", assessment.id,
        organization_id=assessment.organization_id,
        details={"run_id": str(run.id), "findings": findings},
    )  # fmt: skip
    uow.session.flush()
    webhook_service.enqueue_assessment_event(
        uow, "assessment.completed", assessment, run, now=now, diff=drift
    )


def fail(
    uow: UnitOfWork,
    run: AssessmentRun,
    error: str,
    now: datetime,
    *,
    results: RunResults | None = None,
) -> None:
    """End a run FAILED and queue its ``assessment.failed`` webhooks, in the caller's transaction.

    The caller holds the run row locked and has checked it is still IN_PROGRESS (or QUEUED).
    ``results``: what the run did find out (each target's error), kept on the run.
    """
    error = error[:4000]
    if results is not None:
        _record(run, results)
    run.status = AssessmentStatus.FAILED
    run.error = error
    run.completed_at = now
    run.lease_owner = None
    run.lease_expires_at = None
    assessment = uow.session.get_one(Assessment, run.assessment_id)
    assessment.status = AssessmentStatus.FAILED
    assessment.error = error
    assessment.completed_at = now
    _close_execution(uow, run.id, run.attempts, ExecutionOutcome.FAILED, now)
    metrics.run_ended("failed", run.started_at, now)
    audit.record(
        uow, audit.SYSTEM, "assessment.run.failed", "assessment", assessment.id,
        organization_id=assessment.organization_id,
        details={"run_id": str(run.id), "error": error},
    )  # fmt: skip
    uow.session.flush()
    webhook_service.enqueue_assessment_event(uow, "assessment.failed", assessment, run, now=now)


def give_up(uow: UnitOfWork, run: AssessmentRun, now: datetime, reason: str | None = None) -> None:
    """End FAILED a run nobody may claim again: it used its last attempt."""
    suffix = f" ({reason})" if reason else ""
    fail(uow, run, f"gave up after {run.attempts} attempts{suffix}", now)


def cancel(uow: UnitOfWork, assessment: Assessment, *, by: str, now: datetime) -> None:
    """Cancel the assessment's queued or running run; its worker sees it at its next write."""
    uow.session.execute(
        update(AssessmentRun)
        .where(
            AssessmentRun.assessment_id == assessment.id,
            AssessmentRun.status.in_([s.value for s in ACTIVE_STATUSES]),
        )
        .values(status=AssessmentStatus.CANCELLED, completed_at=now, lease_owner=None)
    )
    # Chunks of the cancelled run that no worker started never start (a running one sees the
    # cancel at its next renewal).
    uow.session.execute(
        update(RunChunk)
        .where(
            RunChunk.run_id.in_(
                select(AssessmentRun.id).where(AssessmentRun.assessment_id == assessment.id)
            ),
            RunChunk.status == AssessmentStatus.QUEUED,
        )
        .values(status=AssessmentStatus.CANCELLED, completed_at=now)
        .execution_options(synchronize_session=False)
    )
    assessment.status = AssessmentStatus.CANCELLED
    assessment.completed_at = now
    assessment.updated_by = by
    uow.session.flush()


def mark_lost(uow: UnitOfWork, run_id: uuid.UUID, attempt: int, now: datetime) -> None:
    """Close the execution of a worker that lost its run (cancelled or taken over)."""
    _close_execution(uow, run_id, attempt, ExecutionOutcome.LOST, now)
    metrics.run_ended("lost", None, now)


def _take(uow: UnitOfWork, run_id: uuid.UUID, lease: Lease, now: datetime) -> AssessmentRun | None:
    """The conditional UPDATE that claims the run, handing back the claimed row (RETURNING);
    None when it matched nothing."""
    return uow.session.scalars(
        update(AssessmentRun)
        .where(
            AssessmentRun.id == run_id,
            AssessmentRun.attempts < AssessmentRun.max_attempts,
            or_(
                AssessmentRun.status == AssessmentStatus.QUEUED,
                (AssessmentRun.status == AssessmentStatus.IN_PROGRESS)
                & or_(
                    AssessmentRun.lease_expires_at < now,
                    AssessmentRun.lease_owner == lease.owner,
                ),
            ),
        )
        .values(
            status=AssessmentStatus.IN_PROGRESS,
            attempts=AssessmentRun.attempts + 1,
            lease_owner=lease.owner,
            lease_expires_at=lease.expires(now),
            heartbeat_at=now,
            started_at=now,
            error=None,
        )
        .returning(AssessmentRun)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).one_or_none()


def _give_up_if_exhausted(uow: UnitOfWork, run_id: uuid.UUID, now: datetime) -> None:
    """A run whose lease expired after its last allowed attempt ends FAILED, not stuck."""
    # Locked, so this and the sweeper cannot both fail the run (and announce it twice).
    run = uow.session.scalar(
        select(AssessmentRun).where(AssessmentRun.id == run_id).with_for_update()
    )
    if (
        run is not None
        and run.status == AssessmentStatus.IN_PROGRESS
        and run.attempts >= run.max_attempts
        and run.lease_expires_at is not None
        and _aware(run.lease_expires_at) < now
    ):
        give_up(uow, run, now)


def _renew(
    uow: UnitOfWork, run_id: uuid.UUID, lease: Lease, now: datetime, values: dict[str, Any]
) -> bool:
    result = uow.session.execute(_renewal(run_id, lease, now, values))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # CursorResult for UPDATE


def _renewal(run_id: uuid.UUID, lease: Lease, now: datetime, values: dict[str, Any]) -> Update:
    """The UPDATE that pushes the lease forward (with ``values``) while the owner holds it."""
    return (
        update(AssessmentRun)
        .where(
            AssessmentRun.id == run_id,
            AssessmentRun.status == AssessmentStatus.IN_PROGRESS,
            AssessmentRun.lease_owner == lease.owner,
        )
        .values(heartbeat_at=now, lease_expires_at=lease.expires(now), **values)
        .execution_options(synchronize_session=False)
    )


def _record(run: AssessmentRun, results: RunResults) -> None:
    run.targets_done = len(results.target_results)
    run.summary = results.summary
    run.target_results = results.target_results
    run.model_version = results.model_version


def _close_execution(
    uow: UnitOfWork, run_id: uuid.UUID, attempt: int, outcome: ExecutionOutcome, now: datetime
) -> None:
    uow.session.execute(
        update(RunExecution)
        .where(
            RunExecution.run_id == run_id,
            RunExecution.attempt == attempt,
            RunExecution.ended_at.is_(None),
        )
        .values(ended_at=now, outcome=outcome)
    )


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we write is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)
