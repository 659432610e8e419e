"""Big CBOMs in slices: the same result as one pass, links across slices, memory by the slice."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from sqlalchemy import func, select

from qrap_core.analysis import Analysis, AnalysisContext, analyze
from qrap_core.assessment import chunks as run_chunks
from qrap_core.assessment.models import Assessment, AssessmentRun, RunChunk
from qrap_core.assessment.results import target_result_dict
from qrap_core.assessment.schemas import DataProfile
from qrap_core.db import Database, DeferredTask
from qrap_core.discovery import cbom
from qrap_core.discovery.registry import DiscoveryContext
from qrap_core.discovery.targets import CbomTarget
from qrap_core.discovery.types import TargetResult
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.netpolicy import NetworkPolicy
from qrap_core.pipeline import RunExecutor
from qrap_core.scoring.model import get_risk_model
from qrap_core.settings import Settings
from tests.core import cbom_estate

DOCS = Path(__file__).parent / "discovery" / "cbom_docs"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
ARTIFACT = "2f0c1d55-3c1b-4f55-9a47-2d0f7d3f1a10"


def _source(data: bytes | BinaryIO) -> cbom.ArtifactSource:
    @contextmanager
    def source(_artifact_id: Any) -> Iterator[BinaryIO]:
        if isinstance(data, bytes):
            yield io.BytesIO(data)
        else:
            data.seek(0)
            yield data

    return source


def _sliced(data: bytes, size: int) -> tuple[list[TargetResult], TargetResult]:
    """The document analysed in slices of ``size`` components, and in one pass."""
    source = _source(data)
    target = CbomTarget(name="doc", artifact_id=uuid.UUID(ARTIFACT))
    whole = cbom.analyze(target, artifacts=source, now=NOW)
    count = cbom.count_components(target, source)
    specs = run_chunks.cut(1, 1, {0: count}, size)
    if len(specs) == 1:  # small enough for one chunk: slice it anyway
        specs = [run_chunks.ChunkSpec(0, 1, (0, cbom.TO_THE_END))]
    slices = []
    for spec in specs:
        assert spec.components is not None
        piece = cbom.CbomSlice.of(target, spec.components)
        slices.append(cbom.analyze(piece, artifacts=source, now=NOW))
    return slices, whole


def _documents() -> list[tuple[str, bytes]]:
    docs = [(path.name, path.read_bytes()) for path in sorted(DOCS.glob("*.cdx.json"))]
    estate = cbom_estate.document(40)
    docs.append(("estate", json.dumps(estate).encode()))
    # The same links with ``dependencies`` before ``components`` (JSON leaves the order open).
    first = {"dependencies": estate["dependencies"]} | estate
    docs.append(("estate, dependencies first", json.dumps(first).encode()))
    return docs


class TestSlices:
    @pytest.mark.parametrize("size", [1, 3, 50])
    @pytest.mark.parametrize(("name", "data"), _documents(), ids=lambda v: str(v)[:32])
    def test_slices_equal_the_single_pass(self, name: str, data: bytes, size: int) -> None:
        slices, whole = _sliced(data, size)
        assert whole.status == "ok", name
        assert [asset for part in slices for asset in part.assets] == whole.assets
        merged = cbom.merge_slices([target_result_dict(part) for part in slices])
        assert merged == target_result_dict(whole)

    def test_links_resolve_across_slices(self) -> None:
        slices, whole = _sliced(json.dumps(cbom_estate.document(40)).encode(), 7)
        certificates = [a for part in slices for a in part.assets if a.kind == "certificate"]
        assert len(certificates) == 40
        # Each certificate's key sits STRIDE groups away, far outside its own slice.
        assert all(a.details["key_algorithm_via"].startswith("dependencies") for a in certificates)
        assert {a.key_size for a in certificates} >= {1024, 2048, 4096}
        keys = [a for part in slices for a in part.assets if a.kind == "key"]
        assert all(a.details.get("algorithm_via") == "dependencies" for a in keys)
        assert len(slices) > 20
        assert whole.details["warning_count"] == 1  # the one dangling "missing-0"
        assert all(part.details["warning_count"] == 1 for part in slices)

    def test_a_bad_document_fails_every_slice_alike(self) -> None:
        doc = cbom_estate.document(3)
        doc["components"][5]["cryptoProperties"]["assetType"] = "gadget"
        slices, whole = _sliced(json.dumps(doc).encode(), 4)
        assert whole.status == "error"
        merged = cbom.merge_slices([target_result_dict(part) for part in slices])
        assert merged == target_result_dict(whole)

    def test_components_are_counted_from_the_stream(self) -> None:
        data = json.dumps(cbom_estate.document(30)).encode()
        target = CbomTarget(name="doc", artifact_id=uuid.UUID(ARTIFACT))
        assert cbom.count_components(target, _source(data)) == cbom_estate.crypto_components(30)
        assert cbom.count_components(target, _source(b"{not json")) == 0
        assert cbom.count_components(target, None) == 0


class TestCut:
    def test_targets_in_groups_and_big_cboms_in_slices(self) -> None:
        specs = run_chunks.cut(5, 2, {1: 25, 3: 10}, 10)
        assert specs == [
            run_chunks.ChunkSpec(0, 1),
            run_chunks.ChunkSpec(1, 2, (0, 10)),
            run_chunks.ChunkSpec(1, 2, (10, 20)),
            run_chunks.ChunkSpec(1, 2, (20, cbom.TO_THE_END)),
            run_chunks.ChunkSpec(2, 4),  # 10 components fit one chunk: a target like others
            run_chunks.ChunkSpec(4, 5),
        ]

    def test_a_small_run_is_one_chunk(self) -> None:
        assert run_chunks.cut(3, 200, {0: 4_000}, 5_000) == [run_chunks.ChunkSpec(0, 3)]

    @pytest.mark.parametrize(
        ("pools", "spec", "queue"),
        [
            (run_chunks.Pools(), run_chunks.ChunkSpec(0, 1, (0, 5000)), "scoring.cpu"),
            (run_chunks.Pools(True, 2000), run_chunks.ChunkSpec(0, 1, (0, 5000)), "scoring.gpu"),
            (run_chunks.Pools(True, 2000), run_chunks.ChunkSpec(0, 200), "scoring.cpu"),
            (run_chunks.Pools(True, 100), run_chunks.ChunkSpec(0, 200), "scoring.gpu"),
            # The last slice counts as a whole one.
            (
                run_chunks.Pools(True, 2000),
                run_chunks.ChunkSpec(0, 1, (5000, cbom.TO_THE_END)),
                "scoring.gpu",
            ),
        ],
    )
    def test_chunks_go_to_their_pool(
        self, pools: run_chunks.Pools, spec: run_chunks.ChunkSpec, queue: str
    ) -> None:
        assert pools.queue(spec, 5000) == queue


# -- whole runs against PostgreSQL -----------------------------------------------------------


def _stored(database: Database, run_id: uuid.UUID) -> dict[str, Any]:
    with database.unit_of_work() as uow:
        run = uow.session.get_one(AssessmentRun, run_id)
        findings = uow.session.execute(
            select(Finding.fingerprint, Finding.rule_id, Finding.risk_level, Finding.risk_score)
            .where(Finding.run_id == run_id)
            .order_by(Finding.fingerprint)
        ).all()
        assets = uow.session.execute(
            select(
                CryptoAssetRecord.fingerprint,
                CryptoAssetRecord.kind,
                CryptoAssetRecord.name,
                CryptoAssetRecord.location,
                CryptoAssetRecord.algorithm,
                CryptoAssetRecord.key_size,
                CryptoAssetRecord.details,
                CryptoAssetRecord.quantum_risk_score,
                CryptoAssetRecord.explanation,
            )
            .where(CryptoAssetRecord.run_id == run_id)
            .order_by(CryptoAssetRecord.fingerprint)
        ).all()
        summary = {k: v for k, v in (run.summary or {}).items() if k not in ("chunks", "diff")}
        return {
            "status": str(run.status),
            "summary": summary,
            "scores": (run.risk_score, run.overall_risk, run.pqc_readiness),
            "target_results": run.target_results,
            "findings": [tuple(row) for row in findings],
            "assets": [tuple(row) for row in assets],
            "chunks": run.chunks_total,
        }


class TestChunkedCbomRun:
    def test_a_sliced_cbom_run_equals_the_single_run(
        self, database: Database, settings: Settings
    ) -> None:
        single = cbom_estate.queue_run(database, 60)
        assert RunExecutor(database, settings).execute(single).status == "COMPLETED"
        sliced = settings.model_copy(update={"chunk_components": 50})
        split = cbom_estate.queue_run(database, 60)
        assert RunExecutor(database, sliced).execute(split).status == "COMPLETED"
        one, many = _stored(database, single), _stored(database, split)
        # The certificate is one chunk, the 260 components six slices of 50 (the last to the end).
        assert (one["chunks"], many["chunks"]) == (0, 7)
        assert len(many["assets"]) > 250
        for key in ("status", "summary", "scores", "target_results", "findings", "assets"):
            assert many[key] == one[key], key
        with database.unit_of_work() as uow:
            slices = list(
                uow.session.scalars(
                    select(RunChunk.results)
                    .where(RunChunk.run_id == split)
                    .order_by(RunChunk.chunk_index)
                )
            )
            assessment_id = uow.session.get_one(AssessmentRun, split).assessment_id
            assert uow.session.get_one(Assessment, assessment_id).status == "COMPLETED"
        assert [part.get(run_chunks.SLICE) for part in slices if part] == [
            None, [0, 50], [50, 100], [100, 150], [150, 200], [200, 250],
            [250, cbom.TO_THE_END],
        ]  # fmt: skip

    def test_slices_go_to_the_scoring_pools(self, database: Database, settings: Settings) -> None:
        run_id = cbom_estate.queue_run(database, 60)
        pools = settings.model_copy(
            update={"chunk_components": 100, "gpu_pool": True, "gpu_min_batch": 100}
        )
        sent: list[DeferredTask] = []
        outcome = RunExecutor(database, pools, worker_id="planner").execute(
            run_id, fan_out=sent.append
        )
        assert outcome.status == "FANNED_OUT"
        # The certificate alone is one target: too small for the GPU pool.
        assert [(t.kwargs["chunk"], t.queue) for t in sent] == [
            (0, "scoring.cpu"), (1, "scoring.gpu"), (2, "scoring.gpu"), (3, "scoring.gpu"),
        ]  # fmt: skip
        workers = [RunExecutor(database, pools, worker_id=f"w{i}") for i in range(2)]
        for index in (3, 1, 0, 2):
            assert workers[index % 2].execute_chunk(run_id, index).status == "COMPLETED"
        assert workers[0].execute_chunk(run_id, 1).status == "SKIPPED"  # a duplicate message
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            assert (run.status, run.chunks_done, run.targets_done) == ("COMPLETED", 4, 2)
            findings = uow.session.scalar(select(func.count()).where(Finding.run_id == run_id))
            assert run.summary is not None
            assert run.summary["total_findings"] == findings


# -- memory ----------------------------------------------------------------------------------


def _rss_growth(groups: int, window: tuple[int, int] | None) -> int:
    """In this process: write a cbomkit-shaped document of ``groups`` groups to a temporary
    file, then discover, check and score one chunk of it (or, without a window, all of it)
    the way a worker does; return how far the resident set grew above where it stood before
    (Linux: the peak is reset through /proc/self/clear_refs, then read as VmHWM)."""
    model = get_risk_model()
    target: CbomTarget = CbomTarget(name="estate", artifact_id=uuid.UUID(ARTIFACT))
    if window is not None:
        target = cbom.CbomSlice.of(target, window)
    with tempfile.TemporaryFile() as document:
        cbom_estate.write(document, groups)
        ctx = AnalysisContext(
            discovery=DiscoveryContext(
                policy=NetworkPolicy([]), timeout=1.0, now=NOW, concurrency=1,
                artifacts=_source(document),
            ),
            crqc_year=2035, default_shelf_life_years=5.0, default_migration_years=5.0,
        )  # fmt: skip
        Path("/proc/self/clear_refs").write_text("5")
        before = _status("VmRSS")
        analysis: Analysis = analyze([target], DataProfile(), ctx, lambda: model)
        peak = _status("VmHWM")
    assert analysis.results[0].status == "ok"
    return peak - before


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/self/status")


def _measured(groups: int, window: tuple[int, int] | None) -> int:
    """``_rss_growth`` in a fresh interpreter, so that no earlier test's heap is reused."""
    code = "from tests.core.test_cbom_chunks import _rss_growth as g; print(g({}, {}))"
    done = subprocess.run(
        [sys.executable, "-c", code.format(groups, window)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        cwd=Path(__file__).resolve().parents[2],
    )
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux /proc needed")
class TestMemory:
    def test_a_chunks_peak_follows_the_chunk_not_the_document(self) -> None:
        growth = {
            "10k chunk": _measured(2_308, (4_000, 9_000)),  # 10,002 crypto components
            "50k chunk": _measured(11_540, (4_000, 9_000)),  # 50,007
            "10k whole": _measured(2_308, None),
        }
        print({k: f"{v / 2**20:.1f} MiB" for k, v in growth.items()})  # noqa: T201  # the figures
        # Five times the document, the same chunk of 5,000 components: nearly the same peak.
        assert growth["50k chunk"] < 1.2 * growth["10k chunk"] + 4 * 2**20
        # And well below one pass over only the small document.
        assert growth["50k chunk"] < growth["10k whole"] / 1.5
