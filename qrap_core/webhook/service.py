"""Webhook endpoints, the message outbox, and the delivery state machine.

Messages are written by ``enqueue_assessment_event`` inside the transaction that changes the
run's state. Beat calls ``claim_due`` (``FOR UPDATE SKIP LOCKED``) and sends one task per due
message; the task calls ``deliver``, which counts the attempt, posts once, records the attempt
and schedules the next one from docs/reliability.md with jitter. PostgreSQL holds every retry time:
no Celery countdown outlives the broker's visibility timeout.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.audit import service as audit
from qrap_core.audit.service import Actor
from qrap_core.db import Database, UnitOfWork, utcnow
from qrap_core.enums import DeliveryStatus
from qrap_core.errors import InvalidInput, InvalidState, NotFound, QrapError
from qrap_core.netpolicy import ResolutionError
from qrap_core.organization import service as organization_service
from qrap_core.pagination import Page
from qrap_core.settings import Settings
from qrap_core.webhook import delivery as http
from qrap_core.webhook import signing
from qrap_core.webhook.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from qrap_core.webhook.schemas import (
    AssessmentEventData,
    RunDiffCounts,
    WebhookEndpointCreate,
    WebhookEvent,
)

if TYPE_CHECKING:
    import httpx

# Delay before attempt n+1 after attempt n fails (docs/reliability.md, Standard Webhooks): ten
# attempts over 75 h 35 min.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)

MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1  # +-10 %, so endpoints that failed together do not retry in lockstep
ROTATION_GRACE = timedelta(hours=24)
MAX_RETRY_AFTER = timedelta(hours=24)
DELIVER_TASK = "qrap.webhook.deliver"
WEBHOOK_QUEUE = "webhooks"


class WebhookNotFound(NotFound):
    pass


class DeliveryNotFound(NotFound):
    pass


# -- endpoints --------------------------------------------------------------------------------


def vet_endpoint_url(url: str, settings: Settings) -> None:
    """Refuse a URL the network policy would refuse at delivery time (400 naming ``url``)."""
    try:
        http.vet_url(url, http.webhook_policy(settings.webhook_allow_private))
    except (QrapError, ResolutionError, ValueError) as exc:
        message = exc.message if isinstance(exc, QrapError) else str(exc)
        raise InvalidInput(
            f"webhook URL refused: {message}", details=[{"field": "url", "message": message}]
        ) from None


def create_endpoint(
    uow: UnitOfWork, actor: Actor, spec: WebhookEndpointCreate, settings: Settings
) -> tuple[WebhookEndpoint, str]:
    """Create an organization endpoint; return it with its secret (shown to the caller once)."""
    org = organization_service.get(uow, actor, spec.organization_id)
    vet_endpoint_url(spec.url, settings)
    secret = signing.generate_secret()
    endpoint = WebhookEndpoint(
        organization_id=org.id,
        url=spec.url,
        description=spec.description,
        events=list(spec.events),
        secret=secret,
        enabled=True,
        created_by=actor.subject,
    )
    uow.session.add(endpoint)
    uow.session.flush()
    audit.record(
        uow, actor, "webhook.create", "webhook_endpoint", endpoint.id,
        organization_id=org.id, details={"url": spec.url, "events": list(spec.events)},
    )  # fmt: skip
    return endpoint, secret


def attach_to_assessment(
    uow: UnitOfWork, actor: Actor, assessment: Assessment, url: str, settings: Settings
) -> WebhookEndpoint:
    """The endpoint behind an assessment's ``webhook_url``: every event of that assessment."""
    try:
        vet_endpoint_url(url, settings)
    except InvalidInput as exc:
        raise InvalidInput(
            exc.message, details=[{"field": "webhook_url", "message": exc.details[0]["message"]}]
        ) from None
    endpoint = WebhookEndpoint(
        organization_id=assessment.organization_id,
        assessment_id=assessment.id,
        url=url,
        description=f"webhook_url of assessment {assessment.id}",
        events=[],
        secret=signing.generate_secret(),
        enabled=True,
        created_by=actor.subject,
    )
    uow.session.add(endpoint)
    uow.session.flush()
    audit.record(
        uow, actor, "webhook.create", "webhook_endpoint", endpoint.id,
        organization_id=assessment.organization_id,
        details={"url": url, "assessment_id": str(assessment.id), "via": "webhook_url"},
    )  # fmt: skip
    return endpoint


