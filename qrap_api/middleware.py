"""Pure ASGI middleware: header and body size limits, security headers, request ids."""

from __future__ import annotations

import re
from collections import deque

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qrap_api.errors import error_response
from qrap_api.ui.render import too_large_page
from qrap_core.validation import JsonDepth

SECURITY_HEADERS = [
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    # The docs page loads its assets from a CDN; everything else is JSON.
    (
        b"content-security-policy",
        b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    ),
]
_DOCS_PATHS = ("/docs", "/redoc")


class _TooLarge(Exception):
    pass


# JSON bodies nested deeper than this are refused before they are parsed: json.loads recurses
# per level (100,000 "[" raise RecursionError, after building a huge tree). An inline CBOM
# target sits four levels down and may itself nest cbom_reader.MAX_DEPTH (64) levels.
MAX_JSON_DEPTH = 100
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _is_json(scope: Scope) -> bool:
    """Whether FastAPI would parse the body as JSON (no Content-Type, or a JSON one)."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media = bytes(value).split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (
                media.startswith(b"application/") and media.endswith(b"+json")
            )
    return True


def _too_deep(limit: int) -> JSONResponse:
    return error_response(
        400,
        f"the JSON body nests deeper than {limit} levels",
        "JsonTooDeep",
        [{"field": "body", "message": f"nested deeper than {limit} levels"}],
    )


def _headers_too_large(limit: int) -> JSONResponse:
    return error_response(
        431,
        f"request headers exceed {limit} bytes",
        "RequestHeadersTooLarge",
        [{"field": "headers", "message": f"larger than {limit} bytes in all"}],
    )


# Request headers larger than this in all (names and values) answer 431 before anything reads
# them. uvicorn's h11 refuses them earlier still (--h11-max-incomplete-event-size, the same
# 16 KiB): this check is for servers that buffer any size (uvicorn's httptools, others).
MAX_HEADER_SIZE = 16 * 1024
# How long uvicorn keeps an idle keep-alive connection (``qrap serve``, the image): longer than
# the proxies in front keep theirs (nginx's upstream keepalive_timeout and AWS ALB: 60 s), so a
# proxy never sends a request on a connection the API is closing.
KEEP_ALIVE_SECONDS = 75


def headers_size(scope: Scope) -> int:
    """The bytes of the request's header names and values (each line's ``: `` and CRLF too)."""
    return sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))


def _too_large(limit: int) -> JSONResponse:
    return error_response(413, f"request body exceeds {limit} bytes", "PayloadTooLarge")


# Document uploads have their own, larger limit: POST /api/v1/assessments/{id}/artifacts, and
# the dashboard's create form when it comes as multipart (its CBOM, certificate and inventory
# files). Either is parsed as it streams (spooled to disk), never as one JSON document.
_UPLOAD_PATH = re.compile(r"^/api/v1/assessments/[^/]+/artifacts/?$")
_UI_UPLOAD_PATH = re.compile(r"^/ui/assessments/?$")
_UI_PREFIX = "/ui/"


def _is_upload(scope: Scope) -> bool:
    if scope.get("method") != "POST":
        return False
    path = scope.get("path", "")
    if _UPLOAD_PATH.match(path):
        return True
    return bool(_UI_UPLOAD_PATH.match(path)) and _media_type(scope) == b"multipart/form-data"


def _media_type(scope: Scope) -> bytes:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return bytes(value).split(b";", 1)[0].strip().lower()
    return b""


def _refuse_size(scope: Scope, limit: int) -> ASGIApp:
    """A dashboard page for the dashboard's forms, the API's JSON error elsewhere."""
    if scope.get("path", "").startswith(_UI_PREFIX):
        return too_large_page(scope, limit)
    return _too_large(limit)


class BodySizeLimit:
    """431 for headers over their limit; 413 for bodies over theirs, by Content-Length and by
    counting what actually arrives. It runs before authentication and rate limiting."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_size: int,
        upload_max_size: int | None = None,
        max_json_depth: int = MAX_JSON_DEPTH,
        max_header_size: int = MAX_HEADER_SIZE,
    ) -> None:
        self.app = app
        self.max_body_size = max_body_size
        self.upload_max_size = upload_max_size or max_body_size
        self.max_json_depth = max_json_depth
        self.max_header_size = max_header_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if headers_size(scope) > self.max_header_size:
            if scope["type"] == "http":
                await _headers_too_large(self.max_header_size)(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1009})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_size
        json_body = False
        if _is_upload(scope):
            limit = self.upload_max_size  # a CBOM upload: its streaming reader bounds depth
        else:
            json_body = scope.get("method") in _BODY_METHODS and _is_json(scope)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    bad = error_response(400, "invalid Content-Length", "InvalidContentLength")
                    await bad(scope, receive, send)
                    return
                if too_big:
                    await _refuse_size(scope, limit)(scope, receive, send)
                    return
        if json_body:
            await self._json(scope, receive, send, limit)
            return
        received = 0
        started = exceeded = replaced = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started, replaced
            if msg["type"] == "http.response.start":
                started = True
                # FastAPI answers an exception raised while it parses a form with its own 400:
                # a body over the limit (one without Content-Length) is a 413 all the same.
                replaced = exceeded
                if replaced:
                    await _refuse_size(scope, limit)(scope, receive, send)
            if not replaced:
                await send(msg)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse_size(scope, limit)(scope, receive, send)

    async def _json(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Read a JSON body whole (it is within ``limit``), measuring its size and nesting as
        it arrives; refuse it (413, 400) or hand it on to the app, which then parses it.

        Read here, not checked inside the app's ``receive``: FastAPI turns an exception raised
        while it reads a body into a generic 400.
        """
        depth = JsonDepth(self.max_json_depth)
        received = 0
        messages: deque[Message] = deque()
        while True:
            msg = await receive()
            messages.append(msg)
            if msg["type"] != "http.request":
                break  # the client went away: let the app see it
            body = msg.get("body", b"")
            received += len(body)
            if received > limit:
                await _too_large(limit)(scope, receive, send)
                return
            if not depth.feed(body):
                await _too_deep(self.max_json_depth)(scope, receive, send)
                return
            if not msg.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.popleft() if messages else await receive()

        await self.app(scope, replay, send)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path", "").startswith(_DOCS_PATHS)
        started = False

        async def send_with_headers(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                headers = list(msg.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS:
                    if docs and name == b"content-security-policy":
                        continue
                    if name not in present:
                        headers.append((name, value))
                msg["headers"] = headers  # X-Request-ID: qrap_api/request_id.py, outermost
                started = True
            await send(msg)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Starlette answers an unhandled exception outside every middleware, so its 500
            # would miss these headers: answer here, then let it log (it sends nothing more).
            if not started:
                internal = error_response(500, "internal server error", "InternalError")
                await internal(scope, receive, send_with_headers)
            raise
