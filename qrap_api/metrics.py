"""GET /metrics (Prometheus text format) and the middleware that times every request.

The endpoint is for the internal network only (docs/operations.md): the reverse proxy does not
route it, and ``QRAP_METRICS_REQUIRE_AUTH=true`` makes it ask for an admin's credentials.
``QRAP_METRICS_ENABLED=false`` removes it. Queue depths are read from the broker at scrape time
with a short timeout; a broker that does not answer costs the scrape those series, never the
scrape itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated

import redis
from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qrap_api.deps import require
from qrap_api.request_id import route_of
from qrap_core import metrics
from qrap_core.audit.service import Actor
from qrap_core.logging import get_logger
from qrap_core.settings import Settings
from qrap_worker.queues import QUEUES

log = get_logger(__name__)

BROKER_TIMEOUT_SECONDS = 0.5
# kombu's Redis transport keeps messages of priority 3, 6 and 9 in lists of their own
# ("queue" + "\x06\x16" + priority) next to the queue's list.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


class QueueDepth(Collector):
    """``qrap_queue_depth{queue}``: messages waiting in each Celery queue (Redis LLEN)."""

    def __init__(self, broker_url: str, queues: Sequence[str]) -> None:
        self.broker_url = broker_url
        self.queues = tuple(queues)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "qrap_queue_depth", "Messages waiting in each Celery queue", labels=["queue"]
        )
        up = GaugeMetricFamily(
            "qrap_queue_depth_up", "1 when the broker answered this scrape's queue lengths"
        )
        try:
            lengths = self._lengths()
        except (redis.RedisError, OSError, ValueError) as exc:
            log.warning("metrics.queue_depth_unavailable", error=f"{type(exc).__name__}: {exc}")
            up.add_metric([], 0)
        else:
            for queue, length in lengths.items():
                depth.add_metric([queue], length)
            up.add_metric([], 1)
            yield depth
        yield up

    def _lengths(self) -> dict[str, int]:
        if not self.broker_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("queue depth is read from a Redis broker only")
        client = redis.Redis.from_url(
            self.broker_url,
            socket_timeout=BROKER_TIMEOUT_SECONDS,
            socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
        )
        try:
            with client.pipeline(transaction=False) as pipe:
                for queue in self.queues:
                    for suffix in _PRIORITY_SUFFIXES:
                        pipe.llen(queue + suffix)
                counts = pipe.execute()
        finally:
            client.close()
        step = len(_PRIORITY_SUFFIXES)
        return {
            queue: sum(int(n) for n in counts[i * step : (i + 1) * step])
            for i, queue in enumerate(self.queues)
        }


def render(multiproc_dir: Path | None, queue_depth: QueueDepth) -> bytes:
    """The exposition text: this service's metrics, then the queue depths."""
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(queue_depth)
    return generate_latest(metrics.registry(multiproc_dir)) + generate_latest(scraped)


class RequestMetrics:
    """Times each HTTP request into ``qrap_http_request_duration_seconds`` by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception that escapes every handler ends as a 500

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        metrics.HTTP_REQUESTS_IN_PROGRESS.inc()
        try:
            await self.app(scope, receive, send_recording)
        finally:
            metrics.HTTP_REQUESTS_IN_PROGRESS.dec()
            metrics.HTTP_REQUEST_DURATION.labels(
                scope.get("method", ""), route_of(scope), str(status)
            ).observe(time.perf_counter() - started)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the timing middleware and, unless disabled, the ``/metrics`` route."""
    app.add_middleware(RequestMetrics)
    if not settings.metrics_enabled:
        return
    queue_depth = QueueDepth(settings.celery_broker_url, QUEUES)
    multiproc_dir = settings.prometheus_multiproc_dir
    router = APIRouter(tags=["operations"])

    def scrape() -> Response:
        return Response(render(multiproc_dir, queue_depth), media_type=CONTENT_TYPE_LATEST)

    if settings.metrics_require_auth:

        @router.get(
            "/metrics",
            summary="Prometheus metrics (admin credentials)",
            response_class=PlainTextResponse,
        )
        def metrics_authenticated(_: Annotated[Actor, Depends(require("admin"))]) -> Response:
            return scrape()

    else:

        @router.get(
            "/metrics",
            summary="Prometheus metrics (internal network only)",
            response_class=PlainTextResponse,
        )
        def metrics_open() -> Response:
            return scrape()

    app.include_router(router)
