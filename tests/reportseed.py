"""A completed assessment of many realistic assets and findings, written with COPY: the large
runs that the report memory tests and ``bench/report_memory.py`` read.

The assets come from the training sampler's sites (TLS endpoints with certificate chains, SSH
servers, uploaded certificates, declared inventories), each site on a host of its own, and the
rules raise their findings, so the run holds the variety a real one does.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.db import UnitOfWork
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import AssessmentStatus
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.finding.rows import RunScope, asset_rows, bulk_insert, finding_rows
from qrap_core.organization.models import Organization
from qrap_core.rules import RuleContext, evaluate
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring.base import AssetScore
from qrap_core.scoring.training import SiteSampler

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SeededRun:
    organization_id: uuid.UUID
    assessment_id: uuid.UUID
    run_id: uuid.UUID
    assets: int
    findings: int


def estate(count: int, seed: int) -> tuple[list[CryptoAsset], list[FindingDraft]]:
    """``count`` assets from sampled sites and their findings (indices into the whole list)."""
    sampler = SiteSampler(seed, NOW, NOW)
    context = RuleContext(now=NOW, shelf_life_years=10, migration_years=3)
    assets: list[CryptoAsset] = []
    findings: list[FindingDraft] = []
    index = 0
    while len(assets) < count:
        site = [
            replace(asset, location=f"site{index}.{asset.location}")
            for asset in sampler.site(index, NOW)[: count - len(assets)]
        ]
        offset = len(assets)
        findings += [
            replace(f, asset_index=f.asset_index + offset) for f in evaluate(site, context)
        ]
        assets += site
        index += 1
    return assets, findings


def seed_run(
    uow: UnitOfWork, *, assets: int, seed: int = 7, write_batch: int = 20_000
) -> SeededRun:
    """An organization, a COMPLETED assessment and its run holding ``assets`` sampled assets
    and their findings; scores are drawn at random. Flushes, never commits."""
    organization = Organization(
        name=f"report-seed-{uuid.uuid4()}", created_by="seed", updated_by="seed"
    )
    uow.session.add(organization)
    uow.session.flush()
    assessment = Assessment(
        organization_id=organization.id,
        name=f"{assets} sampled assets",
        status=AssessmentStatus.COMPLETED,
        created_by="seed",
        updated_by="seed",
    )
    uow.session.add(assessment)
    uow.session.flush()
    run = AssessmentRun(
        assessment_id=assessment.id,
        organization_id=organization.id,
        run_number=1,
        status=AssessmentStatus.COMPLETED,
        triggered_by="seed",
        completed_at=NOW,
    )
    uow.session.add(run)
    uow.session.flush()
    scope = RunScope(run.id, assessment.id, organization.id)
    live, drafts = estate(assets, seed)
    draw = random.Random(seed)
    asset_scores = [AssetScore(round(draw.uniform(0, 100), 1), []) for _ in live]
    stored, ids = asset_rows(scope, live, asset_scores, NOW)
    finding_scores = [AssetScore(round(draw.uniform(0, 100), 1), []) for _ in drafts]
    seen: set[str] = set()
    rows = []
    for row in finding_rows(scope, drafts, finding_scores, ids, NOW):
        if row["fingerprint"] not in seen:  # one finding per observation, as a run stores
            seen.add(row["fingerprint"])
            rows.append(row)
    for start in range(0, len(stored), write_batch):
        bulk_insert(uow, CryptoAssetRecord.__table__, stored[start : start + write_batch])  # type: ignore[arg-type]  # a Table
    for start in range(0, len(rows), write_batch):
        bulk_insert(uow, Finding.__table__, rows[start : start + write_batch])  # type: ignore[arg-type]  # a Table
    return SeededRun(organization.id, assessment.id, run.id, len(stored), len(rows))
