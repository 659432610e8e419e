"""Worker faults: a child killed mid-task (T1, T1b), the whole worker killed (T2), warm shutdown
(T3) and a poison task that kills its child every time (T10)."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from tests.reliability.conftest import FaultEnv
from tests.reliability.harness import (
    LEDGER,
    DelayedTls,
    celery_worker,
    dispatcher,
    make_org,
    run_states,
    running_count,
    start_worker,
    submit,
    tally,
    wait_terminal,
    wait_until,
    write_fault,
)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]


def _lease_pids(env: FaultEnv, run_ids: list[uuid.UUID]) -> list[int]:
    """The worker child pid holding each running run's lease ("host:pid")."""
    from sqlalchemy import select

    from qrap_core.assessment.models import AssessmentRun

    with env.db.unit_of_work() as uow:
        owners = uow.session.scalars(
            select(AssessmentRun.lease_owner).where(
                AssessmentRun.id.in_(run_ids), AssessmentRun.status == "IN_PROGRESS"
            )
        ).all()
    return [int(o.rsplit(":", 1)[1]) for o in owners if o]


@pytest.mark.parametrize(("test_id", "reject_on_worker_lost"), [("T1", "true"), ("T1b", "false")])
def test_child_killed_mid_task(
    fresh_queues: FaultEnv, tmp_path: Path, test_id: str, reject_on_worker_lost: str
) -> None:
    env = fresh_queues
    row = LEDGER.row(
        test_id,
        "SIGKILL a ForkPoolWorker mid-task"
        + (", reject_on_worker_lost off" if reject_on_worker_lost == "false" else ""),
    )
    worker = start_worker(
        celery_worker(
            env.env(QRAP_CELERY_REJECT_ON_WORKER_LOST=reject_on_worker_lost),
            tmp_path / "worker.log",
        )
    )
    targets = DelayedTls()
    try:
        org = make_org(env.db)
        send = dispatcher(env.client)
        started = time.monotonic()
        runs = [submit(env.db, org, send, tls_ports=[targets.port(3.0)])[1] for _ in range(20)]
        killed: set[int] = set()
        while len(killed) < 3 and time.monotonic() - started < 60:
            pids = [p for p in _lease_pids(env, runs) if p not in killed]
            if pids:
                time.sleep(1.0)  # well into the 3 s probe
                victim = pids[0]
                if victim in _lease_pids(env, runs):
                    os.kill(victim, signal.SIGKILL)
                    killed.add(victim)
            time.sleep(0.3)
        row.injected = len(killed)
        wait_terminal(env.db, runs, 120 - (time.monotonic() - started))
        elapsed = time.monotonic() - started
        states = tally(row, env.db, runs)
        row.note = f"all ended in {elapsed:.0f} s (limit 120 s)"
    finally:
        targets.close()
        worker.stop()
    assert len(killed) == 3
    assert [s.status for s in states.values()].count("COMPLETED") == 20
    assert row.duplicated == 0
    assert max(s.attempts for s in states.values()) <= 2
    assert sum(s.attempts for s in states.values()) >= 23  # each kill cost one attempt


def test_whole_worker_killed(fresh_queues: FaultEnv, tmp_path: Path) -> None:
    """T2: SIGKILL the main process (and its pool) after 4 jobs started; restart after 5 s."""
    env = fresh_queues
    row = LEDGER.row("T2", "SIGKILL the whole worker; restart after 5 s")
    log = tmp_path / "worker.log"
    worker = start_worker(celery_worker(env.env(), log))
    targets = DelayedTls()
    try:
        org = make_org(env.db)
        runs = [
            submit(env.db, org, dispatcher(env.client), tls_ports=[targets.port(3.0)])[1]
            for _ in range(20)
        ]

        def four_started() -> bool:
            return sum(s.executions for s in run_states(env.db, runs).values()) >= 4

        wait_until(four_started, 60, "4 jobs to start")
        worker.kill_group()
        row.injected = 1
        time.sleep(5)
        restarted = time.monotonic()
        worker = start_worker(celery_worker(env.env(), log))
        wait_terminal(env.db, runs, 90)
        elapsed = time.monotonic() - restarted
        # Messages the dead worker held come back after the visibility timeout: give kombu's
        # restore a chance to redeliver them, and check they changed nothing.
        time.sleep(3)
        states = tally(row, env.db, runs)
        row.note = f"all ended {elapsed:.0f} s after the restart (limit 90 s)"
    finally:
        targets.close()
        worker.stop()
    assert [s.status for s in states.values()].count("COMPLETED") == 20
    assert row.duplicated == 0
    assert max(s.attempts for s in states.values()) <= 2


