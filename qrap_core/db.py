"""Engine, declarative Base and the UnitOfWork that owns commits and deferred task sends."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import JSON, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeEngine

# Stable constraint names so Alembic autogenerate and SQLite batch mode agree.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Pooled PostgreSQL connections older than this are replaced at checkout, before an idle
# timeout on the way (a firewall, PgBouncer's server_idle_timeout) can have cut them.
POOL_RECYCLE_SECONDS = 1800


def make_engine(
    url: str, *, pool_size: int = 5, max_overflow: int = 10, pre_ping: bool = True
) -> Engine:
    """Build an engine; SQLite gets foreign keys and a busy timeout, PostgreSQL a pool whose
    connections are recycled after ``POOL_RECYCLE_SECONDS``.

    ``pre_ping`` tests each connection at checkout (one round trip per transaction), so a
    connection that died with a PostgreSQL restart is replaced before use. Without it a dead
    connection fails its first statement with ``OperationalError``, SQLAlchemy then discards
    the whole pool, and the caller retries: for a worker whose tasks retry database errors
    anyway (docs/reliability.md, T20) that saves a round trip per transaction."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            hide_parameters=True,  # values (secrets, names) never reach logs or error text
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=pre_ping,
        pool_recycle=POOL_RECYCLE_SECONDS,
        hide_parameters=True,
        future=True,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@dataclass(frozen=True, slots=True)
class DeferredTask:
    name: str
    kwargs: dict[str, Any]
    queue: str | None = None


class Dispatcher(Protocol):
    """Sends a task by name (Celery in the service, an in-process runner in the CLI)."""

    def __call__(self, task: DeferredTask, /) -> None: ...


def _no_dispatch(task: DeferredTask) -> None:
    raise RuntimeError(f"no dispatcher configured for deferred task {task.name}")


class UnitOfWork:
    """One session, one transaction. Commits on clean exit, then sends deferred tasks.

    Services only ``add`` and ``flush``; they call ``defer`` to send a task, which happens only
    after the commit succeeded, so a worker never sees a row that is not there yet.
    """

    def __init__(self, session: Session, dispatcher: Dispatcher = _no_dispatch) -> None:
        self.session = session
        self._dispatcher = dispatcher
        self._deferred: list[DeferredTask] = []
        self._after_commit: list[Callable[[], None]] = []

    def defer(self, name: str, *, queue: str | None = None, **kwargs: Any) -> None:
        self._deferred.append(DeferredTask(name=name, kwargs=kwargs, queue=queue))

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    def commit(self) -> None:
        """Commit now and flush deferred sends; for long tasks that need several transactions."""
        self.session.commit()
        deferred, self._deferred = self._deferred, []
        callbacks, self._after_commit = self._after_commit, []
        for task in deferred:
            self._dispatcher(task)
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        self.session.rollback()
        self._deferred.clear()
        self._after_commit.clear()

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                self.rollback()
        finally:
            self.session.close()


class Database:
    """Owns the engine and the session factory for one process (built at start, not import)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        max_overflow: int = 10,
        read_url: str | None = None,
        pre_ping: bool = True,
    ) -> None:
        self.url = url
        self.engine = make_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, pre_ping=pre_ping
        )
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # Lists and reports may read from a replica (QRAP_DB_READ_URL); without one, the primary.
        self.read_engine = (
            make_engine(read_url, pool_size=pool_size, max_overflow=max_overflow)
            if read_url
            else self.engine
        )
        self.read_sessionmaker = sessionmaker(self.read_engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self, dispatcher: Dispatcher = _no_dispatch) -> Iterator[UnitOfWork]:
        with UnitOfWork(self.sessionmaker(), dispatcher) as uow:
            yield uow

    @contextmanager
    def read_unit_of_work(self) -> Iterator[UnitOfWork]:
        """A read-only transaction on the read engine; it can send no tasks.

        On PostgreSQL the transaction starts with ``BEGIN READ ONLY`` (psycopg2 sends it with
        the BEGIN, so it also holds behind PgBouncer in transaction mode): a write that slipped
        into a list or report fails instead of landing on a replica that refuses it anyway.
        """
        session = self.read_sessionmaker()
        if self.read_engine.dialect.name == "postgresql":
            session.connection(execution_options={"postgresql_readonly": True})
        with UnitOfWork(session) as uow:
            yield uow

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
