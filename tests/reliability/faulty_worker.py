"""`celery -A tests.reliability.faulty_worker worker`: the real worker plus injectable faults.

Faults are read from the JSON file named by QRAP_FAULT_FILE on every run, so a test can arm
them after the worker started. ``poison``: run ids whose worker child calls ``os._exit(1)``
after claiming the run (a crash the task cannot catch, like a segfault in a native library).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import qrap_worker.tasks.assessments
import qrap_worker.tasks.webhooks  # registers the webhook tasks
from qrap_core import analysis, pipeline
from qrap_core.assessment.schemas import DataProfile
from qrap_core.discovery.targets import Target
from qrap_worker.app import celery_app

app = celery_app
_ = qrap_worker.tasks.assessments
_analyze = pipeline.RunExecutor.analyze


def _faults() -> dict[str, Any]:
    path = os.environ.get("QRAP_FAULT_FILE")
    if not path or not Path(path).exists():
        return {}
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


def _poisoned_analyze(
    self: pipeline.RunExecutor,
    targets: Sequence[Target],
    data_profile: DataProfile | Mapping[str, Any],
    run_id: uuid.UUID | None = None,
    on_progress: analysis.ProgressCallback | None = None,
    *,
    organization_id: uuid.UUID | None = None,
) -> analysis.Analysis:
    if run_id is not None and str(run_id) in _faults().get("poison", []):
        os._exit(1)
    return _analyze(
        self, targets, data_profile, run_id, on_progress, organization_id=organization_id
    )


pipeline.RunExecutor.analyze = _poisoned_analyze  # type: ignore[method-assign]  # the fault
