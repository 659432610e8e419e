"""Store uploaded CBOMs and hand them to the CBOM analyzer as streams.

An upload is checked (streaming, see ``discovery.cbom``) before it is stored, so a stored
document is known to be readable; it is then added to the assessment's targets, so every
later run analyzes it. The analyzer reads it back in slices of ``CHUNK`` bytes with SQL
``substr``: neither the API nor the worker ever holds a whole 50 MB document.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from sqlalchemy import String, cast, func, select

from qrap_core.artifact.models import AssessmentArtifact
from qrap_core.assessment.models import Assessment
from qrap_core.audit import service as audit
from qrap_core.audit.service import Actor
from qrap_core.db import Database, UnitOfWork
from qrap_core.discovery.cbom import MAX_COMPONENTS, read_cbom
from qrap_core.discovery.targets import CbomTarget
from qrap_core.enums import ACTIVE_STATUSES
from qrap_core.errors import Conflict, InvalidInput, InvalidState, NotFound

CHUNK = 1 << 20


class ArtifactNotFound(NotFound):
    pass


def add_cbom(
    uow: UnitOfWork,
    actor: Actor,
    assessment: Assessment,
    *,
    filename: str,
    media_type: str,
    stream: BinaryIO,
    max_components: int = MAX_COMPONENTS,
) -> AssessmentArtifact:
    """Check ``stream`` as a CycloneDX CBOM (1.5 to 1.7), store it, make it a target.

    Raises InvalidCbom (400) naming where the document is wrong, or that it holds more than
    ``max_components`` components (QRAP_CBOM_MAX_COMPONENTS).
    """
    if "\x00" in filename or "\x00" in media_type:
        raise InvalidInput(
            "the uploaded file's name or media type contains the NUL character",
            details=[{"field": "file", "message": "name or media type contains NUL"}],
        )
    stream.seek(0)
    parsed = read_cbom(stream, max_components)
    stream.seek(0)
    digest = hashlib.sha256()
    content = bytearray()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        content += chunk
    if not content:
        raise InvalidInput("the uploaded file is empty", details=[{"field": "file"}])
    artifact = AssessmentArtifact(
        assessment_id=assessment.id,
        organization_id=assessment.organization_id,
        kind="cbom",
        filename=filename[:255] or "cbom.json",
        media_type=media_type[:255] or "application/json",
        size=len(content),
        sha256=digest.hexdigest(),
        summary={
            "spec_version": parsed.spec_version,
            "serial_number": parsed.serial_number,
            "crypto_components": len(parsed.components),
            "other_components": parsed.other_components,
            "dependencies": len(parsed.dependencies),
        },
        content=bytes(content),
        created_by=actor.subject,
    )
    uow.session.add(artifact)
    uow.session.flush()
    target = CbomTarget(name=artifact.filename, artifact_id=artifact.id)
    # A new list, so the JSON column sees the change.
    assessment.targets = [*assessment.targets, target.model_dump(mode="json", exclude_none=True)]
    assessment.updated_by = actor.subject
    audit.record(
        uow, actor, "assessment.artifact.add", "assessment", assessment.id,
        organization_id=assessment.organization_id,
        details={"artifact_id": str(artifact.id), "size": artifact.size, "kind": "cbom"},
    )  # fmt: skip
    return artifact


def list_for(uow: UnitOfWork, assessment: Assessment) -> list[AssessmentArtifact]:
    return list(
        uow.session.scalars(
            select(AssessmentArtifact)
            .where(AssessmentArtifact.assessment_id == assessment.id)
            .order_by(AssessmentArtifact.created_at)
        )
    )


def get(uow: UnitOfWork, actor: Actor, artifact_id: uuid.UUID) -> AssessmentArtifact:
    """The artifact, if the actor may see its organization (another tenant's is "not found")."""
    artifact = uow.session.get(AssessmentArtifact, artifact_id)
    if artifact is None or not actor.can_access(artifact.organization_id):
        raise ArtifactNotFound(f"artifact {artifact_id} not found")
    return artifact


def _names(target: Any, artifact_id: uuid.UUID) -> bool:
    return (
        isinstance(target, dict)
        and target.get("type") == "cbom"
        and str(target.get("artifact_id")) == str(artifact_id)
    )


def delete(uow: UnitOfWork, actor: Actor, artifact_id: uuid.UUID) -> None:
    """Delete an uploaded document and the target its upload added to its assessment.

    Refused (InvalidState, 409) while the assessment has a run queued or in progress, and
    (Conflict, 409, naming them) while another assessment's targets still name the document.
    """
    artifact = get(uow, actor, artifact_id)
    owner = uow.session.scalar(
        # Locked, so that no run is started between the check and the delete.
        select(Assessment).where(Assessment.id == artifact.assessment_id).with_for_update()
    )
    if owner is None:  # deleted meanwhile (the foreign key cascades to its documents)
        raise ArtifactNotFound(f"artifact {artifact_id} not found")
    if owner.status in ACTIVE_STATUSES:
        raise InvalidState(
            f"assessment {owner.id} has a run {owner.status.lower().replace('_', ' ')}:"
            " delete its documents once the run has ended",
        )
    users = _other_users(uow, artifact)
    if users:
        raise Conflict(
            f"artifact {artifact.id} is still a target of {len(users)} other assessment(s)",
            details=[
                {"field": "artifact_id", "message": f"named by assessment {user}"}
                for user in users[:20]
            ],
        )
    owner.targets = [t for t in owner.targets if not _names(t, artifact.id)]
    owner.updated_by = actor.subject
    audit.record(
        uow, actor, "assessment.artifact.delete", "assessment", owner.id,
        organization_id=owner.organization_id,
        details={"artifact_id": str(artifact.id), "size": artifact.size, "sha256": artifact.sha256},
    )  # fmt: skip
    uow.session.delete(artifact)
    uow.session.flush()


def _other_users(uow: UnitOfWork, artifact: AssessmentArtifact) -> list[uuid.UUID]:
    """The other assessments of its organization whose targets name ``artifact``."""
    rows = uow.session.execute(
        select(Assessment.id, Assessment.targets).where(
            Assessment.organization_id == artifact.organization_id,
            Assessment.id != artifact.assessment_id,
            # A coarse filter in SQL; the targets are then read to be sure.
            cast(Assessment.targets, String).contains(str(artifact.id)),
        )
    )
    return [row.id for row in rows if any(_names(t, artifact.id) for t in row.targets or [])]


class _BlobReader(io.RawIOBase):
    """A read-only stream over one artifact's content, fetched a slice at a time."""

    def __init__(self, db: Database, artifact_id: uuid.UUID, size: int) -> None:
        self._db = db
        self._id = artifact_id
        self._size = size
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), CHUNK, self._size - self._offset)
        if want <= 0:
            return 0
        with self._db.unit_of_work() as uow:
            data = uow.session.scalar(
                # SQL substr counts from 1.
                select(func.substr(AssessmentArtifact.content, self._offset + 1, want)).where(
                    AssessmentArtifact.id == self._id
                )
            )
        if not data:
            return 0
        data = bytes(data)  # psycopg2 hands bytea back as a memoryview
        view[: len(data)] = data
        self._offset += len(data)
        return len(data)


