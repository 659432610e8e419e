"""`uvicorn --factory tests.reliability.faulty_api:create`: the real API plus test-only faults.

``crash_after_commit`` in QRAP_FAULT_FILE: the process dies (``os._exit(1)``) right after a
commit, before the task is published (docs/reliability.md T6). ``GET /test/slow?seconds=N`` holds a
database connection for N seconds (``pg_sleep``), for the graceful-shutdown test (T19).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import text

from qrap_api.app import create_app
from qrap_api.deps import Uow
from qrap_core.db import DeferredTask
from qrap_core.settings import get_settings
from qrap_worker.app import dispatch


def _crash_armed() -> bool:
    path = os.environ.get("QRAP_FAULT_FILE")
    if not path or not Path(path).exists():
        return False
    return bool(json.loads(Path(path).read_text()).get("crash_after_commit"))


def _dispatch(task: DeferredTask) -> None:
    if _crash_armed():
        os._exit(1)  # committed, never published: only the sweeper can save this run
    dispatch(task)


def create() -> FastAPI:
    app = create_app(get_settings(), dispatcher=_dispatch)

    @app.get("/test/slow")
    def slow(uow: Uow, seconds: float = 2.0) -> dict[str, float]:
        uow.session.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})
        return {"slept": seconds}

    return app
