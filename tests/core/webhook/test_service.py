"""Webhook outbox and delivery against real PostgreSQL and a loopback receiver."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.assessment.schemas import AssessmentCreate
from qrap_core.audit.service import Actor
from qrap_core.db import Database, DeferredTask, utcnow
from qrap_core.discovery.targets import CertificateTarget
from qrap_core.errors import InvalidInput
from qrap_core.netpolicy import NetworkPolicy
from qrap_core.organization import service as organization_service
from qrap_core.organization.schemas import OrganizationCreate
from qrap_core.settings import Settings
from qrap_core.webhook import delivery as http
from qrap_core.webhook import service as webhook_service
from qrap_core.webhook.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from qrap_core.webhook.schemas import WebhookEndpointCreate
from tests.reliability.harness import Receiver

ACTOR = Actor(subject="webhook-tests")
CERT = (Path(__file__).resolve().parents[3] / "qrap_core/examples/certs/rsa1024.pem").read_text()


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"webhook_allow_private": True, "webhook_timeout_seconds": 1.0}
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _org(database: Database) -> uuid.UUID:
    with database.unit_of_work() as uow:
        return organization_service.create(
            uow, ACTOR, OrganizationCreate(name=f"hooks-{uuid.uuid4()}")
        ).id


def _endpoint(
    database: Database,
    settings: Settings,
    org: uuid.UUID,
    url: str,
    events: list[str] | None = None,
) -> tuple[uuid.UUID, str]:
    with database.unit_of_work() as uow:
        endpoint, secret = webhook_service.create_endpoint(
            uow,
            ACTOR,
            WebhookEndpointCreate.model_validate(
                {"organization_id": org, "url": url, "events": events or []}
            ),
            settings,
        )
        return endpoint.id, secret


def _run(database: Database, org: uuid.UUID) -> uuid.UUID:
    sent: list[DeferredTask] = []
    with database.unit_of_work(sent.append) as uow:
        assessment_service.create(
            uow,
            ACTOR,
            AssessmentCreate(
                name="hooks", organization_id=org, targets=[CertificateTarget(pem=CERT)], run=True
            ),
        )
    return uuid.UUID(sent[0].kwargs["run_id"])


def _enqueue(database: Database, run_id: uuid.UUID, event: str = "assessment.completed") -> int:
    with database.unit_of_work() as uow:
        run = uow.session.get_one(AssessmentRun, run_id)
        assessment = uow.session.get_one(Assessment, run.assessment_id)
        return webhook_service.enqueue_assessment_event(uow, event, assessment, run, now=utcnow())


def _message(database: Database, endpoint_id: uuid.UUID) -> WebhookDelivery:
    with database.unit_of_work() as uow:
        return uow.session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        ).one()


class TestEnqueue:
    def test_one_message_per_endpoint_and_transition(
        self, database: Database, hook_settings: Settings, receiver: Receiver
    ) -> None:
        org = _org(database)
        every, _ = _endpoint(database, hook_settings, org, receiver.url("/all"))
        failed_only, _ = _endpoint(
            database, hook_settings, org, receiver.url("/f"), ["assessment.failed"]
        )
        run_id = _run(database, org)
        assert _enqueue(database, run_id) == 1
        assert _enqueue(database, run_id) == 0  # a retried transition writes nothing new
        message = _message(database, every)
        body = json.loads(message.body)
        assert body["type"] == "assessment.completed"
        assert body["version"] == "1"
        assert body["data"]["run_id"] == str(run_id)
        assert message.message_id.startswith("msg_")
        with database.unit_of_work() as uow:
            assert not uow.session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.endpoint_id == failed_only)
            ).all()

    def test_refuses_urls_the_policy_refuses(self, database: Database, settings: Settings) -> None:
        org = _org(database)
        for url in ("http://169.254.169.254/latest", "http://127.0.0.1:8080/h", "http://[::1]/h"):
            with pytest.raises(InvalidInput) as caught:
                _endpoint(database, settings, org, url)
            assert caught.value.details[0]["field"] == "url"


class TestDeliver:
    def _due(self, database: Database) -> list[tuple[uuid.UUID, int]]:
        with database.unit_of_work() as uow:
            return webhook_service.claim_due(uow, now=utcnow(), hold=timedelta(seconds=60))

    def test_success_is_signed_and_recorded(
        self, database: Database, hook_settings: Settings, receiver: Receiver
    ) -> None:
        org = _org(database)
        endpoint_id, secret = _endpoint(database, hook_settings, org, receiver.url("/ok"))
        _enqueue(database, _run(database, org))
        message = _message(database, endpoint_id)
        due = [d for d in self._due(database) if d[0] == message.id]
        assert due == [(message.id, 0)]
        assert message.id not in [d[0] for d in self._due(database)]  # held, not sent twice
        outcome = webhook_service.deliver(database, hook_settings, message.id, 0)
        assert outcome.status == "succeeded"
        # A duplicate task for the same attempt finds it made: no second request.
        assert webhook_service.deliver(database, hook_settings, message.id, 0).status == "skipped"
        calls = receiver.calls("/ok")
        assert len(calls) == 1
        Webhook(secret).verify(calls[0].body, calls[0].headers)
        assert calls[0].headers["webhook-id"] == message.message_id
        with database.unit_of_work() as uow:
            attempt = uow.session.scalars(
                select(WebhookAttempt).where(WebhookAttempt.delivery_id == message.id)
            ).one()
        assert (attempt.status_code, attempt.outcome) == (200, "succeeded")

    @pytest.mark.parametrize(
        ("script", "outcome", "error"),
        [
            ([500], "retrying", "HTTP 500"),
            ([302], "retrying", "not followed"),
            ([-2], "retrying", "timed out"),
            ([410], "disabled", "410"),
        ],
    )
    def test_failures(
        self,
        database: Database,
        hook_settings: Settings,
        receiver: Receiver,
        script: list[int],
        outcome: str,
        error: str,
    ) -> None:
        org = _org(database)
        endpoint_id, _ = _endpoint(database, hook_settings, org, receiver.url("/x"))
        receiver.script["/x"] = script
        run_id = _run(database, org)
        _enqueue(database, run_id)
        _enqueue(database, run_id, "assessment.started")
        message = _message_of(database, endpoint_id, "assessment.completed")
        result = webhook_service.deliver(database, hook_settings, message.id, 0)
        assert result.status == outcome
        after = _message_of(database, endpoint_id, "assessment.completed")
        assert error in (after.last_error or "")
        assert not [r for r in receiver.received if r.path.startswith("GET")]
        if outcome == "retrying":
            assert after.status == "pending"
            assert after.next_attempt_at is not None
            # First retry after ~5 s (+-10 % jitter).
            delay = (after.next_attempt_at - utcnow()).total_seconds()
            assert 3.5 <= delay <= 5.6
        else:
            with database.unit_of_work() as uow:
                endpoint = uow.session.get_one(WebhookEndpoint, endpoint_id)
                assert not endpoint.enabled
            other = _message_of(database, endpoint_id, "assessment.started")
            assert (after.status, other.status) == ("failed", "cancelled")

    def test_manual_redelivery_is_one_more_attempt(
        self, database: Database, hook_settings: Settings, receiver: Receiver
    ) -> None:
        org = _org(database)
        endpoint_id, _ = _endpoint(database, hook_settings, org, receiver.url("/gone"))
        receiver.script["/gone"] = [410, 200]
        _enqueue(database, _run(database, org))
        message = _message(database, endpoint_id)
        assert webhook_service.deliver(database, hook_settings, message.id, 0).status == "disabled"
        with database.unit_of_work() as uow:
            webhook_service.redeliver(uow, ACTOR, endpoint_id, message.id)
        assert webhook_service.deliver(database, hook_settings, message.id, 1).status == "succeeded"
        with database.unit_of_work() as uow:
            attempts = uow.session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == message.id)
                .order_by(WebhookAttempt.attempt)
            ).all()
            endpoint = uow.session.get_one(WebhookEndpoint, endpoint_id)
            assert [(a.trigger, a.status_code) for a in attempts] == [
                ("schedule", 410),
                ("manual", 200),
            ]
            assert endpoint.enabled
        calls = receiver.calls("/gone")
        assert calls[0].headers["webhook-id"] == calls[1].headers["webhook-id"]

    def test_policy_refusal_never_connects(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A name that resolves to the metadata address is refused before any connect."""
        connects: list[object] = []
        monkeypatch.setattr(socket.socket, "connect", lambda *a: connects.append(a))
        policy = NetworkPolicy(
            http.PRIVATE_NETWORKS, resolver=lambda _h, _p: ["93.184.216.34", "169.254.169.254"]
        )
        result = http.post("https://hooks.example/x", b"{}", {}, policy=policy, timeout=1)
        assert result.status_code is None
        assert "refused by network policy" in (result.error or "")
        assert connects == []


def _message_of(database: Database, endpoint_id: uuid.UUID, event: str) -> WebhookDelivery:
    with database.unit_of_work() as uow:
        return uow.session.scalars(
            select(WebhookDelivery).where(
                WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.event_type == event
            )
        ).one()


class TestSchedule:
    def test_ten_attempts_over_about_75_hours(self) -> None:
        total = sum(webhook_service.RETRY_DELAYS, timedelta())
        assert webhook_service.MAX_ATTEMPTS == 10
        assert total == timedelta(hours=75, minutes=35, seconds=5)

    def test_jitter_and_scale(self) -> None:
        delays = [webhook_service.next_delay(2, 1.0).total_seconds() for _ in range(50)]
        assert all(270 <= d <= 330 for d in delays)
        assert len(set(delays)) > 1
        assert webhook_service.next_delay(2, 1 / 2000).total_seconds() < 0.2
