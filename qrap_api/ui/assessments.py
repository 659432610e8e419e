"""Assessments in the browser: list, create (targets and uploads), run, cancel, follow a run
and read one; the same validation and service calls as /api/v1/assessments."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import ValidationError
from starlette.responses import Response

from qrap_api.deps import ReadUow, Uow, get_state
from qrap_api.routes import assessments as assessment_routes
from qrap_api.routes import events as event_routes
from qrap_api.state import AppState
from qrap_api.ui.pages import organizations
from qrap_api.ui.render import UiRoute, page, redirect
from qrap_api.ui.session import CsrfChecked, UiAnalyst, UiViewer
from qrap_core.artifact import service as artifact_service
from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.schemas import AssessmentCreate
from qrap_core.audit.service import Actor
from qrap_core.dashboard import service as dashboard_service
from qrap_core.dashboard.classify import pq_class
from qrap_core.db import UnitOfWork
from qrap_core.enums import AssessmentStatus
from qrap_core.errors import InvalidInput, QrapError
from qrap_core.finding import service as finding_service
from qrap_core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from qrap_core.planning import plan_from_stored
from qrap_core.reports import charts
from qrap_core.reports.formats import ExportFormat
from qrap_core.validation import json_too_deep

router = APIRouter(prefix="/assessments", route_class=UiRoute, include_in_schema=False)
REPORT_FORMATS = ("html", "json", "csv", "sarif", "cbom")
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.get("")
def list_page(
    request: Request,
    uow: ReadUow,
    actor: UiViewer,
    organization_id: uuid.UUID | None = None,
    status: AssessmentStatus | None = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_LIMIT,
) -> Response:
    result = assessment_service.list_(
        uow, actor, organization_id=organization_id, status=status, offset=offset, limit=limit
    )
    return page(
        request, "assessments.html",
        {"result": result, "organizations": organizations(uow, actor),
         "organization_id": organization_id, "status": status,
         "statuses": list(AssessmentStatus)},
        actor=actor,
    )  # fmt: skip


@router.get("/new")
def new_page(request: Request, uow: ReadUow, actor: UiAnalyst) -> Response:
    return _form(request, uow, actor, {}, [])


def _form(
    request: Request,
    uow: UnitOfWork,
    actor: Actor,
    values: dict[str, Any],
    errors: list[dict[str, Any]],
) -> Response:
    return page(
        request, "assessment_new.html",
        {"organizations": organizations(uow, actor), "values": values, "errors": errors},
        actor=actor, status=400 if errors else 200,
    )  # fmt: skip


# Inventory files are parsed whole (json.loads recurses per level): refuse deeper nesting first.
_MAX_INVENTORY_DEPTH = 64


def _read_bounded(upload: UploadFile, field: str, budget: int) -> bytes:
    """The file's bytes, refusing it (400, naming the field) once the form's certificates and
    inventories pass ``budget`` bytes together: the same bound as the API's JSON body."""
    data = upload.file.read(budget + 1)
    if len(data) > budget:
        raise InvalidInput(
            f"{upload.filename}: certificates and inventories may hold {budget:,} bytes in all",
            details=[{"field": field, "message": f"over {budget:,} bytes (QRAP_MAX_BODY_SIZE)"}],
        )
    return data


def _uploaded_targets(
    certificates: list[UploadFile], inventories: list[UploadFile], budget: int
) -> list[dict[str, Any]]:
    """Certificate files (PEM or DER) and inventory files (JSON) as the API's target objects.

    They become one JSON document, as the API's body would be, so together they stay within
    QRAP_MAX_BODY_SIZE; CBOMs stream into artifacts under the upload limit instead.
    """
    targets: list[dict[str, Any]] = []
    for index, upload in enumerate(certificates):
        data = _read_bounded(upload, f"certificates[{index}]", budget)
        budget -= len(data)
        if not data:
            continue
        target: dict[str, Any] = {"type": "certificate", "name": upload.filename or "certificate"}
        if b"-----BEGIN" in data:
            target["pem"] = data.decode("utf-8", "replace")
        else:
            target["der_base64"] = base64.b64encode(data).decode()
        targets.append(target)
    for index, upload in enumerate(inventories):
        field = f"inventories[{index}]"
        data = _read_bounded(upload, field, budget)
        budget -= len(data)
        if not data:
            continue
        targets.append({"type": "inventory", "name": upload.filename,
                        "assets": _inventory_assets(upload, field, data)})  # fmt: skip
    return targets


