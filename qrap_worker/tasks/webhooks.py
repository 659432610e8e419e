"""Webhook tasks: beat's dispatcher picks due messages, one deliver task per attempt."""

from __future__ import annotations

import uuid
from datetime import timedelta

from qrap_core.db import utcnow
from qrap_core.settings import get_settings
from qrap_core.webhook import service as webhook_service
from qrap_worker import runtime
from qrap_worker.app import celery_app, dispatch


@celery_app.task(name="qrap.webhook.dispatch", acks_late=True)
def dispatch_due() -> int:
    """Send a deliver task for every message due now (beat, every few seconds)."""
    settings = get_settings()
    # Held long enough for the task to be picked up and make its request; if it never runs
    # (a lost message, a killed worker), the message is due again after the hold.
    hold = timedelta(seconds=settings.webhook_timeout_seconds + 60)
    with runtime.database().unit_of_work(dispatch) as uow:
        due = webhook_service.claim_due(uow, now=utcnow(), hold=hold)
        for delivery_id, attempts in due:
            uow.defer(
                webhook_service.DELIVER_TASK,
                queue=webhook_service.WEBHOOK_QUEUE,
                delivery_id=str(delivery_id),
                attempts=attempts,
            )
    return len(due)


@celery_app.task(name="qrap.webhook.deliver", acks_late=True)
def deliver(delivery_id: str, attempts: int) -> str:
    """Make the next attempt of one message. A duplicate task finds it already made: no-op."""
    outcome = webhook_service.deliver(
        runtime.database(), get_settings(), uuid.UUID(delivery_id), attempts
    )
    return outcome.status
