"""Shared fixtures: a real PostgreSQL database per test session, settings, app clients; the
markers every test gets from where it lives and what it starts."""

from __future__ import annotations

import inspect
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import CodeType

import psycopg2
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, delete, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from qrap_api.app import create_app
from qrap_api.auth import issue_token
from qrap_core import migrate
from qrap_core.assessment.models import Assessment
from qrap_core.db import Database, DeferredTask
from qrap_core.idempotency.models import IdempotencyRecord
from qrap_core.organization.models import Organization
from qrap_core.settings import Settings

pytest_plugins = ["tests.logcapture"]  # every log line of the session is checked for secrets

PG_ADMIN_DSN = os.environ.get("QRAP_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres")
REDIS_BASE = os.environ.get("QRAP_TEST_REDIS", "redis://127.0.0.1:6379")
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
# The platform admin (three fields, admin role): creates organizations and keys.
ADMIN_KEY = "admin-key-0123456789abcdef"
_BROKER_LOCK = "qrap:test-session-lock"
# A viewer bound to an organization no test creates: it passes authentication, sees nothing.
VIEWER_KEY = "viewer-key-0123456789abcdef"
VIEWER_ORG_ID = "00000000-0000-4000-8000-0000000000f0"

TESTS = Path(__file__).resolve().parent
# A test module in one of these folders has the folder's marker (pytestmark); no other has it.
FOLDER_MARKERS = {"integration": TESTS / "integration", "reliability": TESTS / "reliability"}
# What a test or its fixtures call to start a server on 127.0.0.1: tests/servers.py, the CLI's
# demo server, a bare listening socket, a server process.
SERVER_STARTERS = frozenset(
    {"openssl_server", "pyopenssl_server", "sshd_server", "serve_tls", "listen", "Popen"}
)
_CHECKED_MODULES: set[Path] = set()


def pytest_pycollect_makeitem(collector: pytest.Module | pytest.Class) -> None:
    """Refuse a module of tests/integration or tests/reliability without the folder's marker.

    ``make test-fast`` leaves those tests out by marker, so an unmarked one would run there
    unnoticed; a marked module elsewhere would be left out of ``make test-reliability``. The
    module's collection fails instead (under xdist too), naming the pytestmark it needs.
    """
    if not isinstance(collector, pytest.Module) or collector.path in _CHECKED_MODULES:
        return
    _CHECKED_MODULES.add(collector.path)
    for marker, folder in FOLDER_MARKERS.items():
        inside = collector.path.is_relative_to(folder)
        if inside != (collector.get_closest_marker(marker) is not None):
            where = "in" if inside else "outside"
            raise pytest.Collector.CollectError(
                f"{collector.nodeid} is {where} tests/{folder.name}/: it needs "
                f"{'a' if inside else 'no'} module-level pytestmark = pytest.mark.{marker}"
            )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``network`` every test that starts a server, or whose fixtures do."""
    for item in items:
        # Integration and fault tests all run against server processes (worker, uvicorn, Redis).
        against_servers = any(item.path.is_relative_to(f) for f in FOLDER_MARKERS.values())
        if against_servers or _starts_server(item):
            item.add_marker(pytest.mark.network)


def _starts_server(item: pytest.Item) -> bool:
    """Whether the test, or a fixture it uses, calls one of ``SERVER_STARTERS``."""
    if not isinstance(item, pytest.Function):
        return False
    functions: list[Callable[..., object]] = [item.function]
    for definitions in item._fixtureinfo.name2fixturedefs.values():
        functions.extend(definition.func for definition in definitions)
    seen: set[CodeType] = set()
    return any(not SERVER_STARTERS.isdisjoint(_names_used(f, seen)) for f in functions)


def _names_used(function: Callable[..., object], seen: set[CodeType]) -> set[str]:
    """Global and attribute names in ``function``, its nested functions and the tests/ helpers
    it calls (``_maybe_sshd`` in tests/reports/conftest.py starts sshd on its caller's behalf)."""
    function = inspect.unwrap(function)
    code = getattr(function, "__code__", None)
    if not isinstance(code, CodeType) or code in seen:
        return set()
    seen.add(code)
    names = _code_names(code)
    namespace = getattr(function, "__globals__", {})
    for name in list(names):
        helper = namespace.get(name)
        if inspect.isfunction(helper) and helper.__module__.startswith("tests."):
            names |= _names_used(helper, seen)
    return names


def _code_names(code: CodeType) -> set[str]:
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            names |= _code_names(constant)
    return names


def _worker_id(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.config, "workerinput", {}).get("workerid", "main"))


