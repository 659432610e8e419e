"""Live progress events: published by whoever runs an assessment, streamed by the API as SSE.

Events are a convenience on top of PostgreSQL, never the record: a publish that fails is logged
and dropped, and the SSE endpoint also polls the database, so a lost event delays a client by
one poll at most. The embedded CLI has no Redis and uses ``NullPublisher``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Protocol

from qrap_core.logging import get_logger

log = get_logger(__name__)

TERMINAL_EVENTS = frozenset({"assessment.completed", "assessment.failed", "assessment.cancelled"})


def channel(assessment_id: uuid.UUID | str) -> str:
    return f"qrap:events:assessment:{assessment_id}"


class EventPublisher(Protocol):
    def publish(self, assessment_id: uuid.UUID, event: dict[str, Any]) -> None: ...


class NullPublisher:
    def publish(self, assessment_id: uuid.UUID, event: dict[str, Any]) -> None:
        return None


class RecordingPublisher:
    """Keeps what was published (tests, and the CLI's in-process runs)."""

    def __init__(self) -> None:
        self.events: list[tuple[uuid.UUID, dict[str, Any]]] = []

    def publish(self, assessment_id: uuid.UUID, event: dict[str, Any]) -> None:
        self.events.append((assessment_id, event))


class RedisPublisher:
    """PUBLISH to the assessment's channel; short timeouts so a dead Redis never stalls a run."""

    def __init__(self, url: str) -> None:
        import redis  # only workers publish; the embedded CLI never loads the client

        self._errors = redis.RedisError
        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=1.0, retry_on_timeout=False
        )

    def publish(self, assessment_id: uuid.UUID, event: dict[str, Any]) -> None:
        try:
            self._client.publish(channel(assessment_id), json.dumps(event, default=str))
        except self._errors as exc:
            log.warning("events.publish_failed", error=str(exc), type=event.get("type"))

    def close(self) -> None:
        self._client.close()
