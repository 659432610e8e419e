"""finding.rows bulk writes: COPY on PostgreSQL, executemany on SQLite, against the ORM path."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from qrap_core import migrate
from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.models import AssessmentRun
from qrap_core.assessment.schemas import AssessmentCreate, DataProfile
from qrap_core.audit.service import Actor
from qrap_core.db import Database, DeferredTask, utcnow
from qrap_core.discovery.targets import CertificateTarget
from qrap_core.finding import rows
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.organization import service as organization_service
from qrap_core.organization.schemas import OrganizationCreate
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings

CERTS = Path(__file__).resolve().parents[2] / "qrap_core" / "examples" / "certs"
ACTOR = Actor(subject="tester")
# What COPY's text format must escape, and what JSON must carry through it.
AWKWARD = 'tab\there, new\nline, cr\r, back\\slash, \\N, quote " and é ✓'


@pytest.fixture(params=["postgresql", "sqlite"])
def any_database(
    request: pytest.FixtureRequest, database: Database, tmp_path: Path
) -> Iterator[Database]:
    if request.param == "postgresql":
        yield database
        return
    url = f"sqlite:///{tmp_path / 'bulk.db'}"
    migrate.upgrade(url)
    db = Database(url)
    yield db
    db.dispose()


def _run_with_rows(
    db: Database, settings: Settings
) -> tuple[uuid.UUID, list[rows.Row], list[rows.Row]]:
    """A queued run and the rows a real analysis of two certificates makes for it, with
    values that COPY's text format must escape."""
    targets = [
        CertificateTarget(pem=(CERTS / n).read_text()) for n in ("rsa1024.pem", "sha1-rsa2048.pem")
    ]
    sent: list[DeferredTask] = []
    with db.unit_of_work(sent.append) as uow:
        org = organization_service.create(
            uow, ACTOR, OrganizationCreate(name=f"bulk-{uuid.uuid4()}")
        )
        assessment_service.create(
            uow,
            ACTOR,
            AssessmentCreate(name="bulk", organization_id=org.id, targets=targets, run=True),
        )
    run_id = uuid.UUID(sent[0].kwargs["run_id"])
    analysis = RunExecutor(db, settings).analyze(targets, DataProfile())
    with db.unit_of_work() as uow:
        run = uow.session.get_one(AssessmentRun, run_id)
        scope = rows.RunScope(run.id, run.assessment_id, run.organization_id)
    now = utcnow()
    asset_rows, ids = rows.asset_rows(scope, analysis.assets, analysis.scores, now)
    finding_rows = rows.finding_rows(scope, analysis.findings, analysis.finding_scores, ids, now)
    assert asset_rows
    assert finding_rows
    # JSON values come serialized (rows.JsonText); either kind goes to both paths.
    asset_rows[0]["details"] = {
        **json.loads(asset_rows[0]["details"]),
        "note": AWKWARD,
        "none": None,
    }
    asset_rows[0]["protocol"] = None
    asset_rows[0]["name"] = AWKWARD
    finding_rows[0]["description"] = AWKWARD
    finding_rows[0]["remediation"] = None
    finding_rows[0]["evidence"] = {"text": AWKWARD, "list": [1, 2.5, None, True]}
    finding_rows[0]["risk_score"] = 1 / 3  # every digit of a float survives
    return run_id, asset_rows, finding_rows


def _stored(db: Database, run_id: uuid.UUID) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every column of the run's stored rows, as the ORM reads them back, in id order."""
    with db.unit_of_work() as uow:
        assets = uow.session.scalars(
            select(CryptoAssetRecord)
            .where(CryptoAssetRecord.run_id == run_id)
            .order_by(CryptoAssetRecord.id)
        ).all()
        findings = uow.session.scalars(
            select(Finding).where(Finding.run_id == run_id).order_by(Finding.id)
        ).all()
        return (
            [_columns(a, CryptoAssetRecord) for a in assets],
            [_columns(f, Finding) for f in findings],
        )


