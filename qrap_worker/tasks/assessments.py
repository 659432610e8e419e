"""Assessment tasks: thin wrappers over qrap_core.pipeline and the sweeper."""

from __future__ import annotations

import uuid

from celery.signals import worker_process_init
from sqlalchemy.exc import InterfaceError, OperationalError

from qrap_core.assessment import sweeper
from qrap_core.idempotency import service as idempotency_service
from qrap_core.settings import get_settings
from qrap_worker import runtime
from qrap_worker.app import MAX_COUNTDOWN_SECONDS, celery_app, dispatch


@worker_process_init.connect
def _on_process_init(**_: object) -> None:
    runtime.reset()


@celery_app.task(
    name="qrap.assessment.run",
    acks_late=True,
    # A database outage (PostgreSQL restart) is retried with backoff; the run itself is safe to
    # run again. The backoff cap stays far below the broker's visibility timeout.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=MAX_COUNTDOWN_SECONDS,
    retry_jitter=True,
    max_retries=5,
)
def run_assessment(run_id: str) -> str:
    """Run one queued assessment run, or cut a big one into chunk tasks. Idempotent: a
    duplicate or late message is a no-op."""
    outcome = runtime.executor().execute(uuid.UUID(run_id), fan_out=dispatch)
    return outcome.status


@celery_app.task(
    name="qrap.assessment.chunk",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=MAX_COUNTDOWN_SECONDS,
    retry_jitter=True,
    max_retries=5,
)
def run_chunk(run_id: str, chunk: int) -> str:
    """Discover and score one chunk of a big run; the last chunk to commit ends the run.
    Idempotent: a duplicate, late or redelivered message claims nothing and changes nothing."""
    outcome = runtime.executor().execute_chunk(uuid.UUID(run_id), int(chunk))
    return outcome.status


@celery_app.task(name="qrap.maintenance.sweep", acks_late=True)
def sweep_runs() -> dict[str, int]:
    """Re-send lost run messages, fail runs out of attempts, drop expired idempotency keys."""
    settings = get_settings()
    with runtime.database().unit_of_work(dispatch) as uow:
        result = sweeper.sweep(uow, queued_grace_seconds=settings.run_requeue_after_seconds)
    with runtime.database().unit_of_work() as uow:
        purged = idempotency_service.purge_expired(uow)
    return {"requeued": result.requeued, "failed": result.failed, "keys_purged": purged}


@celery_app.task(name="qrap.maintenance.schedules", acks_late=True)
def start_scheduled_runs() -> int:
    """Queue a run of each recurring assessment that is due (beat)."""
    with runtime.database().unit_of_work(dispatch) as uow:
        return sweeper.start_due_schedules(uow)
