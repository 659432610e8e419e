"""Idempotency-Key semantics (docs/reliability.md P6, IETF
draft-ietf-httpapi-idempotency-key-header).

The first request with a key inserts an ``in_flight`` record in a transaction of its own, so
concurrent retries see it and get 409. The request's own unit of work marks the record
``committed`` in the same transaction as its effects (``mark_committing``): a crash after that
commit can never lead to the request being executed a second time. Once the response exists it
is stored (``completed``) and replayed for the same key and body; another body answers 422.
A request that changed nothing (a validation error) leaves no record, so it can be corrected
and retried with the same key.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from qrap_core.audit.service import Actor
from qrap_core.db import Database, UnitOfWork, utcnow
from qrap_core.errors import Conflict, InvalidInput
from qrap_core.idempotency.models import IdempotencyRecord

MAX_KEY_LENGTH = 255
FIELD = "Idempotency-Key"  # what the errors' details name: the header the caller must change
_ATTEMPTS = 3


def _about_the_key(message: str) -> list[dict[str, Any]]:
    return [{"field": FIELD, "message": message}]


class InvalidIdempotencyKey(InvalidInput):
    def __init__(self) -> None:
        message = f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters"
        super().__init__(message, details=_about_the_key(message))


class IdempotencyKeyMismatch(InvalidInput):
    """The key was first used with another request (the API answers 422, as the draft asks)."""

    def __init__(self) -> None:
        message = (
            "this Idempotency-Key was used with a different request;"
            " use a new key for a new request"
        )
        super().__init__(message, details=_about_the_key(message))


class IdempotencyKeyInFlight(Conflict):
    def __init__(self) -> None:
        message = "a request with this Idempotency-Key is still being processed; retry later"
        super().__init__(message, details=_about_the_key(message))


def check_key(raw: str) -> str:
    """The key as stored, or InvalidIdempotencyKey."""
    key = raw.strip()
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidIdempotencyKey()
    return key


def principal_of(actor: Actor) -> str:
    """The scope of a key: who is calling, in which role, for which organizations.

    A stored answer is replayed only to a caller whose role and organizations are those that
    produced it, so a replay re-checks them: a principal demoted to viewer (or moved out of an
    organization) who replays an analyst's key gets the route's own answer to a viewer (403,
    404), never the analyst's stored one (which may hold a ``webhook_secret``). The price: a
    principal whose role or organizations changed between a request and its retry has the
    retry run afresh.
    """
    orgs = "*" if actor.org_ids is None else ",".join(sorted(str(o) for o in actor.org_ids))
    scope = hashlib.sha256(f"{actor.role}|{orgs}".encode()).hexdigest()[:16]
    return f"{actor.kind}:{actor.subject}:{scope}"


def request_hash(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a request: ``proceed`` (record_id set), ``replay``, ``in_flight`` or
    ``mismatch``."""

    action: str
    record_id: uuid.UUID | None = None
    status: int | None = None
    headers: dict[str, Any] | None = None
    body: str | None = None


@dataclass(frozen=True, slots=True)
class _Claim:
    principal: str
    key: str
    method: str
    path: str
    fingerprint: str
    ttl: timedelta
    lock: timedelta


def admit(
    db: Database,
    actor: Actor,
    key: str,
    *,
    path: str,
    query: bytes,
    body: bytes,
    ttl: timedelta,
    lock: timedelta,
) -> Decision:
    """Begin a POST that carries ``key``: ``proceed`` or ``replay``, else raise
    IdempotencyKeyMismatch or IdempotencyKeyInFlight."""
    decision = begin(
        db,
        principal=principal_of(actor),
        key=key,
        method="POST",
        path=path,
        fingerprint=request_hash("POST", path, query, body),
        ttl=ttl,
        lock=lock,
    )
    if decision.action == "mismatch":
        raise IdempotencyKeyMismatch()
    if decision.action == "in_flight":
        raise IdempotencyKeyInFlight()
    return decision


