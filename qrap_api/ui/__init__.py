"""The dashboard at /ui: server-rendered pages over the same services as the API."""

from __future__ import annotations

import secrets

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from qrap_api.ui import assessments, findings, pages
from qrap_api.ui.render import HERE
from qrap_core.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Add the dashboard's routes and its static files to ``app``."""
    secret = settings.ui_secret.get_secret_value().encode() if settings.ui_secret else None
    app.state.qrap_ui_secret = secret or secrets.token_bytes(32)
    for router in (pages.router, assessments.router, findings.router):
        app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
