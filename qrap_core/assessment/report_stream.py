"""Reports of a stored run, written in chunks from batched queries, so an export's memory does
not grow with the assessment (a run may hold a hundred thousand assets).

Assets and findings are read ``BATCH`` rows at a time (``yield_per``: a server-side cursor on
PostgreSQL) and each batch is rendered and handed on before the next is read. The JSON document
is the one ``json.dumps(report.build(...).to_json())`` gives, SARIF and HTML are the
renderers' ``render`` text, text for text; CSV and CBOM are the renderers' own streams. The
migration plan (JSON and HTML) is planned one affected asset at a time from one query that
joins each asset to its findings and to the CA certificate that issued it
(``planning.stream``): memory holds a batch of rows, not the run.

Each function opens its own read-only unit of work: a streamed answer is still being written
after the request's unit of work has closed.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import Select, String, Subquery, case, cast, func, select, text

from qrap_core.assessment import report as report_builder
from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.assessment.schemas import AssessmentRead
from qrap_core.crypto.policy import Profile
from qrap_core.db import Database, UnitOfWork
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import RiskLevel
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.planning.planner import asset_label
from qrap_core.planning.schemas import StepRead
from qrap_core.planning.stream import PlanStream, joined
from qrap_core.reports import cbom as cbom_export
from qrap_core.reports import csv_report, html, sarif
from qrap_core.reports.model import (
    REPORT_VERSION,
    ReportAssessment,
    ReportAsset,
    ReportFinding,
    ReportRun,
    ReportSummary,
    ReportTarget,
    UnrecognisedAlgorithm,
)
from qrap_core.rules.base import FindingDraft
from qrap_core.rules.engine import rule_catalog
from qrap_core.rules.stored import from_stored

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
    yield "["
    yield from joined((json.dumps(item.model_dump(mode="json")) for item in items), batch)
    yield "]"


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
        yield ', "migration_plan": '
        yield from plan_document(uow, top.run_id, batch=batch)
        yield f', "targets": {json.dumps(top.targets)}, "unrecognised_algorithms": ['
        yield from joined((json.dumps(e) for e in _unrecognised(uow, top.run_id, batch)), batch)
        yield "]}"


def plan_document(
    uow: UnitOfWork, run_id: uuid.UUID | None, profile: Profile = "nist", batch: int = BATCH
) -> Iterator[str]:
    """The run's migration plan (``report.migration_plan``'s, serialised by ``json.dumps``)
    as text chunks, planned one affected asset at a time (``planning.stream``)."""
    with PlanStream(profile) as plan:
        for asset, drafts, issuer in _plan_rows(uow, run_id, batch):
            plan.add(asset, drafts, issuer)
        yield from plan.chunks(batch)


def plan_steps(
    uow: UnitOfWork, run_id: uuid.UUID | None, profile: Profile = "nist", batch: int = BATCH
) -> Iterator[StepRead]:
    """The plan's steps, in order, planned as ``plan_document`` plans them."""
    with PlanStream(profile) as plan:
        for asset, drafts, issuer in _plan_rows(uow, run_id, batch):
            plan.add(asset, drafts, issuer)
        for step in plan.steps():
            yield StepRead.model_validate(step)


def _plan_rows(
    uow: UnitOfWork, run_id: uuid.UUID | None, batch: int
) -> Iterator[tuple[CryptoAsset, list[FindingDraft], str | None]]:
    """Each asset that has findings, in the report's order, with its findings (worst first)
    and the label of the CA certificate that issued it, read ``batch`` rows at a time."""
    if run_id is None:
        return
    asset, finding = CryptoAssetRecord, Finding
    issuer = _issuing_cas(run_id)
    query = (
        select(
            asset.id,
            asset.kind,
            asset.name,
            asset.location,
            asset.algorithm,
            asset.family,
            asset.key_size,
            asset.usage,
            asset.protocol,
            asset.details,
            finding.asset_id,
            finding.rule_id,
            finding.category,
            finding.risk_level,
            finding.affected_asset,
            finding.current_algorithm,
            finding.recommended_algorithm,
            finding.deadline,
            finding.fingerprint,
            issuer.c.location.label("issuer_location"),
            issuer.c.name.label("issuer_name"),
        )
        .join(finding, (finding.asset_id == asset.id) & (finding.run_id == run_id))
        .outerjoin(
            issuer,
            (asset.kind == "certificate")
            & (issuer.c.location == asset.location)
            & (issuer.c.subject == asset.details["issuer"].as_string()),
        )
        .where(asset.run_id == run_id)
        .order_by(
            asset.quantum_risk_score.desc(),
            asset.id,
            _LEVEL_ORDER,
            finding.risk_score.desc(),
            finding.id,
        )
    )
    if uow.session.get_bind().dialect.name == "postgresql":
        # Just after a run wrote its rows, the statistics may not count them yet, and the
        # planner then nests loops over both tables: quadratic in the run. Hash joins stay
        # linear. (For the rest of this read-only transaction.)
        uow.session.execute(text("SET LOCAL enable_nestloop = off"))
    rows = uow.session.execute(query.execution_options(yield_per=batch))
    for _, group in groupby(rows, key=lambda row: row.id):
        found: list[Any] = list(group)
        # Each row is the asset and one of its findings: the names do not overlap.
        live, drafts = from_stored(found[:1], found)
        first = found[0]
        parent = (
            None
            if first.issuer_location is None
            else asset_label(first.issuer_location, first.issuer_name)
        )
        yield live[0], drafts, parent


