"""Idempotency-Key for every POST (DESIGN §5), as pure ASGI middleware.

Applies to every POST that carries the header, so routes added later are covered without
touching them. Keys are scoped to the authenticated principal; a request that fails
authentication passes through untouched and the route answers 401. The request's unit of work
marks the key committed together with its effects (``deps.get_uow`` calls ``bind``).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from anyio import to_thread
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qrap_core.db import UnitOfWork
from qrap_core.errors import QrapError
from qrap_core.idempotency import service as idempotency_service
from qrap_core.logging import get_logger

log = get_logger(__name__)

HEADER = b"idempotency-key"
_STATE_KEY = "idempotency_record"
# Response headers worth replaying; the rest (dates, request ids) belong to each answer.
_REPLAYED_HEADERS = ("content-type", "location")


def bind(request: Request, uow: UnitOfWork) -> None:
    """Mark this request's key committed in ``uow``'s transaction, if it has one."""
    record_id = request.scope.get("state", {}).get(_STATE_KEY)
    if isinstance(record_id, uuid.UUID):
        idempotency_service.mark_committing(uow, record_id)


async def _send_json(
    send: Send, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _error(message: str, code: str, field: str | None = None) -> dict[str, Any]:
    details = [{"field": field, "message": message}] if field else []
    return {"error": message, "code": code, "details": details}


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        raw_key = next((v for k, v in scope.get("headers", []) if k == HEADER), None)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not 1 <= len(key) <= idempotency_service.MAX_KEY_LENGTH or not key.isprintable():
            await _send_json(
                send,
                400,
                _error(
                    "Idempotency-Key must be 1-255 printable characters",
                    "InvalidIdempotencyKey",
                    "Idempotency-Key",
                ),
            )
            return
        state = scope["app"].state.qrap
        request = Request(scope)
        try:
            if state.authenticator is None:
                principal = "anonymous"
            else:
                actor = state.authenticator.authenticate(
                    request.headers.get("authorization"), request.headers.get("x-api-key")
                )
                principal = idempotency_service.principal_of(actor)
        except QrapError:
            await self.app(scope, receive, send)  # the route answers 401
            return

        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break

        settings = state.settings
        decision = await to_thread.run_sync(
            lambda: idempotency_service.begin(
                state.db,
                principal=principal,
                key=key,
                method="POST",
                path=scope["path"],
                fingerprint=idempotency_service.request_hash(
                    "POST", scope["path"], scope.get("query_string", b""), body
                ),
                ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
                lock=timedelta(seconds=settings.idempotency_lock_seconds),
            )
        )
        if decision.action == "mismatch":
            await _send_json(
                send,
                422,
                _error(
                    "this Idempotency-Key was used with a different request;"
                    " use a new key for a new request",
                    "IdempotencyKeyMismatch",
                    "Idempotency-Key",
                ),
            )
            return
        if decision.action == "in_flight":
            await _send_json(
                send,
                409,
                _error(
                    "a request with this Idempotency-Key is still being processed; retry later",
                    "IdempotencyKeyInFlight",
                    "Idempotency-Key",
                ),
                [(b"retry-after", b"1")],
            )
            return
        if decision.action == "replay":
            await self._replay(send, decision)
            return

        assert decision.record_id is not None  # noqa: S101  # "proceed" always carries one
        record_id = decision.record_id
        scope.setdefault("state", {})[_STATE_KEY] = record_id
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500
        headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    lowered = name.decode("latin-1").lower()
                    if lowered in _REPLAYED_HEADERS:
                        headers[lowered] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await to_thread.run_sync(lambda: idempotency_service.abandon(state.db, record_id))
            raise
        text = b"".join(chunks).decode("utf-8", "replace")
        await to_thread.run_sync(
            lambda: idempotency_service.finish(state.db, record_id, status, headers, text)
        )

    @staticmethod
    async def _replay(send: Send, decision: idempotency_service.Decision) -> None:
        payload = (decision.body or "").encode()
        headers = [
            (name.encode("latin-1"), str(value).encode("latin-1"))
            for name, value in (decision.headers or {}).items()
        ]
        headers += [
            (b"content-length", str(len(payload)).encode()),
            (b"idempotent-replayed", b"true"),
        ]
        await send(
            {"type": "http.response.start", "status": decision.status or 200, "headers": headers}
        )
        await send({"type": "http.response.body", "body": payload})
