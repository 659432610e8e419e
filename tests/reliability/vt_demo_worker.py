"""`celery -A tests.reliability.vt_demo_worker worker`: the configuration docs/reliability.md
T9 warns against, for the demonstration only: a visibility timeout (30 s) shorter than a task
(40 s) and no time limit. kombu's restore scan runs every 2 s here so the demonstration is quick.

QRAP's own settings refuse this combination (the visibility timeout must be at least twice the
hard time limit); the demonstration shows what the run lease does when it happens anyway.
"""

from __future__ import annotations

from tests.reliability.faulty_worker import app

app.conf.update(
    broker_transport_options={
        "visibility_timeout": 30,
        "unacked_restore_interval": 2,
        "unacked_restore_throttle": 1,
    },
    visibility_timeout=30,
    task_time_limit=None,
    task_soft_time_limit=None,
)
