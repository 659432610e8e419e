"""Fixtures for the fault suite, and the summary it prints at the end.

One private redis-server (AOF, fsync always, noeviction) for the whole suite; the session's
PostgreSQL database from tests/conftest.py; one Celery beat. Each test starts and stops its own
workers, so a test that kills them leaves nothing behind for the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _pytest.terminal import TerminalReporter
from celery import Celery

from qrap_core.db import Database
from qrap_core.settings import get_settings
from tests.reliability.harness import (
    LEDGER,
    LedgerRow,
    Process,
    RedisServer,
    celery_beat,
    celery_client,
    reliability_env,
)


@dataclass
class FaultEnv:
    folder: Path
    redis: RedisServer
    database_url: str
    db: Database
    client: Celery
    beat: Process

    def env(self, **overrides: str) -> dict[str, str]:
        return reliability_env(self.database_url, self.redis.url(0), **overrides)


@pytest.fixture(scope="session")
def fault_env(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultEnv]:
    """The session's database is safe to sweep: the tests that use it before this suite take
    away the runs and webhook deliveries they leave open (tests/conftest.py)."""
    folder = tmp_path_factory.mktemp("faults")
    server = RedisServer(folder / "redis")
    server.start()
    db = Database(pg_url, pool_size=5, max_overflow=20)
    client = celery_client(server.url(0))
    beat = celery_beat(reliability_env(pg_url, server.url(0)), folder)
    beat.start()
    try:
        beat.wait_log("beat: Starting", 60)
        yield FaultEnv(folder, server, pg_url, db, client, beat)
    finally:
        beat.stop(timeout=10)
        client.close()
        db.dispose()
        server.stop()


@pytest.fixture
def private_webhooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process services see QRAP_WEBHOOK_ALLOW_PRIVATE=true (loopback receivers)."""
    monkeypatch.setenv("QRAP_WEBHOOK_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("QRAP_WEBHOOK_ALLOW_PRIVATE")
    get_settings.cache_clear()


@pytest.fixture
def fresh_queues(fault_env: FaultEnv) -> FaultEnv:
    """Start a test with empty queues: nothing left over from the test before it."""
    if not fault_env.redis.ping():
        fault_env.redis.start()
    fault_env.redis.client().flushall()
    return fault_env


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    if not LEDGER.rows:
        return
    tr = terminalreporter
    tr.section("fault suite summary (docs/reliability.md)")
    header = (
        f"{'test':<5} {'fault':<62} {'injected':>8} {'submitted':>9} {'completed':>9} "
        f"{'duplicated':>10} {'lost':>5}"
    )
    tr.write_line(header)
    tr.write_line("-" * len(header))
    totals = [0, 0, 0, 0, 0]
    for row in sorted(LEDGER.rows, key=_order):
        values = [row.injected, row.submitted, row.completed, row.duplicated, row.lost]
        totals = [a + b for a, b in zip(totals, values, strict=True)]
        tr.write_line(
            f"{row.test:<5} {row.fault[:62]:<62} {row.injected:>8} {row.submitted:>9} "
            f"{row.completed:>9} {row.duplicated:>10} {row.lost:>5}"
        )
        if row.note:
            tr.write_line(f"{'':<5}   {row.note}")
    tr.write_line("-" * len(header))
    tr.write_line(
        f"{'all':<5} {'':<62} {totals[0]:>8} {totals[1]:>9} {totals[2]:>9} "
        f"{totals[3]:>10} {totals[4]:>5}"
    )


def _order(row: LedgerRow) -> tuple[int, str]:
    """T1, T1b, T2, ... T20 in the matrix's order."""
    digits = "".join(c for c in row.test if c.isdigit())
    return (int(digits or 0), row.test)
