"""What one small run costs the worker: its round trips to PostgreSQL, counted statement by
statement, and the scoring of a few rows without a DMatrix (bench/README.md, part e)."""

from __future__ import annotations

import dataclasses
import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import InterfaceError, OperationalError

from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.models import AssessmentRun, RunExecution
from qrap_core.assessment.schemas import AssessmentCreate
from qrap_core.audit.service import Actor
from qrap_core.db import Database, DeferredTask
from qrap_core.discovery.targets import InventoryItem, InventoryTarget
from qrap_core.finding.models import Finding
from qrap_core.organization import service as organization_service
from qrap_core.organization.schemas import OrganizationCreate
from qrap_core.pipeline import RunExecutor
from qrap_core.scoring.model import INPLACE_ROWS, XGBoostRiskModel, get_risk_model
from qrap_core.scoring.training import (
    build_dataset,
    config_from_meta,
    dmatrix,
    timelines_of,
)
from qrap_core.settings import Settings

ACTOR = Actor(subject="tester")
# bench/parts/e_small.py's one asset.
ITEM = InventoryItem(asset="vpn gateway", algorithm="RSA-2048", usage="signature", key_size=2048)

# Every statement of a one-target run, in order ("COMMIT" for a commit). The rows themselves go
# by COPY on the raw connection (finding.rows.bulk_insert), one per table, not counted here.
ONE_TARGET_RUN = [
    # the claim: the run and its assessment, each one UPDATE ... RETURNING
    "UPDATE assessment_runs",
    "UPDATE assessments",
    "INSERT run_executions",
    "SELECT webhook_endpoints",  # assessment.started
    "UPDATE assessment_runs",  # targets_total, counted at the claim
    "COMMIT",
    # the one progress heartbeat, after the target
    "UPDATE assessment_runs",
    "UPDATE assessments",
    "COMMIT",
    # finalize
    "SELECT assessment_runs",  # owned_run, FOR UPDATE
    "DELETE findings",
    "DELETE crypto_assets",
    "SELECT assessment_runs",  # the previous run, for the drift counts
    "UPDATE assessment_runs",
    "UPDATE assessments",
    "UPDATE run_executions",
    "INSERT qrap_audit_log",
    "SELECT webhook_endpoints",  # assessment.completed
    "COMMIT",
]


def _kind(statement: str) -> str:
    """ "UPDATE assessments" for an UPDATE of assessments: the verb and the table it names."""
    verb = statement.split(None, 1)[0].upper()
    pattern = {
        "SELECT": r"\bFROM\s+(\w+)",
        "UPDATE": r"^UPDATE\s+(\w+)",
        "INSERT": r"^INSERT\s+INTO\s+(\w+)",
        "DELETE": r"^DELETE\s+FROM\s+(\w+)",
    }.get(verb)
    match = re.search(pattern, statement, re.IGNORECASE) if pattern else None
    return f"{verb} {match.group(1)}" if match else verb


@pytest.fixture
def worker_database(settings: Settings) -> Iterator[Database]:
    """A database the way the worker should open it: no pre-ping at checkout."""
    db = Database(settings.sqlalchemy_url, pool_size=1, max_overflow=0, pre_ping=False)
    yield db
    db.dispose()


def _queue_one_target(database: Database) -> uuid.UUID:
    sent: list[DeferredTask] = []
    with database.unit_of_work(sent.append) as uow:
        org = organization_service.create(
            uow, ACTOR, OrganizationCreate(name=f"run-cost-{uuid.uuid4()}")
        )
        assessment_service.create(
            uow,
            ACTOR,
            AssessmentCreate(
                name="run cost",
                organization_id=org.id,
                targets=[InventoryTarget(assets=[ITEM])],
                run=True,
            ),
        )
    return uuid.UUID(sent[0].kwargs["run_id"])


def _statements_of(database: Database, executor: RunExecutor, run_id: uuid.UUID) -> list[str]:
    """The statements ``executor.execute(run_id)`` sends from this thread (the lease's
    heartbeat thread may add renewals on a slow machine; those are not the run's cost)."""
    caller = threading.get_ident()
    sent: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if threading.get_ident() == caller:
            sent.append(_kind(sql))

    def commit(_conn: Any) -> None:
        if threading.get_ident() == caller:
            sent.append("COMMIT")

    event.listen(database.engine, "before_cursor_execute", statement)
    event.listen(database.engine, "commit", commit)
    try:
        assert executor.execute(run_id).status == "COMPLETED"
    finally:
        event.remove(database.engine, "before_cursor_execute", statement)
        event.remove(database.engine, "commit", commit)
    return sent


