"""Run one assessment end to end. Used by the Celery task and by the embedded CLI.

``RunExecutor`` only orchestrates: the run's transitions are ``assessment.lifecycle``'s, the
analysis is ``analysis.analyze`` (no database), the rows are ``finding.rows``'s.

The run row is the source of truth. A claimed run is analyzed while a heartbeat thread keeps
extending its lease, also during one long probe; a worker that dies stops extending it, and
the sweeper hands the run to another worker once it lapses. Its assets and findings are written
in one transaction that first deletes whatever an earlier, interrupted attempt of the same run
left, so nothing doubles, and that also ends the run: COMPLETED, or FAILED when no target could
be assessed (it found nothing, which is not "LOW risk").
Database connection errors are not the run's fault: they propagate so the task retries.

A run is discovery, then scoring, then finalize. A run with more targets than
``QRAP_CHUNK_SIZE``, or a CBOM target with more crypto components than
``QRAP_CHUNK_COMPONENTS``, fans out after its targets are resolved: ``assessment.chunks`` cuts
it into chunks (a big CBOM into slices of its components, read once here and written to the
run's inputs, ``assessment.inputs``), each run by ``execute_chunk``
(discovery and scoring of its targets, its rows written with the chunk's completion), and the
last chunk to commit finalizes the run. The Celery task
passes a dispatcher and any worker takes the chunks; without one (the embedded CLI) this
process runs them one after the other, through the very same steps.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from qrap_core import metrics
from qrap_core.analysis import (
    Analysis,
    AnalysisContext,
    ProgressCallback,
    nothing_assessed_error,
)
from qrap_core.analysis import analyze as analyze_targets
from qrap_core.artifact.service import ArtifactStore
from qrap_core.assessment import chunks as run_chunks
from qrap_core.assessment import diff as run_diff
from qrap_core.assessment import inputs as run_inputs
from qrap_core.assessment import lifecycle
from qrap_core.assessment.lease import (
    Lease,
    LeaseKeeper,
    LostLease,
    default_worker_id,
    heartbeat_interval,
)
from qrap_core.assessment.lifecycle import ClaimedRun
from qrap_core.assessment.models import AssessmentRun
from qrap_core.assessment.results import RunResults, target_result_dict
from qrap_core.assessment.schemas import DataProfile
from qrap_core.assessment.service import resolve_targets
from qrap_core.db import Database, DeferredTask, Dispatcher, utcnow
from qrap_core.discovery import cbom
from qrap_core.discovery.registry import DiscoveryContext
from qrap_core.discovery.targets import CbomTarget, Target
from qrap_core.enums import AssessmentStatus
from qrap_core.events import EventPublisher, NullPublisher
from qrap_core.finding import rows
from qrap_core.logging import get_logger
from qrap_core.netpolicy import NetworkPolicy
from qrap_core.scoring.aggregate import is_post_quantum, is_public_key_asset
from qrap_core.scoring.base import RiskModel
from qrap_core.settings import Settings

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    run_id: uuid.UUID
    status: str  # COMPLETED | FAILED | CANCELLED | SKIPPED | FANNED_OUT (chunks sent)
    detail: str = ""


_TERMINAL_EVENT: dict[str, str] = {
    AssessmentStatus.COMPLETED: "assessment.completed",
    AssessmentStatus.FAILED: "assessment.failed",
    AssessmentStatus.CANCELLED: "assessment.cancelled",
}


class RunExecutor:
    """Claims, analyzes and finalizes runs against one database."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        worker_id: str | None = None,
        model: RiskModel | None = None,
        clock: Callable[[], datetime] = utcnow,
        events: EventPublisher | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.worker_id = worker_id or default_worker_id()
        self.lease = Lease(self.worker_id, settings.run_lease_seconds)
        self._model = model
        self.clock = clock
        self.policy = NetworkPolicy(settings.allowed_networks)
        self.events: EventPublisher = events or NullPublisher()

    @property
    def model(self) -> RiskModel:
        """The risk model, loaded on first use: after discovery, so probing starts sooner."""
        if self._model is None:
            from qrap_core.scoring.model import get_risk_model  # numpy, XGBoost: ~0.3 s

            self._model = get_risk_model()
        return self._model

    def warm_up(self) -> None:
        """Load the model now (a worker process at start); the CLI leaves it to the first use."""
        _ = self.model

    # -- public ---------------------------------------------------------------------------

    def execute(
        self,
        run_id: uuid.UUID,
        on_progress: ProgressCallback | None = None,
        *,
        fan_out: Dispatcher | None = None,
    ) -> RunOutcome:
        """Run ``run_id`` if this worker can claim it; safe to call again for the same run.

        A run with more targets than the chunk size is cut into chunks: with ``fan_out`` their
        messages go to the broker for any worker, without it this process runs them."""
        claim = self._claim(run_id)
        if claim is None:
            self._after_terminal(run_id)
            return RunOutcome(run_id, "SKIPPED", "not claimable (done, cancelled or leased)")
        claimed, resolved = claim
        log.info(
            "run.claimed",
            run_id=str(run_id),
            run_number=claimed.run_number,
            attempt=claimed.attempt,
            worker=self.worker_id,
        )
        self._publish(
            claimed.assessment_id,
            {"type": "assessment.started", "run_id": str(run_id),
             "run_number": claimed.run_number, "attempt": claimed.attempt},
        )  # fmt: skip
        keeper = LeaseKeeper(
            lambda: self.extend_lease(run_id), heartbeat_interval(self.settings), run_id
        )
        try:
            with keeper:
                # Inputs that did not parse at the claim raise here, and fail the run.
                targets = (
                    resolved
                    if resolved is not None
                    else resolve_targets(list(claimed.target_assets), claimed.parsed_targets())
                )
                specs = self._cut(targets, claimed)
                if specs is None or len(specs) > 1:
                    return self._fan_out(run_id, specs or [], fan_out, on_progress)
                if resolved is None:
                    self._set_total(run_id, len(targets))
                analysis = self.analyze(
                    targets,
                    claimed.parsed_profile(),
                    run_id,
                    on_progress,
                    organization_id=claimed.organization_id,
                )
        except LostLease:
            return self._lost(run_id, claimed.attempt, "run cancelled or taken over while running")
        except (OperationalError, InterfaceError):
            # The database, not the run, failed: let the task retry (docs/reliability.md T20).
            log.warning("run.database_error", run_id=str(run_id), exc_info=True)
            raise
        except Exception as exc:
            log.exception("run.failed", run_id=str(run_id))
            self._fail(run_id, f"{type(exc).__name__}: {exc}")
            self._after_terminal(run_id)
            return RunOutcome(run_id, "FAILED", str(exc))
        return self._finish(run_id, claimed.attempt, analysis)

    def analyze(
        self,
        targets: Sequence[Target],
        data_profile: DataProfile | Mapping[str, Any],
        run_id: uuid.UUID | None = None,
        on_progress: ProgressCallback | None = None,
        *,
        organization_id: uuid.UUID | None = None,
        inputs_of: uuid.UUID | None = None,
    ) -> Analysis:
        """Analyze every target with this executor's settings and model. With ``run_id``, each
        finished target also renews that run's lease and records its progress (raising
        LostLease once the run is no longer this worker's). Uploaded documents are opened only
        for ``organization_id`` (the assessment's organization); without it, none are. Slices
        of CBOMs read what run ``inputs_of`` prepared."""
        profile = (
            data_profile
            if isinstance(data_profile, DataProfile)
            else DataProfile.from_stored(data_profile)
        )

        def progressed(done: int, total: int, label: str) -> None:
            if run_id is not None:
                self._heartbeat(run_id, done, total, label)
            if on_progress is not None:
                on_progress(done, total, label)

        context = self._context(organization_id, inputs_of)
        return analyze_targets(targets, profile, context, lambda: self.model, progressed)

    def extend_lease(self, run_id: uuid.UUID) -> bool:
        """Push the lease forward; False when the run is no longer ours (cancelled, taken)."""
        with self.db.unit_of_work() as uow:
            return lifecycle.renew(uow, run_id, self.lease, self.clock())

    def execute_chunk(
        self, run_id: uuid.UUID, index: int, on_progress: ProgressCallback | None = None
    ) -> RunOutcome:
        """Discover and score chunk ``index`` of a fanned-out run, write its rows, and finalize
        the run when it is the last chunk to commit. Safe to call again for the same chunk."""
        with self.db.unit_of_work() as uow:
            claimed = run_chunks.claim(uow, run_id, index, self.lease, self.clock())
        if claimed is None:
            self._after_terminal(run_id)
            return RunOutcome(run_id, "SKIPPED", f"chunk {index} not claimable")
        log.info("chunk.claimed", run_id=str(run_id), chunk=index, attempt=claimed.attempt)
        started = time.monotonic()
        # A database error propagates (the task retries) and is counted by the attempt after.
        outcome, ended = self._work_chunk(claimed, on_progress)
        metrics.chunk_ended(ended, self.pool, time.monotonic() - started)
        return outcome

    @property
    def pool(self) -> str:
        """The scoring pool this worker belongs to, by its device: cpu or gpu."""
        return "gpu" if self.settings.worker_device == "cuda" else "cpu"

    def _work_chunk(
        self, claimed: run_chunks.ClaimedChunk, on_progress: ProgressCallback | None
    ) -> tuple[RunOutcome, str]:
        """Discover, score and write a claimed chunk: the outcome, and how the chunk attempt
        ended (completed, failed, or lost: cancelled or taken over)."""
        run_id, index = claimed.run_id, claimed.chunk_index
        keeper = LeaseKeeper(
            lambda: self._renew_chunk(run_id, index), heartbeat_interval(self.settings), run_id
        )
        try:
            with keeper:
                run = claimed.run
                targets = resolve_targets(list(run.target_assets), run.parsed_targets())
                targets = targets[claimed.first_target : claimed.end_target]
                if claimed.components is not None:
                    targets = [_slice_of(targets, claimed.components, claimed.first_target)]

                def progressed(done: int, total: int, label: str) -> None:
                    if not self._renew_chunk(run_id, index):
                        raise LostLease
                    if on_progress is not None:
                        on_progress(claimed.first_target + done, claimed.end_target, label)

                analysis = self.analyze(
                    targets,
                    run.parsed_profile(),
                    None,
                    progressed,
                    organization_id=run.organization_id,
                    inputs_of=run_id,
                )
        except LostLease:
            return RunOutcome(run_id, "CANCELLED", f"chunk {index} cancelled or taken over"), "lost"
        except (OperationalError, InterfaceError):
            log.warning("chunk.database_error", run_id=str(run_id), chunk=index, exc_info=True)
            raise
        except Exception as exc:
            log.exception("chunk.failed", run_id=str(run_id), chunk=index)
            self._fail_chunked(run_id, f"chunk {index}: {type(exc).__name__}: {exc}")
            self._after_terminal(run_id)
            return RunOutcome(run_id, "FAILED", str(exc)), "failed"
        sliced = claimed.first_target if claimed.components is not None else None
        outcome = self._finish_chunk(run_id, index, analysis, sliced)
        # _finish_chunk answers CANCELLED only when the chunk lost its claim or its run.
        return outcome, "lost" if outcome.status == "CANCELLED" else "completed"

    # -- steps ----------------------------------------------------------------------------

    def _claim(self, run_id: uuid.UUID) -> tuple[ClaimedRun, list[Target] | None] | None:
        """Claim the run; with it its resolved targets, whose count the claim wrote, or None
        when its inputs do not parse (the run's own failure handling then fails it)."""
        resolved: list[list[Target]] = []

        def count_targets(claimed: ClaimedRun) -> int | None:
            try:
                targets = resolve_targets(list(claimed.target_assets), claimed.parsed_targets())
            except Exception:  # parsed again, and reported, by execute
                return None
            resolved.append(targets)
            return len(targets)

        with self.db.unit_of_work() as uow:
            claimed = lifecycle.claim(
                uow, run_id, self.lease, self.clock(), count_targets=count_targets
            )
        if claimed is None:
            return None
        return claimed, resolved[0] if resolved else None

    def _context(
        self, organization_id: uuid.UUID | None = None, inputs_of: uuid.UUID | None = None
    ) -> AnalysisContext:
        # Uploaded CBOMs, read in slices, and only the assessment's organization's.
        artifacts = None if organization_id is None else ArtifactStore(self.db, organization_id)
        slices = None if inputs_of is None else run_inputs.RunInputs(self.db, inputs_of)
        return AnalysisContext(
            discovery=DiscoveryContext(
                policy=self.policy,
                timeout=self.settings.probe_timeout,
                now=self.clock(),
                concurrency=self.settings.probe_concurrency,
                artifacts=artifacts,
                slices=slices,
            ),
            crqc_year=self.settings.crqc_year,
            default_shelf_life_years=self.settings.default_shelf_life_years,
            default_migration_years=self.settings.default_migration_years,
        )

    def _set_total(self, run_id: uuid.UUID, total: int) -> None:
        with self.db.unit_of_work() as uow:
            lifecycle.set_targets_total(uow, run_id, total)

    def _heartbeat(self, run_id: uuid.UUID, done: int, total: int, label: str = "") -> None:
        """Record progress and extend the lease; raise LostLease if the run is no longer ours."""
        progress = round(100.0 * done / total, 1) if total else 100.0
        # Results are written at the end; keep progress below 100 until then.
        progress = min(progress, 99.0)
        with self.db.unit_of_work() as uow:
            assessment_id = lifecycle.record_progress(
                uow, run_id, self.lease, self.clock(), done=done, progress=progress
            )
        if assessment_id is None:
            raise LostLease
        self._publish(
            assessment_id,
            {"type": "assessment.progress", "run_id": str(run_id), "progress": progress,
             "targets_done": done, "targets_total": total, "target": label},
        )  # fmt: skip

    def _finish(self, run_id: uuid.UUID, attempt: int, analysis: Analysis) -> RunOutcome:
        finalized = self._finalize(run_id, analysis)
        if finalized is None:
            return self._lost(run_id, attempt, "run cancelled before its results were written")
        ended, (assessment_id, event) = finalized
        self._publish(assessment_id, event)  # how it ended, built before the commit
        if ended is AssessmentStatus.FAILED:
            error = nothing_assessed_error(analysis.results)
            log.warning("run.nothing_assessed", run_id=str(run_id), error=error)
            return RunOutcome(run_id, "FAILED", error)
        log.info(
            "run.completed",
            run_id=str(run_id),
            findings=len(analysis.findings),
            assets=len(analysis.assets),
            risk_score=analysis.summary.risk_score,
        )
        return RunOutcome(run_id, "COMPLETED")

    def _finalize(
        self, run_id: uuid.UUID, analysis: Analysis
    ) -> tuple[AssessmentStatus, tuple[uuid.UUID, dict[str, Any]]] | None:
        """Write the results: COMPLETED, or FAILED when no target could be assessed, with the
        live event announcing it; None when the run is no longer this worker's to finish."""
        now = self.clock()
        results = RunResults.of(analysis)
        with self.db.unit_of_work() as uow:
            run = lifecycle.owned_run(uow, run_id, self.lease)
            if run is None:
                return None
            if analysis.assessed_nothing:
                rows.replace_run_rows(uow, run_id, [], [])
                error = nothing_assessed_error(analysis.results)
                lifecycle.fail(uow, run, error, now, results=results)
                return AssessmentStatus.FAILED, _terminal_event(run)
            scope = rows.RunScope(run.id, run.assessment_id, run.organization_id)
            asset_rows, asset_ids = rows.asset_rows(scope, analysis.assets, analysis.scores, now)
            finding_rows = rows.finding_rows(
                scope, analysis.findings, analysis.finding_scores, asset_ids, now
            )
            rows.replace_run_rows(uow, run_id, asset_rows, finding_rows)
            drift = run_diff.counts_against_previous(
                uow, run, {row["fingerprint"] for row in finding_rows}
            )
            lifecycle.complete(uow, run, results, drift=drift, findings=len(finding_rows), now=now)
            event = _terminal_event(run)
        return AssessmentStatus.COMPLETED, event

    def _fail(self, run_id: uuid.UUID, error: str) -> None:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            run = lifecycle.owned_run(uow, run_id, self.lease)
            if run is not None:
                lifecycle.fail(uow, run, error, now)

    def _lost(self, run_id: uuid.UUID, attempt: int, detail: str) -> RunOutcome:
        with self.db.unit_of_work() as uow:
            lifecycle.mark_lost(uow, run_id, attempt, self.clock())
        self._after_terminal(run_id)
        return RunOutcome(run_id, "CANCELLED", detail)

    def _cut(
        self, targets: Sequence[Target], claimed: ClaimedRun
    ) -> list[run_chunks.ChunkSpec] | None:
        """The run's chunks: one when it is small enough for this worker alone; None when an
        earlier attempt already planned them. Each CBOM target's components are counted from
        its document's stream, and a big one is prepared in slices (``_prepare``)."""
        run_id = claimed.run_id
        if claimed.attempt > 1:  # a first attempt has neither chunks nor inputs yet
            with self.db.unit_of_work() as uow:
                if run_chunks.planned(uow, run_id):
                    return None
                run_inputs.discard(uow, run_id)  # what an attempt that died preparing left
        slices: dict[int, list[tuple[int, int]]] = {}
        if any(isinstance(target, CbomTarget) for target in targets):
            artifacts = ArtifactStore(self.db, claimed.organization_id)
            for position, target in enumerate(targets):
                if not isinstance(target, CbomTarget):
                    continue
                if self._components(target, artifacts) > self.settings.chunk_components:
                    windows = self._prepare(run_id, position, target, artifacts)
                    if len(windows) > 1:
                        slices[position] = windows
        return run_chunks.cut(len(targets), self.settings.chunk_size, slices)

    @staticmethod
    def _components(target: CbomTarget, artifacts: ArtifactStore) -> int:
        """A CBOM target's crypto components: an upload's from its summary, else counted."""
        if target.artifact_id is not None:
            known = artifacts.crypto_components(target.artifact_id)
            if known is not None:
                return known
        return cbom.count_components(target, artifacts)

    def _prepare(
        self,
        run_id: uuid.UUID,
        position: int,
        target: CbomTarget,
        artifacts: ArtifactStore,
    ) -> list[tuple[int, int]]:
        """Read a big CBOM once and write its slices and link index to the run's inputs (each
        slice in its own transaction, as it is cut); the slices' windows."""
        prefix = _prepared(position)
        started, written = time.monotonic(), 0.0

        def write_slice(first: int, content: bytes) -> None:
            nonlocal written
            begun = time.monotonic()
            with self.db.unit_of_work() as uow:
                run_inputs.write(uow, run_id, f"{prefix}/slice/{first}", content)
            written += time.monotonic() - begun

        with tempfile.TemporaryDirectory(prefix="qrap-prepare-") as folder:
            index = os.path.join(folder, "index.sqlite")
            windows = cbom.prepare(
                target, artifacts, self.settings.chunk_components, write_slice, index
            )
            begun = time.monotonic()
            with self.db.unit_of_work() as uow:
                if len(windows) > 1:
                    run_inputs.write_file(uow, run_id, f"{prefix}/index", index)
                else:  # one slice after all (its components nest in few top-level ones)
                    run_inputs.discard(uow, run_id, prefix)
            written += time.monotonic() - begun
            size = os.path.getsize(index) if os.path.exists(index) else 0
        log.info(
            "run.prepared",
            run_id=str(run_id),
            target=position,
            slices=len(windows),
            index_bytes=size,
            seconds=round(time.monotonic() - started, 3),
            writing_seconds=round(written, 3),
        )
        return windows

    def _fan_out(
        self,
        run_id: uuid.UUID,
        specs: Sequence[run_chunks.ChunkSpec],
        fan_out: Dispatcher | None,
        on_progress: ProgressCallback | None,
    ) -> RunOutcome:
        """Cut the claimed run into chunks (once; a resumed run re-sends the unfinished ones)."""
        pools = run_chunks.Pools(self.settings.gpu_pool, self.settings.gpu_min_batch)
        with self.db.unit_of_work(fan_out or _run_here) as uow:
            run = lifecycle.owned_run(uow, run_id, self.lease)
            if run is None:
                raise LostLease
            pending = run_chunks.plan(
                uow,
                run,
                specs,
                self.settings.run_max_attempts,
                pools,
                self.settings.chunk_components,
            )
        log.info("run.fanned_out", run_id=str(run_id), chunks=len(pending))
        if fan_out is not None:
            return RunOutcome(run_id, "FANNED_OUT", f"{len(pending)} chunks sent")
        for index in pending:  # in-process: the same steps a chunk task takes
            self.execute_chunk(run_id, index, on_progress)
        return self._outcome_of(run_id)

    def _renew_chunk(self, run_id: uuid.UUID, index: int) -> bool:
        with self.db.unit_of_work() as uow:
            return run_chunks.renew(uow, run_id, index, self.lease, self.clock())

    def _finish_chunk(
        self, run_id: uuid.UUID, index: int, analysis: Analysis, sliced: int | None = None
    ) -> RunOutcome:
        """Write the chunk's rows, mark it done and count it, in one transaction; the last
        chunk also finalizes the run there."""
        now = self.clock()
        with self.db.unit_of_work() as uow:
            chunk = run_chunks.owned(uow, run_id, index, self.lease)
            if chunk is None:
                return RunOutcome(run_id, "CANCELLED", f"chunk {index} lost before its write")
            run = uow.session.get_one(AssessmentRun, run_id)
            scope = rows.RunScope(run.id, run.assessment_id, run.organization_id)
            asset_rows, ids = rows.asset_rows(scope, analysis.assets, analysis.scores, now)
            finding_rows = rows.finding_rows(
                scope, analysis.findings, analysis.finding_scores, ids, now
            )
            rows.add_chunk_rows(uow, asset_rows, finding_rows)
            counted = run_chunks.complete(uow, chunk, chunk_results(analysis, sliced), now)
            if counted is None:
                uow.rollback()
                return RunOutcome(run_id, "CANCELLED", "run ended before the chunk's write")
            done, total = counted
            ended = run_chunks.finalize(uow, run, now) if done == total else None
            if ended is not None:
                run_inputs.discard(uow, run_id)
        log.info("chunk.completed", run_id=str(run_id), chunk=index, done=done, total=total)
        if ended is None:
            return RunOutcome(run_id, "COMPLETED", f"chunk {index} ({done}/{total})")
        self._after_terminal(run_id)
        log.info("run.completed", run_id=str(run_id), status=str(ended), chunks=total)
        return self._outcome_of(run_id)

    def _fail_chunked(self, run_id: uuid.UUID, error: str) -> None:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            run = uow.session.scalar(
                select(AssessmentRun)
                .where(
                    AssessmentRun.id == run_id,
                    AssessmentRun.status == AssessmentStatus.IN_PROGRESS,
                )
                .with_for_update()
            )
            if run is not None:
                lifecycle.fail(uow, run, error, now)
                run_inputs.discard(uow, run_id)

    def _outcome_of(self, run_id: uuid.UUID) -> RunOutcome:
        with self.db.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            return RunOutcome(run_id, str(run.status), run.error or "")

    def _publish(self, assessment_id: uuid.UUID, event: dict[str, Any]) -> None:
        self.events.publish(assessment_id, {**event, "assessment_id": str(assessment_id)})

    def _after_terminal(self, run_id: uuid.UUID) -> None:
        """Tell live listeners how the run ended, whoever ended it (after the commit)."""
        try:
            with self.db.unit_of_work() as uow:
                run = uow.session.get(AssessmentRun, run_id)
                if run is None or run.status not in _TERMINAL_EVENT:
                    return
                assessment_id, event = _terminal_event(run)
        except (OperationalError, InterfaceError):
            return  # live events are best effort; the SSE stream also polls the database
        self._publish(assessment_id, event)


