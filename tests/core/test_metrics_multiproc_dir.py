"""A PROMETHEUS_MULTIPROC_DIR that is not a directory stops the start with an error naming the
variable (qrap_core/metrics.py), not a FileNotFoundError from inside prometheus_client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qrap_core.errors import ConfigurationError
from qrap_core.metrics import check_multiproc_dir

ROOT = Path(__file__).resolve().parents[2]


class TestCheckMultiprocDir:
    def test_missing_directory_is_named(self, tmp_path: Path) -> None:
        missing = tmp_path / "gone"
        with pytest.raises(ConfigurationError, match=r"PROMETHEUS_MULTIPROC_DIR=.*does not exist"):
            check_multiproc_dir({"PROMETHEUS_MULTIPROC_DIR": str(missing)})

    def test_a_file_is_not_a_directory(self, tmp_path: Path) -> None:
        file = tmp_path / "file"
        file.write_text("")
        with pytest.raises(ConfigurationError, match="is not a directory"):
            check_multiproc_dir({"PROMETHEUS_MULTIPROC_DIR": str(file)})

    def test_an_existing_directory_or_none_passes(self, tmp_path: Path) -> None:
        check_multiproc_dir({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
        check_multiproc_dir({})


@pytest.mark.parametrize("module", ["qrap_api.app", "qrap_worker.app"])
def test_process_start_names_the_variable(module: str, tmp_path: Path) -> None:
    env = dict(os.environ) | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "gone")}
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("qrap_core.errors.ConfigurationError: PROMETHEUS_MULTIPROC_DIR=")
    assert "FileNotFoundError" not in done.stderr