def _admin_exec(sql: str) -> None:
    conn = psycopg2.connect(PG_ADMIN_DSN + " dbname=postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database for this test session, built by the migrations."""
    name = f"qrap_test_{_worker_id(request)}_{os.getpid()}"
    _admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin_exec(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    migrate.upgrade(url)
    yield url
    _admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(frozen=True)
class _Created:
    """Rows a test created that nothing else owns: its organizations (and through them its
    assessments, runs, findings, artifacts and webhooks) and its Idempotency-Key records."""

    organizations: frozenset[uuid.UUID]
    idempotency_keys: frozenset[uuid.UUID]

    @classmethod
    def now(cls, engine: Engine) -> _Created:
        with engine.connect() as connection:
            return cls(
                frozenset(connection.scalars(select(Organization.id))),
                frozenset(connection.scalars(select(IdempotencyRecord.id))),
            )


@pytest.fixture(scope="session")
def _cleanup_engine(pg_url: str) -> Iterator[Engine]:
    engine = create_engine(pg_url, poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _remove_what_the_test_committed(request: pytest.FixtureRequest) -> Iterator[None]:
    """Delete the organizations (cascading to their rows) and Idempotency-Key records that a
    test using the session database created, once it is over.

    These tests commit for real: workers, heartbeat threads, CLI subprocesses and the API's own
    units of work read their rows through other connections. Left behind, a run QUEUED for
    ``example.com`` or a pending webhook delivery would be swept up by the next beat, that of
    the fault suite, which shares this database. The fault suite keeps its own rows; the
    append-only audit log keeps its entries (nothing acts on them).
    """
    if "pg_url" not in request.fixturenames or request.node.get_closest_marker("reliability"):
        yield
        return
    engine: Engine = request.getfixturevalue("_cleanup_engine")
    before = _Created.now(engine)
    yield
    after = _Created.now(engine)
    organizations = after.organizations - before.organizations
    keys = after.idempotency_keys - before.idempotency_keys
    with engine.begin() as connection:
        # A transaction the test left open on its rows fails the test here instead of hanging.
        connection.execute(text("SET LOCAL lock_timeout = '10s'"))
        if organizations:
            connection.execute(
                delete(Assessment).where(Assessment.organization_id.in_(organizations))
            )
            connection.execute(delete(Organization).where(Organization.id.in_(organizations)))
        if keys:
            connection.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(keys)))


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    """A Redis database of this test session's own, so parallel sessions never share queues.

    A worker of another session consuming our messages would find no such run in its own
    database and drop them, so each session locks one of databases 8-15 for its lifetime.
    """
    token = f"{os.getpid()}-{uuid.uuid4()}"
    for number in range(8, 16):
        client = redis.Redis.from_url(f"{REDIS_BASE}/{number}")
        if client.set(_BROKER_LOCK, token, nx=True, ex=3600):
            client.flushdb()
            client.set(_BROKER_LOCK, token, ex=3600)
            try:
                yield f"{REDIS_BASE}/{number}"
            finally:
                if client.get(_BROKER_LOCK) == token.encode():
                    client.flushdb()
                client.close()
            return
        client.close()
    raise RuntimeError("every test Redis database (8-15) is locked by another test session")


@pytest.fixture(scope="module")
def app_db(pg_url: str, settings: Settings) -> Iterator[Database]:
    """The database as the service sees it in production: the application role."""
    url = make_url(pg_url).set(username=settings.db_app_role)
    db = Database(url.render_as_string(hide_password=False))
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def settings(pg_url: str, broker_url: str) -> Settings:
    return Settings(
        database_url=pg_url,
        redis_url=broker_url,
        QUANTUN_JWT_SECRET=JWT_SECRET,
        QUANTUN_JWT_ISSUER="qrap-test",
        QUANTUN_API_KEYS=(
            f"{ADMIN_KEY}:ci-admin:admin,{VIEWER_KEY}:ci-viewer:viewer:{VIEWER_ORG_ID}"
        ),
        scan_allow_networks="127.0.0.0/8",
        probe_timeout=3.0,
        rate_limit=1_000_000,  # tests make hundreds of requests a minute with one key
    )


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.sqlalchemy_url)
    yield db
    db.dispose()


class RecordingDispatcher:
    """Records task sends instead of publishing them (API tests without a worker)."""

    def __init__(self) -> None:
        self.sent: list[DeferredTask] = []

    def __call__(self, task: DeferredTask) -> None:
        self.sent.append(task)


@pytest.fixture
def dispatched() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def client(
    settings: Settings, database: Database, dispatched: RecordingDispatcher
) -> Iterator[TestClient]:
    app = create_app(settings, database=database, dispatcher=dispatched)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.headers["Authorization"] = f"ApiKey {ADMIN_KEY}"
        yield test_client


@pytest.fixture
def admin_token(settings: Settings) -> str:
    return issue_token(settings, subject="alice", role="admin")


@pytest.fixture
def org_id(client: TestClient) -> str:
    response = client.post("/api/v1/organizations", json={"name": f"org-{uuid.uuid4()}"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])
