"""The crypto_assets and findings rows of one run, built from an analysis and written in bulk.

Writing replaces whatever an earlier, interrupted attempt of the same run left, so a retried
run never doubles its assets or findings. Row ids derive from the run and the row's fingerprint
(unique per run), so the same observation always gets the same id: a chunk written twice lands
on the rows it wrote the first time instead of beside them.

On PostgreSQL the rows go in with ``COPY ... FROM STDIN`` on the session's own connection, in
the caller's transaction (several times faster than an INSERT per row); on SQLite (the CLI's
embedded database) with one executemany INSERT.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Table, delete, insert, text
from sqlalchemy.dialects import sqlite

from qrap_core.db import UnitOfWork
from qrap_core.discovery.types import CryptoAsset
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring.base import AssetScore

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RunScope:
    """The run that rows belong to; its assessment and organization are copied onto each row."""

    run_id: uuid.UUID
    assessment_id: uuid.UUID
    organization_id: uuid.UUID


def asset_fingerprint(asset: CryptoAsset) -> str:
    identity = {
        "kind": asset.kind,
        "location": asset.location,
        "name": asset.name,
        "algorithm": asset.algorithm,
        "protocol": asset.protocol,
        "cert": asset.details.get("fingerprint_sha256"),
        "chain_index": asset.details.get("chain_index"),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


class JsonText(str):
    """A JSON column's value, serialized already (``json.dumps(..., default=str)``): COPY
    writes it as it is; the executemany path (SQLite) reads it back first."""


class _Serialized:
    """JSON text of values, each serialized once by identity: assets with equal feature rows
    share one explanation object (``scoring.model``), and their findings one banded copy."""

    def __init__(self) -> None:
        # The value is kept with its text, so its id cannot be reused by another object.
        self._seen: dict[int, tuple[Any, JsonText]] = {}

    def __call__(self, value: Any) -> JsonText:
        hit = self._seen.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        text = JsonText(json.dumps(value, default=str))
        self._seen[id(value)] = (value, text)
        return text


def asset_rows(
    scope: RunScope,
    assets: Sequence[CryptoAsset],
    scores: Sequence[AssetScore],
    now: datetime,
) -> tuple[list[Row], list[uuid.UUID]]:
    """Rows for crypto_assets, one per distinct asset; ids[i] is the row of assets[i]."""
    rows: list[Row] = []
    by_fingerprint: dict[str, uuid.UUID] = {}
    ids: list[uuid.UUID] = []
    serialized = _Serialized()
    for asset, score in zip(assets, scores, strict=True):
        fingerprint = asset_fingerprint(asset)
        if fingerprint in by_fingerprint:
            ids.append(by_fingerprint[fingerprint])
            continue
        asset_id = row_id(scope.run_id, "asset", fingerprint)
        by_fingerprint[fingerprint] = asset_id
        ids.append(asset_id)
        rows.append(
            {
                "id": asset_id,
                "run_id": scope.run_id,
                "assessment_id": scope.assessment_id,
                "organization_id": scope.organization_id,
                "kind": asset.kind,
                "name": asset.name[:1024],
                "location": asset.location[:1024],
                # Documents may name anything: clip to the columns (varchar) rather than fail
                # the whole run at insert time.
                "algorithm": _clip(asset.algorithm, 255),
                "family": _clip(asset.family, 64),
                "key_size": asset.key_size,
                "usage": str(asset.usage),
                "protocol": _clip(asset.protocol, 32),
                "details": JsonText(json.dumps(asset.details, default=str)),
                "quantum_risk_score": score.score,
                "explanation": serialized(score.explanation),
                "fingerprint": fingerprint,
                "discovered_at": now,
            }
        )
    return rows, ids


def finding_rows(
    scope: RunScope,
    findings: Sequence[FindingDraft],
    scores: Sequence[AssetScore],
    asset_ids: Sequence[uuid.UUID],
    now: datetime,
) -> list[Row]:
    """Rows for findings; ``scores[i]`` is findings[i]'s, ``asset_ids`` come from asset_rows."""
    rows: list[Row] = []
    serialized = _Serialized()
    for draft, score in zip(findings, scores, strict=True):
        rows.append(
            {
                "id": row_id(scope.run_id, "finding", draft.fingerprint),
                "assessment_id": scope.assessment_id,
                "run_id": scope.run_id,
                "asset_id": asset_ids[draft.asset_index],
                "organization_id": scope.organization_id,
                "category": str(draft.category),
                "risk_level": str(draft.risk_level),
                "title": draft.title[:500],
                "description": draft.description,
                "affected_asset": draft.affected_asset[:1024],
                "current_algorithm": _clip(draft.current_algorithm, 255),
                "recommended_algorithm": _clip(draft.recommended_algorithm, 255),
                "remediation": draft.remediation,
                "discovered_at": now,
                "rule_id": draft.rule_id,
                "risk_score": score.score,
                "explanation": serialized(score.explanation),
                "evidence": JsonText(json.dumps(draft.evidence, default=str)),
                "deadline": draft.deadline,
                "references": list(draft.references),
                "triage_status": "open",
                "fingerprint": draft.fingerprint,
            }
        )
    return rows