def _inventory_assets(upload: UploadFile, field: str, data: bytes) -> Any:
    if json_too_deep(data, _MAX_INVENTORY_DEPTH):
        message = f"nested deeper than {_MAX_INVENTORY_DEPTH} levels"
    else:
        try:
            document = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            message = str(exc)
        else:
            return document.get("assets") if isinstance(document, dict) else document
    raise InvalidInput(
        f"{upload.filename}: not a JSON inventory", details=[{"field": field, "message": message}]
    )


def _spec(values: dict[str, Any], targets: list[dict[str, Any]]) -> AssessmentCreate:
    profile = {
        key: values[key]
        for key in ("shelf_life_years", "migration_years", "sensitivity", "exposure")
        if values.get(key) not in (None, "")
    }
    try:
        return AssessmentCreate.model_validate(
            {
                "name": values["name"],
                "organization_id": values["organization_id"],
                "target_assets": [
                    line.strip() for line in values["targets"].splitlines() if line.strip()
                ],
                "targets": targets,
                "data_profile": profile,
            }
        )
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        raise InvalidInput("invalid assessment", details=details) from None


@router.post("", dependencies=[CsrfChecked])
def create(
    request: Request,
    uow: Uow,
    actor: UiAnalyst,
    state: Annotated[AppState, Depends(get_state)],
    name: Annotated[str, Form()] = "",
    organization_id: Annotated[str, Form()] = "",
    targets: Annotated[str, Form(max_length=2_000_000)] = "",
    shelf_life_years: Annotated[str, Form()] = "",
    migration_years: Annotated[str, Form()] = "",
    sensitivity: Annotated[str, Form()] = "",
    exposure: Annotated[str, Form()] = "",
    run: Annotated[bool, Form()] = False,
    certificates: Annotated[list[UploadFile], File()] = [],  # noqa: B006  # FastAPI copies it
    inventories: Annotated[list[UploadFile], File()] = [],  # noqa: B006
    cboms: Annotated[list[UploadFile], File()] = [],  # noqa: B006
) -> Response:
    """Create, attach the uploaded CBOMs as the upload endpoint does, then queue a run."""
    values = {
        "name": name, "organization_id": organization_id, "targets": targets,
        "shelf_life_years": shelf_life_years, "migration_years": migration_years,
        "sensitivity": sensitivity, "exposure": exposure, "run": run,
    }  # fmt: skip
    cbom_files = [upload for upload in cboms if upload.filename]
    budget = state.settings.max_body_size
    try:
        spec = _spec(values, _uploaded_targets(certificates, inventories, budget))
        assessment_service.resolve_targets(spec.target_assets, spec.targets)
        if run and not (spec.target_assets or spec.targets or cbom_files):
            raise InvalidInput(
                "an assessment to run needs at least one target",
                details=[{"field": "targets", "message": "give a host, a file or uncheck run"}],
            )
    except QrapError as exc:  # nothing written yet: show the form again with the problems
        return _form(request, uow, actor, values, exc.details or [{"message": exc.message}])
    # The API's calls in the API's order, so the audit log reads the same: without CBOMs one
    # create with ``run``; with them create, one upload per CBOM, then run.
    spec = spec.model_copy(update={"run": run and not cbom_files})
    assessment = assessment_service.create(uow, actor, spec)
    for upload in cbom_files:
        artifact_service.add_cbom(
            uow, actor, assessment, filename=upload.filename or "cbom.json",
            media_type=upload.content_type or "application/json", stream=upload.file,
            max_components=state.settings.cbom_max_components,
        )  # fmt: skip
    if run and cbom_files:
        assessment_service.start_run(uow, actor, assessment)
    return redirect(f"/ui/assessments/{assessment.id}")


