"""The OpenAPI document declares what the app really sends: 400 with QRAP's error body."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    return dict(client.get("/openapi.json").json())


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in _METHODS
    ]


def _error_schema(spec: dict[str, Any]) -> dict[str, Any]:
    # Resolve the component's own $refs against the document.
    return {"$ref": "#/components/schemas/ErrorResponse", "components": spec["components"]}


class TestDeclaredErrors:
    def test_no_operation_declares_fastapis_422(self, spec: dict[str, Any]) -> None:
        declared = [(p, m) for p, m, op in _operations(spec) if "422" in op["responses"]]
        assert declared == []
        assert "HTTPValidationError" not in spec["components"]["schemas"]

    def test_operations_with_input_declare_the_400_error_body(self, spec: dict[str, Any]) -> None:
        with_input = [
            (path, method, op)
            for path, method, op in _operations(spec)
            if op.get("parameters") or op.get("requestBody")
        ]
        assert len(with_input) > 10
        for path, method, op in with_input:
            content = op["responses"]["400"]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}, (
                method,
                path,
            )

    @pytest.mark.parametrize(
        ("method", "url", "body"),
        [
            ("post", "/api/v1/assessments", {"name": "", "organization_id": "not-a-uuid"}),
            ("get", "/api/v1/findings?assessment_id=nope", None),
            ("post", "/api/v1/organizations", {"name": 7}),
        ],
    )
    def test_real_validation_errors_match_the_declared_schema(
        self, client: TestClient, spec: dict[str, Any], method: str, url: str, body: Any
    ) -> None:
        response = client.request(method, url, json=body)
        assert response.status_code == 400
        path = url.split("?")[0]
        declared = spec["paths"][path][method]["responses"]
        assert "400" in declared
        jsonschema.validate(response.json(), _error_schema(spec))
        assert response.json()["details"]
