"""The local copies of run inputs: folders of processes that died are removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qrap_core.assessment import inputs


def test_a_dead_processs_index_folder_is_removed(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # its pid now names no process (a killed pool child's folder looks like this)
    dead = tmp_path / f"{inputs.FOLDER_PREFIX}{child.pid}-x1"
    ours = tmp_path / f"{inputs.FOLDER_PREFIX}{os.getpid()}-x2"
    unrelated = tmp_path / f"{inputs.FOLDER_PREFIX}notapid-x3"
    for folder in (dead, ours, unrelated):
        folder.mkdir()
        (folder / "index.sqlite").write_bytes(b"x" * 1024)
    assert inputs.remove_stale_folders(str(tmp_path)) == 1
    assert (dead.exists(), ours.exists(), unrelated.exists()) == (False, True, True)


def test_a_process_fetches_into_a_folder_named_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    cache = inputs._Cache()
    folder = Path(cache.folder())
    assert folder.parent == tmp_path
    assert folder.name.startswith(f"{inputs.FOLDER_PREFIX}{os.getpid()}-")
    assert cache.folder() == str(folder)  # one per process
