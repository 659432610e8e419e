"""RunExecutor against real PostgreSQL: claiming, idempotent rewrites, cancellation."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from qrap_core.assessment import service as assessment_service
from qrap_core.assessment import sweeper
from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.assessment.schemas import AssessmentCreate
from qrap_core.assessment.targets import CertificateTarget
from qrap_core.audit.service import Actor
from qrap_core.db import Database, DeferredTask, utcnow
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.organization import service as organization_service
from qrap_core.organization.schemas import OrganizationCreate
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings

CERTS = Path(__file__).resolve().parents[2] / "qrap_core" / "examples" / "certs"
ACTOR = Actor(subject="tester")


def _queue_run(database: Database, *names: str) -> tuple[uuid.UUID, list[DeferredTask]]:
    sent: list[DeferredTask] = []
    with database.unit_of_work(sent.append) as uow:
        org = organization_service.create(
            uow, ACTOR, OrganizationCreate(name=f"pipeline-{uuid.uuid4()}")
        )
        assessment_service.create(
            uow,
            ACTOR,
            AssessmentCreate(
                name="pipeline",
                organization_id=org.id,
                targets=[CertificateTarget(pem=(CERTS / n).read_text()) for n in names],
                run=True,
            ),
        )
    return uuid.UUID(sent[0].kwargs["run_id"]), sent


def _count(
    database: Database, model: type[Finding] | type[CryptoAssetRecord], run_id: uuid.UUID
) -> int:
    with database.unit_of_work() as uow:
        return (
            uow.session.scalar(
                select(func.count()).select_from(model).where(model.run_id == run_id)
            )
            or 0
        )


class TestExecute:
    def test_runs_once_and_skips_duplicates(self, database: Database, settings: Settings) -> None:
        run_id, sent = _queue_run(database, "rsa1024.pem", "sha1-rsa2048.pem")
        assert [t.name for t in sent] == ["qrap.assessment.run"]
        executor = RunExecutor(database, settings, worker_id="w1")
        assert executor.execute(run_id).status == "COMPLETED"
        findings = _count(database, Finding, run_id)
        assert findings > 0
        # A duplicate message, on this worker or another, changes nothing.
        assert executor.execute(run_id).status == "SKIPPED"
        assert RunExecutor(database, settings, worker_id="w2").execute(run_id).status == "SKIPPED"
        assert _count(database, Finding, run_id) == findings
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            assessment = uow.session.get_one(Assessment, run.assessment_id)
            assert run.attempts == 1
            assert run.status == assessment.status == "COMPLETED"
            assert assessment.summary is not None
            assert assessment.summary["total_findings"] == findings
            assert run.model_version

    def test_expired_lease_is_taken_over_without_duplicates(
        self, database: Database, settings: Settings
    ) -> None:
        run_id, _ = _queue_run(database, "rsa1024.pem")
        first = RunExecutor(database, settings, worker_id="dead-worker")
        assert first.execute(run_id).status == "COMPLETED"
        findings = _count(database, Finding, run_id)
        # Pretend the first worker died after writing but before anyone saw it finish.
        with database.unit_of_work() as uow:
            uow.session.execute(
                update(AssessmentRun)
                .where(AssessmentRun.id == run_id)
                .values(status="IN_PROGRESS", lease_owner="dead-worker",
                        lease_expires_at=utcnow() - timedelta(seconds=1))
            )  # fmt: skip
        assert RunExecutor(database, settings, worker_id="w2").execute(run_id).status == "COMPLETED"
        assert _count(database, Finding, run_id) == findings
        assert _count(database, CryptoAssetRecord, run_id) == 1

    def test_cancelled_run_is_not_executed(self, database: Database, settings: Settings) -> None:
        run_id, _ = _queue_run(database, "rsa1024.pem")
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            assessment = assessment_service.get(uow, ACTOR, run.assessment_id)
            assessment_service.cancel(uow, ACTOR, assessment)
        assert RunExecutor(database, settings).execute(run_id).status == "SKIPPED"
        assert _count(database, Finding, run_id) == 0

    def test_run_out_of_attempts_fails(self, database: Database, settings: Settings) -> None:
        run_id, _ = _queue_run(database, "rsa1024.pem")
        with database.unit_of_work() as uow:
            uow.session.execute(
                update(AssessmentRun)
                .where(AssessmentRun.id == run_id)
                .values(status="IN_PROGRESS", attempts=3, max_attempts=3, lease_owner="gone",
                        lease_expires_at=utcnow() - timedelta(seconds=1))
            )  # fmt: skip
        assert RunExecutor(database, settings).execute(run_id).status == "SKIPPED"
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            assert run.status == "FAILED"
            assert "3 attempts" in (run.error or "")
            assert uow.session.get_one(Assessment, run.assessment_id).status == "FAILED"


class TestSweeper:
    def test_requeues_stale_queued_runs_only(self, database: Database) -> None:
        stale_id, _ = _queue_run(database, "rsa1024.pem")
        fresh_id, _ = _queue_run(database, "rsa1024.pem")
        with database.unit_of_work() as uow:
            uow.session.execute(
                update(AssessmentRun)
                .where(AssessmentRun.id == stale_id)
                .values(queued_at=utcnow() - timedelta(minutes=10))
            )
        sent: list[DeferredTask] = []
        with database.unit_of_work(sent.append) as uow:
            sweeper.sweep(uow, queued_grace_seconds=60)
        run_ids = {t.kwargs["run_id"] for t in sent}
        assert str(stale_id) in run_ids
        assert str(fresh_id) not in run_ids


@pytest.mark.parametrize(
    "verb", ["UPDATE qrap_audit_log SET actor = 'x'", "DELETE FROM qrap_audit_log"]
)
def test_audit_log_is_append_only(database: Database, verb: str) -> None:
    _queue_run(database, "rsa1024.pem")
    with pytest.raises(DBAPIError, match="append-only"), database.unit_of_work() as uow:
        uow.session.execute(text(verb))


class TestAnalyze:
    def test_data_profile_sensitivity_reaches_the_model(
        self, database: Database, settings: Settings
    ) -> None:
        executor = RunExecutor(database, settings)
        targets = [CertificateTarget(pem=(CERTS / "rsa2048.pem").read_text())]
        low = executor.analyze(targets, {"sensitivity": "low", "exposure": "internal"})
        high = executor.analyze(targets, {"sensitivity": "critical", "exposure": "internet"})
        assert [s.score for s in low.scores] != [s.score for s in high.scores]
        assert max(s.score for s in high.scores) > max(s.score for s in low.scores)