class TestRoundTrips:
    def test_one_target_run(
        self, database: Database, worker_database: Database, settings: Settings
    ) -> None:
        run_id = _queue_one_target(database)
        executor = RunExecutor(worker_database, settings, worker_id="cost-worker")
        executor.warm_up()
        assert _statements_of(worker_database, executor, run_id) == ONE_TARGET_RUN
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            assert (run.status, run.attempts, run.targets_total, run.targets_done) == (
                "COMPLETED", 1, 1, 1,
            )  # fmt: skip
            executions = uow.session.scalars(
                select(RunExecution).where(RunExecution.run_id == run_id)
            ).all()
            assert [(e.attempt, e.outcome) for e in executions] == [(1, "completed")]

    def test_retried_run_still_closes_the_abandoned_execution(
        self, database: Database, worker_database: Database, settings: Settings
    ) -> None:
        """The first claim skips closing earlier executions; a later one still does."""
        run_id = _queue_one_target(database)
        dead = RunExecutor(worker_database, settings, worker_id="dead-worker")
        assert dead._claim(run_id) is not None  # claimed, then the worker died
        with database.unit_of_work() as uow:
            uow.session.execute(
                text("UPDATE assessment_runs SET lease_expires_at = now() - interval '1 hour'"
                     " WHERE id = :id"), {"id": run_id},
            )  # fmt: skip
        executor = RunExecutor(worker_database, settings, worker_id="cost-worker")
        assert executor.execute(run_id).status == "COMPLETED"
        with database.unit_of_work() as uow:
            executions = uow.session.scalars(
                select(RunExecution)
                .where(RunExecution.run_id == run_id)
                .order_by(RunExecution.attempt)
            ).all()
            assert [(e.attempt, e.outcome) for e in executions] == [
                (1, "abandoned"),
                (2, "completed"),
            ]


class TestWithoutPrePing:
    def test_a_dead_connection_fails_once_then_the_retry_completes(
        self, database: Database, worker_database: Database, settings: Settings
    ) -> None:
        """What a PostgreSQL restart does to a pool without pre-ping: the first statement on
        the dead connection raises a database error (the task retries it), the pool is
        discarded, and the retry runs on a new connection, writing each row once."""
        run_id = _queue_one_target(database)
        with worker_database.unit_of_work() as uow:
            pid = uow.session.scalar(text("SELECT pg_backend_pid()"))
        with database.unit_of_work() as uow:
            assert uow.session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        executor = RunExecutor(worker_database, settings, worker_id="cost-worker")
        with pytest.raises((OperationalError, InterfaceError)):
            executor.execute(run_id)
        assert executor.execute(run_id).status == "COMPLETED"
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            assert (run.status, run.attempts) == ("COMPLETED", 1)
            findings = uow.session.scalar(
                select(func.count()).select_from(Finding).where(Finding.run_id == run_id)
            )
            assert findings == 1


@pytest.fixture(scope="module")
def model() -> XGBoostRiskModel:
    loaded = get_risk_model()
    assert isinstance(loaded, XGBoostRiskModel)
    return loaded


@pytest.fixture(scope="module")
def feature_rows(model: XGBoostRiskModel) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Feature rows of synthetic sites, as the model was trained on (every feature varies)."""
    config = dataclasses.replace(config_from_meta(model.meta), sites=400)
    rows = build_dataset(
        config, timelines_of(model.survey, model.survey_edition), model.timeline.survey_year
    ).rows
    assert len(rows) > INPLACE_ROWS
    return rows


class TestSmallBatchPrediction:
    @pytest.mark.parametrize("size", [1, 2, 17, INPLACE_ROWS, INPLACE_ROWS + 1])
    def test_same_scores_as_a_dmatrix(
        self,
        model: XGBoostRiskModel,
        feature_rows: np.ndarray[Any, np.dtype[np.float32]],
        size: int,
    ) -> None:
        for start in range(0, len(feature_rows) - size, max(size, 97)):
            rows = feature_rows[start : start + size]
            expected = model.booster.predict(dmatrix(rows))
            np.testing.assert_allclose(model.predict_raw(rows), expected, rtol=0, atol=1e-6)

    def test_small_batches_build_no_dmatrix(
        self,
        model: XGBoostRiskModel,
        feature_rows: np.ndarray[Any, np.dtype[np.float32]],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        def refused(*_args: Any, **_kwargs: Any) -> None:
            raise AssertionError("a DMatrix was built for a small batch")

        monkeypatch.setattr("qrap_core.scoring.model.dmatrix", refused)
        explained = model.explain_rows(feature_rows[:3])
        assert explained.scores.shape == (3,)
