"""Each transition of a run against real PostgreSQL: the run, its assessment, its executions
and the webhook messages, as one transaction leaves them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from qrap_core.assessment import lifecycle
from qrap_core.assessment.lease import Lease
from qrap_core.assessment.models import Assessment, AssessmentRun, RunExecution
from qrap_core.assessment.results import RunResults
from qrap_core.assessment.schemas import DataProfile
from qrap_core.audit.service import Actor
from qrap_core.db import Database, DeferredTask, utcnow
from qrap_core.discovery.targets import CertificateTarget
from qrap_core.enums import AssessmentStatus
from qrap_core.organization import service as organization_service
from qrap_core.organization.schemas import OrganizationCreate
from qrap_core.webhook.models import WebhookDelivery, WebhookEndpoint
from qrap_core.webhook.schemas import RunDiffCounts

ACTOR = Actor(subject="lifecycle-tests")
CERT = (Path(__file__).resolve().parents[3] / "qrap_core/examples/certs/rsa1024.pem").read_text()
W1 = Lease("w1", 60)
W2 = Lease("w2", 60)
RESULTS = RunResults(
    summary={"total_findings": 2},
    target_results=[{"target": "a", "type": "certificate", "status": "ok", "assets": 1}],
    model_version="m-1",
    risk_score=72.5,
    overall_risk="HIGH",
    pqc_readiness=0.0,
    assets_scanned=1,
)
DRIFT = RunDiffCounts(previous_run_number=None, new=2, fixed=0, unchanged=0)


def _assessment(database: Database, *, profile: dict[str, object] | None = None) -> uuid.UUID:
    """A DRAFT assessment of one certificate, in an organization with a catch-all webhook."""
    with database.unit_of_work() as uow:
        org = organization_service.create(
            uow, ACTOR, OrganizationCreate(name=f"lifecycle-{uuid.uuid4()}")
        )
        uow.session.add(
            WebhookEndpoint(
                organization_id=org.id, url="https://93.184.216.34/h", events=[],
                secret="whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3", enabled=True, created_by="t",
            )
        )  # fmt: skip
        assessment = Assessment(
            organization_id=org.id,
            name="lifecycle",
            status=AssessmentStatus.DRAFT,
            target_assets=["example.com:443"],
            targets=[CertificateTarget(pem=CERT).model_dump(exclude_none=True)],
            data_profile=profile or {},
            created_by="t",
            updated_by="t",
        )
        uow.session.add(assessment)
        uow.session.flush()
        return assessment.id


def _queued(database: Database, sent: list[DeferredTask] | None = None) -> uuid.UUID:
    assessment_id = _assessment(database)
    with database.unit_of_work((sent if sent is not None else []).append) as uow:
        assessment = uow.session.get_one(Assessment, assessment_id)
        return lifecycle.queue(uow, assessment, triggered_by="t", max_attempts=3, now=utcnow()).id


def _claimed(database: Database, lease: Lease = W1) -> uuid.UUID:
    run_id = _queued(database)
    with database.unit_of_work() as uow:
        assert lifecycle.claim(uow, run_id, lease, utcnow()) is not None
    return run_id


def _state(database: Database, run_id: uuid.UUID) -> tuple[AssessmentRun, Assessment]:
    with database.unit_of_work() as uow:
        run = uow.session.get_one(AssessmentRun, run_id)
        assessment = uow.session.get_one(Assessment, run.assessment_id)
        uow.session.expunge_all()
        return run, assessment


def _executions(database: Database, run_id: uuid.UUID) -> list[tuple[int, str, str | None]]:
    with database.unit_of_work() as uow:
        rows = uow.session.scalars(
            select(RunExecution).where(RunExecution.run_id == run_id).order_by(RunExecution.attempt)
        )
        return [(e.attempt, e.worker, e.outcome) for e in rows]


def _events(database: Database, run_id: uuid.UUID) -> list[str]:
    with database.unit_of_work() as uow:
        return sorted(
            uow.session.scalars(
                select(WebhookDelivery.event_type).where(
                    WebhookDelivery.event_key.like(f"{run_id}:%")
                )
            )
        )


def _expire_lease(database: Database, run_id: uuid.UUID) -> None:
    with database.unit_of_work() as uow:
        uow.session.execute(
            update(AssessmentRun)
            .where(AssessmentRun.id == run_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


class TestQueue:
    def test_adds_the_next_run_and_sends_its_message(self, database: Database) -> None:
        sent: list[DeferredTask] = []
        run_id = _queued(database, sent)
        run, assessment = _state(database, run_id)
        assert (run.status, run.run_number, run.attempts) == ("QUEUED", 1, 0)
        assert (assessment.status, assessment.run_count, assessment.progress) == ("QUEUED", 1, 0)
        assert sent == [
            DeferredTask(lifecycle.RUN_TASK, {"run_id": str(run_id)}, lifecycle.RUN_QUEUE)
        ]


class TestClaim:
    def test_takes_a_queued_run_and_opens_an_execution(self, database: Database) -> None:
        run_id = _queued(database)
        with database.unit_of_work() as uow:
            claimed = lifecycle.claim(uow, run_id, W1, utcnow())
        assert claimed is not None
        assert (claimed.run_id, claimed.run_number, claimed.attempt) == (run_id, 1, 1)
        assert claimed.target_assets == ("example.com:443",)
        assert [t.type for t in claimed.parsed_targets()] == ["certificate"]
        run, assessment = _state(database, run_id)
        assert (run.status, run.lease_owner) == ("IN_PROGRESS", "w1")
        assert assessment.status == "IN_PROGRESS"
        assert _executions(database, run_id) == [(1, "w1", None)]
        assert _events(database, run_id) == ["assessment.started"]

    def test_a_leased_run_is_not_claimable_by_another_worker(self, database: Database) -> None:
        run_id = _claimed(database)
        with database.unit_of_work() as uow:
            assert lifecycle.claim(uow, run_id, W2, utcnow()) is None
        assert _state(database, run_id)[0].lease_owner == "w1"

    def test_takes_over_a_lapsed_lease_and_abandons_the_old_execution(
        self, database: Database
    ) -> None:
        run_id = _claimed(database)
        _expire_lease(database, run_id)
        with database.unit_of_work() as uow:
            claimed = lifecycle.claim(uow, run_id, W2, utcnow())
        assert claimed is not None
        assert claimed.attempt == 2
        assert _executions(database, run_id) == [(1, "w1", "abandoned"), (2, "w2", None)]
        # Announced once, at the first claim.
        assert _events(database, run_id) == ["assessment.started"]

    def test_hands_over_the_stored_data_profile_typed(self, database: Database) -> None:
        assessment_id = _assessment(
            database, profile={"shelf_life_years": 25, "sensitivity": "high", "legacy": 1}
        )
        sent: list[DeferredTask] = []
        with database.unit_of_work(sent.append) as uow:
            assessment = uow.session.get_one(Assessment, assessment_id)
            run = lifecycle.queue(uow, assessment, triggered_by="t", max_attempts=3, now=utcnow())
            claimed = lifecycle.claim(uow, run.id, W1, utcnow())
        assert claimed is not None
        assert claimed.parsed_profile() == DataProfile(shelf_life_years=25, sensitivity="high")


class TestGiveUp:
    def test_a_claim_of_a_lapsed_run_out_of_attempts_fails_it(self, database: Database) -> None:
        run_id = _queued(database)
        for worker in ("w1", "w2", "w3"):
            with database.unit_of_work() as uow:
                assert lifecycle.claim(uow, run_id, Lease(worker, 60), utcnow()) is not None
            _expire_lease(database, run_id)
        with database.unit_of_work() as uow:
            assert lifecycle.claim(uow, run_id, Lease("w4", 60), utcnow()) is None
        run, assessment = _state(database, run_id)
        assert (run.status, run.error) == ("FAILED", "gave up after 3 attempts")
        assert (assessment.status, assessment.error) == ("FAILED", "gave up after 3 attempts")
        assert [outcome for *_, outcome in _executions(database, run_id)] == [
            "abandoned", "abandoned", "failed",
        ]  # fmt: skip
        assert _events(database, run_id) == ["assessment.failed", "assessment.started"]

    def test_names_the_reason_it_gave_up(self, database: Database) -> None:
        run_id = _queued(database)
        with database.unit_of_work() as uow:
            lifecycle.give_up(uow, uow.session.get_one(AssessmentRun, run_id), utcnow(), "queued")
        assert _state(database, run_id)[0].error == "gave up after 0 attempts (queued)"


class TestRenew:
    def test_extends_only_the_owners_lease(self, database: Database) -> None:
        run_id = _claimed(database)
        before = _state(database, run_id)[0].lease_expires_at
        assert before is not None
        later = utcnow() + timedelta(seconds=30)
        with database.unit_of_work() as uow:
            assert lifecycle.renew(uow, run_id, W1, later)
            assert not lifecycle.renew(uow, run_id, W2, later)
        after = _state(database, run_id)[0].lease_expires_at
        assert after is not None
        assert after > before

    def test_records_progress_on_the_run_and_its_assessment(self, database: Database) -> None:
        run_id = _claimed(database)
        with database.unit_of_work() as uow:
            assessment_id = lifecycle.record_progress(
                uow, run_id, W1, utcnow(), done=1, progress=50.0
            )
        run, assessment = _state(database, run_id)
        assert assessment_id == assessment.id
        assert (run.targets_done, run.progress, assessment.progress) == (1, 50.0, 50.0)

    def test_a_lost_lease_records_nothing(self, database: Database) -> None:
        run_id = _claimed(database)
        with database.unit_of_work() as uow:
            lost = lifecycle.record_progress(uow, run_id, W2, utcnow(), done=1, progress=50.0)
        assert lost is None
        run, assessment = _state(database, run_id)
        assert (run.progress, assessment.progress) == (0.0, 0.0)


class TestComplete:
    def test_ends_the_run_and_its_assessment_with_the_results(self, database: Database) -> None:
        run_id = _claimed(database)
        with database.unit_of_work() as uow:
            run = lifecycle.owned_run(uow, run_id, W1)
            assert run is not None
            lifecycle.complete(uow, run, RESULTS, drift=DRIFT, findings=2, now=utcnow())
        run, assessment = _state(database, run_id)
        assert (run.status, run.progress, run.lease_owner) == ("COMPLETED", 100.0, None)
        assert (run.risk_score, run.overall_risk, run.model_version) == (72.5, "HIGH", "m-1")
        assert run.targets_done == 1
        summary = {"total_findings": 2, "diff": DRIFT.model_dump()}
        assert run.summary == assessment.summary == summary
        assert (assessment.status, assessment.risk_score, assessment.assets_scanned) == (
            "COMPLETED", 72.5, 1,
        )  # fmt: skip
        assert _executions(database, run_id) == [(1, "w1", "completed")]
        assert _events(database, run_id) == ["assessment.completed", "assessment.started"]


class TestFail:
    def test_ends_the_run_and_its_assessment_failed(self, database: Database) -> None:
        run_id = _claimed(database)
        with database.unit_of_work() as uow:
            run = lifecycle.owned_run(uow, run_id, W1)
            assert run is not None
            lifecycle.fail(uow, run, "x" * 5000, utcnow(), results=RESULTS)
        run, assessment = _state(database, run_id)
        assert (run.status, run.lease_owner, assessment.status) == ("FAILED", None, "FAILED")
        assert run.error == assessment.error == "x" * 4000
        # What the run found out (each target's error) stays on it; the assessment's does not.
        assert (run.target_results, run.summary) == (RESULTS.target_results, RESULTS.summary)
        assert assessment.summary is None
        assert _executions(database, run_id) == [(1, "w1", "failed")]
        assert _events(database, run_id) == ["assessment.failed", "assessment.started"]

    def test_rolls_back_with_its_webhook_message(self, database: Database) -> None:
        run_id = _queued(database)

        def fail_then_roll_back() -> None:
            with database.unit_of_work() as uow:
                run = uow.session.get_one(AssessmentRun, run_id)
                lifecycle.fail(uow, run, "forced", utcnow())
                raise RuntimeError("rollback")

        with pytest.raises(RuntimeError, match="rollback"):
            fail_then_roll_back()
        assert _state(database, run_id)[0].status == "QUEUED"
        assert _events(database, run_id) == []


class TestCancel:
    def test_cancels_the_active_run_and_its_worker_loses_it(self, database: Database) -> None:
        run_id = _claimed(database)
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            assessment = uow.session.get_one(Assessment, run.assessment_id)
            lifecycle.cancel(uow, assessment, by="someone", now=utcnow())
        run, assessment = _state(database, run_id)
        assert (run.status, run.lease_owner) == ("CANCELLED", None)
        assert (assessment.status, assessment.updated_by) == ("CANCELLED", "someone")
        with database.unit_of_work() as uow:
            assert lifecycle.owned_run(uow, run_id, W1) is None
            assert not lifecycle.renew(uow, run_id, W1, utcnow())


class TestMarkLost:
    def test_closes_the_workers_execution_as_lost(self, database: Database) -> None:
        run_id = _claimed(database)
        with database.unit_of_work() as uow:
            lifecycle.mark_lost(uow, run_id, 1, utcnow())
        assert _executions(database, run_id) == [(1, "w1", "lost")]
        assert _state(database, run_id)[0].status == "IN_PROGRESS"


class TestRequeue:
    def test_restarts_a_queued_runs_grace_period(self, database: Database) -> None:
        run_id = _queued(database)
        later = utcnow() + timedelta(minutes=5)
        sent: list[DeferredTask] = []
        with database.unit_of_work(sent.append) as uow:
            lifecycle.requeue(uow, uow.session.get_one(AssessmentRun, run_id), later)
        assert _state(database, run_id)[0].queued_at == later
        assert [t.kwargs for t in sent] == [{"run_id": str(run_id)}]

    def test_leaves_a_lapsed_runs_queue_time(self, database: Database) -> None:
        run_id = _claimed(database)
        queued_at = _state(database, run_id)[0].queued_at
        sent: list[DeferredTask] = []
        with database.unit_of_work(sent.append) as uow:
            lifecycle.requeue(uow, uow.session.get_one(AssessmentRun, run_id), utcnow())
        assert _state(database, run_id)[0].queued_at == queued_at
        assert len(sent) == 1
