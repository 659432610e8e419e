"""Idempotency-Key semantics (DESIGN §5, IETF draft-ietf-httpapi-idempotency-key-header).

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
from qrap_core.idempotency.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


def principal_of(actor: Actor) -> str:
    """The scope of a key: who is calling and which organizations they act for."""
    orgs = "*" if actor.org_ids is None else ",".join(sorted(str(o) for o in actor.org_ids))
    return f"{actor.kind}:{actor.subject}:" + hashlib.sha256(orgs.encode()).hexdigest()[:16]


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
    """Claim ``key`` for this request, or say why not. Safe under concurrency."""
    for _ in range(3):
        current = now or utcnow()
        with db.unit_of_work() as uow:
            # No lock on the read: the first request's own transaction may hold this row
            # (mark_committing), and a retry must answer 409 at once, not wait for it.
            record = uow.session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.principal == principal, IdempotencyRecord.key == key
                )
            )
            if record is not None and _aware(record.expires_at) <= current:
                uow.session.execute(
                    delete(IdempotencyRecord).where(
                        IdempotencyRecord.id == record.id,
                        IdempotencyRecord.expires_at <= current,
                    )
                )
                uow.commit()
                continue
            if record is None:
                record_id = uuid.uuid4()
                uow.session.add(
                    IdempotencyRecord(
                        id=record_id,
                        principal=principal,
                        key=key,
                        method=method,
                        path=path[:2048],
                        request_hash=fingerprint,
                        state="in_flight",
                        response_headers={},
                        created_at=current,
                        locked_until=current + lock,
                        expires_at=current + ttl,
                    )
                )
                try:
                    uow.session.flush()
                except IntegrityError:
                    # A concurrent first request inserted the key between our read and insert.
                    uow.rollback()
                    continue
                return Decision("proceed", record_id)
            if record.request_hash != fingerprint:
                return Decision("mismatch")
            if record.state == "completed":
                return Decision(
                    "replay",
                    record.id,
                    record.response_status,
                    dict(record.response_headers or {}),
                    record.response_body,
                )
            if record.state == "in_flight" and _aware(record.locked_until) <= current:
                # The first request died before committing anything: this one takes over. The
                # conditional UPDATE waits for a transaction still holding the row and then
                # finds it committed, so a slow first request is never run twice.
                taken = uow.session.execute(
                    update(IdempotencyRecord)
                    .where(
                        IdempotencyRecord.id == record.id,
                        IdempotencyRecord.state == "in_flight",
                        IdempotencyRecord.locked_until <= current,
                    )
                    .values(locked_until=current + lock)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]  # CursorResult
                    return Decision("proceed", record.id)
            return Decision("in_flight")
    return Decision("in_flight")


def mark_committing(uow: UnitOfWork, record_id: uuid.UUID) -> None:
    """Mark the record committed in the request's own transaction (see the module docstring)."""
    uow.session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(state="committed")
        .execution_options(synchronize_session=False)
    )


def finish(
    db: Database, record_id: uuid.UUID, status: int, headers: dict[str, str], body: str
) -> bool:
    """Store the response for replay, or drop the record when the request changed nothing.

    2xx/3xx answers are stored. An error is stored only if the request committed effects
    anyway; otherwise (validation failure, conflict, crash before commit) the key is freed.
    Returns whether the response was stored.
    """
    with db.unit_of_work() as uow:
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


def abandon(db: Database, record_id: uuid.UUID) -> None:
    """The request failed before producing a response; free the key unless it committed."""
    with db.unit_of_work() as uow:
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
