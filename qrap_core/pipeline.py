"""Run one assessment end to end. Used by the Celery task and by the embedded CLI.

The run row is the source of truth. A run is claimed with a conditional UPDATE, so a duplicate
or late message is a no-op; its assets and findings are written in one transaction that first
deletes whatever an earlier, interrupted attempt of the same run left, so nothing doubles.

While a run is analyzed, a heartbeat thread keeps extending its lease, also during one long probe;
a worker that dies stops extending it, and the sweeper hands the run to another worker once it
lapses. Each claim counts an attempt and leaves a ``run_executions`` row; a run out of attempts
ends FAILED, and so does a run in which no target could be assessed (with the targets' errors):
it found nothing, which is not "LOW risk". The terminal status and the webhook messages
announcing it are committed together.
Database connection errors are not the run's fault: they propagate so the task retries.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from qrap_core.artifact.service import ArtifactStore
from qrap_core.assessment import diff as run_diff
from qrap_core.assessment.models import Assessment, AssessmentRun, RunExecution
from qrap_core.assessment.service import resolve_targets
from qrap_core.assessment.targets import TARGET_LIST_ADAPTER, Target
from qrap_core.audit import service as audit
from qrap_core.db import Database, UnitOfWork, utcnow
from qrap_core.discovery.registry import DiscoveryContext, analyze_all
from qrap_core.discovery.types import CryptoAsset, TargetResult
from qrap_core.enums import AssessmentStatus
from qrap_core.events import EventPublisher, NullPublisher
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.logging import get_logger
from qrap_core.netpolicy import NetworkPolicy
from qrap_core.rules.engine import FindingDraft, RuleContext, evaluate
from qrap_core.scoring import get_risk_model
from qrap_core.scoring.aggregate import RunSummary, aggregate, finding_scores
from qrap_core.scoring.base import AssetScore, RiskModel, ScoringContext
from qrap_core.settings import Settings
from qrap_core.webhook import service as webhook_service

log = get_logger(__name__)

ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    run_id: uuid.UUID
    status: str  # COMPLETED | FAILED | CANCELLED | SKIPPED
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Analysis:
    """What analyzing every target produced, before anything is written."""

    results: list[TargetResult]
    assets: list[CryptoAsset]
    findings: list[FindingDraft]
    scores: list[AssetScore]  # one per asset: the model's
    summary: RunSummary
    model_version: str
    # One per finding: inside its level's band, placed by its asset's score (aggregate.BANDS).
    finding_scores: list[AssetScore]

    @property
    def assessed_nothing(self) -> bool:
        """No target was reached or read: the run has no results to report."""
        return not any(result.status == "ok" for result in self.results)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


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
        self.model = model or get_risk_model()
        self.clock = clock
        self.policy = NetworkPolicy(settings.allowed_networks)
        self.events: EventPublisher = events or NullPublisher()

    # -- public ---------------------------------------------------------------------------

    def execute(self, run_id: uuid.UUID, on_progress: ProgressCallback | None = None) -> RunOutcome:
        """Run ``run_id`` if this worker can claim it; safe to call again for the same run."""
        claimed = self._claim(run_id)
        if claimed is None:
            self._after_terminal(run_id)
            return RunOutcome(run_id, "SKIPPED", "not claimable (done, cancelled or leased)")
        assessment, run_number, attempt = claimed
        log.info(
            "run.claimed",
            run_id=str(run_id),
            run_number=run_number,
            attempt=attempt,
            worker=self.worker_id,
        )
        self._publish(
            assessment["id"],
            {"type": "assessment.started", "run_id": str(run_id), "run_number": run_number,
             "attempt": attempt},
        )  # fmt: skip
        keeper = _LeaseKeeper(self, run_id)
        try:
            with keeper:
                targets = resolve_targets(
                    list(assessment["target_assets"]),
                    TARGET_LIST_ADAPTER.validate_python(assessment["targets"]),
                )
                self._set_total(run_id, len(targets))
                analysis = self.analyze(targets, assessment["data_profile"], run_id, on_progress)
        except _LostLease:
            self._end_execution(run_id, attempt, "lost")
            self._after_terminal(run_id)
            return RunOutcome(run_id, "CANCELLED", "run cancelled or taken over while running")
        except (OperationalError, InterfaceError):
            # The database, not the run, failed: let the task retry (RELIABILITY T20).
            log.warning("run.database_error", run_id=str(run_id), exc_info=True)
            raise
        except Exception as exc:
            log.exception("run.failed", run_id=str(run_id))
            self._fail(run_id, f"{type(exc).__name__}: {exc}")
            self._after_terminal(run_id)
            return RunOutcome(run_id, "FAILED", str(exc))
        ended = self._finalize(run_id, analysis)
        if ended is None:
            self._end_execution(run_id, attempt, "lost")
            self._after_terminal(run_id)
            return RunOutcome(run_id, "CANCELLED", "run cancelled before its results were written")
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

    def analyze(
        self,
        targets: Sequence[Target],
        data_profile: dict[str, Any],
        run_id: uuid.UUID | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Analysis:
        """Analyze every target (network probes in parallel), apply rules, score, aggregate."""
        now = self.clock()
        done = 0

        def finished(index: int, _result: TargetResult) -> None:
            nonlocal done
            done += 1
            label = targets[index].label()
            if run_id is not None:
                self._heartbeat(run_id, done, len(targets), label)
            if on_progress is not None:
                on_progress(done, len(targets), label)

        ordered = analyze_all(
            targets,
            DiscoveryContext(
                policy=self.policy,
                timeout=self.settings.probe_timeout,
                now=now,
                concurrency=self.settings.probe_concurrency,
                artifacts=ArtifactStore(self.db),  # uploaded CBOMs, read in slices
            ),
            finished,
        )
        assets = [asset for result in ordered if result.status == "ok" for asset in result.assets]
        shelf = data_profile.get("shelf_life_years", self.settings.default_shelf_life_years)
        migration = data_profile.get("migration_years", self.settings.default_migration_years)
        findings = evaluate(
            assets,
            RuleContext(
                now=now,
                shelf_life_years=float(shelf),
                migration_years=float(migration),
                crqc_year=self.settings.crqc_year,
            ),
        )
        findings = _dedupe(findings)
        scores = self.model.score_assets(
            assets,
            findings,
            ScoringContext(
                now=now,
                shelf_life_years=float(shelf),
                migration_years=float(migration),
                crqc_year=self.settings.crqc_year,
                # The assessment's own answers win over what the model infers per asset.
                sensitivity=data_profile.get("sensitivity"),
                exposure=data_profile.get("exposure"),
            ),
        )
        return Analysis(
            results=ordered,
            assets=assets,
            findings=findings,
            scores=scores,
            summary=aggregate(assets, findings, scores),
            model_version=self.model.version,
            finding_scores=finding_scores(findings, scores),
        )

    # -- steps ----------------------------------------------------------------------------

    def _claim(self, run_id: uuid.UUID) -> tuple[dict[str, Any], int, int] | None:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            result = uow.session.execute(
                update(AssessmentRun)
                .where(
                    AssessmentRun.id == run_id,
                    AssessmentRun.attempts < AssessmentRun.max_attempts,
                    or_(
                        AssessmentRun.status == AssessmentStatus.QUEUED,
                        (AssessmentRun.status == AssessmentStatus.IN_PROGRESS)
                        & or_(
                            AssessmentRun.lease_expires_at < now,
                            AssessmentRun.lease_owner == self.worker_id,
                        ),
                    ),
                )
                .values(
                    status=AssessmentStatus.IN_PROGRESS,
                    attempts=AssessmentRun.attempts + 1,
                    lease_owner=self.worker_id,
                    lease_expires_at=now + timedelta(seconds=self.settings.run_lease_seconds),
                    heartbeat_at=now,
                    started_at=now,
                    error=None,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult for UPDATE
                self._give_up_if_exhausted(uow, run_id, now)
                return None
            run = uow.session.get_one(AssessmentRun, run_id)
            assessment = uow.session.get_one(Assessment, run.assessment_id)
            assessment.status = AssessmentStatus.IN_PROGRESS
            assessment.started_at = now
            assessment.progress = 0.0
            # An earlier attempt that died left its execution open; it ended when its lease did.
            uow.session.execute(
                update(RunExecution)
                .where(RunExecution.run_id == run_id, RunExecution.ended_at.is_(None))
                .values(ended_at=now, outcome="abandoned")
            )
            uow.session.add(
                RunExecution(
                    run_id=run_id, attempt=run.attempts, worker=self.worker_id, started_at=now
                )
            )
            if run.attempts == 1:
                webhook_service.enqueue_assessment_event(
                    uow, "assessment.started", assessment, run, now=now
                )
            snapshot = {
                "id": assessment.id,
                "target_assets": list(assessment.target_assets),
                "targets": list(assessment.targets),
                "data_profile": dict(assessment.data_profile or {}),
            }
            return snapshot, run.run_number, run.attempts

    def _give_up_if_exhausted(self, uow: UnitOfWork, run_id: uuid.UUID, now: datetime) -> None:
        """A run whose lease expired after its last allowed attempt ends FAILED, not stuck."""
        # Locked, so this and the sweeper cannot both fail the run (and announce it twice).
        run = uow.session.scalar(
            select(AssessmentRun).where(AssessmentRun.id == run_id).with_for_update()
        )
        if (
            run is not None
            and run.status == AssessmentStatus.IN_PROGRESS
            and run.attempts >= run.max_attempts
            and run.lease_expires_at is not None
            and _aware(run.lease_expires_at) < now
        ):
            mark_failed(uow, run, f"gave up after {run.attempts} attempts", now)

    def _set_total(self, run_id: uuid.UUID, total: int) -> None:
        with self.db.unit_of_work() as uow:
            uow.session.execute(
                update(AssessmentRun)
                .where(AssessmentRun.id == run_id)
                .values(targets_total=total, targets_done=0)
            )

    def _heartbeat(self, run_id: uuid.UUID, done: int, total: int, label: str = "") -> None:
        """Record progress and extend the lease; raise _LostLease if the run is no longer ours."""
        now = self.clock()
        progress = round(100.0 * done / total, 1) if total else 100.0
        # Results are written at the end; keep progress below 100 until then.
        progress = min(progress, 99.0)
        with self.db.unit_of_work() as uow:
            if not self._renew_lease(uow, run_id, now, targets_done=done, progress=progress):
                raise _LostLease
            run = uow.session.get_one(AssessmentRun, run_id)
            uow.session.execute(
                update(Assessment)
                .where(Assessment.id == run.assessment_id)
                .values(progress=progress)
            )
            assessment_id = run.assessment_id
        self._publish(
            assessment_id,
            {"type": "assessment.progress", "run_id": str(run_id), "progress": progress,
             "targets_done": done, "targets_total": total, "target": label},
        )  # fmt: skip

    def extend_lease(self, run_id: uuid.UUID) -> bool:
        """Push the lease forward; False when the run is no longer ours (cancelled, taken)."""
        with self.db.unit_of_work() as uow:
            return self._renew_lease(uow, run_id, self.clock())

    def _renew_lease(
        self, uow: UnitOfWork, run_id: uuid.UUID, now: datetime, **values: Any
    ) -> bool:
        """Extend the lease (and set ``values``) only while this worker still holds the run."""
        result = uow.session.execute(
            update(AssessmentRun)
            .where(
                AssessmentRun.id == run_id,
                AssessmentRun.status == AssessmentStatus.IN_PROGRESS,
                AssessmentRun.lease_owner == self.worker_id,
            )
            .values(
                heartbeat_at=now,
                lease_expires_at=now + timedelta(seconds=self.settings.run_lease_seconds),
                **values,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # CursorResult

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

    def _end_execution(self, run_id: uuid.UUID, attempt: int, outcome: str) -> None:
        with self.db.unit_of_work() as uow:
            _close_execution(uow, run_id, attempt, outcome, self.clock())

    def _owned_run(self, uow: UnitOfWork, run_id: uuid.UUID) -> AssessmentRun | None:
        return uow.session.scalar(
            select(AssessmentRun)
            .where(
                AssessmentRun.id == run_id,
                AssessmentRun.status == AssessmentStatus.IN_PROGRESS,
                AssessmentRun.lease_owner == self.worker_id,
            )
            .with_for_update()
        )

    def _finalize(self, run_id: uuid.UUID, analysis: Analysis) -> AssessmentStatus | None:
        """Write the results: COMPLETED, or FAILED when no target could be assessed; None
        when the run is no longer this worker's to finish."""
        now = self.clock()
        with self.db.unit_of_work() as uow:
            run = self._owned_run(uow, run_id)
            if run is None:
                return None
            # An earlier attempt of this run may have got this far before dying.
            uow.session.execute(delete(Finding).where(Finding.run_id == run_id))
            uow.session.execute(delete(CryptoAssetRecord).where(CryptoAssetRecord.run_id == run_id))
            if analysis.assessed_nothing:
                run.targets_done = len(analysis.results)
                run.summary = _summary_dict(analysis)
                run.target_results = [_target_result_dict(r) for r in analysis.results]
                run.model_version = analysis.model_version
                mark_failed(uow, run, nothing_assessed_error(analysis.results), now)
                return AssessmentStatus.FAILED
            asset_rows, asset_ids = _asset_rows(run, analysis, now)
            if asset_rows:
                uow.session.execute(insert(CryptoAssetRecord), asset_rows)
            finding_rows = _finding_rows(run, analysis, asset_ids, now)
            if finding_rows:
                uow.session.execute(insert(Finding), finding_rows)
            drift = run_diff.counts_against_previous(
                uow, run, {row["fingerprint"] for row in finding_rows}
            )
            summary = _summary_dict(analysis)
            run.status = AssessmentStatus.COMPLETED
            run.progress = 100.0
            run.targets_done = len(analysis.results)
            run.risk_score = analysis.summary.risk_score
            run.overall_risk = analysis.summary.overall_risk
            run.pqc_readiness = analysis.summary.pqc_readiness
            run.summary = summary
            run.target_results = [_target_result_dict(r) for r in analysis.results]
            run.model_version = analysis.model_version
            run.completed_at = now
            run.lease_owner = None
            run.lease_expires_at = None
            assessment = uow.session.get_one(Assessment, run.assessment_id)
            assessment.status = AssessmentStatus.COMPLETED
            assessment.risk_score = analysis.summary.risk_score
            assessment.overall_risk = analysis.summary.overall_risk
            assessment.pqc_readiness = analysis.summary.pqc_readiness
            assessment.assets_scanned = analysis.summary.assets_scanned
            assessment.summary = summary
            assessment.progress = 100.0
            assessment.completed_at = now
            assessment.error = None
            summary["diff"] = drift.model_dump()
            run.summary = summary
            _close_execution(uow, run.id, run.attempts, "completed", now)
            audit.record(
                uow, audit.SYSTEM, "assessment.run.completed", "assessment", assessment.id,
                organization_id=assessment.organization_id,
                details={"run_id": str(run_id), "findings": len(finding_rows)},
            )  # fmt: skip
            uow.session.flush()
            webhook_service.enqueue_assessment_event(
                uow, "assessment.completed", assessment, run, now=now, diff=drift
            )
        return AssessmentStatus.COMPLETED

    def _fail(self, run_id: uuid.UUID, error: str) -> None:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            run = self._owned_run(uow, run_id)
            if run is not None:
                mark_failed(uow, run, error, now)


