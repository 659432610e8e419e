"""Every transition of a run's chunks, and the finalize that ends a chunked run exactly once.

A run with more targets than ``QRAP_CHUNK_SIZE`` is cut, after its targets are resolved, into
``run_chunks`` rows of consecutive targets; each gets a ``qrap.assessment.chunk`` message. A
chunk is claimed, leased and renewed like a run (a conditional UPDATE: a duplicate or late
message claims nothing), and while any chunk works it also keeps the run's lease alive. A chunk
writes its rows, marks itself COMPLETED and counts itself on the run in one transaction:
``UPDATE assessment_runs SET chunks_done = chunks_done + 1 ... RETURNING``. That UPDATE locks
the run row, so completions queue behind one another and exactly one of them sees the last
count; that one also finalizes the run, in the same transaction. A chunk whose worker died
commits nothing, so nothing it did is left to double; once its lease lapses it is claimed again.

A CBOM target with more crypto components than ``QRAP_CHUNK_COMPONENTS`` is cut the same way
into slices of consecutive components (``cbom.prepare`` decides where, at top-level component
boundaries), one chunk each (``ChunkSpec.components``, kept in the chunk row's ``results``
under ``"slice"``): memory then follows the slice, not the document.
A chunk goes to ``scoring.gpu`` when a GPU pool is configured and it holds at least
``QRAP_GPU_MIN_BATCH`` components or targets, else to ``scoring.cpu``.
Nothing here commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update

from qrap_core.assessment import diff as run_diff
from qrap_core.assessment import lifecycle
from qrap_core.assessment.lease import Lease
from qrap_core.assessment.models import Assessment, AssessmentRun, RunChunk
from qrap_core.assessment.results import RunResults
from qrap_core.db import UnitOfWork
from qrap_core.discovery.cbom import TO_THE_END, merge_slices
from qrap_core.enums import AssessmentStatus, RiskLevel
from qrap_core.finding.models import Finding
from qrap_core.scoring.aggregate import (
    MAX_WEIGHT,
    MEAN_WEIGHT,
    RunSummary,
    floored,
    overall_risk_for,
    worst_level,
)
from qrap_core.scoring.device import CPU_QUEUE, GPU_QUEUE

CHUNK_TASK = "qrap.assessment.chunk"
# Where a chunk row keeps its slice of a CBOM target's components, [first, end).
SLICE = "slice"


@dataclass(frozen=True, slots=True)
class ChunkSpec:
    """One chunk to plan: targets ``first_target`` up to ``end_target`` or, with
    ``components``, that slice of the crypto components of the one CBOM target there."""

    first_target: int
    end_target: int
    components: tuple[int, int] | None = None

    @property
    def size(self) -> int:
        """Its work, in targets or components (the last slice counts as a whole one)."""
        if self.components is None:
            return self.end_target - self.first_target
        first, end = self.components
        return end - first if end != TO_THE_END else -1


@dataclass(frozen=True, slots=True)
class Pools:
    """Where chunks go: ``scoring.gpu`` for a chunk of at least ``gpu_min_batch`` targets or
    components when a GPU pool runs, ``scoring.cpu`` otherwise."""

    gpu: bool = False
    gpu_min_batch: int = 0

    def queue(self, spec: ChunkSpec, per_slice: int) -> str:
        size = per_slice if spec.size < 0 else spec.size
        return GPU_QUEUE if self.gpu and size >= self.gpu_min_batch else CPU_QUEUE


def cut(
    targets: int, size: int, slices: Mapping[int, Sequence[tuple[int, int]]]
) -> list[ChunkSpec]:
    """The chunks of a run: runs of up to ``size`` consecutive targets, and one chunk for each
    slice of a big CBOM target (``slices``: its windows of crypto components, by target
    position, as ``cbom.prepare`` cut them; the last reaches ``TO_THE_END``)."""
    specs: list[ChunkSpec] = []
    start = 0
    for position in range(targets):
        windows = slices.get(position)
        if not windows:
            continue
        specs.extend(_groups(start, position, size))
        specs.extend(ChunkSpec(position, position + 1, (first, end)) for first, end in windows)
        start = position + 1
    specs.extend(_groups(start, targets, size))
    return specs


def planned(uow: UnitOfWork, run_id: uuid.UUID) -> bool:
    """Whether the run's chunks were planned already (by an earlier attempt)."""
    found = uow.session.scalar(
        select(RunChunk.chunk_index).where(RunChunk.run_id == run_id).limit(1)
    )
    return found is not None


def _groups(start: int, end: int, size: int) -> list[ChunkSpec]:
    return [ChunkSpec(first, min(first + size, end), None) for first in range(start, end, size)]


