"""Drift between runs: which findings are new, fixed or unchanged, matched by fingerprint.

A finding's fingerprint is derived from its rule and the asset it is about, not from the run,
so the same weakness seen twice has the same fingerprint in both runs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.models import AssessmentRun
from qrap_core.audit.service import Actor
from qrap_core.db import UnitOfWork
from qrap_core.enums import AssessmentStatus
from qrap_core.errors import InvalidState, NotFound
from qrap_core.finding.models import Finding
from qrap_core.webhook.schemas import RunDiffCounts


class RunNotFound(NotFound):
    pass


@dataclass(frozen=True, slots=True)
class RunDiff:
    run: AssessmentRun
    previous: AssessmentRun | None
    new: list[Finding]
    fixed: list[Finding]
    unchanged: list[Finding]

    @property
    def counts(self) -> RunDiffCounts:
        return RunDiffCounts(
            previous_run_number=self.previous.run_number if self.previous else None,
            new=len(self.new),
            fixed=len(self.fixed),
            unchanged=len(self.unchanged),
        )


def previous_completed(
    uow: UnitOfWork, assessment_id: uuid.UUID, run_number: int
) -> AssessmentRun | None:
    return uow.session.scalar(
        select(AssessmentRun)
        .where(
            AssessmentRun.assessment_id == assessment_id,
            AssessmentRun.run_number < run_number,
            AssessmentRun.status == AssessmentStatus.COMPLETED,
        )
        .order_by(AssessmentRun.run_number.desc())
        .limit(1)
    )


def fingerprints(uow: UnitOfWork, run_id: uuid.UUID) -> set[str]:
    return set(uow.session.scalars(select(Finding.fingerprint).where(Finding.run_id == run_id)))


def counts_against_previous(
    uow: UnitOfWork, run: AssessmentRun, current: set[str]
) -> RunDiffCounts:
    """Counts for a run about to complete (its findings given as fingerprints)."""
    previous = previous_completed(uow, run.assessment_id, run.run_number)
    before = fingerprints(uow, previous.id) if previous is not None else set()
    return RunDiffCounts(
        previous_run_number=previous.run_number if previous else None,
        new=len(current - before),
        fixed=len(before - current),
        unchanged=len(current & before),
    )


def diff(uow: UnitOfWork, actor: Actor, assessment_id: uuid.UUID, run_number: int) -> RunDiff:
    """Run ``run_number`` against the latest completed run before it (all new if none)."""
    assessment = assessment_service.get(uow, actor, assessment_id)
    run = uow.session.scalar(
        select(AssessmentRun).where(
            AssessmentRun.assessment_id == assessment.id, AssessmentRun.run_number == run_number
        )
    )
    if run is None:
        raise RunNotFound(f"run {run_number} of assessment {assessment_id} not found")
    if run.status != AssessmentStatus.COMPLETED:
        raise InvalidState(f"run {run_number} is {run.status}; only a completed run has a diff")
    previous = previous_completed(uow, assessment.id, run.run_number)
    current = _by_fingerprint(uow, run.id)
    before = _by_fingerprint(uow, previous.id) if previous is not None else {}
    return RunDiff(
        run=run,
        previous=previous,
        new=[f for fp, f in current.items() if fp not in before],
        fixed=[f for fp, f in before.items() if fp not in current],
        unchanged=[f for fp, f in current.items() if fp in before],
    )


def _by_fingerprint(uow: UnitOfWork, run_id: uuid.UUID) -> dict[str, Finding]:
    rows = uow.session.scalars(
        select(Finding).where(Finding.run_id == run_id).order_by(Finding.risk_score.desc())
    )
    return {f.fingerprint: f for f in rows}
