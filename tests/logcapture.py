"""Every log line the test session writes is kept, and none may hold a secret.

A pytest plugin (``pytest_plugins`` in tests/conftest.py). It collects, per process (each
xdist worker checks its own lines):

- every record that reaches the root logger's handlers, formatted with its traceback;
- every line structlog prints (``PrintLogger``, which our structlog setup writes through);
- at the end, the ``*.log`` files under the session's temporary directory: the uvicorn and
  Celery processes the integration and fault tests start write there.

When the session's last test is over, the lines are searched for the suite's known secrets
(the JWT secret and API keys of tests/conftest.py, every webhook signing secret the app
generated, values given to ``register_secret``) and for anything shaped like a credential (a
JWT, a ``whsec_`` secret, a password in a URL, SQL parameters). A hit fails the session: the
teardown of ``_no_secrets_in_logs`` errors, naming the secret's kind and the line's source.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import structlog

from qrap_core.webhook import signing

# Shapes that are a leak wherever they appear, whatever their value.
CREDENTIAL_SHAPES: dict[str, re.Pattern[str]] = {
    "a JWT": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "a webhook secret": re.compile(r"whsec_[A-Za-z0-9+/]{16,}"),
    "a password in a URL": re.compile(
        r"[a-z][a-z0-9+.-]*://[^\s:/@\"']+:(?!\[redacted\])[^\s@/\"']+@"
    ),
    "SQL parameters": re.compile(r"\[parameters: (?!\[redacted\])"),
}
# Module-level constants of tests/conftest.py with one of these names are secrets.
_SECRET_NAME = re.compile(r"(SECRET|_KEY|TOKEN|PASSWORD)$")
_MIN_SECRET_LENGTH = 8
_PRINT_LOGGER_METHODS = (
    "msg", "log", "debug", "info", "warn", "warning", "err", "error", "critical",
    "exception", "fatal", "failure",
)  # fmt: skip


@dataclass
class Collected:
    """What this process's lines leaked so far; lines are checked as they are written, so
    memory stays flat however long the session."""

    secrets: dict[str, str] = field(default_factory=dict)  # value -> what it is
    leaks: list[str] = field(default_factory=list)
    lines_checked: int = 0

    def check(self, source: str, text: str) -> None:
        self.lines_checked += 1
        if not self.secrets:
            self.secrets.update(_conftest_secrets())
        self.leaks.extend(find_leaks([(source, text)], self.secrets))


_COLLECTED = Collected()


def register_secret(value: str, what: str = "a secret created by a test") -> None:
    """Add ``value`` to what no log line may contain."""
    if not _COLLECTED.secrets:
        _COLLECTED.secrets.update(_conftest_secrets())
    if len(value) >= _MIN_SECRET_LENGTH:
        _COLLECTED.secrets.setdefault(value, what)


class _Handler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _COLLECTED.check(f"logging:{record.name}", self.format(record))
        except Exception:  # a record that cannot be formatted must not fail the test
            self.handleError(record)


_HANDLER = _Handler()
_ORIGINALS: dict[str, Any] = {}


def _teeing(original: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
    @functools.wraps(original)
    def msg(self: Any, message: str) -> None:
        _COLLECTED.check("structlog", str(message))
        original(self, message)

    return msg


def _recording(original: Callable[[], str]) -> Callable[[], str]:
    @functools.wraps(original)
    def generate_secret() -> str:
        secret = original()
        register_secret(secret, "a webhook signing secret")
        return secret

    return generate_secret


def pytest_configure(config: pytest.Config) -> None:
    logging.getLogger().addHandler(_HANDLER)
    printer = structlog.PrintLogger
    _ORIGINALS["msg"] = printer.msg
    tee = _teeing(printer.msg)
    for name in _PRINT_LOGGER_METHODS:
        setattr(printer, name, tee)
    _ORIGINALS["generate_secret"] = signing.generate_secret
    signing.generate_secret = _recording(signing.generate_secret)


def pytest_unconfigure(config: pytest.Config) -> None:
    logging.getLogger().removeHandler(_HANDLER)
    if "msg" in _ORIGINALS:
        for name in _PRINT_LOGGER_METHODS:
            setattr(structlog.PrintLogger, name, _ORIGINALS["msg"])
    if "generate_secret" in _ORIGINALS:
        signing.generate_secret = _ORIGINALS["generate_secret"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    # A test that reconfigures logging (dictConfig, basicConfig(force=True), a Celery worker
    # hijacking the root logger) may have dropped the handler.
    root = logging.getLogger()
    if _HANDLER not in root.handlers:
        root.addHandler(_HANDLER)


def _conftest_secrets() -> dict[str, str]:
    conftest = sys.modules.get("tests.conftest")
    found: dict[str, str] = {}
    for name, value in (vars(conftest) if conftest is not None else {}).items():
        is_secret = _SECRET_NAME.search(name) and isinstance(value, str)
        if is_secret and len(value) >= _MIN_SECRET_LENGTH:
            found[value] = f"tests/conftest.py {name}"
    return found


def _log_files(root: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(root.rglob("*.log")):
        if path.is_file():
            yield str(path.relative_to(root)), path.read_text("utf-8", "replace")


def find_leaks(lines: list[tuple[str, str]], secrets: dict[str, str]) -> list[str]:
    """One entry per (line, secret) hit: what leaked and where, never the secret itself."""
    leaks: list[str] = []
    for source, text in lines:
        for value, what in secrets.items():
            if value in text:
                leaks.append(f"{what} in {source}: {_excerpt(text, value)}")
        for what, shape in CREDENTIAL_SHAPES.items():
            match = shape.search(text)
            if match:
                leaks.append(f"{what} in {source}: {_excerpt(text, match[0])}")
    return leaks


def _excerpt(text: str, secret: str) -> str:
    at = text.find(secret)
    before = text[max(0, at - 80) : at].replace("\n", "\\n")
    after = text[at + len(secret) : at + len(secret) + 40].replace("\n", "\\n")
    return f"...{before}<SECRET>{after}..."


@pytest.fixture(scope="session", autouse=True)
def _no_secrets_in_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fails the session (at its last teardown) if any log line written holds a secret."""
    yield
    for source, text in _log_files(tmp_path_factory.getbasetemp()):
        _COLLECTED.check(source, text)
    leaks = _COLLECTED.leaks
    if leaks:
        shown = "\n".join(leaks[:20])
        pytest.fail(
            f"{len(leaks)} log line(s) of this session hold a secret:\n{shown}", pytrace=False
        )
