"""The embedded mode: the real pipeline, in-process, on a local SQLite database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from qrap_core import migrate
from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.models import Assessment
from qrap_core.assessment.schemas import AssessmentCreate, DataProfile
from qrap_core.audit.service import Actor
from qrap_core.db import Database, DeferredTask
from qrap_core.discovery.targets import Target
from qrap_core.errors import InvalidInput, NotFound
from qrap_core.organization import service as organization_service
from qrap_core.pipeline import RunExecutor, RunOutcome
from qrap_core.settings import Settings

if TYPE_CHECKING:
    from qrap_core.reports.model import Report

LOCAL_ORGANIZATION = "local"
# On the user's own machine, probing their own loopback and private networks is the point.
EMBEDDED_ALLOW_NETWORKS = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"


def default_db_path() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "qrap" / "embedded.db"


class EmbeddedRunner:
    def __init__(self, settings: Settings, db_path: Path) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{db_path}"
        migrate.ensure_current(url)
        self.settings = settings
        self.db = Database(url)
        self.actor = Actor(subject=f"cli:{os.environ.get('USER', 'local')}", kind="user")

    def assess(
        self,
        *,
        name: str,
        target_assets: list[str],
        targets: list[Target],
        data_profile: DataProfile,
        on_progress: Callable[[int, int, str], None] | None = None,
    ) -> tuple[RunOutcome, Report]:
        """Create an assessment, run it here, and return the outcome and the report."""
        queued: list[DeferredTask] = []
        with self.db.unit_of_work(queued.append) as uow:
            org = organization_service.get_or_create_by_name(uow, self.actor, LOCAL_ORGANIZATION)
            assessment = assessment_service.create(
                uow,
                self.actor,
                AssessmentCreate(
                    name=name,
                    organization_id=org.id,
                    target_assets=target_assets,
                    targets=targets,
                    data_profile=data_profile,
                    run=True,
                ),
            )
            assessment_id = assessment.id
        outcome = RunOutcome(uuid.uuid4(), "SKIPPED", "nothing queued")
        executor = RunExecutor(self.db, self.settings)
        for task in queued:  # the in-process "worker": the same pipeline the Celery task runs
            outcome = executor.execute(uuid.UUID(task.kwargs["run_id"]), on_progress)
        return outcome, self.report(assessment_id)

    def history(self, limit: int) -> tuple[list[Assessment], int]:
        """The latest ``limit`` assessments of this database, newest first, and how many."""
        with self.db.unit_of_work() as uow:
            page = assessment_service.list_(
                uow, self.actor, organization_id=None, status=None, offset=0, limit=limit
            )
            uow.session.expunge_all()
            return list(page.items), page.total_count

    def find(self, reference: str) -> uuid.UUID:
        """The id of the assessment whose id is, or starts with, ``reference``."""
        with self.db.unit_of_work() as uow:
            ids = [
                row
                for row in uow.session.scalars(select(Assessment.id))
                if str(row).startswith(reference.lower())
            ]
        if not ids:
            raise NotFound(f"no assessment {reference!r} in this database (see qrap list)")
        if len(ids) > 1:
            raise InvalidInput(f"{reference!r} is the start of {len(ids)} ids: give more of it")
        return ids[0]

    def report(self, assessment_id: uuid.UUID) -> Report:
        """The report of the assessment's latest run, as the run stored it."""
        from qrap_core.assessment import report as json_report  # loaded after the probes

        with self.db.unit_of_work() as uow:
            return json_report.build(uow, assessment_service.get(uow, self.actor, assessment_id))

    def close(self) -> None:
        self.db.dispose()
