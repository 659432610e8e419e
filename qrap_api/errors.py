"""Map core errors to status codes in one table; render {"error", "code", "details"}."""

from __future__ import annotations

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
from qrap_core.logging import get_logger

log = get_logger(__name__)

STATUS_BY_ERROR: list[tuple[type[QrapError], int]] = [
    (InvalidInput, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidState, 409),
    (ConfigurationError, 500),
]


def error_body(
    message: str, code: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": message, "code": code, "details": details or []}


def _status_for(exc: QrapError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 400


async def _qrap_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QrapError)  # noqa: S101  # registered for QrapError only
    status = _status_for(exc)
    headers = {"WWW-Authenticate": 'Bearer realm="qrap", ApiKey'} if status == 401 else None
    return JSONResponse(
        error_body(exc.message, type(exc).__name__, exc.details),
        status_code=status,
        headers=headers,
    )


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
            return JSONResponse(error_body("malformed JSON body", "MalformedJSON"), status_code=400)
        details.append({"field": _field_name(tuple(error.get("loc", ()))), "message": error["msg"]})
    fields = ", ".join(sorted({d["field"] for d in details}))
    return JSONResponse(
        error_body(f"invalid request: {fields}", "ValidationError", details), status_code=400
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101  # registered for it only
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    return JSONResponse(
        error_body(message.lower() if exc.status_code == 404 else message, "HTTPError"),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request.unhandled", path=request.url.path, method=request.method)
    return JSONResponse(error_body("internal server error", "InternalError"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(QrapError, _qrap_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
