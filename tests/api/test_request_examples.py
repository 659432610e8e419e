"""The request examples in the OpenAPI document (/docs) are real requests: each is sent to its
endpoint and answered 200. The assessment's data profile takes the original API's
``data_shelf_life_years`` spelling too."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from qrap_core.db import Database
from qrap_core.settings import Settings
from tests.api.test_analysis import run_inventory
from tests.conftest import RecordingDispatcher

ASSETS = [{"asset": "vpn", "algorithm": "RSA-2048", "usage": "key-exchange"}]


def _example(client: TestClient, schema: str) -> dict[str, Any]:
    document = client.get("/openapi.json").json()
    examples = document["components"]["schemas"][schema]["examples"]
    assert examples, f"{schema} has no example"
    example: dict[str, Any] = examples[0]
    return example


@pytest.mark.parametrize(
    ("path", "schema", "answer_key"),
    [
        ("/api/v1/score", "ScoreRequest", "risk_score"),
        ("/api/v1/hndl", "HndlRequest", "estimated_break_year"),
        ("/api/v1/migration-plan", "MigrationPlanRequest", "steps"),
    ],
)
def test_analysis_examples_are_answered(
    client: TestClient, path: str, schema: str, answer_key: str
) -> None:
    document = client.get("/openapi.json").json()
    body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith(f"/{schema}")
    answer = client.post(path, json=_example(client, schema))
    assert answer.status_code == 200, answer.text
    assert answer_key in answer.json()


def test_finding_update_example_is_answered(
    client: TestClient,
    org_id: str,
    database: Database,
    settings: Settings,
    dispatched: RecordingDispatcher,
) -> None:
    assessment = run_inventory(
        client, org_id, database, settings, dispatched, [{"asset": "old", "algorithm": "DES"}]
    )
    findings = client.get("/api/v1/findings", params={"assessment_id": assessment}).json()
    finding_id = findings["findings"][0]["id"]
    example = _example(client, "FindingUpdate")
    answer = client.patch(f"/api/v1/findings/{finding_id}", json=example)
    assert answer.status_code == 200, answer.text
    assert {key: answer.json()[key] for key in example} == example


@pytest.mark.parametrize("spelling", ["shelf_life_years", "data_shelf_life_years"])
def test_data_profile_takes_both_spellings(client: TestClient, org_id: str, spelling: str) -> None:
    created = client.post(
        "/api/v1/assessments",
        json={
            "name": f"profile {spelling}",
            "organization_id": org_id,
            "targets": [{"type": "inventory", "name": "estate", "assets": ASSETS}],
            "data_profile": {spelling: 15},
        },
    )
    assert created.status_code in (200, 201), created.text
    assert created.json()["data_profile"]["shelf_life_years"] == 15


def test_data_profile_refuses_both_spellings_at_once(client: TestClient, org_id: str) -> None:
    created = client.post(
        "/api/v1/assessments",
        json={
            "name": "profile twice",
            "organization_id": org_id,
            "targets": [{"type": "inventory", "name": "estate", "assets": ASSETS}],
            "data_profile": {"shelf_life_years": 15, "data_shelf_life_years": 10},
        },
    )
    assert created.status_code in (400, 422), created.text
    fields = {detail["field"] for detail in created.json()["details"]}
    assert any("data_shelf_life_years" in field for field in fields), fields
