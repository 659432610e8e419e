"""Scrubbing secrets out of log lines, whoever writes them (uvicorn, httpx, Celery, our code).

Three kinds of text are rewritten to ``[redacted]``:

- the value of a query parameter whose name marks a credential (``?token=``, ``api_key``,
  ``signature``, ``X-Amz-Signature``, ...): uvicorn's access log prints the whole path;
- the password of a URL (``postgresql://qrap:PASSWORD@db/qrap``);
- the values a database error quotes: PostgreSQL's ``DETAIL:  Key (name)=(...)`` line and
  SQLAlchemy's ``[parameters: ...]`` (the engines also hide parameters, ``qrap_core.db``).

``install`` puts a ``logging.Filter`` on the loggers that write request lines and on the root
logger's handlers; ``redact_event`` is the structlog processor for our own events.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, MutableMapping
from typing import Any
from urllib.parse import unquote

REDACTED = "[redacted]"
# Exact parameter names, lower case, that always carry a credential.
SECRET_PARAMS = frozenset(
    {"key", "sig", "auth", "authorization", "code", "pass", "passwd", "pwd", "session"}
)
# Parameter names containing any of these carry one too (access_token, client_secret, ...).
SECRET_MARKERS = ("token", "secret", "password", "signature", "api_key", "apikey", "api-key")
# Loggers that print request lines or URLs; uvicorn.access does not propagate to the root.
LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "httpx", "httpcore", "celery")

_QUERY_PARAM = re.compile(r"(?P<lead>[?&;])(?P<name>[^=&;#?\s\"'<>]+)=(?P<value>[^&;#\s\"'<>]*)")
_URL_PASSWORD = re.compile(r"(?P<lead>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s\"']*):[^@/?#\s\"']+@")
_DB_DETAIL = re.compile(r"^(?P<lead>DETAIL:\s*).+$", re.MULTILINE)
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\n|$)", re.DOTALL)


def is_secret_param(name: str) -> bool:
    """Whether a query parameter named ``name`` carries a credential."""
    lowered = unquote(name).strip().lower()
    return lowered in SECRET_PARAMS or any(marker in lowered for marker in SECRET_MARKERS)


def _param(match: re.Match[str]) -> str:
    if not match["value"] or not is_secret_param(match["name"]):
        return match[0]
    return f"{match['lead']}{match['name']}={REDACTED}"


def redact(text: str) -> str:
    """``text`` with credentials in query strings and URLs and quoted database values removed."""
    if "=" in text:
        text = _QUERY_PARAM.sub(_param, text)
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: f"{m['lead']}:{REDACTED}@", text)
    if "DETAIL:" in text:
        text = _DB_DETAIL.sub(lambda m: f"{m['lead']}{REDACTED}", text)
    if "[parameters: " in text:
        text = _SQL_PARAMETERS.sub(f"[parameters: {REDACTED}]", text)
    return text


def _redact_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact(value)
    if depth >= 4 or isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, Mapping):
        return {k: _redact_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v, depth + 1) for v in value)
    # An object printed with %s (an exception, a URL object): replaced only if it leaks.
    text = str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, arguments and traceback text; never drops a record.

    Arguments are redacted one by one and keep their shape, since uvicorn's access formatter
    unpacks ``record.args`` itself.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {k: _redact_value(v) for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact_value(v) for v in record.args)
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the scrubbed text is what they print.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def _has_filter(filterer: logging.Filterer) -> bool:
    return any(isinstance(f, RedactingFilter) for f in filterer.filters)


def install(loggers: tuple[str, ...] = LOGGERS) -> None:
    """Put the filter on ``loggers`` and on every handler of the root logger (idempotent).

    Handler filters see records that propagate from any logger; logger filters cover loggers
    with handlers of their own, such as ``uvicorn.access``.
    """
    targets: list[logging.Filterer] = [logging.getLogger(name) for name in loggers]
    targets.extend(logging.getLogger().handlers)
    for name in loggers:
        targets.extend(logging.getLogger(name).handlers)
    for target in targets:
        if not _has_filter(target):
            target.addFilter(RedactingFilter())


def redact_event(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: every string of the event (traceback text included) redacted."""
    for field, value in event.items():
        event[field] = _redact_value(value)
    return event
