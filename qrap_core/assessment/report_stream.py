"""Reports of a stored run, written in chunks from batched queries, so an export's memory does
not grow with the assessment (a run may hold a hundred thousand assets).

Assets and findings are read ``BATCH`` rows at a time (``yield_per``: a server-side cursor on
PostgreSQL) and each batch is rendered and handed on before the next is read. The streamed
JSON document is the one ``report.build(...).to_json()`` gives, key for key; CSV and CBOM are
the renderers' own output. Only the migration plan needs every affected asset at once (a
certificate's step waits for its CA's): the planner reads them in a last pass.

Each function opens its own read-only unit of work: a streamed answer is still being written
after the request's unit of work has closed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select

from qrap_core.assessment import report as report_builder
from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.assessment.schemas import AssessmentRead
from qrap_core.db import Database, UnitOfWork
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.reports import cbom as cbom_export
from qrap_core.reports import csv_report
from qrap_core.reports.model import (
    REPORT_VERSION,
    ReportAssessment,
    ReportAsset,
    ReportFinding,
    ReportRun,
    ReportSummary,
)

BATCH = 500
_LEVEL_ORDER = case(
    {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFO": 4}, value=Finding.risk_level
)


@dataclass(frozen=True, slots=True)
class ReportHead:
    """The parts of a report that do not grow with the run."""

    assessment: ReportAssessment
    run: ReportRun | None
    run_id: uuid.UUID | None
    targets: list[dict[str, Any]]


def head(uow: UnitOfWork, assessment: Assessment) -> ReportHead:
    """The run reported on (the latest completed one, else the latest) and its small parts."""
    run: AssessmentRun | None = assessment_service.latest_run(uow, assessment.id, completed=True)
    if run is None:
        run = assessment_service.latest_run(uow, assessment.id)
    summary = ReportSummary.model_validate(run.summary if run and run.summary else {})
    fields = AssessmentRead.model_validate(assessment).model_dump()
    return ReportHead(
        assessment=ReportAssessment.model_validate(fields | {"summary": summary}),
        run=ReportRun.model_validate(run) if run else None,
        run_id=run.id if run else None,
        targets=[t.model_dump(mode="json") for t in report_builder._targets(run)],
    )


def _assets_query(run_id: uuid.UUID) -> Select[CryptoAssetRecord]:
    return (
        select(CryptoAssetRecord)
        .where(CryptoAssetRecord.run_id == run_id)
        .order_by(CryptoAssetRecord.quantum_risk_score.desc(), CryptoAssetRecord.id)
    )


def _findings_query(run_id: uuid.UUID) -> Select[Finding]:
    return (
        select(Finding)
        .where(Finding.run_id == run_id)
        .order_by(_LEVEL_ORDER, Finding.risk_score.desc(), Finding.id)
    )


def assets(uow: UnitOfWork, run_id: uuid.UUID | None, batch: int = BATCH) -> Iterator[ReportAsset]:
    """The run's assets in the report's order, read ``batch`` rows at a time."""
    if run_id is None:
        return
    rows = uow.session.scalars(_assets_query(run_id).execution_options(yield_per=batch))
    for record in rows:
        yield ReportAsset.model_validate(record)


def findings(
    uow: UnitOfWork, run_id: uuid.UUID | None, batch: int = BATCH
) -> Iterator[ReportFinding]:
    """The run's findings, worst first, read ``batch`` rows at a time."""
    if run_id is None:
        return
    rows = uow.session.scalars(_findings_query(run_id).execution_options(yield_per=batch))
    for record in rows:
        yield ReportFinding.model_validate(record)


def _json_array(items: Iterable[Any], batch: int) -> Iterator[str]:
    """``[item, ...]`` as JSON text, one chunk per ``batch`` items."""
    parts: list[str] = []
    first = True
    yield "["
    for item in items:
        parts.append(("" if first else ", ") + json.dumps(item.model_dump(mode="json")))
        first = False
        if len(parts) >= batch:
            yield "".join(parts)
            parts = []
    yield "".join(parts) + "]"


