"""A real Celery worker process against the session's PostgreSQL database and Redis."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery import Celery
from fastapi.testclient import TestClient

from qrap_api.app import create_app
from qrap_core.db import Database, DeferredTask
from qrap_core.settings import Settings
from qrap_worker.app import configure
from tests.conftest import ADMIN_KEY

ROOT = Path(__file__).resolve().parents[2]


def worker_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "QRAP_DATABASE_URL": settings.sqlalchemy_url,
            "QRAP_REDIS_URL": settings.celery_broker_url,
            "QRAP_SCAN_ALLOW_NETWORKS": "127.0.0.0/8",
            "QRAP_PROBE_TIMEOUT": "3",
            "QRAP_LOG_LEVEL": "info",
            # No metrics port: parallel test sessions would all want 9808 (a test that reads
            # the worker's metrics sets a free port of its own).
            "QRAP_WORKER_METRICS_PORT": "0",
        }
    )
    return env


@pytest.fixture(scope="session")
def celery_worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Start `celery worker` (prefork, 2 children, prefetch 1) and wait until it is ready."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "qrap_worker.app", "worker",
                "-Q", "assessments,maintenance", "-c", "2", "--prefetch-multiplier", "1",
                "-l", "INFO", "-n", f"qrap-test-{os.getpid()}@%h",
            ],
            cwd=ROOT, env=worker_env(settings), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("celery worker did not start:\n" + log.read_text()[-4000:])
            time.sleep(0.2)
        yield log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def celery_client(settings: Settings) -> Celery:
    app = Celery("qrap-test-client")
    configure(app, settings)
    return app


def celery_dispatcher(app: Celery, copies: int = 1) -> Callable[[DeferredTask], None]:
    def dispatch(task: DeferredTask) -> None:
        for _ in range(copies):
            app.send_task(task.name, kwargs=task.kwargs, queue=task.queue)

    return dispatch


@pytest.fixture
def live_client(
    settings: Settings, database: Database, celery_client: Celery, celery_worker: Path
) -> Iterator[TestClient]:
    app = create_app(settings, database=database, dispatcher=celery_dispatcher(celery_client))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"ApiKey {ADMIN_KEY}"
        yield client


@pytest.fixture
def stalling_server() -> Iterator[int]:
    """A TCP listener that accepts and never answers: a TLS probe against it times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield port
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    listener.close()
