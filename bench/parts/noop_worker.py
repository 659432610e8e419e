"""A Celery app with QRAP's configuration and one task that does nothing but count itself
(one Redis INCR), for e_small's ceiling: the broker's and Celery's own cost per task.

    celery -A bench.parts.noop_worker worker -Q assessments ...
"""

from __future__ import annotations

import redis
from celery import Celery

from qrap_core.settings import get_settings
from qrap_worker.app import configure

COUNTER = "bench:noop-done"
settings = get_settings()
app = Celery("bench-noop")
configure(app, settings)
_counter = redis.Redis.from_url(settings.celery_broker_url)


@app.task(name="bench.noop", acks_late=True)
def noop() -> None:
    """Counts its own run; nothing else."""
    _counter.incr(COUNTER)
