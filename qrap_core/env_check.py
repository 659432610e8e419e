"""Start-up checks of the environment that a typo would otherwise defeat silently.

Settings ignore variables they do not know, so a mistyped ``QUANTUM_JWT_SECRET`` (for
``QUANTUN_JWT_SECRET``) used to start the service as if it were unset. ``unknown_variables``
finds the names that look like QRAP's (its prefixes, or a near miss of one) without being a
setting, with the closest known name; ``startup_warnings`` adds the loud "authentication is
off" warning. The API and the CLI's ``serve`` and ``worker`` log them at start.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from qrap_core.settings import Settings

PREFIXES = ("QRAP", "QUANTUN")
# Read by other parts of QRAP than the settings: the CLI (--api-token, --api-key), the test
# suite, the Caddy configuration (deploy/caddy), the backup script, prometheus_client.
OTHER_KNOWN = frozenset(
    {
        "QRAP_API_TOKEN",
        "QRAP_API_KEY",
        "QRAP_TEST_PG_DSN",
        "QRAP_TEST_REDIS",
        "QRAP_FAULT_FILE",
        "QRAP_SITE",
        "QRAP_API_UPSTREAM",
        "QRAP_BACKUP_PARTIAL",
        "PROMETHEUS_MULTIPROC_DIR",
    }
)
# How alike a prefix or a whole name must be to count as a near miss (difflib's ratio):
# QUANTUM/QUANTUN 0.86, QRAPP/QRAP 0.89, QARP/QRAP 0.75.
_PREFIX_CUTOFF = 0.75
_NAME_CUTOFF = 0.8


@dataclass(frozen=True)
class UnknownVariable:
    name: str
    closest: str | None

    def message(self) -> str:
        hint = f"; did you mean {self.closest}?" if self.closest else ""
        return f"{self.name} is set but is not a QRAP setting, so it is ignored{hint}"


def setting_names() -> frozenset[str]:
    """Every environment variable the Settings class reads."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names = set()
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        names.add(alias.upper() if isinstance(alias, str) else f"{prefix}{field}".upper())
    return frozenset(names)


def _looks_like_ours(name: str) -> bool:
    head = name.split("_", 1)[0]
    if "_" not in name:
        return False
    return any(
        head == prefix or difflib.SequenceMatcher(None, head, prefix).ratio() >= _PREFIX_CUTOFF
        for prefix in PREFIXES
    )


def unknown_variables(environ: Iterable[str]) -> list[UnknownVariable]:
    """The variables in ``environ`` that look like QRAP's but that nothing reads."""
    known = setting_names() | OTHER_KNOWN
    found = []
    for raw in sorted(environ):
        name = raw.upper()  # the settings read the environment case-insensitively
        if name in known:
            continue
        if _looks_like_ours(name) or difflib.get_close_matches(name, known, 1, _NAME_CUTOFF):
            closest = difflib.get_close_matches(name, known, 1, 0.7)
            found.append(UnknownVariable(raw, closest[0] if closest else None))
    return found


def startup_warnings(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """What a service should warn about at every start: unknown variables, no authentication."""
    # The one reader of the environment besides Settings: it looks for what Settings ignore.
    names = os.environ if environ is None else environ
    warnings = [unknown.message() for unknown in unknown_variables(names)]
    if settings.auth_disabled:
        warnings.append(
            "authentication is DISABLED (QRAP_AUTH_DISABLED=true): anyone who reaches this"
            " port is an admin; for local development only. Set QUANTUN_JWT_SECRET or"
            " QUANTUN_API_KEYS to turn it on"
        )
    return warnings


def log_startup_warnings(
    settings: Settings, logger: Any, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Log ``startup_warnings`` at warning level, one event each; return them."""
    warnings = startup_warnings(settings, environ)
    for warning in warnings:
        logger.warning("config.warning", detail=warning)
    return warnings
