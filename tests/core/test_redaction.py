"""Log redaction: query-string credentials, URL passwords and database values never reach a
log line, whichever logger writes it (uvicorn's access log included)."""

from __future__ import annotations

import io
import logging
import sys
import uuid
from collections.abc import Iterator

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from uvicorn.logging import AccessFormatter

from qrap_core import redaction
from qrap_core.db import Database
from qrap_core.logging import configure, format_stdlib_records
from qrap_core.redaction import REDACTED, RedactingFilter, redact

TOKEN = "tok-" + uuid.uuid4().hex
SQL_LINE = "[SQL: INSERT INTO t (name) VALUES (%(name)s)]"


class TestRedact:
    @pytest.mark.parametrize(
        "name",
        [
            "token", "access_token", "api_key", "apikey", "key", "secret", "client_secret",
            "password", "signature", "X-Amz-Signature", "Token", "api%5Fkey", "sig",
        ],
    )  # fmt: skip
    def test_credential_parameters_are_redacted(self, name: str) -> None:
        line = f'127.0.0.1:5 - "GET /api/v1/assessments?limit=5&{name}={TOKEN}&x=1 HTTP/1.1" 200'

        redacted = redact(line)

        assert TOKEN not in redacted
        assert f"{name}={REDACTED}" in redacted
        assert "limit=5" in redacted
        assert "&x=1 HTTP/1.1" in redacted

    def test_first_parameter_and_fragment(self) -> None:
        assert redact(f"/hook?token={TOKEN}#frag") == f"/hook?token={REDACTED}#frag"

    def test_harmless_parameters_stay(self) -> None:
        line = "/api/v1/findings?offset=10&limit=50&risk_level=HIGH&keyword=rsa"
        assert redact(line) == line

    def test_url_password(self) -> None:
        dsn = f"postgresql+psycopg2://qrap:{TOKEN}@db:5432/qrap"
        assert redact(f"cannot connect to {dsn}") == (
            f"cannot connect to postgresql+psycopg2://qrap:{REDACTED}@db:5432/qrap"
        )

    def test_postgres_detail_and_sqlalchemy_parameters(self) -> None:
        message = "\n".join(
            [
                '(psycopg2.errors.UniqueViolation) duplicate key violates unique constraint "uq"',
                f"DETAIL:  Key (name)=({TOKEN}) already exists.",
                SQL_LINE,
                f"[parameters: {{'name': '{TOKEN}'}}]",
                "(Background on this error at: https://sqlalche.me/e/20/gkpj)",
            ]
        )

        redacted = redact(message)

        assert TOKEN not in redacted
        assert "UniqueViolation" in redacted  # the class and the constraint stay
        assert 'unique constraint "uq"' in redacted
        assert SQL_LINE in redacted


def _access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:50000", "GET", path, "1.1", 200), None,
    )  # fmt: skip


class TestRedactingFilter:
    def test_uvicorn_access_line_keeps_its_shape(self) -> None:
        record = _access_record(f"/api/v1/health?api_key={TOKEN}&verbose=1")

        assert RedactingFilter().filter(record) is True
        line = AccessFormatter(use_colors=False).format(record)

        assert TOKEN not in line
        assert f'"GET /api/v1/health?api_key={REDACTED}&verbose=1 HTTP/1.1" 200' in line

    def test_traceback_of_a_database_error(self) -> None:
        try:
            raise RuntimeError(f"boom\nDETAIL:  Key (secret)=({TOKEN}) already exists.")
        except RuntimeError:
            record = logging.LogRecord(
                "celery.app.trace", logging.ERROR, __file__, 1, "task failed: %s",
                (RuntimeError(f"DETAIL: {TOKEN}"),), sys.exc_info(),
            )  # fmt: skip

        RedactingFilter().filter(record)
        line = logging.Formatter("%(message)s").format(record)

        assert TOKEN not in line
        assert "RuntimeError: boom" in line


@pytest.fixture
def isolated_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of this test's own, with a handler, as ``install`` would find them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger(f"qrap-test-{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)


class TestInstall:
    def test_filters_a_logger_with_its_own_handlers(
        self, isolated_logger: tuple[logging.Logger, io.StringIO]
    ) -> None:
        logger, stream = isolated_logger
        redaction.install((logger.name,))
        redaction.install((logger.name,))  # idempotent

        logger.info("GET %s", f"/x?token={TOKEN}")

        assert stream.getvalue() == f"GET /x?token={REDACTED}\n"
        assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1

    def test_configure_redacts_structlog_events(self, capsys: pytest.CaptureFixture[str]) -> None:
        configure("info", json=True)
        log = structlog.get_logger("qrap-test")

        log.info("webhook.refused", url=f"https://hooks.example/in?signature={TOKEN}")

        assert TOKEN not in capsys.readouterr().err


class TestWorkerFormat:
    def test_celery_records_rendered_by_structlog_carry_no_values(self) -> None:
        """The worker renders stdlib records with structlog, which formats the traceback anew
        from exc_info: the redaction must apply there too."""
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        root = logging.getLogger()
        saved = root.handlers[:]
        root.handlers = [handler]
        try:
            format_stdlib_records(json=True)
            redaction.install(())
        finally:
            root.handlers = saved
        try:
            raise RuntimeError(f"insert failed\nDETAIL:  Key (secret)=({TOKEN}) already exists.")
        except RuntimeError:
            record = logging.LogRecord(
                "celery.app.trace", logging.ERROR, __file__, 1, "Task %s raised", ("t",),
                sys.exc_info(),
            )  # fmt: skip

        handler.handle(record)

        line = stream.getvalue()
        assert "RuntimeError: insert failed" in line
        assert TOKEN not in line


class TestEngines:
    def test_a_database_error_carries_no_parameter_values(self, pg_url: str) -> None:
        db = Database(pg_url)
        insert = text("INSERT INTO leak_probe (name) VALUES (:name)")
        try:
            with db.engine.begin() as connection:
                connection.execute(text("CREATE TEMP TABLE leak_probe (name text PRIMARY KEY)"))
                connection.execute(insert, {"name": TOKEN})
                with pytest.raises(IntegrityError) as caught:
                    connection.execute(insert, {"name": TOKEN})
        finally:
            db.dispose()
        message = str(caught.value)

        assert "SQL parameters hidden" in message
        # PostgreSQL itself quotes the value in DETAIL; the log filter takes it out.
        assert TOKEN not in redact(message)