@dataclass(frozen=True, slots=True)
class ClaimedChunk:
    """A chunk this worker now holds: which of the run's targets, and the run's inputs."""

    run_id: uuid.UUID
    chunk_index: int
    attempt: int
    first_target: int
    end_target: int
    run: lifecycle.ClaimedRun
    components: tuple[int, int] | None = None  # a slice of one CBOM target


def plan(
    uow: UnitOfWork,
    run: AssessmentRun,
    specs: Sequence[ChunkSpec],
    max_attempts: int,
    pools: Pools | None = None,
    per_slice: int = 0,
) -> list[int]:
    """Write the run's chunks (``cut``), once; return the indexes of the chunks that still
    need a worker (all of them the first time; on a resumed run, those queued or whose lease
    lapsed) and record a message for each, to its pool's queue, sent after the commit."""
    pools = pools or Pools()
    existing = uow.session.scalar(select(func.count()).where(RunChunk.run_id == run.id)) or 0
    if not existing:
        for index, spec in enumerate(specs):
            uow.session.add(
                RunChunk(
                    run_id=run.id,
                    chunk_index=index,
                    first_target=spec.first_target,
                    end_target=spec.end_target,
                    status=AssessmentStatus.QUEUED,
                    attempts=0,
                    max_attempts=max_attempts,
                    results={SLICE: list(spec.components)} if spec.components else None,
                )
            )
        run.chunks_total = len(specs)
        run.chunks_done = 0
        run.targets_total = max((spec.end_target for spec in specs), default=0)
        uow.session.flush()
    pending = list(
        uow.session.execute(
            select(
                RunChunk.chunk_index, RunChunk.first_target, RunChunk.end_target, RunChunk.results
            )
            .where(
                RunChunk.run_id == run.id,
                RunChunk.status.in_([AssessmentStatus.QUEUED, AssessmentStatus.IN_PROGRESS]),
            )
            .order_by(RunChunk.chunk_index)
        )
    )
    for index, first, end, stored in pending:
        spec = ChunkSpec(first, end, _slice(stored))
        queue = pools.queue(spec, per_slice)
        uow.defer(CHUNK_TASK, queue=queue, run_id=str(run.id), chunk=index)
    return [row[0] for row in pending]


def _slice(results: dict[str, Any] | None) -> tuple[int, int] | None:
    bounds = (results or {}).get(SLICE)
    return (int(bounds[0]), int(bounds[1])) if bounds else None


