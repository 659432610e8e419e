from __future__ import annotations

import redis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from qrap_api.deps import get_state
from qrap_api.errors import error_response

router = APIRouter(tags=["health"])


def _check_database(request: Request) -> str | None:
    try:
        with get_state(request).db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}"
    return None


def _check_broker(request: Request) -> str | None:
    url = get_state(request).settings.celery_broker_url
    if not url.startswith(("redis://", "rediss://")):
        return None  # only the Redis broker is checked here
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return f"{type(exc).__name__}"
    return None


def _health(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    down: list[str] = []
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        problem = check(request)
        checks[name] = "ok" if problem is None else f"down: {problem}"
        if problem is not None:
            down.append(name)
    if down:
        return error_response(
            503,
            f"unavailable: {', '.join(down)}",
            "ServiceUnavailable",
            extra={"status": "unavailable", "service": "qrap-api", "checks": checks},
        )
    return JSONResponse({"status": "ok", "service": "qrap-api", "checks": checks})


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """Liveness and readiness: 200 when the database and the broker answer, else 503."""
    return _health(request)


@router.get("/health")
def health(request: Request) -> JSONResponse:
    return _health(request)