def mark_failed(uow: UnitOfWork, run: AssessmentRun, error: str, now: datetime) -> None:
    """End a run FAILED and queue its ``assessment.failed`` webhooks, in the caller's transaction.

    The caller holds the run row locked and has checked it is still IN_PROGRESS (or QUEUED).
    """
    error = error[:4000]
    run.status = AssessmentStatus.FAILED
    run.error = error
    run.completed_at = now
    run.lease_owner = None
    run.lease_expires_at = None
    assessment = uow.session.get_one(Assessment, run.assessment_id)
    assessment.status = AssessmentStatus.FAILED
    assessment.error = error
    assessment.completed_at = now
    _close_execution(uow, run.id, run.attempts, "failed", now)
    audit.record(
        uow, audit.SYSTEM, "assessment.run.failed", "assessment", assessment.id,
        organization_id=assessment.organization_id,
        details={"run_id": str(run.id), "error": error},
    )  # fmt: skip
    uow.session.flush()
    webhook_service.enqueue_assessment_event(uow, "assessment.failed", assessment, run, now=now)


def nothing_assessed_error(results: Sequence[TargetResult]) -> str:
    """The error of a run that assessed no target: each target with its own error."""
    if not results:
        return "no target could be assessed: the run had no targets"
    return "no target could be assessed: " + "; ".join(
        f"{result.target}: {result.error or 'no result'}" for result in results
    )