def assessment_endpoint(uow: UnitOfWork, assessment_id: uuid.UUID) -> WebhookEndpoint | None:
    return uow.session.scalar(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.assessment_id == assessment_id)
        .order_by(WebhookEndpoint.created_at.desc())
        .limit(1)
    )


def get_endpoint(uow: UnitOfWork, actor: Actor, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = uow.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not actor.can_access(endpoint.organization_id):
        raise WebhookNotFound(f"webhook endpoint {endpoint_id} not found")
    return endpoint


def list_endpoints(
    uow: UnitOfWork,
    actor: Actor,
    *,
    organization_id: uuid.UUID | None,
    offset: int,
    limit: int,
) -> Page[WebhookEndpoint]:
    query = select(WebhookEndpoint)
    if actor.org_ids is not None:
        query = query.where(WebhookEndpoint.organization_id.in_(actor.org_ids))
    if organization_id is not None:
        query = query.where(WebhookEndpoint.organization_id == organization_id)
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = uow.session.scalars(
        query.order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return Page(list(rows), total, offset, limit)


def delete_endpoint(uow: UnitOfWork, actor: Actor, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its messages; nothing more is sent to it."""
    audit.record(
        uow, actor, "webhook.delete", "webhook_endpoint", endpoint.id,
        organization_id=endpoint.organization_id, details={"url": endpoint.url},
    )  # fmt: skip
    uow.session.delete(endpoint)
    uow.session.flush()


def rotate_secret(uow: UnitOfWork, actor: Actor, endpoint: WebhookEndpoint) -> str:
    """New secret; the old one keeps signing (a second signature) for 24 h."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = utcnow() + ROTATION_GRACE
    endpoint.secret = signing.generate_secret()
    audit.record(
        uow, actor, "webhook.rotate_secret", "webhook_endpoint", endpoint.id,
        organization_id=endpoint.organization_id,
    )  # fmt: skip
    uow.session.flush()
    return endpoint.secret


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    keys = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and _aware(expires) > now:
        keys.append(endpoint.previous_secret)
    return keys


# -- deliveries -------------------------------------------------------------------------------


def list_deliveries(
    uow: UnitOfWork, actor: Actor, endpoint_id: uuid.UUID, *, offset: int, limit: int
) -> Page[WebhookDelivery]:
    endpoint = get_endpoint(uow, actor, endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = uow.session.scalars(
        query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return Page(list(rows), total, offset, limit)


def attempts_of(
    uow: UnitOfWork, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttempt]]:
    out: dict[uuid.UUID, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        for attempt in uow.session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.attempt)
        ):
            out[attempt.delivery_id].append(attempt)
    return out


def redeliver(
    uow: UnitOfWork, actor: Actor, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send a message once more, now, with the same ``webhook-id``; re-enables the endpoint."""
    endpoint = get_endpoint(uow, actor, endpoint_id)
    message = uow.session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint.id)
        .with_for_update()
    )
    if message is None:
        raise DeliveryNotFound(f"delivery {delivery_id} not found")
    if message.status == "pending":
        raise InvalidState(f"delivery {delivery_id} is still pending; it will be retried")
    message.status = DeliveryStatus.PENDING
    message.manual = True
    message.max_attempts = message.attempts + 1
    message.next_attempt_at = utcnow()
    message.completed_at = None
    if not endpoint.enabled:
        endpoint.enabled = True
        endpoint.disabled_reason = None
    audit.record(
        uow, actor, "webhook.redeliver", "webhook_delivery", message.id,
        organization_id=endpoint.organization_id,
    )  # fmt: skip
    uow.session.flush()
    return message


def enqueue_assessment_event(
    uow: UnitOfWork,
    event_type: str,
    assessment: Assessment,
    run: AssessmentRun,
    *,
    now: datetime,
    diff: RunDiffCounts | None = None,
) -> int:
    """Write one message per subscribed endpoint, in the caller's transaction; return how many.

    Idempotent per (endpoint, run, event type): a retried transition writes nothing new.
    """
    endpoints = uow.session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.organization_id == assessment.organization_id,
            WebhookEndpoint.enabled.is_(True),
            (WebhookEndpoint.assessment_id.is_(None))
            | (WebhookEndpoint.assessment_id == assessment.id),
        )
    ).all()
    targets = [e for e in endpoints if not e.events or event_type in e.events]
    if not targets:
        return 0
    event_key = f"{run.id}:{event_type}"
    existing = set(
        uow.session.scalars(
            select(WebhookDelivery.endpoint_id).where(
                WebhookDelivery.event_key == event_key,
                WebhookDelivery.endpoint_id.in_([e.id for e in targets]),
            )
        )
    )
    body = event_body(event_type, assessment, run, now=now, diff=diff)
    written = 0
    for endpoint in targets:
        if endpoint.id in existing:
            continue
        uow.session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                organization_id=endpoint.organization_id,
                message_id=f"msg_{uuid.uuid4().hex}",
                event_type=event_type,
                event_key=event_key,
                body=body,
                status="pending",
                attempts=0,
                max_attempts=MAX_ATTEMPTS,
                manual=False,
                next_attempt_at=now,
                created_at=now,
            )
        )
        written += 1
    uow.session.flush()
    return written


def event_body(
    event_type: str,
    assessment: Assessment,
    run: AssessmentRun,
    *,
    now: datetime,
    diff: RunDiffCounts | None = None,
) -> str:
    data = AssessmentEventData(
        assessment_id=assessment.id,
        organization_id=assessment.organization_id,
        name=assessment.name,
        run_id=run.id,
        run_number=run.run_number,
        status=run.status,
        attempt=run.attempts,
        triggered_by=run.triggered_by,
        queued_at=run.queued_at,
        started_at=run.started_at,
        completed_at=run.completed_at,
        risk_score=run.risk_score,
        overall_risk=run.overall_risk,
        pqc_readiness=run.pqc_readiness,
        summary=run.summary,
        diff=diff,
        error=run.error,
    )
    event = WebhookEvent.model_validate({"type": event_type, "timestamp": now, "data": data})
    return event.model_dump_json()


# -- the dispatcher and one attempt -----------------------------------------------------------


def claim_due(
    uow: UnitOfWork, *, now: datetime, hold: timedelta, batch: int = 100
) -> list[tuple[uuid.UUID, int]]:
    """Due messages as (id, attempts so far); each is held for ``hold`` so no second dispatch
    sends it while its task waits in the queue. A task that never runs lets the hold lapse."""
    rows = uow.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.next_attempt_at = now + hold
    uow.session.flush()
    return [(row.id, row.attempts) for row in rows]


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    status: str  # skipped | succeeded | retrying | failed | disabled | cancelled
    attempt: int = 0
    status_code: int | None = None


def next_delay(attempts_done: int, scale: float, rng: random.Random | None = None) -> timedelta:
    """Delay before the next try after ``attempts_done`` tries (1-based), jittered and scaled."""
    base = RETRY_DELAYS[min(attempts_done, len(RETRY_DELAYS)) - 1]
    factor = 1 + (rng or _RNG).uniform(-JITTER, JITTER)
    return base * scale * factor


_RNG = random.SystemRandom()


def deliver(
    db: Database,
    settings: Settings,
    delivery_id: uuid.UUID,
    expected_attempts: int,
    *,
    transport: httpx.BaseTransport | None = None,
    clock: Any = utcnow,
) -> DeliveryOutcome:
    """Make attempt ``expected_attempts + 1`` of a message, if nobody else made it already."""
    now = clock()
    with db.unit_of_work() as uow:
        message = uow.session.scalar(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.attempts == expected_attempts,
            )
            .with_for_update(skip_locked=True)
        )
        if message is None:
            return DeliveryOutcome("skipped")
        endpoint = uow.session.get_one(WebhookEndpoint, message.endpoint_id)
        if not endpoint.enabled:
            message.status = DeliveryStatus.CANCELLED
            message.last_error = f"endpoint disabled: {endpoint.disabled_reason or 'disabled'}"
            message.completed_at = now
            return DeliveryOutcome("cancelled")
        manual = message.manual
        message.manual = False
        message.attempts += 1
        attempt_number = message.attempts
        # Held past the request's timeout: if this process dies mid-request, the dispatcher
        # picks the message up again once the hold lapses.
        message.next_attempt_at = now + timedelta(seconds=settings.webhook_timeout_seconds + 30)
        timestamp = int(now.timestamp())
        uow.session.add(
            WebhookAttempt(
                delivery_id=message.id,
                attempt=attempt_number,
                trigger="manual" if manual else "schedule",
                webhook_timestamp=timestamp,
                started_at=now,
                outcome="in_flight",
                details={},
            )
        )
        url = endpoint.url
        body = message.body.encode()
        headers = signing.headers(
            signing_secrets(endpoint, now), message.message_id, timestamp, body
        )
    result = http.post(
        url,
        body,
        headers,
        policy=http.webhook_policy(settings.webhook_allow_private),
        timeout=settings.webhook_timeout_seconds,
        transport=transport,
    )
    return _record(db, settings, delivery_id, attempt_number, result, clock())


def _record(
    db: Database,
    settings: Settings,
    delivery_id: uuid.UUID,
    attempt_number: int,
    result: http.AttemptResult,
    now: datetime,
) -> DeliveryOutcome:
    with db.unit_of_work() as uow:
        message = uow.session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
        )
        if message is None:  # the endpoint was deleted meanwhile
            return DeliveryOutcome("cancelled", attempt_number, result.status_code)
        if result.succeeded:
            outcome = "succeeded"
        elif result.status_code == 410:
            outcome = "disabled"
        else:
            outcome = "failed"
        uow.session.execute(
            update(WebhookAttempt)
            .where(
                WebhookAttempt.delivery_id == delivery_id,
                WebhookAttempt.attempt == attempt_number,
            )
            .values(
                outcome="succeeded" if result.succeeded else "failed",
                status_code=result.status_code,
                duration_ms=result.duration_ms,
                error=result.error,
                response_excerpt=result.excerpt,
                details={"dialled": result.dialled} if result.dialled else {},
            )
        )
        message.last_status_code = result.status_code
        message.last_error = result.error
        if message.status != "pending" or message.attempts != attempt_number:
            # Redelivered or cancelled while this attempt ran: its record stands, nothing more.
            return DeliveryOutcome("skipped", attempt_number, result.status_code)
        if outcome == "succeeded":
            message.status = DeliveryStatus.SUCCEEDED
            message.completed_at = now
            message.next_attempt_at = None
            return DeliveryOutcome("succeeded", attempt_number, result.status_code)
        if outcome == "disabled":
            _disable(uow, message.endpoint_id, "the endpoint answered 410 Gone", now)
            message.status = DeliveryStatus.FAILED
            message.completed_at = now
            message.next_attempt_at = None
            return DeliveryOutcome("disabled", attempt_number, result.status_code)
        if message.attempts >= message.max_attempts:
            message.status = DeliveryStatus.FAILED
            message.completed_at = now
            message.next_attempt_at = None
            return DeliveryOutcome("failed", attempt_number, result.status_code)
        delay = next_delay(message.attempts, settings.webhook_schedule_scale)
        if result.retry_after is not None and result.status_code in (429, 502, 503, 504):
            # The receiver asked us to slow down: wait at least as long as it said.
            delay = max(delay, min(timedelta(seconds=result.retry_after), MAX_RETRY_AFTER))
        message.next_attempt_at = now + delay
        return DeliveryOutcome("retrying", attempt_number, result.status_code)


def _disable(uow: UnitOfWork, endpoint_id: uuid.UUID, reason: str, now: datetime) -> None:
    endpoint = uow.session.get_one(WebhookEndpoint, endpoint_id)
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    uow.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "pending")
        .values(status="cancelled", last_error=reason, completed_at=now, next_attempt_at=None)
    )
    audit.record(
        uow, audit.SYSTEM, "webhook.disabled", "webhook_endpoint", endpoint_id,
        organization_id=endpoint.organization_id, details={"reason": reason},
    )  # fmt: skip


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)
