"""Webhook faults against a real worker and beat: retries on the docs/reliability.md schedule
scaled 1/2000, an endpoint down throughout, 410, a redirect, a hang past the timeout (T12);
and signatures checked with the Standard Webhooks reference library (T13)."""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from qrap_core.settings import get_settings
from qrap_core.webhook import service as webhook_service
from qrap_core.webhook import signing
from qrap_core.webhook.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from qrap_core.webhook.schemas import WebhookEndpointCreate
from tests.reliability.conftest import FaultEnv
from tests.reliability.harness import (
    ACTOR,
    LEDGER,
    Receiver,
    celery_worker,
    dispatcher,
    make_org,
    start_worker,
    submit,
    wait_terminal,
    wait_until,
)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]

SCENARIOS = {
    "/down": [503],  # down throughout: 10 attempts, then failed
    "/flaky": [500, 500, 500, 200],
    "/gone": [410],
    "/redirect": [302, 200],  # Location: the cloud metadata address; never followed
    "/hang": [-3, 200],  # hangs 3 s, past the 2 s timeout, then recovers
}


def _endpoint(env: FaultEnv, receiver: Receiver, path: str) -> tuple[uuid.UUID, uuid.UUID, str]:
    org = make_org(env.db)
    with env.db.unit_of_work() as uow:
        endpoint, secret = webhook_service.create_endpoint(
            uow,
            ACTOR,
            WebhookEndpointCreate(
                organization_id=org, url=receiver.url(path), events=["assessment.completed"]
            ),
            get_settings(),
        )
        return org, endpoint.id, secret


def _delivery(env: FaultEnv, endpoint_id: uuid.UUID) -> WebhookDelivery | None:
    with env.db.unit_of_work() as uow:
        return uow.session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        )


def _attempts(env: FaultEnv, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
    with env.db.unit_of_work() as uow:
        return list(
            uow.session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery_id)
                .order_by(WebhookAttempt.attempt)
            )
        )


@pytest.mark.usefixtures("private_webhooks")
def test_webhook_retries(fresh_queues: FaultEnv, tmp_path: Path) -> None:
    """T12: same webhook-id on every try, a fresh timestamp and signature each time."""
    env = fresh_queues
    row = LEDGER.row("T12", "webhook 500x3, down 10x, 410, 302, hang > timeout")
    receiver = Receiver()
    receiver.script.update(SCENARIOS)
    worker = start_worker(celery_worker(env.env(), tmp_path / "worker.log"))
    try:
        endpoints = {path: _endpoint(env, receiver, path) for path in SCENARIOS}
        runs = [submit(env.db, org, dispatcher(env.client))[1] for org, _, _ in endpoints.values()]
        wait_terminal(env.db, runs, 30)

        def settled() -> bool:
            rows = [_delivery(env, e) for _, e, _ in endpoints.values()]
            return all(r is not None and r.status != "pending" for r in rows)

        took = wait_until(settled, 160, "every webhook message to settle", poll=1.0)
        time.sleep(1.5)  # a try after the end would show up now
        deliveries = {p: _delivery(env, e) for p, (_, e, _) in endpoints.items()}
        with env.db.unit_of_work() as uow:
            gone = uow.session.get_one(WebhookEndpoint, endpoints["/gone"][1])
            gone_enabled, gone_reason = gone.enabled, gone.disabled_reason
    finally:
        worker.stop()
        receiver.close()

    for path, (_, _, secret) in endpoints.items():
        calls = receiver.calls(path)
        verifier = Webhook(secret)
        for call in calls:
            verifier.verify(call.body, call.headers)  # raises if any try is badly signed
        assert len({c.headers["webhook-id"] for c in calls}) == 1, path
    flaky = receiver.calls("/flaky")
    assert [c.headers["webhook-id"] for c in flaky] == [flaky[0].headers["webhook-id"]] * 4
    assert flaky[0].headers["webhook-timestamp"] != flaky[-1].headers["webhook-timestamp"]
    assert flaky[0].headers["webhook-signature"] != flaky[-1].headers["webhook-signature"]
    assert len(receiver.calls("/down")) == 10
    assert len(receiver.calls("/gone")) == 1
    assert len(receiver.calls("/redirect")) == 2
    assert len(receiver.calls("/hang")) == 2
    assert not [r for r in receiver.received if r.path.startswith("GET")], "a redirect was followed"

    def status(path: str) -> tuple[str, int]:
        delivery = deliveries[path]
        assert delivery is not None
        return delivery.status, delivery.attempts

    assert status("/flaky") == ("succeeded", 4)
    assert status("/down") == ("failed", 10)
    assert status("/gone") == ("failed", 1)
    assert (gone_enabled, gone_reason) == (False, "the endpoint answered 410 Gone")
    assert status("/redirect") == ("succeeded", 2)
    assert status("/hang") == ("succeeded", 2)
    redirect = deliveries["/redirect"]
    hang = deliveries["/hang"]
    assert redirect is not None
    assert hang is not None
    first_redirect = _attempts(env, redirect.id)[0]
    assert (first_redirect.status_code, first_redirect.outcome) == (302, "failed")
    assert "not followed" in (first_redirect.error or "")
    first_hang = _attempts(env, hang.id)[0]
    assert first_hang.status_code is None
    assert "timed out" in (first_hang.error or "")
    down = _attempts(env, deliveries["/down"].id)  # type: ignore[union-attr]
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in itertools.pairwise(down)]
    # The schedule scaled 1/2000 (75.6 h -> 136 s); each gap is at least its delay minus jitter.
    expected = [d.total_seconds() / 2000 * 0.9 for d in webhook_service.RETRY_DELAYS]
    assert all(g >= e - 0.05 for g, e in zip(gaps, expected, strict=True)), gaps

    row.injected = 3 + 10 + 1 + 1 + 1
    row.submitted = len(SCENARIOS)
    row.completed = sum(1 for d in deliveries.values() if d is not None and d.status != "pending")
    row.duplicated = sum(1 for p in SCENARIOS if _successes(p, len(receiver.calls(p))) > 1)
    row.lost = len(SCENARIOS) - row.completed
    row.note = (
        f"jobs = webhook messages; all settled in {took:.0f} s: 3 delivered, 'down' failed "
        "after 10 tries, 'gone' disabled the endpoint"
    )