def _clip(value: str | None, length: int) -> str | None:
    return None if value is None else value[:length]


def row_id(run_id: uuid.UUID, kind: str, fingerprint: str) -> uuid.UUID:
    """The id of the run's ``kind`` row with ``fingerprint``: the same on every attempt."""
    return uuid.uuid5(run_id, f"{kind}:{fingerprint}")


def replace_run_rows(
    uow: UnitOfWork, run_id: uuid.UUID, assets: Sequence[Row], findings: Sequence[Row]
) -> None:
    """Make ``assets`` and ``findings`` the run's only rows, in the caller's transaction."""
    # An earlier attempt of this run may have got this far before dying.
    uow.session.execute(delete(Finding).where(Finding.run_id == run_id))
    uow.session.execute(delete(CryptoAssetRecord).where(CryptoAssetRecord.run_id == run_id))
    bulk_insert(uow, CryptoAssetRecord.__table__, assets)  # type: ignore[arg-type]  # a Table
    bulk_insert(uow, Finding.__table__, findings)  # type: ignore[arg-type]  # a Table


def add_chunk_rows(uow: UnitOfWork, assets: Sequence[Row], findings: Sequence[Row]) -> None:
    """Add one chunk's rows to its run, in the caller's transaction (the one that records the
    chunk done). A row the run already holds (same run and fingerprint: the same chunk written
    again, or the same observation made by two chunks) is kept as it is, never doubled."""
    bulk_insert(uow, CryptoAssetRecord.__table__, assets, keep_existing=True)  # type: ignore[arg-type]  # a Table
    bulk_insert(uow, Finding.__table__, findings, keep_existing=True)  # type: ignore[arg-type]  # a Table


def bulk_insert(
    uow: UnitOfWork, table: Table, rows: Sequence[Row], *, keep_existing: bool = False
) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``: COPY on PostgreSQL, executemany
    elsewhere. With ``keep_existing``, rows that collide with a unique key already present are
    skipped rather than refused."""
    if not rows:
        return
    if uow.session.get_bind().dialect.name != "postgresql":
        statement = sqlite.insert(table) if keep_existing else insert(table)
        if keep_existing:
            statement = statement.on_conflict_do_nothing()  # type: ignore[attr-defined]  # sqlite Insert
        uow.session.execute(statement, [decoded(row) for row in rows])
        return
    columns = list(rows[0])
    if not keep_existing:
        _copy(uow, table.name, table, columns, rows)
        return
    # COPY has no ON CONFLICT: stage the rows in a temporary table, then move them over.
    staging = f"_qrap_copy_{table.name}"
    uow.session.execute(
        text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} (LIKE {table.name}) ON COMMIT DROP")
    )
    uow.session.execute(text(f"TRUNCATE {staging}"))
    _copy(uow, staging, table, columns, rows)
    names = ", ".join(f'"{c}"' for c in columns)
    # Every name is one of the table's own columns, never input.
    move = f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {staging}"  # noqa: S608
    uow.session.execute(text(move + " ON CONFLICT DO NOTHING"))


def _copy(
    uow: UnitOfWork, target: str, table: Table, columns: list[str], rows: Sequence[Row]
) -> None:
    """``COPY target FROM STDIN`` (text format) on the session's connection and transaction."""
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSON)}
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_copy_value(row[c], c in json_columns) for c in columns))
        buffer.write("\n")
    buffer.seek(0)
    names = ", ".join(f'"{c}"' for c in columns)
    # psycopg2's own cursor: copy_expert is no part of the DB-API that SQLAlchemy types.
    cursor: Any = uow.session.connection().connection.cursor()
    try:
        cursor.copy_expert(f"COPY {target} ({names}) FROM STDIN", buffer)
    finally:
        cursor.close()


def _escaped(text: str) -> str:
    """COPY's text format: backslash, tab, newline and carriage return are escaped (each
    ``replace`` runs in C, and most values hold none of them); \\N is NULL."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\t" in text:
        text = text.replace("\t", "\\t")
    if "\n" in text:
        text = text.replace("\n", "\\n")
    if "\r" in text:
        text = text.replace("\r", "\\r")
    return text


def decoded(row: Row) -> Row:
    """The row with its serialized JSON values as values again, for the JSON column type."""
    return {k: json.loads(v) if isinstance(v, JsonText) else v for k, v in row.items()}


def _copy_value(value: Any, as_json: bool) -> str:
    if isinstance(value, JsonText):
        return _escaped(value)
    if as_json:
        return _escaped(json.dumps(value))
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value).replace("inf", "Infinity")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return _escaped(str(value))


def jsonable(value: Any) -> Any:
    """Round-trip through JSON so dates and other values land as the JSON column stores them."""
    return json.loads(json.dumps(value, default=str))