def _issuing_cas(run_id: uuid.UUID) -> Subquery:
    """Per (location, subject), the CA certificate with findings that ``plan_from_findings``
    takes as the issuer: it keeps the last one in the order of its first finding."""
    ca, finding = CryptoAssetRecord, Finding
    first = (
        select(
            finding.asset_id,
            _LEVEL_ORDER.label("level"),
            finding.risk_score,
            finding.id,
            func.row_number()
            .over(
                partition_by=finding.asset_id,
                order_by=(_LEVEL_ORDER, finding.risk_score.desc(), finding.id),
            )
            .label("nth"),
        )
        .where(finding.run_id == run_id, finding.asset_id.is_not(None))
        .subquery()
    )
    subject = ca.details["subject"].as_string()
    ranked = (
        select(
            ca.location,
            subject.label("subject"),
            ca.name,
            func.row_number()
            .over(
                partition_by=(ca.location, subject),
                order_by=(first.c.level.desc(), first.c.risk_score, first.c.id.desc()),
            )
            .label("rank"),
        )
        .join(first, (first.c.asset_id == ca.id) & (first.c.nth == 1))
        .where(
            ca.run_id == run_id,
            ca.kind == "certificate",
            cast(ca.details["is_ca"], String) == "true",
            subject != "",
        )
        .subquery()
    )
    return (
        select(ranked.c.location, ranked.c.subject, ranked.c.name)
        .where(ranked.c.rank == 1)
        .subquery()
    )


def _unrecognised(
    uow: UnitOfWork, run_id: uuid.UUID | None, batch: int
) -> Iterator[UnrecognisedAlgorithm]:
    """``report.unrecognised_algorithms`` of the run, read ``batch`` rows at a time; the
    database passes on only the assets whose details say anything about it."""
    if run_id is None:
        return
    flagged = CryptoAssetRecord.details["unrecognised"].as_string().is_not(None)
    query = _assets_query(run_id).where(flagged).execution_options(yield_per=batch)
    for record in uow.session.scalars(query):
        entry = report_builder.unrecognised(record)
        if entry is not None:
            yield entry


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


def sarif_document(db: Database, assessment_id: uuid.UUID, batch: int = BATCH) -> Iterator[str]:
    """The SARIF log, its results written ``batch`` findings at a time."""
    with db.read_unit_of_work() as uow:
        assessment = uow.session.get(Assessment, assessment_id)
        if assessment is None:
            return
        top = head(uow, assessment)
        unlisted = _unlisted_rules(uow, top.run_id)
        found = findings(uow, top.run_id, batch)
        yield from sarif.stream(top.assessment, top.run, found, unlisted, batch)


def _unlisted_rules(uow: UnitOfWork, run_id: uuid.UUID | None) -> list[tuple[str, str]]:
    """``sarif.unlisted_rules`` of the run's findings: one row per rule id the catalog lacks."""
    if run_id is None:
        return []
    order = (_LEVEL_ORDER, Finding.risk_score.desc(), Finding.id)
    numbered = (
        select(
            Finding.rule_id,
            Finding.title,
            func.row_number().over(order_by=order).label("position"),
            func.row_number().over(partition_by=Finding.rule_id, order_by=order).label("nth"),
        )
        .where(
            Finding.run_id == run_id,
            Finding.rule_id.not_in([spec.rule_id for spec in rule_catalog()]),
        )
        .subquery()
    )
    query = (
        select(numbered.c.rule_id, numbered.c.title)
        .where(numbered.c.nth == 1)
        .order_by(numbered.c.position)
    )
    return [(rule_id, title) for rule_id, title in uow.session.execute(query)]


def html_document(db: Database, assessment_id: uuid.UUID, batch: int = BATCH) -> Iterator[str]:
    """The HTML report, each table written ``batch`` rows at a time."""
    with db.read_unit_of_work() as uow:
        assessment = uow.session.get(Assessment, assessment_id)
        if assessment is None:
            return
        top = head(uow, assessment)
        counts: Counter[RiskLevel] = Counter()
        if top.run_id is not None:
            query = (
                select(Finding.risk_level, func.count())
                .where(Finding.run_id == top.run_id)
                .group_by(Finding.risk_level)
            )
            counts.update({RiskLevel(level): n for level, n in uow.session.execute(query)})
        with PlanStream("nist") as plan:  # planned first: its timeline is drawn above its steps
            for asset, drafts, issuer in _plan_rows(uow, top.run_id, batch):
                plan.add(asset, drafts, issuer)
            pictures = html.Pictures(_categories(uow, top.run_id), plan.milestones())
            yield from html.stream(
                top.assessment,
                top.run,
                [ReportTarget.model_validate(t) for t in top.targets],
                counts,
                findings(uow, top.run_id, batch),
                (StepRead.model_validate(step) for step in plan.steps()),
                assets(uow, top.run_id, batch),
                batch=batch,
                pictures=pictures,
            )


def _categories(uow: UnitOfWork, run_id: uuid.UUID | None) -> dict[str, int]:
    if run_id is None:
        return {}
    query = (
        select(Finding.category, func.count())
        .where(Finding.run_id == run_id)
        .group_by(Finding.category)
    )
    return {str(category): n for category, n in uow.session.execute(query)}
