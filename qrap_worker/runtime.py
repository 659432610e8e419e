"""Per-process resources, built when a worker process starts (never at import)."""

from __future__ import annotations

from qrap_core.db import Database
from qrap_core.events import RedisPublisher
from qrap_core.logging import configure as configure_logging
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import get_settings

_executor: RunExecutor | None = None


def executor() -> RunExecutor:
    global _executor  # one executor per (forked) process, built on first use
    if _executor is None:
        settings = get_settings()
        configure_logging(settings.log_level, json=settings.env == "production")
        # Three connections: the task, the lease heartbeat thread, and one spare.
        db = Database(settings.sqlalchemy_url, pool_size=3, max_overflow=2)
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
