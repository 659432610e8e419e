"""What one `POST /api/v1/assessments` costs in database round trips, and the API's pool.

Counting statements is a stable, non-timing check: a change that adds a query to the
submission path (a reload after commit, a flush of its own) fails here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from anyio import to_thread
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.pool import QueuePool

from qrap_api.app import create_app
from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.audit.models import AuditLogEntry
from qrap_core.db import Database
from qrap_core.settings import Settings
from tests.conftest import RecordingDispatcher


class Statements:
    """The SQL statements an engine sent, and its COMMITs, while ``recording`` was open."""

    def __init__(self) -> None:
        self.sql: list[str] = []
        self.commits = 0

    def before_cursor_execute(
        self,
        _conn: Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        self.sql.append(" ".join(statement.split()))

    def commit(self, _conn: Connection) -> None:
        self.commits += 1

    def verbs(self) -> list[str]:
        """``INSERT assessments``, ``SELECT organizations``... in the order they were sent."""
        return [_verb(statement) for statement in self.sql]


def _verb(statement: str) -> str:
    words = statement.split()
    verb = words[0].upper()
    if verb == "INSERT":
        return f"INSERT {words[2]}"
    if verb == "UPDATE":
        return f"UPDATE {words[1]}"
    table = words[words.index("FROM") + 1] if "FROM" in words else "?"
    return f"{verb} {table}"


@contextmanager
def recording(database: Database) -> Iterator[Statements]:
    statements = Statements()
    event.listen(database.engine, "before_cursor_execute", statements.before_cursor_execute)
    event.listen(database.engine, "commit", statements.commit)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", statements.before_cursor_execute)
        event.remove(database.engine, "commit", statements.commit)


def _submit(client: TestClient, org_id: str, **extra: Any) -> Any:
    body = {"name": "cost", "organization_id": org_id, "target_assets": ["127.0.0.1:9"]}
    return client.post("/api/v1/assessments", json=body | extra)


class TestSubmissionRoundTrips:
    def test_run_true_is_four_statements_and_one_commit(
        self,
        client: TestClient,
        org_id: str,
        database: Database,
        dispatched: RecordingDispatcher,
    ) -> None:
        with recording(database) as statements:
            response = _submit(client, org_id, run=True)
        assert response.status_code == 202, response.text
        # The organization (tenancy), one flush for the assessment and its run, one INSERT
        # for both audit entries; nothing is read back to build the answer.
        assert statements.verbs() == [
            "SELECT organizations",
            "INSERT assessments",
            "INSERT assessment_runs",
            "INSERT qrap_audit_log",
        ]
        assert statements.commits == 1
        assert [task.name for task in dispatched.sent] == ["qrap.assessment.run"]

    def test_draft_is_two_statements(
        self, client: TestClient, org_id: str, database: Database
    ) -> None:
        with recording(database) as statements:
            response = _submit(client, org_id)
        assert response.status_code == 201, response.text
        assert statements.verbs() == [
            "SELECT organizations",
            "INSERT assessments",
            "INSERT qrap_audit_log",
        ]
        assert statements.commits == 1

    def test_rejected_submission_writes_nothing(
        self, client: TestClient, org_id: str, database: Database
    ) -> None:
        with recording(database) as statements:
            response = _submit(client, org_id, target_assets=["not a target !"], run=True)
        assert response.status_code == 400, response.text
        assert response.json()["details"][0]["field"] == "target_assets[0]"
        assert not [s for s in statements.verbs() if s.split()[0] in {"INSERT", "UPDATE"}]
        assert statements.commits == 0


class TestAnswerFromMemory:
    def test_answer_matches_what_was_committed(
        self,
        client: TestClient,
        org_id: str,
        database: Database,
        dispatched: RecordingDispatcher,
    ) -> None:
        response = _submit(client, org_id, run=True)
        assert response.status_code == 202, response.text
        body = response.json()
        stored = client.get(f"/api/v1/assessments/{body['id']}").json()
        assert body == stored | {"webhook_secret": None}
        assert body["status"] == "QUEUED"
        assert body["run_count"] == 1
        assert body["latest_run"]["run_number"] == 1
        assert dispatched.sent[0].kwargs == {"run_id": body["latest_run"]["id"]}

    def test_audit_entries_in_order(
        self, client: TestClient, org_id: str, database: Database
    ) -> None:
        body = _submit(client, org_id, run=True).json()
        with database.unit_of_work() as uow:
            entries = uow.session.scalars(
                select(AuditLogEntry)
                .where(AuditLogEntry.object_id == body["id"])
                .order_by(AuditLogEntry.id)
            ).all()
            run = uow.session.scalars(
                select(AssessmentRun).where(AssessmentRun.assessment_id == uuid.UUID(body["id"]))
            ).one()
            assessment = uow.session.get_one(Assessment, uuid.UUID(body["id"]))
            assert [e.action for e in entries] == ["assessment.create", "assessment.run"]
            assert entries[1].details == {"run_id": str(run.id), "run_number": 1}
            assert assessment.run_count == 1


class TestApiPool:
    def test_keeps_a_connection_per_thread(self, settings: Settings) -> None:
        pool = settings.model_copy(
            update={"db_min_conns": 5, "db_max_conns": 50, "api_threads": 40}
        )
        assert pool.api_pool() == (40, 10)

    @pytest.mark.parametrize(
        ("min_conns", "max_conns", "threads", "expected"),
        [(5, 25, 40, (25, 0)), (30, 50, 20, (30, 20)), (0, 1, 40, (1, 0))],
    )
    def test_within_the_connection_limits(
        self,
        settings: Settings,
        min_conns: int,
        max_conns: int,
        threads: int,
        expected: tuple[int, int],
    ) -> None:
        update = {"db_min_conns": min_conns, "db_max_conns": max_conns, "api_threads": threads}
        assert settings.model_copy(update=update).api_pool() == expected

    def test_the_app_builds_its_pool_and_threads_from_the_settings(
        self, settings: Settings, dispatched: RecordingDispatcher
    ) -> None:
        update = {"db_min_conns": 2, "db_max_conns": 9, "api_threads": 6}
        app = create_app(settings.model_copy(update=update), dispatcher=dispatched)
        with TestClient(app) as test_client:
            db: Database = app.state.qrap.db
            pool = db.engine.pool
            assert isinstance(pool, QueuePool)
            assert (pool.size(), pool._max_overflow) == (6, 3)
            assert test_client.portal is not None
            threads = test_client.portal.call(_thread_tokens)
        assert threads == 6


def _thread_tokens() -> float:
    return to_thread.current_default_thread_limiter().total_tokens
