"""T20: PostgreSQL restarts (``pg_ctl restart -m fast``) under running jobs.

Runs against a private cluster started for this test, never the machine's own PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qrap_core import migrate
from qrap_core.db import Database
from tests.reliability.conftest import FaultEnv
from tests.reliability.harness import (
    LEDGER,
    PG_BIN,
    DelayedTls,
    PrivatePostgres,
    celery_beat,
    celery_client,
    celery_worker,
    dispatcher,
    make_org,
    reliability_env,
    running_count,
    start_worker,
    submit,
    tally,
    wait_terminal,
    wait_until,
)

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        not (PG_BIN / "initdb").exists() or (os.geteuid() == 0 and not shutil.which("runuser")),
        reason="needs PostgreSQL server binaries (initdb) to start a private cluster",
    ),
]


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    # Not under pytest's tmp folder: that one is private to root, and the server runs as the
    # postgres user, who must be able to reach its data directory.
    folder = Path(tempfile.mkdtemp(prefix="qrap-faults-pg-"))
    folder.chmod(0o755)
    cluster = PrivatePostgres(folder / "cluster")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_postgres_restart(
    fresh_queues: FaultEnv, private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    env = fresh_queues
    row = LEDGER.row("T20", "pg_ctl restart -m fast with jobs running")
    url = private_pg.url()
    migrate.upgrade(url)
    broker = env.redis.url(1)  # its own broker database: the suite's beat knows the other DB
    process_env = reliability_env(url, broker)
    db = Database(url)
    client = celery_client(broker)
    beat = celery_beat(process_env, tmp_path)
    beat.start()
    worker = start_worker(celery_worker(process_env, tmp_path / "worker.log", concurrency=4))
    targets = DelayedTls()
    try:
        org = make_org(db)
        runs = [
            submit(db, org, dispatcher(client), tls_ports=[targets.port(4.0)])[1] for _ in range(20)
        ]
        wait_until(lambda: running_count(db, runs) >= 4, 60, "4 jobs running")
        private_pg.restart()
        row.injected = 1
        restarted = time.monotonic()
        db.engine.dispose()  # the test's own connections died with the server
        wait_terminal(db, runs, 150)
        row.note = f"all ended {time.monotonic() - restarted:.0f} s after the restart"
        states = tally(row, db, runs)
    finally:
        targets.close()
        worker.stop()
        beat.stop(timeout=10)
        client.close()
        db.dispose()
    assert [s.status for s in states.values()].count("COMPLETED") == 20
    # 0 partial findings: every run holds exactly the findings its summary counts.
    assert all(s.findings == s.expected_findings for s in states.values())
    assert row.duplicated == 0
