"""Sign-in and sign-out, the overview, organizations and the HNDL calculator."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from qrap_api.deps import ReadUow, Uow, get_state
from qrap_api.ui import session
from qrap_api.ui.render import UiRoute, page, redirect
from qrap_api.ui.session import CsrfChecked, UiAdmin, UiViewer
from qrap_core.audit.service import Actor
from qrap_core.dashboard import hndl as hndl_curves
from qrap_core.dashboard import service as dashboard_service
from qrap_core.db import UnitOfWork, utcnow
from qrap_core.errors import InvalidInput, Unauthorized
from qrap_core.organization import service as organization_service
from qrap_core.organization.schemas import OrganizationCreate
from qrap_core.pagination import MAX_LIMIT
from qrap_core.reports import charts
from qrap_core.scoring import hndl
from qrap_core.settings import Settings

router = APIRouter(route_class=UiRoute, include_in_schema=False)
LEVELS = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")


def organizations(uow: UnitOfWork, actor: Actor) -> list[Any]:
    """The organizations the caller may see (for selectors), by name."""
    return organization_service.list_(uow, actor, offset=0, limit=MAX_LIMIT).items


@router.get("/login")
def login_form(
    request: Request,
    next: Annotated[str | None, Query(max_length=2048)] = None,  # the usual name
    reason: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    return page(request, "login.html", {"next": session.safe_next(next), "reason": reason})


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    credential: Annotated[str, Form(max_length=session.MAX_CREDENTIAL_LENGTH)] = "",
    kind: Annotated[session.CredentialKind, Form()] = "apikey",
    next: Annotated[str, Form(max_length=2048)] = "/ui/",
) -> Response:
    """Check the credential as the API would, then keep it in the session cookie."""
    target = session.safe_next(next)
    if not credential.strip():
        return _login_failed(request, target, "enter an API key or a token", 400)
    authorization = session.authorization_for(kind, credential)
    try:
        session.authenticate_authorization(request, authorization)
    except Unauthorized as exc:
        return _login_failed(request, target, exc.message, 401)
    response = redirect(target)
    session.set_cookie(
        request, response, session.SESSION_COOKIE, session.encode_session(authorization)
    )
    return response


def _login_failed(request: Request, target: str, message: str, status: int) -> Response:
    return page(
        request, "login.html",
        {"next": target, "error": {"field": "credential", "message": message}},
        status=status,
    )  # fmt: skip


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    response = redirect(f"{session.LOGIN_PATH}?reason=signed+out")
    session.clear_session(request, response)
    return response


@router.get("/")
def overview(
    request: Request, uow: ReadUow, actor: UiViewer, organization_id: uuid.UUID | None = None
) -> Response:
    """Risk, readiness, findings by category and level, the trend and HNDL exposure."""
    if organization_id is not None:
        organization_service.get(uow, actor, organization_id)  # 404 outside the caller's
    summary = dashboard_service.overview(uow, actor, organization_id)
    settings = get_state(request).settings
    return page(
        request, "overview.html",
        {"overview": summary, "organizations": organizations(uow, actor),
         "organization_id": organization_id, "levels": LEVELS,
         "charts": _overview_charts(summary, settings)},
        actor=actor,
    )  # fmt: skip


def _overview_charts(summary: dashboard_service.Overview, settings: Settings) -> dict[str, str]:
    level_items = [(level, float(summary.by_level.get(level, 0))) for level in LEVELS]
    category_items = [
        (category.replace("_", " ").lower(), float(count))
        for category, count in summary.by_category.items()
    ]
    trend = [
        charts.Series("risk score", [(i + 1.0, p.risk_score) for i, p in enumerate(summary.trend)]),
        charts.Series(
            "PQC readiness %", [(i + 1.0, p.pqc_readiness) for i, p in enumerate(summary.trend)]
        ),
    ]
    exposure = hndl_curves.exposure_by_year(
        settings.default_migration_years, utcnow().year,
        survey_file=settings.crqc_survey_file, edition=settings.crqc_survey_edition,
    )  # fmt: skip
    return {
        "levels": charts.bar_chart(
            level_items, title="Findings by level",
            colours=[charts.LEVEL_COLOURS[level] for level in LEVELS],
        ),
        "categories": charts.bar_chart(category_items, title="Findings by category"),
        "trend": charts.line_chart(
            trend if summary.trend else [], title="Risk across runs",
            x_label="completed run (oldest first)", y_label="score / %", y_max=100,
        ),
        "hndl": charts.line_chart(
            exposure, title="HNDL exposure of data recorded today",
            x_label="year the data must stay secret until", y_label="P(exposed)", y_max=1,
        ),
    }  # fmt: skip


@router.get("/organizations")
def organizations_page(request: Request, uow: ReadUow, actor: UiViewer) -> Response:
    return page(
        request, "organizations.html",
        {"organizations": organizations(uow, actor)}, actor=actor,
    )  # fmt: skip


@router.post("/organizations", dependencies=[CsrfChecked])
def create_organization(
    request: Request,
    uow: Uow,
    actor: UiAdmin,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    """The same validation and service call as POST /api/v1/organizations."""
    try:
        spec = OrganizationCreate(name=name, description=description.strip() or None)
    except ValidationError as exc:
        raise InvalidInput(
            "invalid organization",
            details=[
                {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in exc.errors()
            ],
        ) from None
    org = organization_service.create(uow, actor, spec)
    return redirect(f"/ui/?organization_id={org.id}")


@router.get("/hndl")
def hndl_page(
    request: Request,
    actor: UiViewer,
    algorithm: Annotated[str, Query(min_length=1, max_length=255)] = "RSA-2048",
    shelf_life_years: Annotated[int, Query(ge=0, le=100)] = 10,
    migration_years: Annotated[float, Query(ge=0, le=50)] = 5.0,
    fragment: bool = False,
) -> Response:
    """Probability of exposure against shelf life and migration time, per threat model."""
    settings = get_state(request).settings
    year = utcnow().year
    context: dict[str, Any] = {
        "algorithm": algorithm, "shelf_life_years": shelf_life_years,
        "migration_years": migration_years, "reference_year": year,
    }  # fmt: skip
    name = "hndl_result.html" if fragment else "hndl.html"
    try:
        results = [
            hndl.assess(
                algorithm, shelf_life_years=shelf_life_years, migration_years=migration_years,
                timeline=hndl.timeline_for(model, survey_file=settings.crqc_survey_file,
                                           edition=settings.crqc_survey_edition),
                reference_year=year,
            )
            for model in hndl.THREAT_MODELS
        ]  # fmt: skip
    except InvalidInput as exc:
        error = {"field": "algorithm", "message": exc.message}
        return page(request, name, {**context, "error": error}, actor=actor, status=400)
    curves = hndl_curves.exposure_by_shelf_life(
        migration_years, year, survey_file=settings.crqc_survey_file,
        edition=settings.crqc_survey_edition,
    )  # fmt: skip
    chart = charts.line_chart(
        curves if results[0].applies else [], title="Probability of exposure",
        x_label="shelf life (years)", y_label="P(exposed)", y_max=1,
    )  # fmt: skip
    context.update(results=results, chart=chart, curves=curves)
    return page(request, name, context, actor=actor)
