"""One clear line when the configured PostgreSQL database does not exist.

Without this a fresh machine's first ``make migrate`` or ``qrap serve`` ended in a long
SQLAlchemy traceback whose last line alone said what was wrong. A database that is down or
unreachable is not handled here: services wait for it and health checks report it.
"""

from __future__ import annotations

import re

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from qrap_core.errors import ConfigurationError

_MISSING = re.compile(r'database "(?P<name>[^"]+)" does not exist')
CONNECT_TIMEOUT_SECONDS = 5


def missing_database_message(url: str, error: BaseException) -> str | None:
    """The line to print when ``error`` says the database of ``url`` does not exist, else None."""
    match = _MISSING.search(str(error))
    if match is None:
        return None
    parsed = make_url(url)
    host, port = parsed.host or "localhost", parsed.port or 5432
    name = match["name"]
    return (
        f'database "{name}" does not exist on {host}:{port}: create it with'
        f" `createdb -h {host} -p {port} -U postgres {name}` (as a role that may create"
        f" databases), then apply the migrations with `make migrate` or `qrap db upgrade`;"
        f" QRAP_DATABASE_URL or QRAP_DB_NAME names another database"
    )


def check_database(url: str) -> None:
    """Raise ConfigurationError naming the database and how to create it when it is missing.

    Any other connection failure (server down, wrong password) is left to the caller's own
    handling; SQLite files are created on first use and never checked.
    """
    if make_url(url).get_backend_name() != "postgresql":
        return
    engine = create_engine(
        url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        message = missing_database_message(url, exc)
        if message is not None:
            raise ConfigurationError(message) from None
    finally:
        engine.dispose()
