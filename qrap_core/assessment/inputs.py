"""What a run prepared for its chunks: the slices of its big CBOMs and their link indexes.

The run's first stage reads a big document once (``discovery.cbom.prepare``) and writes each
slice of its components, and the document's link index, here as ``run_inputs`` rows; any
worker's chunk then reads its own slice and the index from the database, like the uploaded
document itself. An index is fetched into a local file once per worker process and reused by
the next chunk of the same run. The rows go when the run ends (``discard``; the sweeper
removes those of runs that ended another way, such as a cancel).
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import delete, exists, select

from qrap_core.assessment.models import AssessmentRun, RunInput
from qrap_core.db import Database, UnitOfWork
from qrap_core.enums import AssessmentStatus
from qrap_core.errors import InvalidInput
from qrap_core.processes import alive

# An index is stored in parts of this size, so no statement carries one whole.
PART = 8 << 20
# A process's folder for fetched indexes: FOLDER_PREFIX, its pid, "-", a random part.
FOLDER_PREFIX = "qrap-run-inputs-"


def write(uow: UnitOfWork, run_id: uuid.UUID, name: str, content: bytes) -> None:
    uow.session.add(RunInput(run_id=run_id, name=name, content=content))
    uow.session.flush()


def write_file(uow: UnitOfWork, run_id: uuid.UUID, name: str, path: str) -> None:
    """The file at ``path`` as ``name/00000``, ``name/00001``, ... of ``PART`` bytes each."""
    with open(path, "rb") as file:
        number = 0
        while part := file.read(PART):
            write(uow, run_id, f"{name}/{number:05d}", part)
            uow.session.expunge_all()  # the parts are written; do not keep them
            number += 1


def discard(uow: UnitOfWork, run_id: uuid.UUID, prefix: str | None = None) -> None:
    """Delete the run's inputs (those under ``prefix/``, if given)."""
    where = [RunInput.run_id == run_id]
    if prefix is not None:
        where.append(RunInput.name.like(f"{prefix}/%"))
    uow.session.execute(delete(RunInput).where(*where))


def discard_ended(uow: UnitOfWork) -> int:
    """Delete the inputs of runs that no longer run; how many rows went."""
    ended = exists().where(
        AssessmentRun.id == RunInput.run_id,
        AssessmentRun.status != AssessmentStatus.IN_PROGRESS,
    )
    result = uow.session.execute(
        delete(RunInput).where(ended).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult for DELETE


class RunInputs:
    """One run's inputs, as the CBOM analyzer reads them (``cbom.SliceSource``)."""

    def __init__(self, db: Database, run_id: uuid.UUID) -> None:
        self.db = db
        self.run_id = run_id

    def read(self, name: str) -> bytes:
        """One input, whole (a slice, or one part of an index); InvalidInput when gone."""
        with self.db.unit_of_work() as uow:
            content = uow.session.scalar(
                select(RunInput.content).where(
                    RunInput.run_id == self.run_id, RunInput.name == name
                )
            )
        if content is None:
            raise InvalidInput(f"the run's input {name} no longer exists")
        return bytes(content)

    @contextmanager
    def open_slice(self, name: str) -> Iterator[BinaryIO]:
        yield io.BytesIO(self.read(name))

    def index_file(self, name: str) -> str:
        return _local_copy(self, name)


class _Cache:
    """The last index this process fetched: chunks of one run follow one another."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = 0
        self.directory = ""
        self.key = ""
        self.path = ""

    def folder(self) -> str:
        # A forked worker process gets its own folder, never its parent's.
        if self.pid != os.getpid():
            self.pid, self.key, self.path = os.getpid(), "", ""
            remove_stale_folders()
            self.directory = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{self.pid}-")
            atexit.register(shutil.rmtree, self.directory, True)
        return self.directory


def remove_stale_folders(parent: str | None = None) -> int:
    """Remove the index folders of processes that no longer run: a pool child killed or
    recycled exits without its ``atexit`` cleanup. How many went."""
    removed = 0
    for folder in Path(parent or tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name.removeprefix(FOLDER_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


_cache = _Cache()


def _local_copy(inputs: RunInputs, name: str) -> str:
    key = f"{inputs.run_id}/{name}"
    with _cache.lock:
        if _cache.key == key and os.path.exists(_cache.path):
            return _cache.path
        folder = _cache.folder()
        if _cache.path:
            _remove(_cache.path)
        _cache.key = _cache.path = ""
        path = os.path.join(folder, f"{uuid.uuid4().hex}.sqlite")
        _fetch(inputs, name, path)
        _cache.key, _cache.path = key, path
        return path


def _fetch(inputs: RunInputs, name: str, path: str) -> None:
    """Write the parts of ``name`` to ``path``, one part in memory at a time."""
    with inputs.db.unit_of_work() as uow:
        parts = list(
            uow.session.scalars(
                select(RunInput.name)
                .where(RunInput.run_id == inputs.run_id, RunInput.name.like(f"{name}/%"))
                .order_by(RunInput.name)
            )
        )
    if not parts:
        raise InvalidInput(f"the run's input {name} no longer exists")
    with open(path, "wb") as file:
        for part in parts:
            file.write(inputs.read(part))


def _remove(path: str) -> None:
    with suppress(FileNotFoundError):
        os.remove(path)