def _close_execution(
    uow: UnitOfWork, run_id: uuid.UUID, attempt: int, outcome: str, now: datetime
) -> None:
    uow.session.execute(
        update(RunExecution)
        .where(
            RunExecution.run_id == run_id,
            RunExecution.attempt == attempt,
            RunExecution.ended_at.is_(None),
        )
        .values(ended_at=now, outcome=outcome)
    )


_TERMINAL_EVENT: dict[str, str] = {
    AssessmentStatus.COMPLETED: "assessment.completed",
    AssessmentStatus.FAILED: "assessment.failed",
    AssessmentStatus.CANCELLED: "assessment.cancelled",
}


class _LostLease(Exception):
    """The run was cancelled or another worker took it over."""


class _LeaseKeeper:
    """Extends the run's lease every heartbeat interval from a thread of its own.

    Progress heartbeats come only when a target finishes; one slow probe would otherwise let the
    lease lapse and hand a live run to a second worker. A database error here is logged and
    retried at the next beat: the lease is long enough to ride out a short outage.
    """

    def __init__(self, executor: RunExecutor, run_id: uuid.UUID) -> None:
        settings = executor.settings
        self.interval = min(settings.run_heartbeat_seconds, settings.run_lease_seconds / 3)
        self._executor = executor
        self._run_id = run_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"qrap-lease-{run_id}", daemon=True)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not self._executor.extend_lease(self._run_id):
                    log.info("run.lease_lost", run_id=str(self._run_id))
                    return
            except Exception:
                log.warning("run.heartbeat_failed", run_id=str(self._run_id), exc_info=True)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we write is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)


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


