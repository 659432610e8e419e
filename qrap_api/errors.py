"""Every error answer of the API, in one shape: ``{"error", "code", "details"}``.

Core errors map to status codes (and the headers some need) in one table each; exception
handlers, middleware and the health check all build their answer with ``error_response``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qrap_core.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidState,
    NotFound,
    QrapError,
    Unauthorized,
)
from qrap_core.idempotency.service import IdempotencyKeyInFlight, IdempotencyKeyMismatch
from qrap_core.logging import get_logger

log = get_logger(__name__)

STATUS_BY_ERROR: list[tuple[type[QrapError], int]] = [
    (IdempotencyKeyMismatch, 422),  # before InvalidInput, its base
    (InvalidInput, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidState, 409),
    (ConfigurationError, 500),
]
# A 401 says how to authenticate (RFC 9110 §11.6.1); a 409 for a key in flight, when to retry.
HEADERS_BY_ERROR: list[tuple[type[QrapError], dict[str, str]]] = [
    (Unauthorized, {"WWW-Authenticate": 'Bearer realm="qrap", ApiKey'}),
    (IdempotencyKeyInFlight, {"Retry-After": "1"}),
]


def error_response(
    status: int,
    message: str,
    code: str,
    details: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """Every error answer of the API: ``{"error", "code", "details"}`` and ``extra`` fields.

    A response is itself an ASGI app, so pure ASGI middleware answers with
    ``await error_response(...)(scope, receive, send)``.
    """
    body = {**(extra or {}), "error": message, "code": code, "details": details or []}
    return JSONResponse(body, status_code=status, headers=headers)


def response_for(exc: QrapError) -> JSONResponse:
    """The answer for a core error, from the two tables above."""
    status = next((s for cls, s in STATUS_BY_ERROR if isinstance(exc, cls)), 400)
    headers = next((h for cls, h in HEADERS_BY_ERROR if isinstance(exc, cls)), None)
    return error_response(status, exc.message, type(exc).__name__, exc.details, headers)


async def _qrap_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QrapError)  # noqa: S101  # registered for QrapError only
    return response_for(exc)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    name = ""
    for part in parts:
        if part.isdigit():
            name += f"[{part}]"
        else:
            name += ("." if name else "") + part
    return name or "body"


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101  # registered for it only
    details = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            return error_response(400, "malformed JSON body", "MalformedJSON")
        details.append({"field": _field_name(tuple(error.get("loc", ()))), "message": error["msg"]})
    fields = ", ".join(sorted({d["field"] for d in details}))
    return error_response(400, f"invalid request: {fields}", "ValidationError", details)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101  # registered for it only
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    return error_response(
        exc.status_code,
        message.lower() if exc.status_code == 404 else message,
        "HTTPError",
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request.unhandled", path=request.url.path, method=request.method)
    return error_response(500, "internal server error", "InternalError")


def install(app: FastAPI) -> None:
    app.add_exception_handler(QrapError, _qrap_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