def begin(
    db: Database,
    *,
    principal: str,
    key: str,
    method: str,
    path: str,
    fingerprint: str,
    ttl: timedelta,
    lock: timedelta,
    now: datetime | None = None,
) -> Decision:
    """Claim ``key`` for this request, or say why not. Safe under concurrency.

    Each attempt is a unit of work of its own, committed before the request runs: concurrent
    retries must see the claim at once, not when the request's own transaction ends.
    """
    claim = _Claim(principal, key, method, path[:2048], fingerprint, ttl, lock)
    for _ in range(_ATTEMPTS):
        with db.unit_of_work() as uow:
            decision = _attempt(uow, claim, now or utcnow())
        if decision is not None:
            return decision
    return Decision("in_flight")


def _attempt(uow: UnitOfWork, claim: _Claim, current: datetime) -> Decision | None:
    """One try at ``claim``; None when the record changed under us and the caller must retry."""
    # No lock on the read: the first request's own transaction may hold this row
    # (mark_committing), and a retry must answer 409 at once, not wait for it.
    record = uow.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.principal == claim.principal, IdempotencyRecord.key == claim.key
        )
    )
    if record is None:
        return _insert(uow, claim, current)
    if _aware(record.expires_at) <= current:
        uow.session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.id == record.id, IdempotencyRecord.expires_at <= current
            )
        )
        return None  # committed by the caller's unit of work; the next attempt inserts
    if record.request_hash != claim.fingerprint:
        return Decision("mismatch")
    if record.state == "completed":
        return Decision(
            "replay",
            record.id,
            record.response_status,
            dict(record.response_headers or {}),
            record.response_body,
        )
    if (
        record.state == "in_flight"
        and _aware(record.locked_until) <= current
        and _take_over(uow, record.id, current, claim.lock)
    ):
        return Decision("proceed", record.id)
    return Decision("in_flight")


def _insert(uow: UnitOfWork, claim: _Claim, current: datetime) -> Decision | None:
    record_id = uuid.uuid4()
    uow.session.add(
        IdempotencyRecord(
            id=record_id,
            principal=claim.principal,
            key=claim.key,
            method=claim.method,
            path=claim.path,
            request_hash=claim.fingerprint,
            state="in_flight",
            response_headers={},
            created_at=current,
            locked_until=current + claim.lock,
            expires_at=current + claim.ttl,
        )
    )
    try:
        uow.session.flush()
    except IntegrityError:
        # A concurrent first request inserted the key between our read and insert.
        uow.rollback()
        return None
    return Decision("proceed", record_id)


def _take_over(uow: UnitOfWork, record_id: uuid.UUID, current: datetime, lock: timedelta) -> bool:
    """The first request died before committing anything: this one takes over.

    The conditional UPDATE waits for a transaction still holding the row and then finds it
    committed, so a slow first request is never run twice.
    """
    taken = uow.session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == record_id,
            IdempotencyRecord.state == "in_flight",
            IdempotencyRecord.locked_until <= current,
        )
        .values(locked_until=current + lock)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]  # CursorResult for UPDATE


def mark_committing(uow: UnitOfWork, record_id: uuid.UUID) -> None:
    """Mark the record committed in the request's own transaction (see the module docstring)."""
    uow.session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(state="committed")
        .execution_options(synchronize_session=False)
    )


def finish(
    uow: UnitOfWork, record_id: uuid.UUID, status: int, headers: dict[str, str], body: str
) -> bool:
    """Store the response for replay, or drop the record when the request changed nothing.

    2xx/3xx answers are stored. An error is stored only if the request committed effects
    anyway; otherwise (validation failure, conflict, crash before commit) the key is freed.
    Returns whether the response was stored.
    """
    record = uow.session.get(IdempotencyRecord, record_id, with_for_update=True)
    if record is None:
        return False
    if status < 400 or record.state == "committed":
        record.state = "completed"
        record.response_status = status
        record.response_headers = headers
        record.response_body = body
        return True
    uow.session.delete(record)
    return False


def abandon(uow: UnitOfWork, record_id: uuid.UUID) -> None:
    """The request failed before producing a response; free the key unless it committed."""
    uow.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.id == record_id, IdempotencyRecord.state == "in_flight"
        )
    )


def purge_expired(uow: UnitOfWork, *, now: datetime | None = None) -> int:
    result = uow.session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < (now or utcnow()))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult for DELETE


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)