def _columns(obj: Any, model: type[CryptoAssetRecord] | type[Finding]) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in model.__table__.columns}


def _write_with_orm(db: Database, assets: list[rows.Row], findings: list[rows.Row]) -> None:
    with db.unit_of_work() as uow:
        uow.session.add_all(CryptoAssetRecord(**rows.decoded(row)) for row in assets)
        uow.session.flush()
        uow.session.add_all(Finding(**rows.decoded(row)) for row in findings)


def _clear(db: Database, run_id: uuid.UUID) -> None:
    with db.unit_of_work() as uow:
        uow.session.execute(delete(Finding).where(Finding.run_id == run_id))
        uow.session.execute(delete(CryptoAssetRecord).where(CryptoAssetRecord.run_id == run_id))


class TestReplaceRunRows:
    def test_rows_equal_the_orm_paths(self, any_database: Database, settings: Settings) -> None:
        run_id, assets, findings = _run_with_rows(any_database, settings)
        _write_with_orm(any_database, assets, findings)
        by_orm = _stored(any_database, run_id)
        _clear(any_database, run_id)
        with any_database.unit_of_work() as uow:
            rows.replace_run_rows(uow, run_id, assets, findings)
        assert _stored(any_database, run_id) == by_orm
        assert len(by_orm[0]) == len(assets)
        assert len(by_orm[1]) == len(findings)
        stored_finding = next(f for f in by_orm[1] if f["id"] == findings[0]["id"])
        assert stored_finding["description"] == AWKWARD
        assert stored_finding["evidence"] == {"text": AWKWARD, "list": [1, 2.5, None, True]}
        assert stored_finding["risk_score"] == 1 / 3

    def test_written_again_replaces(self, any_database: Database, settings: Settings) -> None:
        run_id, assets, findings = _run_with_rows(any_database, settings)
        with any_database.unit_of_work() as uow:
            rows.replace_run_rows(uow, run_id, assets, findings)
        first = _stored(any_database, run_id)
        with any_database.unit_of_work() as uow:
            rows.replace_run_rows(uow, run_id, assets, findings)
        assert _stored(any_database, run_id) == first
        assert len(first[1]) == len(findings)


class TestAddChunkRows:
    def test_a_chunk_written_twice_is_not_doubled(
        self, any_database: Database, settings: Settings
    ) -> None:
        run_id, assets, findings = _run_with_rows(any_database, settings)
        _write_with_orm(any_database, assets, findings)
        by_orm = _stored(any_database, run_id)
        _clear(any_database, run_id)
        for _ in range(2):
            with any_database.unit_of_work() as uow:
                rows.add_chunk_rows(uow, assets, findings)
        assert _stored(any_database, run_id) == by_orm

    def test_chunks_add_up_and_overlaps_are_kept_once(
        self, any_database: Database, settings: Settings
    ) -> None:
        run_id, assets, findings = _run_with_rows(any_database, settings)
        _write_with_orm(any_database, assets, findings)
        by_orm = _stored(any_database, run_id)
        _clear(any_database, run_id)
        # Two chunks that both saw the first asset and its findings (the same observation).
        first_id = assets[0]["id"]
        with any_database.unit_of_work() as uow:
            rows.add_chunk_rows(uow, assets[:1], [f for f in findings if f["asset_id"] == first_id])
        with any_database.unit_of_work() as uow:
            rows.add_chunk_rows(uow, assets, findings)
        assert _stored(any_database, run_id) == by_orm


class TestRowIds:
    def test_the_same_observation_gets_the_same_id(self) -> None:
        run_id = uuid.uuid4()
        assert rows.row_id(run_id, "finding", "f" * 64) == rows.row_id(run_id, "finding", "f" * 64)
        assert rows.row_id(run_id, "finding", "f" * 64) != rows.row_id(run_id, "asset", "f" * 64)
        assert rows.row_id(run_id, "asset", "a") != rows.row_id(uuid.uuid4(), "asset", "a")
