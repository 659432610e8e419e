"""What the app holds for its requests, built in the lifespan (no imports from the routes)."""

from __future__ import annotations

from dataclasses import dataclass

from qrap_api.auth import Authenticator
from qrap_core.db import Database, Dispatcher
from qrap_core.settings import Settings


@dataclass
class AppState:
    settings: Settings
    db: Database
    dispatcher: Dispatcher
    authenticator: Authenticator | None  # None only when QRAP_AUTH_DISABLED=true
