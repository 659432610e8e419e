"""Durable runs: a heartbeat thread holds the lease through one slow probe, every claim is an
execution, the attempt cap ends a run FAILED with its webhook, and database errors retry."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from structlog.testing import capture_logs

from qrap_core.analysis import Analysis
from qrap_core.assessment import service as assessment_service
from qrap_core.assessment import sweeper
from qrap_core.assessment.models import AssessmentRun, RunExecution
from qrap_core.assessment.schemas import AssessmentCreate
from qrap_core.audit.service import Actor
from qrap_core.db import Database, DeferredTask, utcnow
from qrap_core.discovery.targets import CertificateTarget
from qrap_core.organization import service as organization_service
from qrap_core.organization.schemas import OrganizationCreate
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings
from qrap_core.webhook.models import WebhookDelivery, WebhookEndpoint

CERT = (Path(__file__).resolve().parents[2] / "qrap_core/examples/certs/rsa1024.pem").read_text()
ACTOR = Actor(subject="durable-tests")


@pytest.fixture
def stalling_port() -> Iterator[int]:
    """Accepts connections and never answers: a probe against it waits its full timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    listener.close()


def _wait_for_lease(database: Database, run_id: uuid.UUID) -> datetime:
    """The lease expiry written when a worker claimed the run."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with database.unit_of_work() as uow:
            expiry = uow.session.get_one(AssessmentRun, run_id).lease_expires_at
        if expiry is not None:
            return expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)
        time.sleep(0.02)
    raise AssertionError("the run was never claimed")


def _queue(database: Database, *, tls_port: int | None = None, hook: bool = False) -> uuid.UUID:
    sent: list[DeferredTask] = []
    with database.unit_of_work(sent.append) as uow:
        org = organization_service.create(uow, ACTOR, OrganizationCreate(name=f"d-{uuid.uuid4()}"))
        if hook:
            uow.session.add(
                WebhookEndpoint(
                    organization_id=org.id, url="https://93.184.216.34/h", events=[],
                    secret="whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3", enabled=True,
                    created_by="t",
                )
            )  # fmt: skip
        assessment_service.create(
            uow,
            ACTOR,
            AssessmentCreate(
                name="durable",
                organization_id=org.id,
                target_assets=[f"tls://127.0.0.1:{tls_port}"] if tls_port else [],
                targets=[CertificateTarget(pem=CERT)],
                run=True,
            ),
        )
    return uuid.UUID(sent[0].kwargs["run_id"])


def _executions(database: Database, run_id: uuid.UUID) -> list[RunExecution]:
    with database.unit_of_work() as uow:
        return list(
            uow.session.scalars(
                select(RunExecution)
                .where(RunExecution.run_id == run_id)
                .order_by(RunExecution.attempt)
            )
        )


def _events(database: Database, run_id: uuid.UUID) -> list[str]:
    with database.unit_of_work() as uow:
        return sorted(
            uow.session.scalars(
                select(WebhookDelivery.event_type).where(
                    WebhookDelivery.event_key.like(f"{run_id}:%")
                )
            )
        )


class TestLease:
    def test_heartbeat_thread_holds_the_lease_through_a_slow_probe(
        self, database: Database, settings: Settings, stalling_port: int
    ) -> None:
        fast = settings.model_copy(
            update={"run_lease_seconds": 5, "run_heartbeat_seconds": 1.0, "probe_timeout": 7.0}
        )
        run_id = _queue(database, tls_port=stalling_port)
        result: list[str] = []
        executor = RunExecutor(database, fast, worker_id="w1")
        worker = threading.Thread(target=lambda: result.append(executor.execute(run_id).status))
        worker.start()
        # Wait until the lease taken at the claim has run out: only the heartbeat thread
        # can have kept the run leased after that.
        first_expiry = _wait_for_lease(database, run_id)
        while utcnow() <= first_expiry + timedelta(milliseconds=200):
            time.sleep(0.05)
        assert RunExecutor(database, fast, worker_id="w2").execute(run_id).status == "SKIPPED"
        worker.join(timeout=30)
        assert result == ["COMPLETED"]
        executions = _executions(database, run_id)
        assert [(e.attempt, e.worker, e.outcome) for e in executions] == [(1, "w1", "completed")]


class TestAttempts:
    def test_cap_fails_the_run_with_one_failed_event(
        self, database: Database, settings: Settings
    ) -> None:
        run_id = _queue(database, hook=True)
        for attempt in range(1, settings.run_max_attempts + 1):
            executor = RunExecutor(database, settings, worker_id=f"dead-{attempt}")
            assert executor._claim(run_id) is not None  # the worker dies right after
            with database.unit_of_work() as uow:
                uow.session.execute(
                    update(AssessmentRun)
                    .where(AssessmentRun.id == run_id)
                    .values(lease_expires_at=utcnow() - timedelta(seconds=1))
                )
        sent: list[DeferredTask] = []
        with database.unit_of_work(sent.append) as uow:
            result = sweeper.sweep(uow, queued_grace_seconds=60)
        assert result.failed >= 1
        assert run_id not in [uuid.UUID(t.kwargs["run_id"]) for t in sent]
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            assert run.status == "FAILED"
            assert "gave up after 3 attempts" in (run.error or "")
        executions = _executions(database, run_id)
        assert [e.attempt for e in executions] == [1, 2, 3]
        assert [e.outcome for e in executions] == ["abandoned", "abandoned", "failed"]
        # One started (first claim only) and one failed message, however often it was claimed.
        assert _events(database, run_id) == ["assessment.failed", "assessment.started"]
        assert RunExecutor(database, settings).execute(run_id).status == "SKIPPED"

    def test_database_errors_propagate_instead_of_failing_the_run(
        self, database: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        run_id = _queue(database)

        def broken(*_args: object, **_kwargs: object) -> Analysis:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

        executor = RunExecutor(database, settings, worker_id="w1")
        monkeypatch.setattr(executor, "analyze", broken)
        with capture_logs() as logs, pytest.raises(OperationalError):
            executor.execute(run_id)
        assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["run.database_error"]
        with database.unit_of_work() as uow:
            assert uow.session.get_one(AssessmentRun, run_id).status == "IN_PROGRESS"
        # The task's retry lands on the same process, which may take its own lease back.
        monkeypatch.undo()
        assert RunExecutor(database, settings, worker_id="w1").execute(run_id).status == "COMPLETED"
        assert [e.attempt for e in _executions(database, run_id)] == [1, 2]
