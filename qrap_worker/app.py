"""The Celery app: named queues, late ack, one prefetched message per process.

Settings follow docs/reliability.md, checked on celery 5.7 / kombu 5.7: a message is acknowledged
only after its task ran, a child killed mid-task puts its message back, and PostgreSQL (not the
broker) holds job state, attempts and webhook retry times, so no task carries a countdown or ETA
longer than the visibility timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from celery import Celery, Task
from celery.signals import (
    import_modules,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
)
from kombu import Queue

from qrap_core.db import DeferredTask
from qrap_core.logging import get_logger
from qrap_core.scoring.device import device_refusal, pool_queues
from qrap_core.settings import Settings, get_settings
from qrap_worker import runtime
from qrap_worker.queues import QUEUES

log = get_logger(__name__)


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
        # Chunks name their pool's queue when they are sent (assessment.chunks.Pools):
        # scoring.cpu, or scoring.gpu for big ones when a GPU pool runs; the rest stays here.
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
        # A new pool process loads the risk model before it takes a task (_warm_up): longer
        # than Celery's 4 s default on a busy machine, and no task's time limit pays for it.
        "worker_proc_alive_timeout": 60.0,
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


def make_dispatcher(app: Celery) -> Callable[[DeferredTask], None]:
    """The UnitOfWork dispatcher for the service: publish by task name, after commit.

    The request id and assessment id of the log context travel in the message's headers
    (``runtime.TRACE_HEADERS``); the worker binds them for the task's log lines. A failed
    publish is logged, not raised: the row is committed, so the caller has its answer, and the
    sweeper re-sends runs left QUEUED (the outbox is the run table itself).
    """

    def dispatch(task: DeferredTask) -> None:
        options: dict[str, Any] = {}
        if task.queue:
            options["queue"] = task.queue
        bound = structlog.contextvars.get_contextvars()
        headers = {
            header: str(bound[key]) for key, header in runtime.TRACE_HEADERS.items() if key in bound
        }
        try:
            app.send_task(
                task.name,
                kwargs=task.kwargs,
                headers=headers,
                retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
                **options,
            )
        except Exception as exc:  # kombu raises several unrelated types for a broker that's down
            log.warning("task.publish_failed", task=task.name, error=f"{type(exc).__name__}: {exc}")

    return dispatch


dispatch = make_dispatcher(celery_app)


# Process signals: logging, metrics and the log context of each task (qrap_worker/runtime.py).


@setup_logging.connect
def _setup_logging(**_: object) -> None:
    # Connected, so Celery leaves logging to us and no longer turns our stderr into WARNING
    # lines of ForkPoolWorker; the level is QRAP_LOG_LEVEL, whatever `-l` says.
    runtime.configure_logging(periodic_tasks(get_settings()))


@worker_init.connect
def _join_its_pool(sender: Any = None, **_: object) -> None:
    # Before anything starts: a GPU worker without CUDA stops here, with why (SystemExit, as
    # Celery's signal dispatch swallows exceptions); then the queues fit the device.
    settings = get_settings()
    refusal = device_refusal(settings.worker_device)
    if refusal is not None:
        raise SystemExit(refusal)
    queues = getattr(getattr(getattr(sender, "app", None), "amqp", None), "queues", None)
    if queues is not None:
        add, drop = pool_queues(settings.worker_device, set(queues.consume_from))
        for name in sorted(add):
            queues.select_add(name)
        if drop:
            queues.deselect(sorted(drop))
            log.warning("worker.queue_dropped", queues=sorted(drop), device="cpu")


@worker_init.connect
def _start_metrics(sender: Any = None, **_: object) -> None:
    # sender: the WorkController, its pool still named as given (`-P`, worker_pool). Logging
    # is set up later in the worker's start; this process's first lines need it already.
    runtime.configure_logging(periodic_tasks(get_settings()))
    runtime.start_metrics_server(get_settings(), str(getattr(sender, "pool_cls", "prefork")))


@worker_process_init.connect
def _warm_up(**_: object) -> None:
    # In each pool process after the fork (XGBoost is not fork-safe once its threads run):
    # the model and its explanation tables load here, not inside the first task's time limit.
    runtime.executor().warm_up()


@worker_process_shutdown.connect
def _process_exits(**_: object) -> None:
    runtime.process_exits(get_settings())


@task_prerun.connect
def _bind_task(
    task_id: str, task: Task[Any, Any], kwargs: dict[str, Any] | None = None, **_: object
) -> None:
    runtime.bind_task(task_id, task.name, task.request, kwargs or {})


@task_postrun.connect
def _unbind_task(**_: object) -> None:
    structlog.contextvars.clear_contextvars()


@import_modules.connect
def _refuse_flower_without_auth(**_: object) -> None:
    runtime.check_flower_auth(get_settings())


def periodic_tasks(settings: Settings) -> frozenset[str]:
    """The task names beat sends on a schedule (their routine log lines are debug)."""
    return frozenset(entry["task"] for entry in beat_schedule(settings).values())
