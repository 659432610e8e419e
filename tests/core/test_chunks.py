"""Chunked runs against real PostgreSQL: fan-out, exactly-once finalize, take-over, cancel."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qrap_core.assessment import chunks as run_chunks
from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.lease import Lease
from qrap_core.assessment.models import Assessment, AssessmentRun, RunChunk
from qrap_core.assessment.schemas import AssessmentCreate
from qrap_core.audit.service import Actor
from qrap_core.db import Database, DeferredTask, utcnow
from qrap_core.discovery.targets import CertificateTarget
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.organization import service as organization_service
from qrap_core.organization.schemas import OrganizationCreate
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings
from qrap_core.webhook.models import WebhookDelivery, WebhookEndpoint

CERTS = Path(__file__).resolve().parents[2] / "qrap_core" / "examples" / "certs"
ACTOR = Actor(subject="tester")
NAMES = ("rsa1024.pem", "sha1-rsa2048.pem", "ecdsa-p256.pem", "expired-rsa2048.pem", "mldsa65.pem")


@pytest.fixture
def chunked(settings: Settings) -> Settings:
    """Two targets per chunk: five targets make three chunks."""
    return settings.model_copy(update={"chunk_size": 2})


def _queue(database: Database, names: tuple[str, ...] = NAMES) -> uuid.UUID:
    sent: list[DeferredTask] = []
    with database.unit_of_work(sent.append) as uow:
        org = organization_service.create(
            uow, ACTOR, OrganizationCreate(name=f"chunks-{uuid.uuid4()}")
        )
        uow.session.add(
            WebhookEndpoint(
                organization_id=org.id, url="https://93.184.216.34/h", events=[],
                secret="whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3", enabled=True, created_by="t",
            )
        )  # fmt: skip
        assessment_service.create(
            uow,
            ACTOR,
            AssessmentCreate(
                name="chunks",
                organization_id=org.id,
                targets=[CertificateTarget(pem=(CERTS / n).read_text()) for n in names],
                run=True,
            ),
        )
    return uuid.UUID(sent[0].kwargs["run_id"])


def _rows(database: Database, run_id: uuid.UUID) -> tuple[int, int, int]:
    """(findings, distinct finding fingerprints, assets) of the run."""
    with database.unit_of_work() as uow:
        findings = uow.session.scalar(select(func.count()).where(Finding.run_id == run_id))
        distinct = uow.session.scalar(
            select(func.count(func.distinct(Finding.fingerprint))).where(Finding.run_id == run_id)
        )
        assets = uow.session.scalar(select(func.count()).where(CryptoAssetRecord.run_id == run_id))
        return findings or 0, distinct or 0, assets or 0


def _completions(database: Database, run_id: uuid.UUID) -> int:
    with database.unit_of_work() as uow:
        return (
            uow.session.scalar(
                select(func.count()).where(
                    WebhookDelivery.event_key.like(f"{run_id}:%"),
                    WebhookDelivery.event_type == "assessment.completed",
                )
            )
            or 0
        )


def _run(database: Database, run_id: uuid.UUID) -> AssessmentRun:
    with database.unit_of_work() as uow:
        run = uow.session.get_one(AssessmentRun, run_id)
        uow.session.expunge(run)
        return run


def _chunk_statuses(database: Database, run_id: uuid.UUID) -> list[str]:
    with database.unit_of_work() as uow:
        return [
            str(s)
            for s in uow.session.scalars(
                select(RunChunk.status)
                .where(RunChunk.run_id == run_id)
                .order_by(RunChunk.chunk_index)
            )
        ]


class TestInProcess:
    def test_chunked_run_equals_the_single_run(
        self, database: Database, settings: Settings, chunked: Settings
    ) -> None:
        single = _queue(database)
        assert RunExecutor(database, settings).execute(single).status == "COMPLETED"
        split = _queue(database)
        assert RunExecutor(database, chunked).execute(split).status == "COMPLETED"
        one, many = _run(database, single), _run(database, split)
        assert (many.chunks_total, many.chunks_done) == (3, 3)
        assert one.chunks_total == 0
        assert _rows(database, split) == _rows(database, single)
        assert one.summary is not None
        assert many.summary is not None
        assert {k: v for k, v in many.summary.items() if k not in ("chunks", "diff")} == {
            k: v for k, v in one.summary.items() if k != "diff"
        }
        assert (many.risk_score, many.overall_risk, many.pqc_readiness) == (
            one.risk_score, one.overall_risk, one.pqc_readiness,
        )  # fmt: skip
        assert many.target_results == one.target_results
        assert many.progress == 100.0
        assert _completions(database, split) == 1


class TestFanOut:
    def test_chunks_go_to_any_worker_and_finish_once(
        self, database: Database, chunked: Settings
    ) -> None:
        run_id = _queue(database)
        sent: list[DeferredTask] = []
        outcome = RunExecutor(database, chunked, worker_id="planner").execute(
            run_id, fan_out=sent.append
        )
        assert outcome.status == "FANNED_OUT"
        assert [(t.name, t.kwargs["chunk"]) for t in sent] == [
            ("qrap.assessment.chunk", 0), ("qrap.assessment.chunk", 1),
            ("qrap.assessment.chunk", 2),
        ]  # fmt: skip
        # A duplicate run message plans nothing again.
        assert RunExecutor(database, chunked, worker_id="late").execute(run_id).status == "SKIPPED"
        workers = [RunExecutor(database, chunked, worker_id=f"w{i}") for i in range(3)]
        assert workers[2].execute_chunk(run_id, 2).status == "COMPLETED"
        assert _run(database, run_id).progress == pytest.approx(33.3)
        assert workers[0].execute_chunk(run_id, 0).status == "COMPLETED"
        # Every chunk message delivered twice: the copies claim nothing.
        assert workers[1].execute_chunk(run_id, 0).status == "SKIPPED"
        assert workers[0].execute_chunk(run_id, 2).status == "SKIPPED"
        assert _run(database, run_id).status == "IN_PROGRESS"
        assert workers[1].execute_chunk(run_id, 1).status == "COMPLETED"
        assert workers[2].execute_chunk(run_id, 1).status == "SKIPPED"
        run = _run(database, run_id)
        assert run.status == "COMPLETED"
        assert run.chunks_done == run.chunks_total == 3
        findings, distinct, _ = _rows(database, run_id)
        assert findings == distinct > 0
        assert _completions(database, run_id) == 1
        with database.unit_of_work() as uow:
            assessment = uow.session.get_one(Assessment, run.assessment_id)
            assert assessment.status == "COMPLETED"
            assert assessment.summary is not None
            assert assessment.summary["total_findings"] == findings

    def test_a_dead_workers_chunk_is_taken_over_without_doubles(
        self, database: Database, chunked: Settings
    ) -> None:
        run_id = _queue(database)
        planner = RunExecutor(database, chunked, worker_id="planner")
        assert planner.execute(run_id, fan_out=lambda _t: None).status == "FANNED_OUT"
        # A worker claims chunk 1 and dies (kill -9): it never renews, never writes.
        with database.unit_of_work() as uow:
            dead = run_chunks.claim(uow, run_id, 1, Lease("dead", 30), utcnow())
        assert dead is not None
        live = RunExecutor(database, chunked, worker_id="live")
        assert live.execute_chunk(run_id, 1).status == "SKIPPED"  # its lease still holds
        later = RunExecutor(
            database, chunked, worker_id="later", clock=lambda: utcnow() + timedelta(seconds=120)
        )
        for index in range(3):
            assert later.execute_chunk(run_id, index).status == "COMPLETED"
        assert _run(database, run_id).status == "COMPLETED"
        findings, distinct, _ = _rows(database, run_id)
        assert findings == distinct > 0
        assert _completions(database, run_id) == 1
        with database.unit_of_work() as uow:
            chunk = uow.session.scalars(
                select(RunChunk).where(RunChunk.run_id == run_id, RunChunk.chunk_index == 1)
            ).one()
            assert chunk.attempts == 2

    def test_resumed_run_resends_only_unfinished_chunks(
        self, database: Database, chunked: Settings
    ) -> None:
        run_id = _queue(database)
        planner = RunExecutor(database, chunked, worker_id="planner")
        assert planner.execute(run_id, fan_out=lambda _t: None).status == "FANNED_OUT"
        assert RunExecutor(database, chunked, worker_id="w").execute_chunk(run_id, 0).status == (
            "COMPLETED"
        )
        # Every chunk message was lost; the run's lease lapses and the sweeper re-sends the run.
        sent: list[DeferredTask] = []
        later = RunExecutor(
            database, chunked, worker_id="later", clock=lambda: utcnow() + timedelta(seconds=600)
        )
        assert later.execute(run_id, fan_out=sent.append).status == "FANNED_OUT"
        assert [t.kwargs["chunk"] for t in sent] == [1, 2]
        for index in (1, 2):
            assert later.execute_chunk(run_id, index).status == "COMPLETED"
        assert _run(database, run_id).status == "COMPLETED"
        assert _completions(database, run_id) == 1


class TestCancel:
    def test_cancel_stops_chunks_not_yet_started(
        self, database: Database, chunked: Settings
    ) -> None:
        run_id = _queue(database)
        planner = RunExecutor(database, chunked, worker_id="planner")
        assert planner.execute(run_id, fan_out=lambda _t: None).status == "FANNED_OUT"
        worker = RunExecutor(database, chunked, worker_id="w")
        assert worker.execute_chunk(run_id, 0).status == "COMPLETED"
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            assessment = uow.session.get_one(Assessment, run.assessment_id)
            assessment_service.cancel(uow, ACTOR, assessment)
        assert _chunk_statuses(database, run_id) == ["COMPLETED", "CANCELLED", "CANCELLED"]
        assert worker.execute_chunk(run_id, 1).status == "SKIPPED"
        assert worker.execute_chunk(run_id, 2).status == "SKIPPED"
        assert _run(database, run_id).status == "CANCELLED"
        assert _completions(database, run_id) == 0

    def test_a_running_chunk_stops_writing_once_cancelled(
        self, database: Database, chunked: Settings
    ) -> None:
        run_id = _queue(database)
        planner = RunExecutor(database, chunked, worker_id="planner")
        assert planner.execute(run_id, fan_out=lambda _t: None).status == "FANNED_OUT"
        worker = RunExecutor(database, chunked, worker_id="w")
        with database.unit_of_work() as uow:
            assert run_chunks.claim(uow, run_id, 1, worker.lease, utcnow()) is not None
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            assessment_service.cancel(
                uow, ACTOR, uow.session.get_one(Assessment, run.assessment_id)
            )
        # The same worker's retried chunk: its run is cancelled, so nothing is claimed or written.
        assert worker.execute_chunk(run_id, 1).status == "SKIPPED"
        assert _rows(database, run_id) == (0, 0, 0)