@router.get("/{assessment_id}")
def detail(
    request: Request,
    assessment_id: uuid.UUID,
    uow: ReadUow,
    actor: UiViewer,
    asset_offset: Offset = 0,
) -> Response:
    """Targets and their status, assets and their PQ class, findings, plan, reports."""
    assessment = assessment_service.get(uow, actor, assessment_id)
    run = assessment_service.latest_run(uow, assessment.id)
    completed = assessment_service.latest_run(uow, assessment.id, completed=True)
    assets = finding_service.assets(
        uow, actor, assessment_id=assessment.id, offset=asset_offset, limit=DEFAULT_LIMIT
    )
    findings = dashboard_service.findings(
        uow, actor, dashboard_service.FindingFilter(assessment_id=assessment.id),
        offset=0, limit=10,
    )  # fmt: skip
    return page(
        request, "assessment.html",
        {"assessment": assessment, "run": run, "completed": completed,
         "runs": assessment_service.runs(uow, actor, assessment.id),
         "assets": assets, "pq_class": pq_class, "findings": findings,
         "plan": _plan(uow, completed.id) if completed is not None else None,
         "formats": REPORT_FORMATS, "active": assessment.status in ("QUEUED", "IN_PROGRESS")},
        actor=actor,
    )  # fmt: skip


def _plan(uow: UnitOfWork, run_id: uuid.UUID) -> dict[str, Any]:
    plan = plan_from_stored(
        finding_service.all_assets_for_run(uow, run_id),
        finding_service.all_for_run(uow, run_id),
        profile="nist",
    )
    milestones = [
        charts.Milestone(f"{phase.number}. {phase.name}", phase.deadline, phase.priority.value)
        for phase in plan.phases
    ]
    chart = charts.timeline(milestones, title="Migration plan", today=date.today())
    return {"plan": plan, "chart": chart if milestones else ""}


@router.post("/{assessment_id}/run", dependencies=[CsrfChecked])
def run_(assessment_id: uuid.UUID, uow: Uow, actor: UiAnalyst) -> Response:
    assessment = assessment_service.get_for_update(uow, actor, assessment_id)
    assessment_service.start_run(uow, actor, assessment)
    return redirect(f"/ui/assessments/{assessment.id}")


@router.post("/{assessment_id}/cancel", dependencies=[CsrfChecked])
def cancel(assessment_id: uuid.UUID, uow: Uow, actor: UiAnalyst) -> Response:
    assessment = assessment_service.get_for_update(uow, actor, assessment_id)
    assessment_service.cancel(uow, actor, assessment)
    return redirect(f"/ui/assessments/{assessment.id}")


@router.get("/{assessment_id}/events")
def events(assessment_id: uuid.UUID, uow: Uow, actor: UiViewer, request: Request) -> Response:
    """The API's SSE stream (GET /api/v1/assessments/{id}/events), for the signed-in browser."""
    return event_routes.stream_events(assessment_id, uow, actor, request)


@router.get("/{assessment_id}/report")
def report(
    assessment_id: uuid.UUID,
    uow: ReadUow,
    actor: UiViewer,
    state: Annotated[AppState, Depends(get_state)],
    format: ExportFormat = "html",  # the API's parameter name
) -> Response:
    """The API's report export (GET /api/v1/assessments/{id}/report), as a download."""
    answer = assessment_routes.get_report(assessment_id, uow, actor, state, format, None, 1000)
    assert isinstance(answer, Response)  # noqa: S101  # without a page it always streams or renders
    name = f"qrap-{assessment_id}.{_EXTENSIONS[format]}"
    answer.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return answer


_EXTENSIONS = {
    "html": "html",
    "json": "json",
    "csv": "csv",
    "sarif": "sarif.json",
    "cbom": "cdx.json",
}
