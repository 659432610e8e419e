"""Per-process resources, built when a worker process starts (never at import), and the
process's logging, metrics endpoint and per-task log context."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

import click
import structlog
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from qrap_core import metrics
from qrap_core.db import Database
from qrap_core.events import RedisPublisher
from qrap_core.logging import configure as configure_structlog
from qrap_core.logging import format_stdlib_records, get_logger
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings, get_settings

log = get_logger(__name__)

_executor: RunExecutor | None = None

# Log context key -> Celery message header: the API's request and the assessment it named.
TRACE_HEADERS = {"request_id": "qrap_request_id", "assessment_id": "qrap_assessment_id"}
# Task arguments worth a place on every log line of the task.
_TASK_IDS = ("run_id", "delivery_id")
# Celery's loggers that announce each task (sent, received, succeeded).
_ROUTINE_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


def executor() -> RunExecutor:
    global _executor  # one executor per (forked) process, built on first use
    if _executor is None:
        settings = get_settings()
        configure_structlog(settings.log_level, json=settings.env == "production")
        # Three connections: the task, the lease heartbeat thread, and one spare. No ping at
        # checkout (a round trip per transaction): a connection that died with the server fails
        # its task with OperationalError, which retries it (docs/reliability.md T20).
        db = Database(settings.sqlalchemy_url, pool_size=3, max_overflow=2, pre_ping=False)
        _executor = RunExecutor(db, settings, events=RedisPublisher(settings.redis_url))
    return _executor


def database() -> Database:
    return executor().db


def reset() -> None:
    """Drop the inherited engine after fork: connections must not be shared across processes."""
    global _executor
    if _executor is not None:
        _executor.db.engine.dispose(close=False)
    _executor = None


# -- logging --------------------------------------------------------------------------------


class QuietWakeUps(logging.Filter):
    """Turns Celery's info lines about the periodic tasks (every few seconds) into debug."""

    def __init__(self, tasks: frozenset[str]) -> None:
        super().__init__()
        self.tasks = tasks

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and any(t in record.getMessage() for t in self.tasks):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            # The logger let the record through at info; at debug it must pass the level again.
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def configure_logging(periodic_tasks: frozenset[str]) -> None:
    """QRAP_LOG_LEVEL for Celery's records and ours, in one format (JSON in production)."""
    settings = get_settings()
    json = settings.env == "production"
    configure_structlog(settings.log_level, json=json)
    format_stdlib_records(json=json)
    for name in _ROUTINE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QuietWakeUps) for f in logger.filters):
            logger.addFilter(QuietWakeUps(periodic_tasks))


def bind_task(task_id: str, name: str, request: Any, kwargs: Mapping[str, Any]) -> None:
    """Bind the task, its ids and the request that caused it for the task's log lines."""
    structlog.contextvars.clear_contextvars()
    bound: dict[str, str] = {"task": name, "task_id": task_id}
    for key, header in TRACE_HEADERS.items():
        value = getattr(request, header, None)
        if isinstance(value, str) and value:
            bound[key] = value
    bound.update({key: str(kwargs[key]) for key in _TASK_IDS if key in kwargs})
    structlog.contextvars.bind_contextvars(**bound)


# -- metrics --------------------------------------------------------------------------------


class _Merged(Collector):
    """Every process's values, merged from the multiprocess directory at each scrape."""

    def __init__(self, settings: Settings) -> None:
        self.directory = settings.prometheus_multiproc_dir

    def collect(self) -> Iterator[Metric]:
        yield from metrics.registry(self.directory).collect()


def start_metrics_server(settings: Settings, pool: str) -> None:
    """Serve this worker's metrics on QRAP_WORKER_METRICS_PORT (0: not at all).

    Called in the worker's main process before the pool starts. With the prefork pool the tasks
    run in child processes, whose values only PROMETHEUS_MULTIPROC_DIR brings together.
    """
    port = settings.worker_metrics_port
    if port == 0:
        return
    if settings.prometheus_multiproc_dir is None and "prefork" in pool.lower():
        log.warning(
            "worker.metrics_single_process",
            detail="set PROMETHEUS_MULTIPROC_DIR (an empty directory) before the worker starts:"
            " without it the pool's child processes' metrics are not served",
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Merged(settings))
    try:
        start_http_server(port, registry=registry)
    except OSError as exc:
        # A second worker on the same host: it runs, only without an endpoint of its own.
        log.warning("worker.metrics_port_unavailable", port=port, error=str(exc))
        return
    log.info("worker.metrics_serving", port=port)


def process_exits(settings: Settings) -> None:
    """A pool process ends: its live gauges must stop counting (its totals stay)."""
    if settings.prometheus_multiproc_dir is not None:
        metrics.forget_process(os.getpid(), settings.prometheus_multiproc_dir)


# -- Flower ---------------------------------------------------------------------------------


def check_flower_auth(settings: Settings) -> None:
    """Refuse to start Flower without authentication outside development.

    Runs whenever the Celery app loads its modules; acts only inside `celery flower`, after
    Flower read FLOWER_BASIC_AUTH (or --basic-auth, --auth) into its options.
    """
    context = click.get_current_context(silent=True)
    if context is None or context.command.name != "flower" or settings.env == "development":
        return
    from flower.options import options  # Flower is running: its parsed configuration

    if not (options.basic_auth or options.auth):
        # SystemExit, not an error: Celery's signal dispatch logs and swallows exceptions.
        raise SystemExit(
            f"Flower refuses to start without authentication (QRAP_ENV={settings.env}):"
            " set FLOWER_BASIC_AUTH=user:password (or --basic-auth); QRAP_ENV=development"
            " allows it on a private machine"
        )