class ArtifactStore:
    """The ``ArtifactSource`` the discovery registry uses to open uploaded documents.

    It opens only documents of ``organization_id`` (the organization of the assessment being
    run): another organization's document is answered like one that does not exist.
    """

    def __init__(self, db: Database, organization_id: uuid.UUID) -> None:
        self.db = db
        self.organization_id = organization_id

    @contextmanager
    def __call__(self, artifact_id: Any) -> Iterator[BinaryIO]:
        try:
            key = uuid.UUID(str(artifact_id))
        except ValueError:
            raise InvalidInput(f"uploaded document {artifact_id} does not exist") from None
        with self.db.unit_of_work() as uow:
            size = uow.session.scalar(
                select(AssessmentArtifact.size).where(
                    AssessmentArtifact.id == key,
                    AssessmentArtifact.organization_id == self.organization_id,
                )
            )
        if size is None:
            raise InvalidInput(f"uploaded document {artifact_id} no longer exists")
        reader = io.BufferedReader(_BlobReader(self.db, key, size), CHUNK)
        try:
            yield reader
        finally:
            reader.close()

    def crypto_components(self, artifact_id: Any) -> int | None:
        """How many crypto components the document held when it was checked at its upload
        (None when that is not known): the run plans its slices without reading it."""
        try:
            key = uuid.UUID(str(artifact_id))
        except ValueError:
            return None
        with self.db.unit_of_work() as uow:
            summary = uow.session.scalar(
                select(AssessmentArtifact.summary).where(
                    AssessmentArtifact.id == key,
                    AssessmentArtifact.organization_id == self.organization_id,
                )
            )
        count = (summary or {}).get("crypto_components")
        return count if isinstance(count, int) else None
