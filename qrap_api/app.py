"""create_app: the FastAPI application, its lifespan and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from qrap_api import errors, metrics, openapi, ui
from qrap_api.auth import Authenticator, StoredKeys, check_auth_settings
from qrap_api.idempotency import IdempotencyMiddleware
from qrap_api.jwt_verify import JwtVerifier
from qrap_api.middleware import BodySizeLimit, SecurityHeaders
from qrap_api.ratelimit import RateLimit
from qrap_api.request_id import RequestId
from qrap_api.routes import (
    analysis,
    api_keys,
    artifacts,
    assessments,
    audit_log,
    events,
    findings,
    health,
    organizations,
    runs,
    webhooks,
)
from qrap_api.state import AppState
from qrap_core import __version__, env_check
from qrap_core.db import Database, Dispatcher
from qrap_core.db_check import check_database
from qrap_core.errors import ConfigurationError
from qrap_core.logging import configure as configure_logging
from qrap_core.logging import get_logger
from qrap_core.settings import Settings, get_settings

log = get_logger(__name__)


def _default_dispatcher() -> Dispatcher:
    # Imported here so that importing the API does not configure Celery for tests that
    # pass their own dispatcher.
    from qrap_worker.app import dispatch

    return dispatch


def _report_missing_database(url: str) -> None:
    """A missing database is logged as one line naming it; the API still starts (its health
    checks answer 503) so that creating the database is all it takes."""
    try:
        check_database(url)
    except ConfigurationError as exc:
        log.error("database.missing", detail=exc.message)


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    dispatcher: Dispatcher | None = None,
) -> FastAPI:
    """Build the app. Refuses to start with no authentication unless QRAP_AUTH_DISABLED=true."""
    settings = settings or get_settings()
    check_auth_settings(settings)
    verifier = JwtVerifier(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if database is None:
            _report_missing_database(settings.sqlalchemy_url)
        # Sync routes run in AnyIO's threads; the pool keeps a connection for each of them.
        to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        pool_size, max_overflow = settings.api_pool()
        db = database or Database(
            settings.sqlalchemy_url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            read_url=settings.db_read_url,
        )
        app.state.qrap = AppState(
            settings=settings,
            db=db,
            dispatcher=dispatcher or _default_dispatcher(),
            authenticator=None
            if settings.auth_disabled
            else Authenticator(settings, verifier=verifier, stored_keys=StoredKeys(db)),
        )
        try:
            yield
        finally:
            if database is None:
                db.dispose()

    configure_logging(settings.log_level, json=settings.env == "production")
    env_check.log_startup_warnings(settings, log)  # mistyped variables, disabled auth
    app = FastAPI(
        title="QRAP API",
        version=__version__,
        description="Quantum Risk Assessment Platform",
        lifespan=lifespan,
        debug=settings.debug,
        **openapi.docs_urls(settings),
    )
    errors.install(app)
    openapi.install(app, settings)
    for router in (health.router, organizations.router, assessments.router, findings.router):
        app.include_router(router)
    for router in (runs.router, events.router, webhooks.router):
        app.include_router(router)
    app.include_router(artifacts.router)
    app.include_router(analysis.router)
    app.include_router(api_keys.router)
    app.include_router(audit_log.router)
    ui.install(app, settings)  # the dashboard at /ui and its static files
    # Innermost of the three: it sees bodies only after the size limit has vetted them.
    app.add_middleware(IdempotencyMiddleware)
    # Outside idempotency (replays count, refusals claim no key), inside the size limit.
    app.add_middleware(RateLimit, settings=settings)
    app.add_middleware(
        BodySizeLimit,
        max_body_size=settings.max_body_size,
        upload_max_size=settings.cbom_max_upload_size,
        max_header_size=settings.max_header_size,
    )
    app.add_middleware(SecurityHeaders)
    # Outermost: every answer, refusals included, is timed and logged with its request id.
    metrics.install(app, settings)
    app.add_middleware(RequestId)
    return app
