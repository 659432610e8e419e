"""Scoring pools: which worker consumes which queue, the GPU worker's refusal, equal scores."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery.app.amqp import Queues
from kombu import Queue
from prometheus_client import REGISTRY

from qrap_core.assessment.schemas import DataProfile
from qrap_core.db import Database
from qrap_core.discovery.targets import CbomTarget
from qrap_core.discovery.types import CryptoAsset
from qrap_core.pipeline import RunExecutor
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring import device as scoring_device
from qrap_core.scoring.base import AssetScore, ScoringContext
from qrap_core.scoring.model import get_risk_model
from qrap_core.settings import Settings
from qrap_worker import app as worker_app
from qrap_worker.queues import QUEUES
from tests.core import cbom_estate

ROOT = Path(__file__).resolve().parents[2]
CUDA_HERE = scoring_device.cuda_problem() is None


class TestPoolQueues:
    @pytest.mark.parametrize(
        ("device", "given", "consumed"),
        [
            # The command lines of the images, the CLI and scripts/up.sh.
            ("cpu", "assessments,scoring.cpu,maintenance,webhooks",
             {"assessments", "scoring.cpu", "maintenance", "webhooks"}),
            ("cpu", "assessments,maintenance,webhooks",
             {"assessments", "scoring.cpu", "maintenance", "webhooks"}),
            ("cpu", "maintenance", {"maintenance"}),
            # No -Q: every declared queue, but a CPU worker leaves scoring.gpu alone.
            ("cpu", "", {"assessments", "scoring.cpu", "maintenance", "webhooks"}),
            ("cuda", "scoring.gpu", {"scoring.gpu"}),
            ("cuda", "maintenance", {"maintenance", "scoring.gpu"}),
        ],
    )  # fmt: skip
    def test_a_worker_consumes_its_devices_scoring_queue(
        self, device: str, given: str, consumed: set[str]
    ) -> None:
        queues = Queues([Queue(name) for name in QUEUES])
        if given:
            queues.select(given.split(","))
        add, drop = scoring_device.pool_queues(device, set(queues.consume_from))
        for name in add:
            queues.select_add(Queue(name))
        queues.deselect(list(drop))
        assert set(queues.consume_from) == consumed

    def test_the_worker_fits_its_queues_when_it_starts(self) -> None:
        queues = Queues([Queue(name) for name in QUEUES])
        queues.select(["assessments", "maintenance", "webhooks"])
        worker = SimpleNamespace(app=SimpleNamespace(amqp=SimpleNamespace(queues=queues)))
        worker_app._join_its_pool(sender=worker)  # QRAP_WORKER_DEVICE is cpu in the tests
        assert set(queues.consume_from) == {"assessments", "scoring.cpu", "maintenance", "webhooks"}


@pytest.mark.skipif(CUDA_HERE, reason="this machine has CUDA: the worker would start")
class TestGpuWorkerWithoutCuda:
    def test_the_refusal_names_the_variable_and_the_queue(self) -> None:
        refusal = scoring_device.device_refusal("cuda")
        assert refusal is not None
        assert refusal.startswith("QRAP_WORKER_DEVICE=cuda, but ")
        assert "scoring.gpu" in refusal
        assert scoring_device.device_refusal("cpu") is None

    def test_celery_worker_refuses_to_start(self, settings: Settings) -> None:
        env = os.environ | {
            "QRAP_WORKER_DEVICE": "cuda",
            "QRAP_WORKER_METRICS_PORT": "0",
            "QRAP_REDIS_URL": settings.celery_broker_url,
        }
        done = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "qrap_worker.app", "worker", "-Q",
             "scoring.gpu", "-c", "1", "--without-gossip", "--without-mingle"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode != 0
        assert "QRAP_WORKER_DEVICE=cuda, but this XGBoost" in done.stderr + done.stdout
        assert "celery@" not in done.stdout  # it never got as far as its banner


class TestScoresOnEitherDevice:
    def test_a_chunk_scores_alike_with_either_device_setting(
        self, database: Database, settings: Settings
    ) -> None:
        """The same chunk through the same stage code with QRAP_WORKER_DEVICE=cpu and =cuda.
        Without CUDA both run on the CPU (the model falls back); the GPU itself is checked
        where one exists (bench/README.md)."""
        target = CbomTarget(name="estate", document=cbom_estate.document(120))
        scores = {}
        for device in ("cpu", "cuda"):
            configured = settings.model_copy(update={"worker_device": device})
            executor = RunExecutor(database, configured, model=get_risk_model(configured))
            analysis = executor.analyze([target], DataProfile(), organization_id=uuid.uuid4())
            scores[device] = [score.score for score in analysis.scores]
            assert len(scores[device]) > 500  # 520 components and their protocols' suites
        assert scores["cpu"] == pytest.approx(scores["cuda"], abs=1e-6)


class _BrokenModel:
    """A model whose scoring fails: the chunk fails, and its run with it."""

    version = "broken"

    def score_assets(
        self, assets: Sequence[CryptoAsset], findings: Sequence[FindingDraft], ctx: ScoringContext
    ) -> list[AssetScore]:
        raise RuntimeError("scoring exploded")


def _chunks_finished(outcome: str) -> float:
    labels = {"outcome": outcome, "pool": "cpu"}
    return REGISTRY.get_sample_value("qrap_chunks_finished_total", labels) or 0.0


def _chunk_durations(outcome: str) -> float:
    labels = {"outcome": outcome, "pool": "cpu"}
    return REGISTRY.get_sample_value("qrap_chunk_duration_seconds_count", labels) or 0.0


class TestChunkMetrics:
    def test_completed_and_failed_chunks_are_counted_and_timed(
        self, database: Database, settings: Settings
    ) -> None:
        sliced = settings.model_copy(update={"chunk_components": 100})
        before = {o: (_chunks_finished(o), _chunk_durations(o)) for o in ("completed", "failed")}
        run_id = cbom_estate.queue_run(database, 60)  # a certificate and 260 components: 4 chunks
        planner = RunExecutor(database, sliced, worker_id="planner")
        assert planner.execute(run_id, fan_out=lambda _task: None).status == "FANNED_OUT"
        worker = RunExecutor(database, sliced, worker_id="w")
        for index in range(3):
            assert worker.execute_chunk(run_id, index).status == "COMPLETED"
        assert worker.execute_chunk(run_id, 0).status == "SKIPPED"  # not an attempt: not counted
        broken = RunExecutor(database, sliced, worker_id="b", model=_BrokenModel())
        assert broken.execute_chunk(run_id, 3).status == "FAILED"
        assert _chunks_finished("completed") - before["completed"][0] == 3
        assert _chunk_durations("completed") - before["completed"][1] == 3
        assert _chunks_finished("failed") - before["failed"][0] == 1
        assert _chunk_durations("failed") - before["failed"][1] == 1