def json_document(db: Database, assessment_id: uuid.UUID, batch: int = BATCH) -> Iterator[str]:
    """The JSON report (``Report.to_json()``'s document) as text chunks."""
    with db.read_unit_of_work() as uow:
        assessment = uow.session.get(Assessment, assessment_id)
        if assessment is None:  # deleted after the request was authorized
            return
        top = head(uow, assessment)
        yield f'{{"report_version": {json.dumps(REPORT_VERSION)}, "assessment": '
        yield json.dumps(top.assessment.model_dump(mode="json"))
        run = None if top.run is None else top.run.model_dump(mode="json")
        yield f', "run": {json.dumps(run)}, "assets": '
        yield from _json_array(assets(uow, top.run_id, batch), batch)
        yield ', "findings": '
        yield from _json_array(findings(uow, top.run_id, batch), batch)
        stored_assets, stored_findings = _plan_inputs(uow, top.run_id, batch)
        plan = report_builder.migration_plan(stored_assets, stored_findings)
        unknown = report_builder.unrecognised_algorithms(stored_assets)
        yield f', "migration_plan": {json.dumps(plan.model_dump(mode="json"))}'
        yield f', "targets": {json.dumps(top.targets)}'
        yield f', "unrecognised_algorithms": {json.dumps(unknown)}}}'


def _plan_inputs(
    uow: UnitOfWork, run_id: uuid.UUID | None, batch: int
) -> tuple[list[CryptoAssetRecord], list[Finding]]:
    """What the planner reads: every finding and the assets (all of them, for the list of
    unrecognised algorithms), fetched in batches; the session forgets earlier rows."""
    if run_id is None:
        return [], []
    uow.session.expunge_all()
    found = list(uow.session.scalars(_findings_query(run_id).execution_options(yield_per=batch)))
    kept = list(uow.session.scalars(_assets_query(run_id).execution_options(yield_per=batch)))
    return kept, found


def page(uow: UnitOfWork, assessment: Assessment, number: int, size: int) -> dict[str, Any]:
    """One page of the JSON report: its head, ``size`` assets and findings from page
    ``number`` (1-based) and the totals. The migration plan is not paged: it has its own
    endpoint."""
    top = head(uow, assessment)
    offset = (number - 1) * size
    page_assets: list[ReportAsset] = []
    page_findings: list[ReportFinding] = []
    total_assets = total_findings = 0
    if top.run_id is not None:
        page_assets = [
            ReportAsset.model_validate(a)
            for a in uow.session.scalars(_assets_query(top.run_id).offset(offset).limit(size))
        ]
        page_findings = [
            ReportFinding.model_validate(f)
            for f in uow.session.scalars(_findings_query(top.run_id).offset(offset).limit(size))
        ]
        total_assets = _count(uow, CryptoAssetRecord.run_id == top.run_id)
        total_findings = _count(uow, Finding.run_id == top.run_id)
    return {
        "report_version": REPORT_VERSION,
        "assessment": top.assessment.model_dump(mode="json"),
        "run": None if top.run is None else top.run.model_dump(mode="json"),
        "assets": [a.model_dump(mode="json") for a in page_assets],
        "findings": [f.model_dump(mode="json") for f in page_findings],
        "targets": top.targets,
        "page": number,
        "page_size": size,
        "total_assets": total_assets,
        "total_findings": total_findings,
    }


def _count(uow: UnitOfWork, condition: Any) -> int:
    return int(uow.session.scalar(select(func.count()).where(condition)) or 0)


def csv_document(db: Database, assessment_id: uuid.UUID, batch: int = BATCH) -> Iterator[str]:
    """The CSV export of the findings, in chunks of ``batch`` rows."""
    with db.read_unit_of_work() as uow:
        assessment = uow.session.get(Assessment, assessment_id)
        if assessment is None:
            return
        top = head(uow, assessment)
        yield from csv_report.stream(findings(uow, top.run_id, batch), rows_per_chunk=batch)


def cbom_document(db: Database, assessment_id: uuid.UUID, batch: int = BATCH) -> Iterator[str]:
    """The CycloneDX CBOM export, its components rendered ``batch`` assets at a time."""
    with db.read_unit_of_work() as uow:
        assessment = uow.session.get(Assessment, assessment_id)
        if assessment is None:
            return
        top = head(uow, assessment)
        yield from cbom_export.stream(
            top.assessment, top.run, assets(uow, top.run_id, batch), batch
        )
