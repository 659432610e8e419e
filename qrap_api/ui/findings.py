"""Findings in the browser: filter and sort across assessments, read one, triage it with the
same service call as PATCH /api/v1/findings/{id}."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from qrap_api.deps import ReadUow, Uow
from qrap_api.ui.pages import LEVELS, organizations
from qrap_api.ui.render import UiRoute, page, redirect
from qrap_api.ui.session import CsrfChecked, UiAnalyst, UiViewer
from qrap_core.assessment import service as assessment_service
from qrap_core.dashboard import service as dashboard_service
from qrap_core.enums import FindingCategory, RiskLevel, TriageStatus
from qrap_core.errors import InvalidInput
from qrap_core.finding import service as finding_service
from qrap_core.finding.schemas import FindingUpdate
from qrap_core.pagination import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(prefix="/findings", route_class=UiRoute, include_in_schema=False)


@router.get("")
def list_page(
    request: Request,
    uow: ReadUow,
    actor: UiViewer,
    organization_id: uuid.UUID | None = None,
    assessment_id: uuid.UUID | None = None,
    risk_level: RiskLevel | None = None,
    category: FindingCategory | None = None,
    triage_status: TriageStatus | None = None,
    sort: dashboard_service.FindingSort = "level",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Response:
    """Findings of each assessment's latest completed run in the caller's organizations."""
    spec = dashboard_service.FindingFilter(
        organization_id=organization_id, assessment_id=assessment_id, risk_level=risk_level,
        category=category, triage_status=triage_status, sort=sort,
    )  # fmt: skip
    result = dashboard_service.findings(uow, actor, spec, offset=offset, limit=limit)
    return page(
        request, "findings.html",
        {"result": result, "filter": spec, "organizations": organizations(uow, actor),
         "levels": LEVELS, "categories": list(FindingCategory),
         "statuses": list(TriageStatus), "sorts": dashboard_service.FINDING_SORTS},
        actor=actor,
    )  # fmt: skip


@router.get("/{finding_id}")
def detail(
    request: Request,
    finding_id: uuid.UUID,
    uow: ReadUow,
    actor: UiViewer,
    saved: bool = False,
) -> Response:
    finding = finding_service.get(uow, actor, finding_id)
    assessment = assessment_service.get(uow, actor, finding.assessment_id)
    return page(
        request, "finding.html",
        {"finding": finding, "assessment": assessment, "saved": saved, "levels": LEVELS,
         "statuses": list(TriageStatus), "can_triage": actor.role in ("analyst", "admin")},
        actor=actor,
    )  # fmt: skip


async def _triage_form(request: Request) -> dict[str, str | None]:
    """The triage form's fields, read here so that the route declares no body of its own."""
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    fields: dict[str, str | None] = {
        "analyst_risk_level": text("analyst_risk_level") or None,
        "analyst_note": text("analyst_note") or None,
    }
    if text("triage_status"):
        fields["triage_status"] = text("triage_status")
    return fields


@router.post("/{finding_id}", dependencies=[CsrfChecked])
def triage(
    finding_id: uuid.UUID,
    uow: Uow,
    actor: UiAnalyst,
    fields: Annotated[dict[str, str | None], Depends(_triage_form)],
) -> Response:
    """Status, the analyst's level (empty clears it) and a note (empty clears it)."""
    try:
        spec = FindingUpdate.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInput(
            "invalid triage",
            details=[
                {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in exc.errors()
            ],
        ) from None
    finding_service.update(uow, actor, finding_id, spec)
    return redirect(f"/ui/findings/{finding_id}?saved=true")
