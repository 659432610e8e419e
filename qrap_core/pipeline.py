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
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from qrap_core.analysis import (
    Analysis,
    AnalysisContext,
    ProgressCallback,
    nothing_assessed_error,
)
from qrap_core.analysis import analyze as analyze_targets
from qrap_core.artifact.service import ArtifactStore
from qrap_core.assessment import diff as run_diff
from qrap_core.assessment import lifecycle
from qrap_core.assessment.lease import (
    Lease,
    LeaseKeeper,
    LostLease,
    default_worker_id,
    heartbeat_interval,
)
from qrap_core.assessment.lifecycle import ClaimedRun
from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.assessment.results import RunResults
from qrap_core.assessment.schemas import DataProfile
from qrap_core.assessment.service import resolve_targets
from qrap_core.db import Database, utcnow
from qrap_core.discovery.registry import DiscoveryContext
from qrap_core.discovery.targets import Target
from qrap_core.enums import AssessmentStatus
from qrap_core.events import EventPublisher, NullPublisher
from qrap_core.finding import rows
from qrap_core.logging import get_logger
from qrap_core.netpolicy import NetworkPolicy
from qrap_core.scoring.base import RiskModel
from qrap_core.settings import Settings

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    run_id: uuid.UUID
    status: str  # COMPLETED | FAILED | CANCELLED | SKIPPED
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

    # -- public ---------------------------------------------------------------------------

    def execute(self, run_id: uuid.UUID, on_progress: ProgressCallback | None = None) -> RunOutcome:
        """Run ``run_id`` if this worker can claim it; safe to call again for the same run."""
        claimed = self._claim(run_id)
        if claimed is None:
            self._after_terminal(run_id)
            return RunOutcome(run_id, "SKIPPED", "not claimable (done, cancelled or leased)")
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
                targets = resolve_targets(list(claimed.target_assets), claimed.parsed_targets())
                self._set_total(run_id, len(targets))
                analysis = self.analyze(
                    targets,
                    claimed.parsed_profile(),
                    run_id,
                    on_progress,
                    organization_id=self._organization_of(claimed.assessment_id),
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
    ) -> Analysis:
        """Analyze every target with this executor's settings and model. With ``run_id``, each
        finished target also renews that run's lease and records its progress (raising
        LostLease once the run is no longer this worker's). Uploaded documents are opened only
        for ``organization_id`` (the assessment's organization); without it, none are."""
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

        return analyze_targets(
            targets, profile, self._context(organization_id), lambda: self.model, progressed
        )

    def extend_lease(self, run_id: uuid.UUID) -> bool:
        """Push the lease forward; False when the run is no longer ours (cancelled, taken)."""
        with self.db.unit_of_work() as uow:
            return lifecycle.renew(uow, run_id, self.lease, self.clock())

    # -- steps ----------------------------------------------------------------------------

    def _claim(self, run_id: uuid.UUID) -> ClaimedRun | None:
        with self.db.unit_of_work() as uow:
            return lifecycle.claim(uow, run_id, self.lease, self.clock())

    def _organization_of(self, assessment_id: uuid.UUID) -> uuid.UUID | None:
        with self.db.unit_of_work() as uow:
            return uow.session.scalar(
                select(Assessment.organization_id).where(Assessment.id == assessment_id)
            )

    def _context(self, organization_id: uuid.UUID | None = None) -> AnalysisContext:
        # Uploaded CBOMs, read in slices, and only the assessment's organization's.
        artifacts = None if organization_id is None else ArtifactStore(self.db, organization_id)
        return AnalysisContext(
            discovery=DiscoveryContext(
                policy=self.policy,
                timeout=self.settings.probe_timeout,
                now=self.clock(),
                concurrency=self.settings.probe_concurrency,
                artifacts=artifacts,
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
        ended = self._finalize(run_id, analysis)
        if ended is None:
            return self._lost(run_id, attempt, "run cancelled before its results were written")
        self._after_terminal(run_id)
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

    def _finalize(self, run_id: uuid.UUID, analysis: Analysis) -> AssessmentStatus | None:
        """Write the results: COMPLETED, or FAILED when no target could be assessed; None
        when the run is no longer this worker's to finish."""
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
                return AssessmentStatus.FAILED
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
        return AssessmentStatus.COMPLETED

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

    def _publish(self, assessment_id: uuid.UUID, event: dict[str, Any]) -> None:
        self.events.publish(assessment_id, {**event, "assessment_id": str(assessment_id)})

    def _after_terminal(self, run_id: uuid.UUID) -> None:
        """Tell live listeners how the run ended, whoever ended it (after the commit)."""
        try:
            with self.db.unit_of_work() as uow:
                run = uow.session.get(AssessmentRun, run_id)
                if run is None or run.status not in _TERMINAL_EVENT:
                    return
                event = {
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
                assessment_id = run.assessment_id
        except (OperationalError, InterfaceError):
            return  # live events are best effort; the SSE stream also polls the database
        self._publish(assessment_id, event)
