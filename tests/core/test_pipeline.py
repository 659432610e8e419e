"""RunExecutor against real PostgreSQL: claiming, idempotent rewrites, cancellation."""

from __future__ import annotations

import socket
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
from qrap_core.audit.service import Actor
from qrap_core.db import Database, DeferredTask, utcnow
from qrap_core.discovery.targets import CertificateTarget, InventoryItem, InventoryTarget
from qrap_core.enums import RISK_ORDER, RiskLevel
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.organization import service as organization_service
from qrap_core.organization.schemas import OrganizationCreate
from qrap_core.pipeline import RunExecutor
from qrap_core.scoring.aggregate import BANDS
from qrap_core.settings import Settings
from qrap_core.webhook.models import WebhookDelivery, WebhookEndpoint

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


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound once to learn a free number, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _queue_targets(
    database: Database, target_assets: list[str], *certs: str, hook: bool = False
) -> uuid.UUID:
    """Queue a run of ``target_assets`` and certificate files; with ``hook`` an endpoint."""
    sent: list[DeferredTask] = []
    with database.unit_of_work(sent.append) as uow:
        org = organization_service.create(
            uow, ACTOR, OrganizationCreate(name=f"pipeline-{uuid.uuid4()}")
        )
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
                name="pipeline",
                organization_id=org.id,
                target_assets=target_assets,
                targets=[CertificateTarget(pem=(CERTS / n).read_text()) for n in certs],
                run=True,
            ),
        )
    return uuid.UUID(sent[0].kwargs["run_id"])


def _events(database: Database, run_id: uuid.UUID) -> list[str]:
    with database.unit_of_work() as uow:
        return sorted(
            uow.session.scalars(
                select(WebhookDelivery.event_type).where(
                    WebhookDelivery.event_key.like(f"{run_id}:%")
                )
            )
        )


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


class TestTargetsThatCannotBeAssessed:
    def test_a_run_that_assessed_nothing_fails_with_the_targets_errors(
        self, database: Database, settings: Settings, closed_port: int
    ) -> None:
        target = f"127.0.0.1:{closed_port}"
        run_id = _queue_targets(database, [target], hook=True)
        outcome = RunExecutor(database, settings).execute(run_id)
        assert outcome.status == "FAILED"
        assert outcome.detail.startswith("no target could be assessed: ")
        assert target in outcome.detail
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            assessment = uow.session.get_one(Assessment, run.assessment_id)
            assert run.status == assessment.status == "FAILED"
            assert run.error == assessment.error == outcome.detail
            # Not "LOW risk, score 0": a run that saw nothing gives no verdict at all.
            assert (run.risk_score, run.overall_risk) == (None, None)
            assert assessment.overall_risk is None
            assert run.completed_at is not None
            assert [r["status"] for r in run.target_results] == ["error"]
            assert run.target_results[0]["error"] in outcome.detail
            assert run.summary is not None
            assert (run.summary["targets_failed"], run.summary["targets_total"]) == (1, 1)
        assert _count(database, Finding, run_id) == 0
        # The existing failure path: one assessment.failed message, no completed one.
        assert _events(database, run_id) == ["assessment.failed", "assessment.started"]
        assert RunExecutor(database, settings).execute(run_id).status == "SKIPPED"

    def test_a_run_with_one_reachable_target_completes_partial(
        self, database: Database, settings: Settings, closed_port: int
    ) -> None:
        target = f"127.0.0.1:{closed_port}"
        run_id = _queue_targets(database, [target], "rsa2048.pem")
        assert RunExecutor(database, settings).execute(run_id).status == "COMPLETED"
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            assessment = uow.session.get_one(Assessment, run.assessment_id)
            assert run.status == assessment.status == "COMPLETED"
            assert assessment.error is None
            summary = assessment.summary
            assert summary is not None
            assert (summary["targets_failed"], summary["targets_total"]) == (1, 2)
            assert summary["partial"] is True
            statuses = {r["target"]: r["status"] for r in run.target_results}
            assert statuses[target] == "error"
        assert _count(database, Finding, run_id) > 0

    def test_a_complete_run_is_not_partial(self, database: Database, settings: Settings) -> None:
        run_id, _ = _queue_run(database, "rsa2048.pem")
        assert RunExecutor(database, settings).execute(run_id).status == "COMPLETED"
        with database.unit_of_work() as uow:
            summary = uow.session.get_one(AssessmentRun, run_id).summary
            assert summary is not None
            assert (summary["targets_failed"], summary["partial"]) == (0, False)


class TestOneStory:
    """A finding's level and score agree; overall_risk is not below the worst (risk-scoring.md)."""

    def test_levels_scores_and_overall_risk_agree(
        self, database: Database, settings: Settings
    ) -> None:
        run_id, _ = _queue_run(database, "rsa1024.pem", "expired-rsa2048.pem", "ecdsa-p256.pem")
        assert RunExecutor(database, settings).execute(run_id).status == "COMPLETED"
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            findings = list(uow.session.scalars(select(Finding).where(Finding.run_id == run_id)))
            assert findings
            for finding in findings:
                floor, ceiling = BANDS[RiskLevel(finding.risk_level)]
                assert floor <= finding.risk_score <= ceiling, finding.rule_id
                assert finding.explanation[-2]["feature"] == "(risk level band)"
            worst = min((RiskLevel(f.risk_level) for f in findings), key=RISK_ORDER.__getitem__)
            assert run.overall_risk is not None
            assert RISK_ORDER[RiskLevel(run.overall_risk)] <= RISK_ORDER[worst]
            assert run.risk_score is not None
            assert run.risk_score >= BANDS[worst][0]

    def test_a_declared_inventory_floors_the_run(
        self, database: Database, settings: Settings
    ) -> None:
        executor = RunExecutor(database, settings)
        inventory = InventoryTarget(
            name="estate",
            assets=[InventoryItem(asset=f"host{i}", algorithm="RSA-1024") for i in range(12)],
        )
        analysis = executor.analyze([inventory], {})
        levels = {f.risk_level for f in analysis.findings}
        worst = min(levels, key=RISK_ORDER.__getitem__)
        assert analysis.summary.risk_score >= BANDS[worst][0]
        assert RISK_ORDER[analysis.summary.overall_risk] <= RISK_ORDER[worst]