def _asset_rows(
    run: AssessmentRun, analysis: Analysis, now: datetime
) -> tuple[list[dict[str, Any]], list[uuid.UUID]]:
    """Rows for crypto_assets, one per distinct asset; ids[i] is the row of analysis.assets[i]."""
    rows: list[dict[str, Any]] = []
    by_fingerprint: dict[str, uuid.UUID] = {}
    ids: list[uuid.UUID] = []
    for asset, score in zip(analysis.assets, analysis.scores, strict=True):
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
                "run_id": run.id,
                "assessment_id": run.assessment_id,
                "organization_id": run.organization_id,
                "kind": asset.kind,
                "name": asset.name[:1024],
                "location": asset.location[:1024],
                "algorithm": asset.algorithm,
                "family": asset.family,
                "key_size": asset.key_size,
                "usage": str(asset.usage),
                "protocol": asset.protocol,
                "details": _jsonable(asset.details),
                "quantum_risk_score": score.score,
                "explanation": _jsonable(score.explanation),
                "fingerprint": fingerprint,
                "discovered_at": now,
            }
        )
    return rows, ids


def _finding_rows(
    run: AssessmentRun, analysis: Analysis, asset_ids: list[uuid.UUID], now: datetime
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for draft, score in zip(analysis.findings, analysis.finding_scores, strict=True):
        rows.append(
            {
                "id": uuid.uuid4(),
                "assessment_id": run.assessment_id,
                "run_id": run.id,
                "asset_id": asset_ids[draft.asset_index],
                "organization_id": run.organization_id,
                "category": str(draft.category),
                "risk_level": str(draft.risk_level),
                "title": draft.title[:500],
                "description": draft.description,
                "affected_asset": draft.affected_asset[:1024],
                "current_algorithm": draft.current_algorithm,
                "recommended_algorithm": draft.recommended_algorithm,
                "remediation": draft.remediation,
                "discovered_at": now,
                "rule_id": draft.rule_id,
                "risk_score": score.score,
                "explanation": _jsonable(score.explanation),
                "evidence": _jsonable(draft.evidence),
                "deadline": draft.deadline,
                "references": list(draft.references),
                "triage_status": "open",
                "fingerprint": draft.fingerprint,
            }
        )
    return rows


def _summary_dict(analysis: Analysis) -> dict[str, Any]:
    s = analysis.summary
    failed = sum(1 for r in analysis.results if r.status != "ok")
    return {
        "total_findings": s.total_findings,
        "critical_findings": s.critical_findings,
        "high_findings": s.high_findings,
        "medium_findings": s.medium_findings,
        "low_findings": s.low_findings,
        "info_findings": s.info_findings,
        "pqc_readiness_percentage": s.pqc_readiness,
        "assets_scanned": s.assets_scanned,
        "targets_total": len(analysis.results),
        "targets_failed": failed,
        # Some targets could not be assessed: the results cover only the others.
        "partial": 0 < failed < len(analysis.results),
        # risk_score is model_risk_score raised to the band floor of risk_floor, the worst
        # finding's level (null when the model's score already reached it).
        "model_risk_score": s.model_risk_score,
        "risk_floor": s.risk_floor.value if s.risk_floor else None,
    }


def _target_result_dict(result: TargetResult) -> dict[str, Any]:
    out: dict[str, Any] = {"target": result.target, "type": result.type, "status": result.status}
    if result.error:
        out["error"] = result.error
    if result.details:
        out["details"] = _jsonable(result.details)
    out["assets"] = len(result.assets)
    return out


def _dedupe(findings: list[FindingDraft]) -> list[FindingDraft]:
    """Drop repeats of one observation (the same target listed twice) before counting."""
    seen: set[str] = set()
    unique = []
    for draft in findings:
        if draft.fingerprint not in seen:
            seen.add(draft.fingerprint)
            unique.append(draft)
    return unique


def _jsonable(value: Any) -> Any:
    """Round-trip through JSON so dates and other values land as the JSON column stores them."""
    return json.loads(json.dumps(value, default=str))