def test_warm_shutdown(fresh_queues: FaultEnv, tmp_path: Path) -> None:
    """T3: TERM 2 s into 8 s jobs: running jobs finish, the rest wait for the next worker."""
    env = fresh_queues
    row = LEDGER.row("T3", "warm shutdown (SIGTERM) mid-task; restart")
    log = tmp_path / "worker.log"
    worker = start_worker(celery_worker(env.env(), log))
    targets = DelayedTls()
    try:
        org = make_org(env.db)
        runs = [
            submit(env.db, org, dispatcher(env.client), tls_ports=[targets.port(8.0)])[1]
            for _ in range(10)
        ]
        wait_until(lambda: running_count(env.db, runs) == 2, 30, "2 jobs running")
        time.sleep(2)
        running = [r for r, s in run_states(env.db, runs).items() if s.status == "IN_PROGRESS"]
        row.injected = 1
        took = worker.stop(timeout=40)
        exited_by_itself = not worker.killed_at_stop
        after_stop = run_states(env.db, runs)
        worker = start_worker(celery_worker(env.env(), log))
        wait_terminal(env.db, runs, 120)
        states = tally(row, env.db, runs)
        row.note = f"worker exited {took:.1f} s after TERM (kill grace 40 s)"
    finally:
        targets.close()
        worker.stop()
    assert exited_by_itself, "warm shutdown did not end the worker; it was killed"
    # The tasks running at TERM were allowed to finish before the worker exited.
    assert all(after_stop[r].status == "COMPLETED" for r in running)
    assert [s.status for s in states.values()].count("COMPLETED") == 10
    assert row.duplicated == 0


def test_poison_task(fresh_queues: FaultEnv, tmp_path: Path) -> None:
    """T10: a run whose child dies every time ends FAILED after 3 executions; others complete."""
    env = fresh_queues
    row = LEDGER.row("T10", "poison task: child os._exit(1) after every claim")
    fault_file = tmp_path / "faults.json"
    write_fault(fault_file, poison=[])
    worker = start_worker(
        celery_worker(
            env.env(QRAP_FAULT_FILE=str(fault_file)),
            tmp_path / "worker.log",
            app="tests.reliability.faulty_worker",
        )
    )
    try:
        org = make_org(env.db)
        send = dispatcher(env.client)
        assessment_id, poison = submit(env.db, org, lambda _t: None, name="poison")
        write_fault(fault_file, poison=[str(poison)])
        assert assessment_id
        from qrap_core.assessment.lifecycle import RUN_QUEUE, RUN_TASK
        from qrap_core.db import DeferredTask

        send(DeferredTask(RUN_TASK, {"run_id": str(poison)}, RUN_QUEUE))
        normal = [submit(env.db, org, send)[1] for _ in range(10)]
        wait_terminal(env.db, [poison, *normal], 170)
        states = tally(row, env.db, [poison, *normal])
        row.injected = states[poison].executions
        row.completed += 1 if states[poison].status == "FAILED" else 0  # ended as designed
        row.note = "the poison run counts as completed: it ended FAILED, as it should"
    finally:
        worker.stop()
    assert states[poison].status == "FAILED"
    assert states[poison].executions == 3
    assert all(states[r].status == "COMPLETED" for r in normal)
    assert row.duplicated == 0
