"""Idempotency-Key for every POST (docs/reliability.md, P6): the HTTP side of
``qrap_core.idempotency``.

Pure ASGI middleware rather than a route dependency: it must answer before the route runs (a
replay, 409, 422), hash the body exactly as it arrived and capture the response to store it,
and a dependency can do none of these; it also covers every POST, so routes added later need
nothing. What to do with a request is the service's decision. The caller is authenticated by
``authenticate_request``, once: the routes' ``get_actor`` reuses the outcome, and a caller who
fails passes through untouched so the route answers the 401. The request's unit of work marks
the key committed together with its effects (``deps.get_uow`` calls ``bind``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from anyio import to_thread
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qrap_api.auth import authenticate_request_async
from qrap_api.errors import response_for
from qrap_core.db import Database, UnitOfWork
from qrap_core.errors import QrapError, Unauthorized
from qrap_core.idempotency import service as idempotency_service

if TYPE_CHECKING:
    from qrap_api.state import AppState

HEADER = b"idempotency-key"
_STATE_KEY = "idempotency_record"
# Response headers worth replaying; the rest (dates, request ids) belong to each answer.
_REPLAYED_HEADERS = ("content-type", "location")


def bind(request: Request, uow: UnitOfWork) -> None:
    """Mark this request's key committed in ``uow``'s transaction, if it has one."""
    record_id = request.scope.get("state", {}).get(_STATE_KEY)
    if isinstance(record_id, uuid.UUID):
        idempotency_service.mark_committing(uow, record_id)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_key = _raw_key(scope)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        state: AppState = scope["app"].state.qrap
        try:
            key = idempotency_service.check_key(raw_key)
        except QrapError as exc:
            await response_for(exc)(scope, receive, send)
            return
        try:
            actor = await authenticate_request_async(HTTPConnection(scope), state.authenticator)
        except Unauthorized:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away
        settings = state.settings
        try:
            decision = await to_thread.run_sync(
                lambda: idempotency_service.admit(
                    state.db,
                    actor,
                    key,
                    path=scope["path"],
                    query=scope.get("query_string", b""),
                    body=body,
                    ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
                    lock=timedelta(seconds=settings.idempotency_lock_seconds),
                )
            )
        except QrapError as exc:
            await response_for(exc)(scope, receive, send)
            return
        if decision.action == "replay":
            await _replayed(decision)(scope, receive, send)
            return
        assert decision.record_id is not None  # noqa: S101  # "proceed" always carries one
        await self._run(scope, _replaying(body, receive), send, state.db, decision.record_id)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, db: Database, record_id: uuid.UUID
    ) -> None:
        """Run the route under the claimed key, then store its answer or free the key."""
        scope.setdefault("state", {})[_STATE_KEY] = record_id

        async def store(capture: _Capture) -> None:
            await to_thread.run_sync(lambda: _finish(db, record_id, capture))

        capture = _Capture(send, store)
        try:
            await self.app(scope, receive, capture)
        except BaseException:
            if not capture.stored:
                await to_thread.run_sync(lambda: _abandon(db, record_id))
            raise
        if not capture.stored:  # the route ended without a complete body
            await store(capture)


class _Capture:
    """Forwards the response to the client and keeps what a replay needs.

    The answer is stored before its last byte is forwarded: a client that has the whole
    response and retries at once must get the replay, never a 409 "still in flight".
    """

    def __init__(self, send: Send, store: Callable[[_Capture], Awaitable[None]]) -> None:
        self._send = send
        self._store = store
        self.stored = False
        self.status = 500
        self.headers: dict[str, str] = {}
        self._chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            for name, value in message.get("headers", []):
                lowered = name.decode("latin-1").lower()
                if lowered in _REPLAYED_HEADERS:
                    self.headers[lowered] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            self._chunks.append(message.get("body", b""))
            if not message.get("more_body", False) and not self.stored:
                await self._store(self)
                self.stored = True
        await self._send(message)

    @property
    def text(self) -> str:
        return b"".join(self._chunks).decode("utf-8", "replace")


def _raw_key(scope: Scope) -> str | None:
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    raw = next((v for k, v in scope.get("headers", []) if k == HEADER), None)
    return None if raw is None else bytes(raw).decode("latin-1")


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body (the size limit outside has vetted it), or None if the client left."""
    body: bytes = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the route the body this middleware has already read."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _replayed(decision: idempotency_service.Decision) -> Response:
    headers = {name: str(value) for name, value in (decision.headers or {}).items()}
    headers["idempotent-replayed"] = "true"
    return Response((decision.body or "").encode(), decision.status or 200, headers)


def _abandon(db: Database, record_id: uuid.UUID) -> None:
    with db.unit_of_work() as uow:
        idempotency_service.abandon(uow, record_id)


def _finish(db: Database, record_id: uuid.UUID, capture: _Capture) -> None:
    with db.unit_of_work() as uow:
        idempotency_service.finish(uow, record_id, capture.status, capture.headers, capture.text)
