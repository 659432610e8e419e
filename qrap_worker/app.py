"""The Celery app: named queues, late ack, one prefetched message per process.

Settings follow RELIABILITY.md §3: a message is acknowledged only after its task ran, a child
killed mid-task puts its message back, and PostgreSQL (not the broker) holds job state.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Queue

from qrap_core.db import DeferredTask
from qrap_core.settings import Settings, get_settings

QUEUES = ("assessments", "scoring.cpu", "scoring.gpu", "maintenance")
VISIBILITY_TIMEOUT = 900


def configure(app: Celery, settings: Settings) -> None:
    transport = {"visibility_timeout": VISIBILITY_TIMEOUT}
    app.conf.update(
        broker_url=settings.celery_broker_url,
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="assessments",
        task_routes={
            "qrap.assessment.*": {"queue": "assessments"},
            "qrap.maintenance.*": {"queue": "maintenance"},
        },
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=settings.worker_concurrency,
        task_time_limit=300,
        task_soft_time_limit=270,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        visibility_timeout=VISIBILITY_TIMEOUT,
        broker_connection_retry_on_startup=True,
        task_publish_retry=True,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_soft_shutdown_timeout=30.0,
        worker_enable_soft_shutdown_on_idle=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            "sweep-runs": {"task": "qrap.maintenance.sweep", "schedule": 30.0},
        },
        timezone="UTC",
    )


celery_app = Celery("qrap", include=["qrap_worker.tasks.assessments"])
configure(celery_app, get_settings())


def dispatch(task: DeferredTask) -> None:
    """The UnitOfWork dispatcher for the service: publish by task name, after commit."""
    options: dict[str, Any] = {}
    if task.queue:
        options["queue"] = task.queue
    celery_app.send_task(task.name, kwargs=task.kwargs, **options)
