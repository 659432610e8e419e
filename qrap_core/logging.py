"""structlog setup: JSON in production, readable in development; secrets never logged."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from qrap_core import redaction

_SECRET_KEYS = ("authorization", "token", "secret", "password", "api_key", "apikey", "key")


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for field in list(event):
        if any(marker in field.lower() for marker in _SECRET_KEYS) and field != "event":
            event[field] = "[redacted]"
    return event


def configure(level: str = "info", *, json: bool = True) -> None:
    numeric = logging.getLevelName(
        level.upper().replace("WARN", "WARNING").replace("INGING", "ING")
    )
    if not isinstance(numeric, int):
        numeric = logging.INFO
    logging.basicConfig(level=numeric, stream=sys.stderr, format="%(message)s")
    redaction.install()  # credentials in access-log query strings, DB error values
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            redaction.redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # Look sys.stderr up at each log call: test runners and CLIs swap it, and a logger
        # holding the old stream would write to a closed file.
        logger_factory=lambda *_: structlog.PrintLogger(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)


def format_stdlib_records(*, json: bool = True) -> None:
    """Render records of the standard library's loggers (Celery's, uvicorn's) like our events:
    same fields, log context included, JSON in production. Call after ``configure``."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redaction.redact_event,  # the traceback is formatted afresh here, from exc_info
            renderer,
        ],
    )
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setFormatter(formatter)
