"""A real uvicorn serving the app (and the dashboard) on a free loopback port, runs executed by
an in-process worker thread, and headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from qrap_api.app import create_app
from qrap_core.db import Database, DeferredTask
from qrap_core.events import RedisPublisher
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings

CHROMIUM = "/usr/bin/chromium"
# Headless without network, GPU or a sandbox (tests run as root in containers).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
]
# Where screenshots and downloads go (``make screenshots`` sets it); else the test's tmp dir.
ARTIFACTS_ENV = "QRAP_UI_ARTIFACTS"


class ThreadWorker:
    """The in-process worker: runs each queued run with the pipeline the Celery task runs,
    in a thread of its own, after the API's commit (it is the unit of work's dispatcher)."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.executor = RunExecutor(database, settings, events=RedisPublisher(settings.redis_url))
        self.threads: list[threading.Thread] = []

    def __call__(self, task: DeferredTask) -> None:
        if task.name != "qrap.assessment.run":
            return
        run_id = uuid.UUID(task.kwargs["run_id"])
        thread = threading.Thread(target=self.executor.execute, args=(run_id,), daemon=True)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=60)


@dataclass
class LiveServer:
    url: str
    worker: ThreadWorker


@pytest.fixture
def live_server(settings: Settings, database: Database) -> Iterator[LiveServer]:
    """uvicorn on a socket bound to 127.0.0.1:0, so no other process can take the port."""
    worker = ThreadWorker(database, settings)
    app = create_app(settings, database=database, dispatcher=worker)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", worker)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        worker.join()
        sock.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get(ARTIFACTS_ENV) or tmp_path / "ui-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class ConsoleErrors:
    """Every console error and uncaught exception of the pages a test opened."""

    messages: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append(f"{message.text} ({message.location.get('url')})")

    def exception(self, error: Exception) -> None:
        self.messages.append(f"uncaught: {error}")


@pytest.fixture
def console_errors() -> ConsoleErrors:
    return ConsoleErrors()


@pytest.fixture
def page(
    browser: Browser, live_server: LiveServer, console_errors: ConsoleErrors
) -> Iterator[Page]:
    """A fresh browser context (no cookies) on the live server; fails on any console error."""
    context = browser.new_context(
        base_url=live_server.url, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    tab = context.new_page()
    tab.on("console", console_errors.console)
    tab.on("pageerror", console_errors.exception)
    yield tab
    context.close()
    assert console_errors.messages == [], "browser console errors:\n" + "\n".join(
        console_errors.messages
    )