def _terminal_event(run: AssessmentRun) -> tuple[uuid.UUID, dict[str, Any]]:
    """The live event announcing how an ended run ended, and its assessment's id."""
    return run.assessment_id, {
        "type": _TERMINAL_EVENT[run.status],
        "run_id": str(run.id),
        "run_number": run.run_number,
        "status": run.status,
        "progress": run.progress,
        "risk_score": run.risk_score,
        "overall_risk": run.overall_risk,
        "summary": run.summary,
        "error": run.error,
    }


def _run_here(_task: DeferredTask) -> None:
    """The in-process dispatcher: the executor runs the chunks itself after the commit."""


def _prepared(position: int) -> str:
    """Where the run's inputs keep what ``_prepare`` wrote for its target at ``position``."""
    return f"cbom/{position}"


def _slice_of(targets: Sequence[Target], components: tuple[int, int], position: int) -> Target:
    """The chunk's one target: a slice of a CBOM target's components."""
    (target,) = targets
    if not isinstance(target, CbomTarget):
        raise TypeError(f"chunk slices components of a {target.type} target")
    return cbom.CbomSlice.of(target, components, _prepared(position))


def chunk_results(analysis: Analysis, sliced: int | None = None) -> dict[str, Any]:
    """What one chunk leaves for its run's summary (``assessment.chunks.merged_results``);
    the target result of a slice of a CBOM target is marked with the target's position
    (``sliced``), for the merge."""
    scores = [score.score for score in analysis.scores]
    population = [asset for asset in analysis.assets if is_public_key_asset(asset)]
    return {
        "assets": len(analysis.assets),
        "score_sum": sum(scores),
        "score_max": max(scores, default=0.0),
        "public_key_assets": len(population),
        "post_quantum_assets": sum(1 for asset in population if is_post_quantum(asset)),
        "target_results": [
            target_result_dict(result) | ({run_chunks.SLICE: sliced} if sliced is not None else {})
            for result in analysis.results
        ],
        "model_version": analysis.model_version,
    }
