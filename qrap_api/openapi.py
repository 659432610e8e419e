"""The OpenAPI document as the app really answers: errors are 400 with QRAP's error body.

FastAPI documents a 422 ``HTTPValidationError`` on every operation with parameters or a body,
but ``qrap_api.errors`` answers validation failures with 400 and ``{"error", "code",
"details"}``. Clients generated from the document would otherwise expect a status and a
shape they never get.
"""

from __future__ import annotations

from typing import Any, TypedDict

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from qrap_api.deps import Viewer
from qrap_core.settings import Settings

OPENAPI_URL = "/openapi.json"
_ERROR_REF = "#/components/schemas/ErrorResponse"
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


class ErrorDetail(BaseModel):
    field: str = Field(description="the offending field, as a dotted path")
    message: str


class ErrorResponse(BaseModel):
    """Every error answer of the API."""

    error: str = Field(description="a human-readable message (the original API's field)")
    code: str = Field(description="the error's class, e.g. ValidationError, NotFound")
    details: list[ErrorDetail] = Field(default_factory=list)


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _ERROR_REF}}},
    }


# What the layers around every route may answer (authentication, roles, rate limits, the
# header and body limits, ids not found), and what a mutation adds.
_COMMON_ERRORS = {
    "400": "invalid request: the fields named in details",
    "401": "missing or invalid credentials",
    "403": "the caller's role does not allow this",
    "404": "not found (or another organization's), also for ids given as filters",
    "413": "request body too large",
    "429": "rate limit exceeded (see Retry-After)",
    "431": "request headers too large",
}
_MUTATION_ERRORS = {
    "404": "not found (or another organization's)",
    "409": "conflicts with the current state",
}


def _document_errors(responses: dict[str, Any], method: str) -> None:
    errors = dict(_COMMON_ERRORS)
    if method.lower() in ("post", "put", "patch", "delete"):
        errors |= _MUTATION_ERRORS
    for status, description in errors.items():
        responses.setdefault(status, _error_response(description))


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with every 422 replaced by the 400 the app sends."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault(
                    "400", _error_response("invalid request: the fields named in details")
                )
            _document_errors(responses, method)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION:
        components.pop(name, None)
    components["ErrorDetail"] = ErrorDetail.model_json_schema()
    components["ErrorResponse"] = ErrorResponse.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components["ErrorResponse"].pop("$defs", None)
    app.openapi_schema = schema
    return schema


class DocsUrls(TypedDict):
    openapi_url: str | None
    docs_url: str | None
    redoc_url: str | None


def docs_urls(settings: Settings) -> DocsUrls:
    """FastAPI's own (public) document and docs pages, only with QRAP_API_DOCS public."""
    if settings.docs_mode == "public":
        return DocsUrls(openapi_url=OPENAPI_URL, docs_url="/docs", redoc_url="/redoc")
    return DocsUrls(openapi_url=None, docs_url=None, redoc_url=None)


def install(app: FastAPI, settings: Settings) -> None:
    """Serve our document; behind authentication too when QRAP_API_DOCS is authenticated.

    (Default in production.) The pages are for API clients that send credentials, such as
    ``curl -H "X-API-Key: ..." .../openapi.json``.
    """
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]  # FastAPI's hook
    if settings.docs_mode != "authenticated":
        return

    @app.get(OPENAPI_URL, include_in_schema=False)
    def openapi_document(actor: Viewer) -> JSONResponse:
        return JSONResponse(build_openapi(app))

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(actor: Viewer) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=OPENAPI_URL, title=f"{app.title} - docs")

    @app.get("/redoc", include_in_schema=False)
    def redoc(actor: Viewer) -> HTMLResponse:
        return get_redoc_html(openapi_url=OPENAPI_URL, title=f"{app.title} - ReDoc")
