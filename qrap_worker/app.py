"""The Celery app: named queues, late ack, one prefetched message per process.

Settings follow docs/reliability.md, checked on celery 5.7 / kombu 5.7: a message is acknowledged
only after its task ran, a child killed mid-task puts its message back, and PostgreSQL (not the
broker) holds job state, attempts and webhook retry times, so no task carries a countdown or ETA
longer than the visibility timeout.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Queue

from qrap_core.db import DeferredTask
from qrap_core.logging import get_logger
from qrap_core.settings import Settings, get_settings

log = get_logger(__name__)

QUEUES = ("assessments", "scoring.cpu", "scoring.gpu", "maintenance", "webhooks")


def max_countdown(settings: Settings) -> int:
    """The longest countdown any task may use (the run task's retry backoff cap).

    A message held for a countdown is unacked in Redis; held past the visibility timeout, kombu
    restores it and it runs twice (celery#2599). So: a quarter of the timeout, at most 60 s.
    """
    return max(1, min(60, settings.celery_visibility_timeout // 4))


def celery_config(settings: Settings) -> dict[str, Any]:
    """Every Celery setting QRAP relies on, derived from ``settings``."""
    visibility = settings.celery_visibility_timeout
    # kombu 5.7 (verified): unacked messages older than the visibility timeout are restored by
    # a scan every unacked_restore_interval * unacked_restore_throttle seconds (10 x 10 by
    # default). The DB sweeper is what bounds recovery; these only keep the scan explicit.
    transport = {
        "visibility_timeout": visibility,
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 10,
    }
    return {
        "broker_url": settings.celery_broker_url,
        "task_queues": [Queue(name) for name in QUEUES],
        "task_default_queue": "assessments",
        "task_routes": {
            "qrap.assessment.*": {"queue": "assessments"},
            "qrap.maintenance.*": {"queue": "maintenance"},
            "qrap.webhook.*": {"queue": "webhooks"},
        },
        "task_acks_late": True,
        # Celery acks a killed child's message on purpose, to avoid loops; we requeue it and
        # let the attempt cap in PostgreSQL stop a poison run (Redis has no requeue counter).
        "task_reject_on_worker_lost": settings.celery_reject_on_worker_lost,
        # celery 5.7 splits task_acks_on_failure_or_timeout (deprecated) into these two. Both
        # ack: failures are recorded in PostgreSQL, and requeueing a timed-out task loops.
        "task_acks_on_failure": True,
        "task_acks_on_timeout": True,
        "worker_prefetch_multiplier": 1,
        "worker_concurrency": settings.worker_concurrency,
        "task_time_limit": settings.celery_task_time_limit,
        "task_soft_time_limit": settings.celery_task_soft_time_limit,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        # All three are needed; the shortest wins when apps share a broker (celery#7651).
        "broker_transport_options": transport,
        "result_backend_transport_options": transport,
        "visibility_timeout": visibility,
        "broker_connection_retry_on_startup": True,
        "task_publish_retry": True,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_soft_shutdown_timeout": 30.0,
        "worker_enable_soft_shutdown_on_idle": True,
        "worker_hijack_root_logger": False,
        "beat_schedule": beat_schedule(settings),
        "timezone": "UTC",
    }


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Periodic wake-ups; each expires after its own interval so a backlog never builds up."""

    def every(task: str, seconds: float) -> dict[str, Any]:
        return {"task": task, "schedule": seconds, "options": {"expires": max(seconds, 1.0)}}

    return {
        "sweep-runs": every("qrap.maintenance.sweep", settings.sweep_interval_seconds),
        "start-scheduled-runs": every(
            "qrap.maintenance.schedules", settings.schedule_interval_seconds
        ),
        "dispatch-webhooks": every(
            "qrap.webhook.dispatch", settings.webhook_dispatch_interval_seconds
        ),
    }


def configure(app: Celery, settings: Settings) -> None:
    app.conf.update(celery_config(settings))


celery_app = Celery("qrap", include=["qrap_worker.tasks.assessments", "qrap_worker.tasks.webhooks"])
configure(celery_app, get_settings())
MAX_COUNTDOWN_SECONDS = max_countdown(get_settings())


def dispatch(task: DeferredTask) -> None:
    """The UnitOfWork dispatcher for the service: publish by task name, after commit.

    A failed publish is logged, not raised: the row is committed, so the caller has its answer,
    and the sweeper re-sends runs left QUEUED (the outbox is the run table itself).
    """
    options: dict[str, Any] = {}
    if task.queue:
        options["queue"] = task.queue
    try:
        celery_app.send_task(
            task.name,
            kwargs=task.kwargs,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
            **options,
        )
    except Exception as exc:  # kombu raises several unrelated types for a broker that is down
        log.warning("task.publish_failed", task=task.name, error=f"{type(exc).__name__}: {exc}")
