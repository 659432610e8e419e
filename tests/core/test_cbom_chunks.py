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
from qrap_core.assessment import inputs as run_inputs
from qrap_core.assessment import sweeper
from qrap_core.assessment.models import Assessment, AssessmentRun, RunChunk, RunInput
from qrap_core.assessment.results import target_result_dict
from qrap_core.assessment.schemas import DataProfile
from qrap_core.db import Database, DeferredTask
from qrap_core.discovery import cbom, cbom_reader
from qrap_core.discovery.cbom_index import LinkIndex
from qrap_core.discovery.registry import DiscoveryContext
from qrap_core.discovery.targets import CbomTarget
from qrap_core.discovery.types import TargetResult
from qrap_core.enums import AssessmentStatus
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


class _Slices:
    """What ``cbom.prepare`` writes, kept in files of ``folder`` (a ``SliceSource``)."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.index = str(self.folder / "index.sqlite")

    def write(self, first: int, content: bytes) -> None:
        (self.folder / f"slice-{first}.json").write_bytes(content)

    @contextmanager
    def open_slice(self, name: str) -> Iterator[BinaryIO]:
        with (self.folder / f"slice-{name.removeprefix('doc/slice/')}.json").open("rb") as file:
            yield file

    def index_file(self, name: str) -> str:
        assert name == "doc/index"
        return self.index


class _Unseekable(io.BytesIO):
    def seekable(self) -> bool:
        return False


def _prepared(
    target: CbomTarget, source: cbom.ArtifactSource, size: int, folder: str
) -> tuple[list[cbom.CbomSlice], _Slices]:
    slices = _Slices(folder)
    windows = cbom.prepare(target, source, size, slices.write, slices.index)
    return [cbom.CbomSlice.of(target, window, "doc") for window in windows], slices


def _sliced(data: bytes, size: int) -> tuple[list[TargetResult], TargetResult]:
    """The document analysed in slices of ``size`` components, and in one pass."""
    source = _source(data)
    target = CbomTarget(name="doc", artifact_id=uuid.UUID(ARTIFACT))
    whole = cbom.analyze(target, artifacts=source, now=NOW)
    with tempfile.TemporaryDirectory() as folder:
        pieces, slices = _prepared(target, source, size, folder)
        return [
            cbom.analyze(piece, artifacts=None, now=NOW, slices=slices) for piece in pieces
        ], whole


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

    @pytest.mark.parametrize(("name", "data"), _documents(), ids=lambda v: str(v)[:32])
    def test_a_stored_documents_passes_equal_one_pass_of_events(
        self, name: str, data: bytes
    ) -> None:
        """``prepare`` reads a stored document in three passes of C-built items; the one
        pass of events (inline documents, or a stream that cannot seek) writes the same."""
        written = {}
        for seekable in (True, False):
            with tempfile.TemporaryDirectory() as folder:
                slices = _Slices(folder)
                stream = io.BytesIO(data) if seekable else _Unseekable(data)
                windows = cbom_reader.prepare(stream, 3, slices.write, slices.index, stored=True)
                files = {p.name: p.read_bytes() for p in Path(folder).glob("slice-*")}
                index = LinkIndex.open(slices.index)
                try:
                    tables = {
                        table: sorted(index._db.execute(f"SELECT * FROM {table}"))  # noqa: S608
                        for table in ("refs", "linked", "outgoing", "entries", "edges", "meta")
                    }
                finally:
                    index.close()
                written[seekable] = (windows, files, tables)
        assert written[True] == written[False], name
        assert len(written[True][0]) > (0 if name.startswith("sbom") else 1)  # 1.5: no crypto

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

    def test_slices_hold_whole_top_level_components(self) -> None:
        doc = cbom_estate.document(3)
        nested = [doc["components"][n] for n in (1, 2, 3)]
        doc["components"] = [doc["components"][0] | {"components": nested}, *doc["components"][4:]]
        data = json.dumps(doc).encode()
        target = CbomTarget(name="doc", artifact_id=uuid.UUID(ARTIFACT))
        with tempfile.TemporaryDirectory() as folder:
            pieces, _ = _prepared(target, _source(data), 2, folder)
        # The first component holds three more: its slice keeps all four (nested ones first).
        assert [piece.window for piece in pieces][:2] == [(0, 4), (4, 6)]
        slices, whole = _sliced(data, 2)
        assert whole.status == "ok"
        assert [asset for part in slices for asset in part.assets] == whole.assets
        merged = cbom.merge_slices([target_result_dict(part) for part in slices])
        assert merged == target_result_dict(whole)

    def test_a_bad_document_is_not_sliced(self) -> None:
        doc = cbom_estate.document(3)
        doc["components"][5]["cryptoProperties"]["assetType"] = "gadget"
        target = CbomTarget(name="doc", artifact_id=uuid.UUID(ARTIFACT))
        source = _source(json.dumps(doc).encode())
        with tempfile.TemporaryDirectory() as folder:
            pieces, _ = _prepared(target, source, 4, folder)
        # The run discards what was written before the fault and analyses it whole, which
        # says why it fails.
        assert pieces == []
        whole = cbom.analyze(target, artifacts=source, now=NOW)
        assert whole.status == "error"
        assert "/components/5/cryptoProperties/assetType" in (whole.error or "")

    def test_a_slice_without_its_inputs_is_a_target_error(self) -> None:
        target = CbomTarget(name="doc", artifact_id=uuid.UUID(ARTIFACT))
        piece = cbom.CbomSlice.of(target, (0, 10), "doc")
        result = cbom.analyze(piece, artifacts=None, now=NOW)
        assert result.status == "error"
        assert "slices of" in (result.error or "")

    def test_components_are_counted_from_the_stream(self) -> None:
        data = json.dumps(cbom_estate.document(30)).encode()
        target = CbomTarget(name="doc", artifact_id=uuid.UUID(ARTIFACT))
        assert cbom.count_components(target, _source(data)) == cbom_estate.crypto_components(30)
        assert cbom.count_components(target, _source(b"{not json")) == 0
        assert cbom.count_components(target, None) == 0


class TestCut:
    def test_targets_in_groups_and_big_cboms_in_slices(self) -> None:
        windows = [(0, 10), (10, 20), (20, cbom.TO_THE_END)]
        specs = run_chunks.cut(5, 2, {1: windows, 3: []})
        assert specs == [
            run_chunks.ChunkSpec(0, 1),
            run_chunks.ChunkSpec(1, 2, (0, 10)),
            run_chunks.ChunkSpec(1, 2, (10, 20)),
            run_chunks.ChunkSpec(1, 2, (20, cbom.TO_THE_END)),
            run_chunks.ChunkSpec(2, 4),  # 10 components fit one chunk: a target like others
            run_chunks.ChunkSpec(4, 5),
        ]

    def test_a_small_run_is_one_chunk(self) -> None:
        assert run_chunks.cut(3, 200, {}) == [run_chunks.ChunkSpec(0, 3)]

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


def _inputs(database: Database, run_id: uuid.UUID) -> list[str]:
    with database.unit_of_work() as uow:
        return sorted(uow.session.scalars(select(RunInput.name).where(RunInput.run_id == run_id)))


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
        assert _inputs(database, split) == []  # the slices and index went with the run's end

    def test_a_worker_that_died_while_preparing_leaves_nothing_behind(
        self, database: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The first attempt writes slices, then its process dies (a BaseException, like the
        SIGKILL a test cannot send to itself): the next attempt discards them, prepares again
        and ends like a single run."""
        single = cbom_estate.queue_run(database, 60)
        assert RunExecutor(database, settings).execute(single).status == "COMPLETED"
        run_id = cbom_estate.queue_run(database, 60)
        sliced = settings.model_copy(update={"chunk_components": 50})

        def die(*_args: Any) -> None:
            raise KeyboardInterrupt

        with monkeypatch.context() as patched:
            patched.setattr(run_inputs, "write_file", die)
            with pytest.raises(KeyboardInterrupt):
                RunExecutor(database, sliced, worker_id="dies").execute(run_id)
        assert len(_inputs(database, run_id)) == 6  # its slices, never its index
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            assert (run.status, run.chunks_total) == ("IN_PROGRESS", 0)
            run.lease_expires_at = datetime(2020, 1, 1, tzinfo=UTC)  # the lease lapsed
        outcome = RunExecutor(database, sliced, worker_id="next").execute(run_id)
        assert outcome.status == "COMPLETED"
        one, many = _stored(database, single), _stored(database, run_id)
        assert many["chunks"] == 7
        for key in ("status", "summary", "scores", "target_results", "findings", "assets"):
            assert many[key] == one[key], key
        assert _inputs(database, run_id) == []

    def test_a_cancelled_runs_inputs_are_swept(
        self, database: Database, settings: Settings
    ) -> None:
        run_id = cbom_estate.queue_run(database, 60)
        sliced = settings.model_copy(update={"chunk_components": 50})
        sent: list[DeferredTask] = []
        outcome = RunExecutor(database, sliced).execute(run_id, fan_out=sent.append)
        assert (outcome.status, len(sent)) == ("FANNED_OUT", 7)
        names = _inputs(database, run_id)
        # Six slices of one document (position 1; the certificate is target 0) and its index.
        slices = sorted(f"cbom/1/slice/{first}" for first in (0, 50, 100, 150, 200, 250))
        assert names == ["cbom/1/index/00000", *slices]
        with database.unit_of_work() as uow:
            sweeper.sweep(uow, queued_grace_seconds=3600)
        assert len(_inputs(database, run_id)) == 7  # still running: kept
        with database.unit_of_work() as uow:
            run = uow.session.get_one(AssessmentRun, run_id)
            run.status = AssessmentStatus.CANCELLED
        with database.unit_of_work() as uow:
            sweeper.sweep(uow, queued_grace_seconds=3600)
        assert _inputs(database, run_id) == []

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


