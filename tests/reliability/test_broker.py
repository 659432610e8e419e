"""Broker and publish faults: Redis restart (T4), Redis data loss (T5), a crash between commit
and publish (T6), a rollback after the outbox write (T7), duplicate messages (T8), and the
configuration that keeps a running task from being redelivered (T9)."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.lifecycle import fail as mark_failed
from qrap_core.assessment.models import Assessment, AssessmentRun, RunExecution
from qrap_core.assessment.schemas import AssessmentCreate
from qrap_core.db import DeferredTask
from qrap_core.discovery.targets import CertificateTarget
from qrap_core.settings import Settings
from qrap_core.webhook.models import WebhookDelivery
from qrap_worker import app as worker_app
from qrap_worker.tasks import assessments as assessment_tasks
from tests.reliability.conftest import FaultEnv
from tests.reliability.harness import (
    ACTOR,
    LEDGER,
    ROOT,
    RSA1024,
    DelayedTls,
    Receiver,
    celery_worker,
    dispatcher,
    free_port,
    make_org,
    running_count,
    start_api,
    start_worker,
    submit,
    tally,
    uvicorn,
    wait_terminal,
    wait_until,
    write_fault,
)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]


def _runs_named(env: FaultEnv, name: str) -> list[uuid.UUID]:
    with env.db.unit_of_work() as uow:
        return list(
            uow.session.scalars(
                select(AssessmentRun.id)
                .join(Assessment, Assessment.id == AssessmentRun.assessment_id)
                .where(Assessment.name == name)
            )
        )


def _post_assessment(base: str, org_id: uuid.UUID, name: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/assessments",
        json={
            "name": name,
            "organization_id": str(org_id),
            "targets": [{"type": "certificate", "pem": RSA1024}],
            "run": True,
        },
        timeout=30,
    )


def test_redis_restart(fresh_queues: FaultEnv, tmp_path: Path) -> None:
    """T4: SHUTDOWN Redis with 50 queued and 2 running, keep it down 10 s, start it again."""
    env = fresh_queues
    row = LEDGER.row("T4", "Redis SHUTDOWN (AOF) with 50 queued + 2 running, 10 s")
    worker = start_worker(celery_worker(env.env(), tmp_path / "worker.log"))
    targets = DelayedTls()
    try:
        org = make_org(env.db)
        send = dispatcher(env.client)
        running = [submit(env.db, org, send, tls_ports=[targets.port(6.0)])[1] for _ in range(2)]
        wait_until(lambda: running_count(env.db, running) == 2, 30, "2 jobs running")
        queued = [submit(env.db, org, send)[1] for _ in range(50)]
        env.redis.shutdown()
        row.injected = 1
        time.sleep(10)
        env.redis.start()
        late_sent = time.monotonic()
        late = [submit(env.db, org, dispatcher(env.client))[1] for _ in range(5)]
        wait_terminal(env.db, late, 30)
        late_took = time.monotonic() - late_sent
        wait_terminal(env.db, running + queued, 150 - late_took)
        tally(row, env.db, running + queued + late)
        row.note = f"the 5 jobs sent after the restart ended within {late_took:.0f} s (limit 30)"
    finally:
        targets.close()
        worker.stop()
    assert row.completed == 57
    assert row.duplicated == 0
    assert row.lost == 0


def test_redis_flushall(fresh_queues: FaultEnv, tmp_path: Path) -> None:
    """T5: every queued message is flushed away; the sweeper republishes from PostgreSQL."""
    env = fresh_queues
    row = LEDGER.row("T5", "Redis FLUSHALL with 30 queued")
    org = make_org(env.db)
    runs = [submit(env.db, org, dispatcher(env.client))[1] for _ in range(30)]
    assert env.redis.client().llen("assessments") == 30
    env.redis.client().flushall()
    row.injected = 1
    started = time.monotonic()
    worker = start_worker(celery_worker(env.env(), tmp_path / "worker.log"))
    try:
        wait_terminal(env.db, runs, 170)
        row.note = f"all ended {time.monotonic() - started:.0f} s after the flush (limit 180)"
        tally(row, env.db, runs)
    finally:
        worker.stop()
    assert row.completed == 30
    assert row.duplicated == 0


def test_crash_between_commit_and_publish(fresh_queues: FaultEnv, tmp_path: Path) -> None:
    """T6: the API dies right after its commit (os._exit before the publish), then 20 POSTs
    while Redis is down: every accepted assessment still runs, none stays queued > 60 s."""
    env = fresh_queues
    row = LEDGER.row("T6", "API os._exit after commit; 20 POSTs with Redis down")
    fault_file = tmp_path / "faults.json"
    write_fault(fault_file, crash_after_commit=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    org = make_org(env.db)
    api = start_api(
        uvicorn(
            env.env(QRAP_FAULT_FILE=str(fault_file)),
            tmp_path / "api.log",
            port,
            app="tests.reliability.faulty_api:create",
        )
    )
    worker = None
    try:
        with pytest.raises(httpx.HTTPError):
            _post_assessment(base, org, "t6-crash")
        wait_until(lambda: not api.running(), 10, "the API process to die")
        row.injected += 1
        crashed = _runs_named(env, "t6-crash")
        assert len(crashed) == 1, "the commit happened before the crash"
        write_fault(fault_file, crash_after_commit=False)
        api = start_api(uvicorn(env.env(), tmp_path / "api.log", port))

        env.redis.shutdown()
        row.injected += 1
        answers = [_post_assessment(base, org, "t6-redis-down") for _ in range(20)]
        assert [a.status_code for a in answers] == [202] * 20, answers[0].text
        down = _runs_named(env, "t6-redis-down")
        env.redis.start()
        back = time.monotonic()
        worker = start_worker(celery_worker(env.env(), tmp_path / "worker.log"))

        def none_queued() -> bool:
            with env.db.unit_of_work() as uow:
                return not uow.session.scalar(
                    select(func.count())
                    .select_from(AssessmentRun)
                    .where(AssessmentRun.id.in_(crashed + down), AssessmentRun.status == "QUEUED")
                )

        left_queue = wait_until(none_queued, 60, "no run left QUEUED")
        wait_terminal(env.db, crashed + down, 100)
        tally(row, env.db, crashed + down)
        row.note = f"every run left QUEUED {left_queue:.0f} s after Redis returned (limit 60)"
        del back
    finally:
        api.stop(timeout=15)
        if worker is not None:
            worker.stop()
    assert row.completed == 21
    assert row.duplicated == 0


@pytest.mark.usefixtures("private_webhooks")
def test_rollback_after_outbox_write(fault_env: FaultEnv) -> None:
    """T7: a transaction that wrote its task and webhook messages, then rolled back, sends and
    leaves nothing."""
    env = fault_env
    row = LEDGER.row("T7", "forced rollback after the outbox write")
    sent: list[DeferredTask] = []
    org = make_org(env.db)
    names = [f"t7-{uuid.uuid4()}" for _ in range(5)]

    def create_then_fail(name: str) -> None:
        with env.db.unit_of_work(sent.append) as uow:
            assessment_service.create(
                uow,
                ACTOR,
                AssessmentCreate(
                    name=name,
                    organization_id=org,
                    targets=[CertificateTarget(pem=RSA1024)],
                    run=True,
                    webhook_url="http://127.0.0.1:9/hook",
                ),
            )
            raise RuntimeError("forced rollback")

    for name in names:
        with pytest.raises(RuntimeError, match="forced rollback"):
            create_then_fail(name)
        row.injected += 1
    # The terminal transition too: its webhook message must vanish with it.
    run_id = submit(env.db, org, sent.append, webhook_url="http://127.0.0.1:9/hook")[1]
    sent.clear()

    def fail_then_roll_back() -> None:
        with env.db.unit_of_work(sent.append) as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            mark_failed(uow, run, "forced", run.queued_at)
            raise RuntimeError("forced rollback")

    with pytest.raises(RuntimeError, match="forced rollback"):
        fail_then_roll_back()
    row.injected += 1
    with env.db.unit_of_work() as uow:
        rows = uow.session.scalar(
            select(func.count()).select_from(Assessment).where(Assessment.name.in_(names))
        )
        executions = uow.session.scalar(
            select(func.count()).select_from(RunExecution).where(RunExecution.run_id == run_id)
        )
        status = uow.session.get_one(AssessmentRun, run_id).status
    row.note = "6 rollbacks: 0 rows, 0 tasks, 0 webhook messages, 0 executions"
    assert sent == []
    assert rows == 0
    assert executions == 0
    assert status == "QUEUED"
    assert _messages_for(env, run_id) == []


def _messages_for(env: FaultEnv, run_id: uuid.UUID) -> list[str]:
    with env.db.unit_of_work() as uow:
        return list(
            uow.session.scalars(
                select(WebhookDelivery.event_type).where(
                    WebhookDelivery.event_key.like(f"{run_id}:%")
                )
            )
        )


@pytest.mark.usefixtures("private_webhooks")
def test_duplicate_messages(fresh_queues: FaultEnv, tmp_path: Path) -> None:
    """T8: each of 5 run messages published 3 times at once: 5 runs, each executed once and
    announced once per transition."""
    env = fresh_queues
    row = LEDGER.row("T8", "each message published 3x concurrently")
    receiver = Receiver()
    worker = start_worker(celery_worker(env.env(), tmp_path / "worker.log"))
    try:
        org = make_org(env.db)
        tasks: list[DeferredTask] = []
        runs = [
            submit(env.db, org, tasks.append, webhook_url=receiver.url("/t8"))[1] for _ in range(5)
        ]

        def publish(task: DeferredTask) -> None:
            env.client.send_task(task.name, kwargs=task.kwargs, queue=task.queue)

        threads = [threading.Thread(target=publish, args=(t,)) for t in tasks for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        row.injected = 10
        wait_terminal(env.db, runs, 60)
        wait_until(lambda: len(receiver.calls("/t8")) >= 10, 30, "10 webhooks")
        time.sleep(3)  # any duplicate would arrive now
        states = tally(row, env.db, runs)
        events = Counter(
            (json.loads(c.body)["data"]["run_id"], json.loads(c.body)["type"])
            for c in receiver.calls("/t8")
        )
        ids = Counter(c.headers["webhook-id"] for c in receiver.calls("/t8"))
        row.note = (
            f"{sum(events.values())} webhooks for 5 runs x 2 transitions; "
            f"executions per run: {sorted({s.executions for s in states.values()})}"
        )
    finally:
        receiver.close()
        worker.stop()
    assert all(s.status == "COMPLETED" and s.executions == 1 for s in states.values())
    assert sorted(events.values()) == [1] * 10
    assert set(ids.values()) == {1}
    assert row.duplicated == 0


def test_visibility_timeout_configuration(fault_env: FaultEnv) -> None:
    """T9: the visibility timeout is at least twice the hard time limit, in production and
    under the test overrides, and no task waits on a countdown or ETA longer than it."""
    row = LEDGER.row("T9", "runtime > visibility timeout (configuration)")
    for settings in (
        Settings(auth_disabled=True),
        Settings(
            auth_disabled=True,
            celery_visibility_timeout=30,
            celery_task_time_limit=12,
            celery_task_soft_time_limit=10,
        ),
    ):
        conf = worker_app.celery_config(settings)
        visibility = conf["broker_transport_options"]["visibility_timeout"]
        assert visibility == conf["visibility_timeout"]
        assert visibility == conf["result_backend_transport_options"]["visibility_timeout"]
        assert visibility >= 2 * conf["task_time_limit"]
        assert conf["task_soft_time_limit"] < conf["task_time_limit"]
        assert worker_app.max_countdown(settings) * 2 <= visibility
        for entry in conf["beat_schedule"].values():
            assert entry["options"]["expires"] <= max(entry["schedule"], 1.0)
        row.injected += 1
    with pytest.raises(ValueError, match="VISIBILITY_TIMEOUT"):
        Settings(
            auth_disabled=True,
            celery_visibility_timeout=30,
            celery_task_time_limit=20,
            celery_task_soft_time_limit=15,
        )
    backoff_max = getattr(assessment_tasks.run_assessment, "retry_backoff_max", None)
    assert backoff_max == worker_app.MAX_COUNTDOWN_SECONDS
    # Nothing in the product schedules work through a broker countdown or ETA.
    pattern = re.compile(r"\b(countdown|eta)\s*=")
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("qrap_core", "qrap_worker", "qrap_api")
        for path in (ROOT / package).rglob("*.py")
        if pattern.search(path.read_text())
    ]
    assert offenders == []
    row.note = "VT >= 2x task_time_limit; retry countdown <= VT/4; no countdown/eta in code"


def test_runtime_longer_than_visibility_timeout_demo(
    fresh_queues: FaultEnv, tmp_path: Path
) -> None:
    """T9 demo: kombu restores a message still running after the visibility timeout and hands it
    out again (C3, kombu#337). The second delivery finds the run leased and does nothing."""
    env = fresh_queues
    row = LEDGER.row("T9d", "demo: 40 s task, visibility timeout 30 s, no time limit")
    log = tmp_path / "worker.log"
    worker = start_worker(
        celery_worker(env.env(QRAP_PROBE_TIMEOUT="50"), log, app="tests.reliability.vt_demo_worker")
    )
    targets = DelayedTls()
    try:
        org = make_org(env.db)
        run_id = submit(env.db, org, dispatcher(env.client), tls_ports=[targets.port(40.0)])[1]
        wait_terminal(env.db, [run_id], 90)
        states = tally(row, env.db, [run_id])
        received = len(
            re.findall(r"Task qrap\.assessment\.run\[[^\]]+\] received", log.read_text())
        )
    finally:
        targets.close()
        worker.stop()
    row.injected = received - 1
    row.note = f"the message was delivered {received} times; the run executed once"
    assert received >= 2, "kombu did not redeliver the running task"
    assert states[run_id].status == "COMPLETED"
    assert states[run_id].executions == 1
    assert row.duplicated == 0
