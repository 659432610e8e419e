"""Chunk faults (T23): a worker child killed while it holds a chunk, and every chunk message
published three times. Rows must equal a single run's and the run must finish exactly once."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from qrap_core.assessment.models import AssessmentRun, RunChunk
from tests.reliability.conftest import FaultEnv
from tests.reliability.harness import (
    LEDGER,
    DelayedTls,
    celery_worker,
    dispatcher,
    make_org,
    start_worker,
    submit,
    tally,
    wait_terminal,
    wait_until,
)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(240)]


def _chunk_holders(env: FaultEnv, run_id: uuid.UUID) -> list[int]:
    """Pids of the worker children holding a chunk of the run ("host:pid")."""
    with env.db.unit_of_work() as uow:
        owners = uow.session.scalars(
            select(RunChunk.lease_owner).where(
                RunChunk.run_id == run_id, RunChunk.status == "IN_PROGRESS"
            )
        ).all()
    return [int(owner.rsplit(":", 1)[1]) for owner in owners if owner]


def _counters(env: FaultEnv, run_id: uuid.UUID) -> tuple[int, int, list[str]]:
    with env.db.unit_of_work() as uow:
        run = uow.session.get_one(AssessmentRun, run_id)
        statuses = uow.session.scalars(
            select(RunChunk.status).where(RunChunk.run_id == run_id).order_by(RunChunk.chunk_index)
        ).all()
        return run.chunks_total, run.chunks_done, [str(s) for s in statuses]


def test_chunk_worker_killed(fresh_queues: FaultEnv, tmp_path: Path) -> None:
    env = fresh_queues
    row = LEDGER.row("T23", "SIGKILL the child holding a chunk (4 chunks, 2 children)")
    worker = start_worker(celery_worker(env.env(QRAP_CHUNK_SIZE="1"), tmp_path / "worker.log"))
    targets = DelayedTls()
    try:
        ports = [targets.port(4.0) for _ in range(3)]
        _, run_id = submit(env.db, make_org(env.db), dispatcher(env.client), tls_ports=ports)
        wait_until(lambda: bool(_chunk_holders(env, run_id)), 60, "a chunk to be claimed")
        time.sleep(1.0)  # well into its 4 s probe
        victim = _chunk_holders(env, run_id)[0]
        assert victim in _chunk_holders(env, run_id)
        os.kill(victim, signal.SIGKILL)
        row.injected = 1
        wait_terminal(env.db, [run_id], 180)
        states = tally(row, env.db, [run_id])
    finally:
        targets.close()
        worker.stop()
    state = states[run_id]
    assert state.status == "COMPLETED"
    assert state.findings == state.distinct_findings == state.expected_findings
    assert state.findings > 0
    total, done, statuses = _counters(env, run_id)
    assert total == done == 4
    assert statuses == ["COMPLETED"] * 4
    with env.db.unit_of_work() as uow:
        attempts = uow.session.scalars(
            select(RunChunk.attempts).where(RunChunk.run_id == run_id)
        ).all()
    assert max(attempts) == 2  # the killed worker's chunk, taken over once


def test_chunk_messages_published_three_times(fresh_queues: FaultEnv, tmp_path: Path) -> None:
    env = fresh_queues
    row = LEDGER.row("T23", "each chunk message published 3x (4 chunks)")
    worker = start_worker(celery_worker(env.env(QRAP_CHUNK_SIZE="1"), tmp_path / "worker.log"))
    targets = DelayedTls()
    try:
        ports = [targets.port(1.0) for _ in range(3)]
        _, run_id = submit(env.db, make_org(env.db), dispatcher(env.client), tls_ports=ports)
        wait_until(lambda: _counters(env, run_id)[0] == 4, 60, "the run to fan out")
        for _ in range(2):
            for index in range(4):
                env.client.send_task(
                    "qrap.assessment.chunk",
                    kwargs={"run_id": str(run_id), "chunk": index},
                    queue="assessments",
                )
        row.injected = 8
        wait_terminal(env.db, [run_id], 120)
        states = tally(row, env.db, [run_id])
    finally:
        targets.close()
        worker.stop()
    state = states[run_id]
    assert state.status == "COMPLETED"
    assert state.findings == state.distinct_findings == state.expected_findings
    total, done, statuses = _counters(env, run_id)
    assert total == done == 4
    assert statuses == ["COMPLETED"] * 4
