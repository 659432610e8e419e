"""The crypto_assets and findings rows of one run, built from an analysis and written in bulk.

Writing replaces whatever an earlier, interrupted attempt of the same run left, so a retried
run never doubles its assets or findings.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert

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
    for asset, score in zip(assets, scores, strict=True):
        fingerprint = asset_fingerprint(asset)
        if fingerprint in by_fingerprint:
            ids.append(by_fingerprint[fingerprint])
            continue
        asset_id = uuid.uuid4()
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
                "details": jsonable(asset.details),
                "quantum_risk_score": score.score,
                "explanation": jsonable(score.explanation),
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
    for draft, score in zip(findings, scores, strict=True):
        rows.append(
            {
                "id": uuid.uuid4(),
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
                "explanation": jsonable(score.explanation),
                "evidence": jsonable(draft.evidence),
                "deadline": draft.deadline,
                "references": list(draft.references),
                "triage_status": "open",
                "fingerprint": draft.fingerprint,
            }
        )
    return rows


def _clip(value: str | None, length: int) -> str | None:
    return None if value is None else value[:length]


def replace_run_rows(
    uow: UnitOfWork, run_id: uuid.UUID, assets: Sequence[Row], findings: Sequence[Row]
) -> None:
    """Make ``assets`` and ``findings`` the run's only rows, in the caller's transaction."""
    # An earlier attempt of this run may have got this far before dying.
    uow.session.execute(delete(Finding).where(Finding.run_id == run_id))
    uow.session.execute(delete(CryptoAssetRecord).where(CryptoAssetRecord.run_id == run_id))
    if assets:
        uow.session.execute(insert(CryptoAssetRecord), list(assets))
    if findings:
        uow.session.execute(insert(Finding), list(findings))


def jsonable(value: Any) -> Any:
    """Round-trip through JSON so dates and other values land as the JSON column stores them."""
    return json.loads(json.dumps(value, default=str))
