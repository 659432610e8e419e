"""Assessment tasks: thin wrappers over qrap_core.pipeline and the sweeper."""

from __future__ import annotations

import uuid

from celery.signals import worker_process_init
from sqlalchemy.exc import OperationalError

from qrap_core.assessment import sweeper
from qrap_core.settings import get_settings
from qrap_worker import runtime
from qrap_worker.app import celery_app, dispatch


@worker_process_init.connect
def _on_process_init(**_: object) -> None:
    runtime.reset()


@celery_app.task(
    name="qrap.assessment.run",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)
def run_assessment(run_id: str) -> str:
    """Run one queued assessment run. Idempotent: a duplicate or late message is a no-op."""
    outcome = runtime.executor().execute(uuid.UUID(run_id))
    return outcome.status


@celery_app.task(name="qrap.maintenance.sweep", acks_late=True)
def sweep_runs() -> dict[str, int]:
    """Re-send lost run messages and fail runs that used up their attempts (beat, every 30 s)."""
    settings = get_settings()
    with runtime.executor().db.unit_of_work(dispatch) as uow:
        result = sweeper.sweep(uow, queued_grace_seconds=settings.run_requeue_after_seconds)
    return {"requeued": result.requeued, "failed": result.failed}