def _rss_growth(groups: int, part: str) -> int:
    """In this process: write a cbomkit-shaped document of ``groups`` groups to a temporary
    file, then do one ``part`` of a run the way a worker does: ``prepare`` (the one pass that
    cuts it into slices of 5,000), ``chunk`` (discover, check and score its second slice from
    what that pass wrote) or ``whole`` (all of it in one pass). Return how far the resident
    set grew above where it stood before (Linux: the peak is reset through
    /proc/self/clear_refs, then read as VmHWM)."""
    model = get_risk_model()
    target = CbomTarget(name="estate", artifact_id=uuid.UUID(ARTIFACT))
    with tempfile.TemporaryFile() as document, tempfile.TemporaryDirectory() as folder:
        cbom_estate.write(document, groups)
        source, slices = _source(document), _Slices(folder)
        ctx = AnalysisContext(
            discovery=DiscoveryContext(
                policy=NetworkPolicy([]), timeout=1.0, now=NOW, concurrency=1,
                artifacts=source, slices=slices,
            ),
            crqc_year=2035, default_shelf_life_years=5.0, default_migration_years=5.0,
        )  # fmt: skip
        if part == "chunk":
            windows = cbom.prepare(target, source, 5_000, slices.write, slices.index)
            target = cbom.CbomSlice.of(target, windows[1], "doc")
        Path("/proc/self/clear_refs").write_text("5")
        before = _status("VmRSS")
        if part == "prepare":
            windows = cbom.prepare(target, source, 5_000, slices.write, slices.index)
            assert len(windows) > 1
        else:
            analysis: Analysis = analyze([target], DataProfile(), ctx, lambda: model)
            assert analysis.results[0].status == "ok"
        peak = _status("VmHWM")
    return peak - before


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/self/status")


def _measured(groups: int, part: str) -> int:
    """``_rss_growth`` in a fresh interpreter, so that no earlier test's heap is reused."""
    code = "from tests.core.test_cbom_chunks import _rss_growth as g; print(g({}, {!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code.format(groups, part)],
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
            "10k chunk": _measured(2_308, "chunk"),  # 10,002 crypto components
            "50k chunk": _measured(11_540, "chunk"),  # 50,007
            "10k whole": _measured(2_308, "whole"),
            "10k prepare": _measured(2_308, "prepare"),
            "50k prepare": _measured(11_540, "prepare"),
        }
        print({k: f"{v / 2**20:.1f} MiB" for k, v in growth.items()})  # noqa: T201  # the figures
        # Five times the document, the same chunk of 5,000 components: nearly the same peak.
        assert growth["50k chunk"] < 1.2 * growth["10k chunk"] + 4 * 2**20
        # And well below one pass over only the small document.
        assert growth["50k chunk"] < growth["10k whole"] / 1.5
        # The pass that cuts the slices holds one slice at a time, whatever the document's size.
        assert growth["50k prepare"] < 1.2 * growth["10k prepare"] + 8 * 2**20
