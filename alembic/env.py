"""Alembic environment: the URL comes from the caller's config or from QRAP settings."""

from __future__ import annotations

from logging.config import fileConfig
from typing import NoReturn

from sqlalchemy import engine_from_config, pool

from alembic import context
from qrap_core.db_check import check_database
from qrap_core.errors import QrapError
from qrap_core.models import Base
from qrap_core.settings import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    try:
        return get_settings().sqlalchemy_url
    except QrapError as exc:  # an invalid variable
        _refuse(exc)


def _refuse(exc: QrapError) -> NoReturn:
    """One line instead of a traceback: the `alembic` command exits with it; a caller in
    code (`qrap db upgrade`, tests) gets the QrapError to handle."""
    if config.cmd_opts is not None:
        raise SystemExit(f"error: {exc.message}")
    raise exc


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        url = _url()
        try:
            check_database(url)
        except QrapError as exc:
            _refuse(exc)
        engine = engine_from_config(
            {"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool
        )
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]  # a Connection, typed loosely by alembic
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
