"""The dashboard at /ui: server-rendered pages over the same services as the API.

It is a sub-application mounted at /ui: the API's middleware (request ids, security headers,
size and rate limits) wraps it, it shares the API's state (settings, database, authenticator),
and its pages stay out of the API's OpenAPI document and route tables.
"""

from __future__ import annotations

import secrets

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from qrap_api import errors
from qrap_api.ui import assessments, findings, pages
from qrap_api.ui.render import HERE
from qrap_core.settings import Settings

PREFIX = "/ui"


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the dashboard and its static files on ``app``."""
    secret = settings.ui_secret.get_secret_value().encode() if settings.ui_secret else None
    app.state.qrap_ui_secret = secret or secrets.token_bytes(32)
    dashboard = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, debug=settings.debug)
    dashboard.state = app.state  # the API's lifespan fills it: one database, one authenticator
    errors.install(dashboard)
    for router in (pages.router, assessments.router, findings.router):
        dashboard.include_router(router)
    dashboard.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.mount(PREFIX, dashboard, name="ui")