def claim(
    uow: UnitOfWork, run_id: uuid.UUID, index: int, lease: Lease, now: datetime
) -> ClaimedChunk | None:
    """Take chunk ``index`` of a running run for ``lease.owner``: a QUEUED chunk, one whose
    lease lapsed, or the owner's own. None when it is not claimable (done, its run cancelled or
    ended, or held by a live worker); a lapsed chunk out of attempts then fails its run."""
    run_alive = exists().where(
        AssessmentRun.id == RunChunk.run_id,
        AssessmentRun.status == AssessmentStatus.IN_PROGRESS,
    )
    taken = uow.session.execute(
        update(RunChunk)
        .where(
            RunChunk.run_id == run_id,
            RunChunk.chunk_index == index,
            RunChunk.attempts < RunChunk.max_attempts,
            run_alive,
            or_(
                RunChunk.status == AssessmentStatus.QUEUED,
                and_(
                    RunChunk.status == AssessmentStatus.IN_PROGRESS,
                    or_(RunChunk.lease_expires_at < now, RunChunk.lease_owner == lease.owner),
                ),
            ),
        )
        .values(
            status=AssessmentStatus.IN_PROGRESS,
            attempts=RunChunk.attempts + 1,
            lease_owner=lease.owner,
            lease_expires_at=lease.expires(now),
            started_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult for UPDATE
        _fail_if_exhausted(uow, run_id, index, now)
        return None
    chunk = uow.session.scalars(
        select(RunChunk).where(RunChunk.run_id == run_id, RunChunk.chunk_index == index)
    ).one()
    _keep_run_alive(uow, run_id, lease, now)
    run = uow.session.get_one(AssessmentRun, run_id)
    assessment = uow.session.get_one(Assessment, run.assessment_id)
    return ClaimedChunk(
        run_id=run_id,
        chunk_index=index,
        attempt=chunk.attempts,
        first_target=chunk.first_target,
        end_target=chunk.end_target,
        components=_slice(chunk.results),
        run=lifecycle.ClaimedRun.of(run, assessment),
    )


def renew(uow: UnitOfWork, run_id: uuid.UUID, index: int, lease: Lease, now: datetime) -> bool:
    """Extend the chunk's lease, and its run's; False once the chunk is no longer the owner's
    (taken over) or its run no longer runs (cancelled, failed)."""
    result = uow.session.execute(
        update(RunChunk)
        .where(
            RunChunk.run_id == run_id,
            RunChunk.chunk_index == index,
            RunChunk.status == AssessmentStatus.IN_PROGRESS,
            RunChunk.lease_owner == lease.owner,
        )
        .values(lease_expires_at=lease.expires(now))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult for UPDATE
        return False
    return _keep_run_alive(uow, run_id, lease, now)


def owned(uow: UnitOfWork, run_id: uuid.UUID, index: int, lease: Lease) -> RunChunk | None:
    """The chunk, locked, while ``lease.owner`` holds it and its run still runs."""
    chunk = uow.session.scalar(
        select(RunChunk)
        .where(
            RunChunk.run_id == run_id,
            RunChunk.chunk_index == index,
            RunChunk.status == AssessmentStatus.IN_PROGRESS,
            RunChunk.lease_owner == lease.owner,
        )
        .with_for_update()
    )
    if chunk is None:
        return None
    run = uow.session.get(AssessmentRun, run_id)
    return chunk if run is not None and run.status == AssessmentStatus.IN_PROGRESS else None


def complete(
    uow: UnitOfWork, chunk: RunChunk, results: dict[str, Any], now: datetime
) -> tuple[int, int] | None:
    """Mark an owned chunk COMPLETED with what it found and count it on its run; return the
    run's (chunks done, chunks in all), None when the run no longer runs. Its rows are the
    caller's to write in this same transaction."""
    components = _slice(chunk.results)
    chunk.status = AssessmentStatus.COMPLETED
    chunk.results = results | ({SLICE: list(components)} if components else {})
    chunk.completed_at = now
    chunk.lease_owner = None
    chunk.lease_expires_at = None
    counted = uow.session.execute(
        update(AssessmentRun)
        .where(
            AssessmentRun.id == chunk.run_id,
            AssessmentRun.status == AssessmentStatus.IN_PROGRESS,
        )
        .values(chunks_done=AssessmentRun.chunks_done + 1)
        .returning(AssessmentRun.chunks_done, AssessmentRun.chunks_total)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if counted is None:
        return None
    done, total = int(counted[0]), int(counted[1])
    progress = min(round(100.0 * done / total, 1), 99.0) if total else 99.0
    run = uow.session.get_one(AssessmentRun, chunk.run_id)
    uow.session.refresh(run)
    run.progress = progress
    # A sliced target counts as done with its last slice.
    if components is None or components[1] == TO_THE_END:
        run.targets_done = run.targets_done + (chunk.end_target - chunk.first_target)
    assessment = uow.session.get_one(Assessment, run.assessment_id)
    assessment.progress = progress
    uow.session.flush()
    return done, total


def finalize(uow: UnitOfWork, run: AssessmentRun, now: datetime) -> AssessmentStatus:
    """End a run whose every chunk committed: COMPLETED with the summary of all chunks, or
    FAILED when no target could be assessed. Called in the last chunk's transaction."""
    parts = list(
        uow.session.scalars(
            select(RunChunk.results).where(RunChunk.run_id == run.id).order_by(RunChunk.chunk_index)
        )
    )
    results = merged_results(uow, run.id, [part or {} for part in parts])
    if not any(r.get("status") == "ok" for r in results.target_results):
        error = "no target could be assessed: " + "; ".join(
            f"{r.get('target')}: {r.get('error') or 'no result'}" for r in results.target_results
        )
        lifecycle.fail(uow, run, error, now, results=results)
        return AssessmentStatus.FAILED
    fingerprints = set(
        uow.session.scalars(select(Finding.fingerprint).where(Finding.run_id == run.id))
    )
    drift = run_diff.counts_against_previous(uow, run, fingerprints)
    lifecycle.complete(uow, run, results, drift=drift, findings=len(fingerprints), now=now)
    return AssessmentStatus.COMPLETED


def merged_results(uow: UnitOfWork, run_id: uuid.UUID, parts: list[dict[str, Any]]) -> RunResults:
    """The run's results from its chunks' partial ones: asset scores combine as in
    ``scoring.aggregate`` (0.6 max + 0.4 mean, floored by the worst finding), and findings are
    counted as stored, so one observation made by two chunks counts once."""
    levels = dict(
        uow.session.execute(
            select(Finding.risk_level, func.count())
            .where(Finding.run_id == run_id)
            .group_by(Finding.risk_level)
        ).all()
    )
    counts = {RiskLevel(level): int(n) for level, n in levels.items()}
    assets = sum(int(p.get("assets", 0)) for p in parts)
    score_max = max((float(p.get("score_max", 0.0)) for p in parts if p.get("assets")), default=0.0)
    score_sum = sum(float(p.get("score_sum", 0.0)) for p in parts)
    model_score = (
        round(MAX_WEIGHT * score_max + MEAN_WEIGHT * score_sum / assets, 1) if assets else 0.0
    )
    risk_score, floor = floored(model_score, worst_level(counts))
    population = sum(int(p.get("public_key_assets", 0)) for p in parts)
    ready = sum(int(p.get("post_quantum_assets", 0)) for p in parts)
    summary = RunSummary(
        risk_score=risk_score,
        overall_risk=overall_risk_for(risk_score),
        pqc_readiness=round(100.0 * ready / population, 1) if population else 0.0,
        total_findings=sum(counts.values()),
        critical_findings=counts.get(RiskLevel.CRITICAL, 0),
        high_findings=counts.get(RiskLevel.HIGH, 0),
        medium_findings=counts.get(RiskLevel.MEDIUM, 0),
        low_findings=counts.get(RiskLevel.LOW, 0),
        info_findings=counts.get(RiskLevel.INFO, 0),
        assets_scanned=assets,
        model_risk_score=model_score,
        risk_floor=floor,
    )
    target_results = _whole(r for p in parts for r in p.get("target_results", []))
    failed = sum(1 for r in target_results if r.get("status") != "ok")
    return RunResults(
        # The keys of results.summary_dict, so a chunked run reads like any other, plus chunks.
        summary={
            "total_findings": summary.total_findings,
            "critical_findings": summary.critical_findings,
            "high_findings": summary.high_findings,
            "medium_findings": summary.medium_findings,
            "low_findings": summary.low_findings,
            "info_findings": summary.info_findings,
            "pqc_readiness_percentage": summary.pqc_readiness,
            "assets_scanned": summary.assets_scanned,
            "targets_total": len(target_results),
            "targets_failed": failed,
            "partial": 0 < failed < len(target_results),
            "model_risk_score": summary.model_risk_score,
            "risk_floor": summary.risk_floor.value if summary.risk_floor else None,
            "chunks": len(parts),
        },
        target_results=target_results,
        model_version=next((str(p["model_version"]) for p in parts if p.get("model_version")), ""),
        risk_score=summary.risk_score,
        overall_risk=summary.overall_risk,
        pqc_readiness=summary.pqc_readiness,
        assets_scanned=summary.assets_scanned,
    )


def _whole(results: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The target results, each sliced target's slices (consecutive, marked with the target's
    position under ``SLICE``) merged back into one."""
    merged: list[dict[str, Any]] = []
    slices: list[dict[str, Any]] = []
    for result in results:
        if slices and result.get(SLICE) != slices[0][SLICE]:
            merged.append(merge_slices([_unmarked(r) for r in slices]))
            slices = []
        if SLICE in result:
            slices.append(result)
        else:
            merged.append(result)
    if slices:
        merged.append(merge_slices([_unmarked(r) for r in slices]))
    return merged


def _unmarked(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != SLICE}


def _keep_run_alive(uow: UnitOfWork, run_id: uuid.UUID, lease: Lease, now: datetime) -> bool:
    """A working chunk holds its run's lease too, so the sweeper leaves the run alone."""
    result = uow.session.execute(
        update(AssessmentRun)
        .where(AssessmentRun.id == run_id, AssessmentRun.status == AssessmentStatus.IN_PROGRESS)
        .values(lease_expires_at=lease.expires(now), heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # CursorResult for UPDATE


def _fail_if_exhausted(uow: UnitOfWork, run_id: uuid.UUID, index: int, now: datetime) -> None:
    """A chunk whose lease lapsed after its last attempt fails its run (a poison chunk)."""
    chunk = uow.session.scalar(
        select(RunChunk).where(RunChunk.run_id == run_id, RunChunk.chunk_index == index)
    )
    if (
        chunk is None
        or chunk.status != AssessmentStatus.IN_PROGRESS
        or chunk.attempts < chunk.max_attempts
        or chunk.lease_expires_at is None
        or _aware(chunk.lease_expires_at) >= now
    ):
        return
    run = uow.session.scalar(
        select(AssessmentRun)
        .where(AssessmentRun.id == run_id, AssessmentRun.status == AssessmentStatus.IN_PROGRESS)
        .with_for_update()
    )
    if run is not None:
        chunk.status = AssessmentStatus.FAILED
        lifecycle.fail(uow, run, f"chunk {index} gave up after {chunk.attempts} attempts", now)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we write is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
