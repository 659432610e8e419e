"""create_app: the FastAPI application, its lifespan and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from qrap_api import errors, openapi
from qrap_api.auth import Authenticator
from qrap_api.idempotency import IdempotencyMiddleware
from qrap_api.middleware import BodySizeLimit, SecurityHeaders
from qrap_api.ratelimit import RateLimit
from qrap_api.routes import (
    analysis,
    artifacts,
    assessments,
    events,
    findings,
    health,
    organizations,
    runs,
    webhooks,
)
from qrap_api.state import AppState
from qrap_core import __version__
from qrap_core.db import Database, Dispatcher
from qrap_core.errors import ConfigurationError
from qrap_core.logging import configure as configure_logging
from qrap_core.settings import Settings, get_settings


def _default_dispatcher() -> Dispatcher:
    # Imported here so that importing the API does not configure Celery for tests that
    # pass their own dispatcher.
    from qrap_worker.app import dispatch

    return dispatch


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    dispatcher: Dispatcher | None = None,
) -> FastAPI:
    """Build the app. Refuses to start with no authentication unless QRAP_AUTH_DISABLED=true."""
    settings = settings or get_settings()
    if not settings.auth_configured and not settings.auth_disabled:
        raise ConfigurationError(
            "no authentication configured: set QUANTUN_JWT_SECRET or QUANTUN_API_KEYS"
            " (or QRAP_AUTH_DISABLED=true for local development only)"
        )
    authenticator = None if settings.auth_disabled else Authenticator(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database or Database(
            settings.sqlalchemy_url,
            pool_size=settings.db_min_conns or 1,
            max_overflow=max(0, settings.db_max_conns - settings.db_min_conns),
        )
        app.state.qrap = AppState(
            settings=settings,
            db=db,
            dispatcher=dispatcher or _default_dispatcher(),
            authenticator=authenticator,
        )
        try:
            yield
        finally:
            if database is None:
                db.dispose()

    configure_logging(settings.log_level, json=settings.env == "production")
    app = FastAPI(
        title="QRAP API",
        version=__version__,
        description="Quantum Risk Assessment Platform",
        lifespan=lifespan,
    )
    errors.install(app)
    openapi.install(app)
    for router in (health.router, organizations.router, assessments.router, findings.router):
        app.include_router(router)
    for router in (runs.router, events.router, webhooks.router):
        app.include_router(router)
    app.include_router(artifacts.router)
    app.include_router(analysis.router)
    # Innermost of the three: it sees bodies only after the size limit has vetted them.
    app.add_middleware(IdempotencyMiddleware)
    # Outside idempotency (replays count, refusals claim no key), inside the size limit.
    app.add_middleware(RateLimit, settings=settings)
    app.add_middleware(
        BodySizeLimit,
        max_body_size=settings.max_body_size,
        upload_max_size=settings.cbom_max_upload_size,
    )
    app.add_middleware(SecurityHeaders)
    return app
