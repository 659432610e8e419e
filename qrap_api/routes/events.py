"""GET /api/v1/assessments/{id}/events: progress and the terminal event as Server-Sent Events.

Subscribes to the assessment's Redis channel first and reads the database second, so an event
published in between is not missed; polls the database every few seconds as well, so a lost
message (Redis restart) delays the client but never leaves it waiting forever. The stream ends
after the terminal event (completed, failed or cancelled).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import redis.asyncio as aioredis
from anyio import to_thread
from fastapi import APIRouter, Path, Request
from fastapi.responses import StreamingResponse
from redis.exceptions import RedisError

from qrap_api.deps import Uow, Viewer, get_state
from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.models import Assessment
from qrap_core.db import Database
from qrap_core.enums import AssessmentStatus
from qrap_core.events import TERMINAL_EVENTS, channel

router = APIRouter(prefix="/api/v1/assessments", tags=["assessments"])
AssessmentId = Annotated[uuid.UUID, Path(description="assessment id")]

POLL_SECONDS = 2.0
KEEPALIVE_SECONDS = 15.0
MAX_STREAM_SECONDS = 3600.0  # clients reconnect (EventSource does so by itself)
_TERMINAL_BY_STATUS = {
    AssessmentStatus.COMPLETED: "assessment.completed",
    AssessmentStatus.FAILED: "assessment.failed",
    AssessmentStatus.CANCELLED: "assessment.cancelled",
}


def _snapshot(db: Database, assessment_id: uuid.UUID) -> dict[str, Any]:
    with db.unit_of_work() as uow:
        assessment = uow.session.get_one(Assessment, assessment_id)
        run = assessment_service.latest_run(uow, assessment_id)
        status = AssessmentStatus(assessment.status)
        event: dict[str, Any] = {
            "type": _TERMINAL_BY_STATUS.get(status, "assessment.status"),
            "assessment_id": str(assessment_id),
            "status": assessment.status,
            "progress": assessment.progress,
        }
        if run is not None:
            event.update(
                run_id=str(run.id),
                run_number=run.run_number,
                targets_done=run.targets_done,
                targets_total=run.targets_total,
                risk_score=run.risk_score,
                overall_risk=run.overall_risk,
                summary=run.summary,
                error=run.error,
            )
        return event


def _frame(event_id: int, event: dict[str, Any]) -> bytes:
    data = json.dumps(event, default=str)
    return f"id: {event_id}\nevent: {event['type']}\ndata: {data}\n\n".encode()


@router.get(
    "/{assessment_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE stream"}},
)
def stream_events(
    assessment_id: AssessmentId, uow: Uow, actor: Viewer, request: Request
) -> StreamingResponse:
    """Stream `assessment.progress` events, then one terminal event, then close."""
    assessment_service.get(uow, actor, assessment_id)  # 404 for another tenant's id
    state = get_state(request)
    return StreamingResponse(
        _events(state.db, state.settings.redis_url, assessment_id, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    db: Database, redis_url: str, assessment_id: uuid.UUID, request: Request
) -> AsyncIterator[bytes]:
    client = aioredis.Redis.from_url(redis_url, socket_connect_timeout=2.0)
    pubsub = client.pubsub()
    subscribed = False
    try:
        try:
            await pubsub.subscribe(channel(assessment_id))
            subscribed = True
        except (RedisError, OSError):
            subscribed = False  # the database poll alone still gets the client to the end
        counter = 1
        snapshot = await to_thread.run_sync(_snapshot, db, assessment_id)
        yield _frame(counter, snapshot)
        if snapshot["type"] in TERMINAL_EVENTS or snapshot["status"] in ("DRAFT", "ARCHIVED"):
            return
        started = last_poll = last_sent = time.monotonic()
        while time.monotonic() - started < MAX_STREAM_SECONDS:
            if await request.is_disconnected():
                return
            event: dict[str, Any] | None = None
            if subscribed:
                try:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                except (RedisError, OSError):
                    subscribed = False
                    message = None
                if message is not None and message.get("type") == "message":
                    event = json.loads(message["data"])
            else:
                await anyio.sleep(1.0)
            now = time.monotonic()
            if event is None and now - last_poll >= POLL_SECONDS:
                last_poll = now
                polled = await to_thread.run_sync(_snapshot, db, assessment_id)
                if polled["type"] in TERMINAL_EVENTS:
                    event = polled
            if event is not None:
                counter += 1
                last_sent = now
                yield _frame(counter, event)
                if event.get("type") in TERMINAL_EVENTS:
                    return
            elif now - last_sent >= KEEPALIVE_SECONDS:
                last_sent = now
                yield b": keepalive\n\n"
    finally:
        try:
            if subscribed:
                await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            await client.aclose()
        except (RedisError, OSError):
            pass
