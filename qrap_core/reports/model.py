"""The report in typed form: built once from a stored run by ``assessment.report.build``,
read by every export and by the CLI, and serialised by ``to_json`` to the document that
``GET /assessments/{id}/report?format=json`` and ``qrap assess --format json`` print.

Its parts extend the API's read schemas, so the report's assessment, run, assets and findings
keep exactly the fields (and field order) those endpoints show.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    model_serializer,
)

# pydantic reads typing.TypedDict only from Python 3.12 on.
from typing_extensions import TypedDict

from qrap_core.assessment.schemas import AssessmentRead, AssessmentSummary, RunRead
from qrap_core.enums import AssessmentStatus, RiskLevel, TriageStatus
from qrap_core.finding.schemas import CryptoAssetRead, FindingRead
from qrap_core.planning.schemas import MigrationPlanFields

REPORT_VERSION = "1"
TargetStatus = Literal["ok", "error"]
_TIME: TypeAdapter[datetime | None] = TypeAdapter(datetime | None)


class ReportSummary(AssessmentSummary):
    """The counts of the run reported on; all zero before any run."""

    model_config = ConfigDict(frozen=True)


class ReportAssessment(AssessmentRead):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    status: AssessmentStatus
    # The summary of the run reported on, which need not be the assessment's latest run.
    summary: ReportSummary


class ReportRun(RunRead):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    status: AssessmentStatus


class ReportAsset(CryptoAssetRead):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class ReportFinding(FindingRead):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    risk_level: RiskLevel
    triage_status: TriageStatus


class ReportTarget(BaseModel):
    """One target of the run: whether it was reached, why not, and what the probe observed."""

    model_config = ConfigDict(frozen=True)

    target: str
    type: str
    status: TargetStatus
    error: str | None = None
    details: dict[str, Any] | None = None

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The document has always left these keys out rather than writing null.
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None or k not in ("error", "details")}


class UnrecognisedAlgorithm(TypedDict):
    """An asset whose algorithm the catalog does not know; a TypedDict because callers read
    these entries by key, like the JSON objects they are."""

    asset_id: str
    kind: str
    name: str
    location: str
    algorithm: str | None


class ReportMigrationPlan(MigrationPlanFields):
    """The plan's fields without the API's ids."""

    model_config = ConfigDict(frozen=True)


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    report_version: str = REPORT_VERSION
    assessment: ReportAssessment
    run: ReportRun | None
    assets: list[ReportAsset]
    findings: list[ReportFinding]
    migration_plan: ReportMigrationPlan
    targets: list[ReportTarget]
    unrecognised_algorithms: list[UnrecognisedAlgorithm]

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Report:
        """The report a server sent (``to_json``'s output); raises ``ValidationError``."""
        return cls.model_validate(document)

    def to_json(self) -> dict[str, Any]:
        """The Appendix B document: JSON types only (ids, dates and enums as strings)."""
        return self.model_dump(mode="json")


def json_time(value: datetime | None) -> str | None:
    """A time spelled as the JSON document spells it (``Z`` for UTC, not ``+00:00``), so that
    an export quoting it agrees with the report."""
    text: str | None = _TIME.dump_python(value, mode="json")
    return text
