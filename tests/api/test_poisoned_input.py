"""NUL characters and over-long strings are refused at the door: 400 naming the field, and
nothing stored (PostgreSQL would refuse them later, as a 500 or as a failed run)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from qrap_core.artifact.models import AssessmentArtifact
from qrap_core.assessment.models import Assessment
from qrap_core.db import Database
from qrap_core.finding.models import Finding
from qrap_core.organization.models import Organization
from qrap_core.settings import Settings
from qrap_core.webhook.models import WebhookEndpoint
from tests.api.test_analysis import run_inventory
from tests.conftest import RecordingDispatcher

NUL = "a\x00b"


def count(database: Database, model: Any) -> int:
    with database.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def inventory(**item: Any) -> dict[str, Any]:
    return {"type": "inventory", "assets": [{"asset": "db", "algorithm": "RSA"} | item]}


def crypto_component(name: str = "RSA", **extra: Any) -> dict[str, Any]:
    return {
        "type": "cryptographic-asset",
        "name": name,
        "bom-ref": "alg:0",
        "cryptoProperties": {"assetType": "algorithm"},
    } | extra


def cbom(*components: dict[str, Any], **top: Any) -> dict[str, Any]:
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": list(components)}
    return document | top


def assert_refused(response: Any, field: str) -> None:
    assert response.status_code == 400, response.text
    fields = [d.get("field", "") for d in response.json()["details"]]
    assert any(field in f for f in fields), (field, fields)


# (field named in the answer, body of POST /organizations)
ORGANIZATIONS: list[tuple[str, dict[str, Any]]] = [
    ("name", {"name": NUL}),
    ("name", {"name": "n" * 256}),
    ("description", {"name": "ok", "description": NUL}),
    ("description", {"name": "ok", "description": "d" * 10_001}),
    ("created_by", {"name": "ok", "created_by": NUL}),
]


@pytest.mark.parametrize(("field", "body"), ORGANIZATIONS, ids=[f for f, _ in ORGANIZATIONS])
def test_organization(client: TestClient, database: Database, field: str, body: Any) -> None:
    before = count(database, Organization)
    if body["name"] == "ok":
        body = body | {"name": f"org-{uuid.uuid4()}"}

    response = client.post("/api/v1/organizations", json=body)

    assert_refused(response, field)
    assert count(database, Organization) == before


# (field named in the answer, what the body of POST /assessments holds besides name and org)
ASSESSMENTS: list[tuple[str, dict[str, Any]]] = [
    ("name", {"name": NUL}),
    ("name", {"name": "n" * 256}),
    ("created_by", {"created_by": NUL}),
    ("created_by", {"created_by": "c" * 256}),
    ("target_assets[0]", {"target_assets": ["127.0.0.1\x00:443"]}),
    ("target_assets[1]", {"target_assets": ["127.0.0.1", "h" * 2049]}),
    ("webhook_url", {"webhook_url": "https://hooks.example.com/\x00"}),
    ("schedule", {"schedule": "@daily\x00"}),
    ("targets[0].tls.host", {"targets": [{"type": "tls", "host": NUL}]}),
    ("targets[0].tls.sni", {"targets": [{"type": "tls", "host": "127.0.0.1", "sni": NUL}]}),
    ("targets[0].ssh.host", {"targets": [{"type": "ssh", "host": "h" * 254}]}),
    (
        "targets[0].certificate.name",
        {"targets": [{"type": "certificate", "name": NUL, "pem": "x"}]},
    ),
    ("targets[0].certificate.pem", {"targets": [{"type": "certificate", "pem": NUL}]}),
    ("targets[0].inventory.assets[0].asset", {"targets": [inventory(asset=NUL)]}),
    ("targets[0].inventory.assets[0].asset", {"targets": [inventory(asset="a" * 256)]}),
    ("targets[0].inventory.assets[0].algorithm", {"targets": [inventory(algorithm=NUL)]}),
    ("targets[0].inventory.assets[0].notes", {"targets": [inventory(notes=NUL)]}),
    ("targets[0].inventory.assets[0].protocol", {"targets": [inventory(protocol="p" * 33)]}),
    ("targets[0].inventory.name", {"targets": [inventory() | {"name": NUL}]}),
    ("targets[0].cbom", {"targets": [{"type": "cbom", "document": cbom(crypto_component(NUL))}]}),
    (
        "targets[0].cbom",
        {"targets": [{"type": "cbom", "document": cbom(crypto_component("n" * 1025))}]},
    ),
    (
        "targets[0].cbom",
        {"targets": [{"type": "cbom", "document": cbom(metadata={"tools": [NUL]})}]},
    ),
    ("targets[0].cbom.name", {"targets": [{"type": "cbom", "name": NUL, "document": cbom()}]}),
]


@pytest.mark.parametrize(("field", "body"), ASSESSMENTS, ids=[f for f, _ in ASSESSMENTS])
def test_assessment(
    client: TestClient, org_id: str, database: Database, field: str, body: dict[str, Any]
) -> None:
    before = count(database, Assessment)

    response = client.post(
        "/api/v1/assessments", json={"name": "poisoned", "organization_id": org_id} | body
    )

    assert_refused(response, field)
    assert count(database, Assessment) == before


WEBHOOKS: list[tuple[str, dict[str, Any]]] = [
    ("url", {"url": "https://hooks.example.com/\x00"}),
    ("url", {"url": "https://hooks.example.com/" + "p" * 2048}),
    ("description", {"url": "https://hooks.example.com/", "description": NUL}),
    ("description", {"url": "https://hooks.example.com/", "description": "d" * 256}),
]


@pytest.mark.parametrize(("field", "body"), WEBHOOKS, ids=[f for f, _ in WEBHOOKS])
def test_webhook(
    client: TestClient, org_id: str, database: Database, field: str, body: dict[str, Any]
) -> None:
    before = count(database, WebhookEndpoint)

    response = client.post("/api/v1/webhooks", json={"organization_id": org_id} | body)

    assert_refused(response, field)
    assert count(database, WebhookEndpoint) == before


@pytest.mark.parametrize("note", [NUL, "n" * 4001], ids=["nul", "too-long"])
def test_finding_note(
    client: TestClient,
    org_id: str,
    database: Database,
    settings: Settings,
    dispatched: RecordingDispatcher,
    note: str,
) -> None:
    assessment = run_inventory(
        client, org_id, database, settings, dispatched, [{"asset": "db", "algorithm": "RSA-2048"}]
    )
    findings = client.get("/api/v1/findings", params={"assessment_id": assessment}).json()
    finding_id = findings["findings"][0]["id"]

    response = client.patch(
        f"/api/v1/findings/{finding_id}",
        json={"triage_status": "accepted_risk", "analyst_note": note},
    )

    assert_refused(response, "analyst_note")
    with database.unit_of_work() as uow:
        stored = uow.session.get(Finding, uuid.UUID(finding_id))
        assert stored is not None
        assert (stored.triage_status, stored.analyst_note) == ("open", None)


UPLOADS: list[tuple[str, Callable[[], bytes]]] = [
    ("/components/*/name", lambda: json.dumps(cbom(crypto_component(NUL))).encode()),
    ("/components/0/name", lambda: json.dumps(cbom(crypto_component("n" * 1025))).encode()),
    (
        "/components/0/cryptoProperties/oid",
        lambda: json.dumps(
            cbom(crypto_component(cryptoProperties={"assetType": "algorithm", "oid": "1" * 1025}))
        ).encode(),
    ),
    ("/metadata/tools/*", lambda: json.dumps(cbom(metadata={"tools": [NUL]})).encode()),
    ("/metadata/a", lambda: json.dumps(cbom(metadata={NUL: 1})).encode()),
    ("/serialNumber", lambda: json.dumps(cbom(serialNumber=NUL)).encode()),
]


@pytest.mark.parametrize(("field", "data"), UPLOADS, ids=[f for f, _ in UPLOADS])
def test_cbom_upload(
    client: TestClient, org_id: str, database: Database, field: str, data: Callable[[], bytes]
) -> None:
    created = client.post("/api/v1/assessments", json={"name": "upload", "organization_id": org_id})
    assessment_id = created.json()["id"]
    before = count(database, AssessmentArtifact)

    response = client.post(
        f"/api/v1/assessments/{assessment_id}/artifacts",
        files={"file": ("estate.cdx.json", data(), "application/json")},
    )

    assert_refused(response, field)
    assert count(database, AssessmentArtifact) == before
    assert client.get(f"/api/v1/assessments/{assessment_id}").json()["targets"] == []