def _successes(path: str, calls: int) -> int:
    """How many of the first ``calls`` answers reached the sender as a success. A hang past the
    timeout is a failure to the sender, so its retry is the at-least-once the spec allows (the
    receiver deduplicates by webhook-id), not a duplicate."""
    plan = SCENARIOS[path]
    answers = [plan[min(i, len(plan) - 1)] for i in range(calls)]
    return sum(1 for status in answers if status == 200)


def _lib_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def test_signatures_verify_with_the_reference_library() -> None:
    """T13: every valid message verifies with `standardwebhooks`; every negative is refused."""
    row = LEDGER.row("T13", "signatures: tamper, +-6 min, missing header, rotation")
    now = int(time.time())
    valid = 0
    for index in range(100):
        secret = signing.generate_secret()
        if index % 10 == 0:
            secret = secret.rstrip("=")  # unpadded secrets are valid too
        body = json.dumps({"n": index, "s": secrets.token_hex(index % 7 + 1)}).encode()
        headers = signing.headers([secret], f"msg_{uuid.uuid4().hex}", now, body)
        Webhook(secret).verify(body, headers)
        signing.verify(secret, body, headers)
        valid += 1

    secret = signing.generate_secret()
    body = b'{"type":"assessment.completed"}'
    good = signing.headers([secret], "msg_1", now, body)
    negatives: list[tuple[str, bytes, dict[str, str], str]] = [
        ("tampered body", body + b" ", good, secret),
        ("wrong secret", body, good, _lib_secret()),
        ("6 min old", body, signing.headers([secret], "msg_1", now - 360, body), secret),
        ("6 min ahead", body, signing.headers([secret], "msg_1", now + 360, body), secret),
        ("other id", body, {**good, "webhook-id": "msg_2"}, secret),
        ("v2 only", body, {**good, "webhook-signature": "v2," + good["webhook-signature"][3:]},
         secret),
    ]  # fmt: skip
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        negatives.append(
            (f"missing {header}", body, {k: v for k, v in good.items() if k != header}, secret)
        )
    refused = 0
    for name, data, headers, key in negatives:
        with pytest.raises(WebhookVerificationError):
            Webhook(key).verify(data, headers)
        with pytest.raises(signing.SignatureError):
            signing.verify(key, data, headers)
        refused += 1
        assert name

    # Rotation: during the grace period both secrets sign, so either verifies; no third does.
    old, new = signing.generate_secret(), signing.generate_secret()
    endpoint = WebhookEndpoint(
        secret=new,
        previous_secret=old,
        previous_secret_expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    keys = webhook_service.signing_secrets(endpoint, datetime.now(UTC))
    rotated = signing.headers(keys, "msg_rot", now, body)
    assert len(rotated["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, rotated)
    Webhook(new).verify(body, rotated)
    with pytest.raises(WebhookVerificationError):
        Webhook(_lib_secret()).verify(body, rotated)
    expired = WebhookEndpoint(
        secret=new,
        previous_secret=old,
        previous_secret_expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    assert webhook_service.signing_secrets(expired, datetime.now(UTC)) == [new]
    with pytest.raises(signing.SignatureError):
        signing.secret_key("whsec_")  # an empty secret signs nothing

    row.injected = len(negatives) + 1
    row.note = (
        f"{valid}/{valid} valid verified by standardwebhooks; {refused + 1} negatives refused"
    )
    assert valid == 100
