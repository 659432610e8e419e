"""Request ids: one per request, on every log line written while it is served.

An incoming ``X-Request-ID`` is kept when it is sane (1-64 characters of ``A-Za-z0-9._:-``, so
it cannot forge log lines or headers); otherwise a new one is generated. It is echoed in the
response, bound in the log context (structlog contextvars, which the task dispatcher also reads
to pass it on to Celery tasks) and left in ``scope["state"]["request_id"]`` for the audit log.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qrap_core.logging import get_logger

log = get_logger("qrap_api.request")

_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_ASSESSMENT_PATH = re.compile(r"/api/v1/assessments/([0-9a-fA-F-]{36})(?:/|$)")
_CREATED_ASSESSMENT = re.compile(rb"/assessments/([0-9a-fA-F-]{36})$")
HEADER = b"x-request-id"
# Probes and scrapes, every few seconds: their lines are debug.
QUIET_ROUTES = frozenset({"/healthz", "/health", "/metrics"})


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID when it is sane, else a new one."""
    for name, value in scope.get("headers", []):
        if name == HEADER:
            text = bytes(value).decode("latin-1")
            if _SANE.fullmatch(text):
                return text
    return uuid.uuid4().hex


def route_of(scope: Scope) -> str:
    """The route template of the request (``/api/v1/assessments/{assessment_id}``), also for a
    request refused before routing (429, 413); ``unmatched`` for a path no route takes, so that
    a scan of random paths adds no label values."""
    route = scope.get("route")
    if route is None:
        app = scope.get("app")
        for candidate in getattr(getattr(app, "router", None), "routes", ()):
            match, _ = candidate.matches(scope)
            if match != Match.NONE:
                route = candidate
                break
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestId:
    """Outermost middleware: binds the request id (and the assessment the path names) to the
    log context, echoes ``X-Request-ID`` and logs one ``request.completed`` line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        # Everything inside (security headers, audit, idempotency) sees the same, sane id.
        headers = [(k, v) for k, v in scope.get("headers", []) if k != HEADER]
        scope["headers"] = [*headers, (HEADER, request_id.encode("latin-1"))]
        scope.setdefault("state", {})["request_id"] = request_id
        bound: dict[str, str] = {"request_id": request_id}
        named = _ASSESSMENT_PATH.match(scope.get("path", ""))
        if named:
            bound["assessment_id"] = named[1].lower()
        status = 500
        created: str | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status, created
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in response_headers}
                if HEADER not in names:
                    response_headers.append((HEADER, request_id.encode("latin-1")))
                for name, value in response_headers:
                    if name.lower() == b"location" and (found := _CREATED_ASSESSMENT.search(value)):
                        created = found[1].decode("ascii").lower()
                message["headers"] = response_headers
            await send(message)

        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(**bound):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                assessment = {"assessment_id": created} if created and not named else {}
                route = route_of(scope)
                emit = log.debug if route in QUIET_ROUTES else log.info
                emit(
                    "request.completed",
                    method=scope.get("method"),
                    route=route,
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    **assessment,
                )
