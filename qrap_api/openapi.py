"""The OpenAPI document as the app really answers: errors are 400 with QRAP's error body.

FastAPI documents a 422 ``HTTPValidationError`` on every operation with parameters or a body,
but ``qrap_api.errors`` answers validation failures with 400 and ``{"error", "code",
"details"}``. Clients generated from the document would otherwise expect a status and a
shape they never get.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

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


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with every 422 replaced by the 400 the app sends."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault(
                    "400", _error_response("invalid request: the fields named in details")
                )
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


def install(app: FastAPI) -> None:
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]  # FastAPI's hook
