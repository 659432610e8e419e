"""CBOM uploads and the export formats over HTTP, with runs executed by the real pipeline."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from fastapi.testclient import TestClient

from qrap_api.app import create_app
from qrap_core.artifact.service import ArtifactStore
from qrap_core.assessment.models import Assessment
from qrap_core.db import Database
from qrap_core.errors import InvalidInput
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY, VIEWER_KEY, RecordingDispatcher
from tests.servers import cert_pair, pyopenssl_server

SARIF_SCHEMA = json.loads(
    (Path(__file__).parents[1] / "reports" / "schemas" / "sarif-schema-2.1.0.json").read_text()
)


def cbom(*names: str, padding: int = 0) -> dict[str, Any]:
    components: list[dict[str, Any]] = [
        {
            "type": "cryptographic-asset",
            "name": name,
            "bom-ref": f"alg:{index}",
            "cryptoProperties": {"assetType": "algorithm"},
        }
        for index, name in enumerate(names)
    ]
    if padding:
        components.append({"type": "library", "name": "bulk", "description": "x" * padding})
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components}


def upload(client: TestClient, assessment_id: str, document: Any) -> Any:
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return client.post(
        f"/api/v1/assessments/{assessment_id}/artifacts",
        files={"file": ("estate.cdx.json", data, "application/json")},
    )


@pytest.fixture
def assessment_id(client: TestClient, org_id: str) -> str:
    response = client.post(
        "/api/v1/assessments", json={"name": "cbom upload", "organization_id": org_id}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def run_now(
    client: TestClient,
    assessment_id: str,
    dispatched: RecordingDispatcher,
    database: Database,
    settings: Settings,
) -> None:
    response = client.post(f"/api/v1/assessments/{assessment_id}/run")
    assert response.status_code == 202, response.text
    run_id = uuid.UUID(dispatched.sent[-1].kwargs["run_id"])
    assert RunExecutor(database, settings).execute(run_id).status == "COMPLETED"


class TestUpload:
    def test_upload_becomes_a_target(self, client: TestClient, assessment_id: str) -> None:
        response = upload(client, assessment_id, cbom("RSA", "ML-KEM-768"))

        assert response.status_code == 201, response.text
        body = response.json()
        assert body["summary"]["crypto_components"] == 2
        assert body["size"] > 0
        assert len(body["sha256"]) == 64
        targets = client.get(f"/api/v1/assessments/{assessment_id}").json()["targets"]
        assert targets == [{"type": "cbom", "name": "estate.cdx.json", "artifact_id": body["id"]}]
        listed = client.get(f"/api/v1/assessments/{assessment_id}/artifacts").json()
        assert [a["id"] for a in listed["artifacts"]] == [body["id"]]

    def test_invalid_document_says_where(self, client: TestClient, assessment_id: str) -> None:
        document = cbom("RSA")
        document["components"][0]["cryptoProperties"]["assetType"] = "potion"

        response = upload(client, assessment_id, document)

        assert response.status_code == 400
        body = response.json()
        assert "/components/0/cryptoProperties/assetType" in body["error"]
        assert body["details"][0]["pointer"] == "/components/0/cryptoProperties/assetType"

    def test_not_json(self, client: TestClient, assessment_id: str) -> None:
        response = upload(client, assessment_id, b"\x00\x01 not json")

        assert response.status_code == 400

    def test_bigger_than_the_generic_body_limit(
        self, client: TestClient, assessment_id: str, settings: Settings
    ) -> None:
        document = cbom("RSA", padding=settings.max_body_size + 100_000)

        response = upload(client, assessment_id, document)

        assert response.status_code == 201, response.text

    def test_own_limit_answers_413(
        self, settings: Settings, database: Database, assessment_id: str
    ) -> None:
        small = settings.model_copy(update={"cbom_max_upload_size": 200_000})
        app = create_app(small, database=database, dispatcher=RecordingDispatcher())
        with TestClient(app, raise_server_exceptions=False) as other:
            other.headers["Authorization"] = f"ApiKey {ADMIN_KEY}"
            response = upload(other, assessment_id, cbom("RSA", padding=300_000))

        assert response.status_code == 413

    def test_generic_limit_still_applies_elsewhere(
        self, client: TestClient, org_id: str, settings: Settings
    ) -> None:
        response = client.post(
            "/api/v1/assessments",
            content=b"{" + b" " * (settings.max_body_size + 10) + b"}",
            headers={"Content-Type": "application/json"},
        )

        assert response.status_code == 413

    def test_store_reads_back_in_slices(
        self, client: TestClient, assessment_id: str, org_id: str, database: Database
    ) -> None:
        data = json.dumps(cbom("RSA", padding=2_500_000)).encode()  # three 1 MB slices

        artifact_id = upload(client, assessment_id, data).json()["id"]

        with ArtifactStore(database, uuid.UUID(org_id))(uuid.UUID(artifact_id)) as stream:
            assert stream.read() == data

    def test_viewer_cannot_upload(self, client: TestClient, assessment_id: str) -> None:
        client.headers["Authorization"] = f"ApiKey {VIEWER_KEY}"

        assert upload(client, assessment_id, cbom("RSA")).status_code == 403

    def test_unknown_assessment(self, client: TestClient) -> None:
        assert upload(client, str(uuid.uuid4()), cbom("RSA")).status_code == 404


@pytest.fixture(scope="module")
def hybrid_port() -> Iterator[int]:
    with pyopenssl_server(*cert_pair("tls-server")) as port:
        yield port


@pytest.mark.network
class TestReports:
    @pytest.fixture
    def completed(
        self,
        client: TestClient,
        org_id: str,
        dispatched: RecordingDispatcher,
        database: Database,
        settings: Settings,
        hybrid_port: int,
    ) -> str:
        response = client.post(
            "/api/v1/assessments",
            json={
                "name": "exports",
                "organization_id": org_id,
                "target_assets": [f"127.0.0.1:{hybrid_port}"],
            },
        )
        assert response.status_code == 201, response.text
        assessment_id = str(response.json()["id"])
        assert upload(client, assessment_id, cbom("RSA-2048", "AES-128-GCM")).status_code == 201
        run_now(client, assessment_id, dispatched, database, settings)
        return assessment_id

    def test_uploaded_cbom_was_analyzed(self, client: TestClient, completed: str) -> None:
        report = client.get(f"/api/v1/assessments/{completed}/report").json()

        cbom_target = next(t for t in report["targets"] if t["type"] == "cbom")
        assert cbom_target["status"] == "ok"
        assert cbom_target["details"]["crypto_components"] == 2
        names = {a["name"] for a in report["assets"]}
        assert {"RSA-2048", "AES-128-GCM"} <= names
        tls_target = next(t for t in report["targets"] if t["type"] == "tls")
        assert tls_target["details"]["key_exchange"]["verdict"] == "hybrid-pq"
        assert tls_target["details"]["groups"]["X25519MLKEM768"] == "accepted"

    def test_cbom_format(self, client: TestClient, completed: str) -> None:
        response = client.get(f"/api/v1/assessments/{completed}/report", params={"format": "cbom"})

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/vnd.cyclonedx+json")
        assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(response.text) is None

    def test_sarif_format(self, client: TestClient, completed: str) -> None:
        response = client.get(f"/api/v1/assessments/{completed}/report", params={"format": "sarif"})

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/sarif+json")
        jsonschema.Draft7Validator(SARIF_SCHEMA).validate(response.json())

    def test_csv_and_html(self, client: TestClient, completed: str) -> None:
        url = f"/api/v1/assessments/{completed}/report"
        rows = list(csv.DictReader(io.StringIO(client.get(url, params={"format": "csv"}).text)))
        page = client.get(url, params={"format": "html"})
        findings = client.get(url).json()["findings"]

        assert len(rows) == len(findings)
        assert page.headers["content-type"].startswith("text/html")
        assert "hybrid-pq" in page.text
        assert "<script" not in page.text

    def test_unknown_format(self, client: TestClient, completed: str) -> None:
        response = client.get(f"/api/v1/assessments/{completed}/report", params={"format": "pdf"})

        assert response.status_code == 400


class TestSubmission:
    """New target types and the network policy at submission (400 before anything is stored)."""

    def create(self, client: TestClient, org_id: str, **body: Any) -> Any:
        return client.post(
            "/api/v1/assessments", json={"name": "targets", "organization_id": org_id} | body
        )

    def test_metadata_literal_is_refused(self, client: TestClient, org_id: str) -> None:
        response = self.create(client, org_id, target_assets=["169.254.169.254:80"])

        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "target_assets[0]"
        assert "never probed" in response.json()["error"]

    def test_typed_link_local_is_refused(self, client: TestClient, org_id: str) -> None:
        response = self.create(client, org_id, targets=[{"type": "ssh", "host": "fe80::1"}])

        assert response.status_code == 400

    def test_ssh_and_cbom_targets_are_accepted(self, client: TestClient, org_id: str) -> None:
        response = self.create(
            client,
            org_id,
            target_assets=["ssh://127.0.0.1:2222"],
            targets=[{"type": "cbom", "name": "inline", "document": cbom("RSA")}],
        )

        assert response.status_code == 201, response.text
        assert [t["type"] for t in response.json()["targets"]] == ["cbom"]

    def test_invalid_inline_cbom_says_where(self, client: TestClient, org_id: str) -> None:
        document = cbom("RSA")
        document["specVersion"] = "1.4"

        response = self.create(client, org_id, targets=[{"type": "cbom", "document": document}])

        assert response.status_code == 400
        assert "/specVersion" in response.text


class TestArtifactOwnership:
    """A cbom target's ``artifact_id`` names a document of the assessment's own organization."""

    @pytest.fixture
    def other_org(self, client: TestClient) -> str:
        response = client.post("/api/v1/organizations", json={"name": f"org-{uuid.uuid4()}"})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    @pytest.fixture
    def artifact_id(self, client: TestClient, assessment_id: str) -> str:
        response = upload(client, assessment_id, cbom("RSA-2048", "ML-KEM-768"))
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def create(self, client: TestClient, org_id: str, artifact_id: str) -> Any:
        return client.post(
            "/api/v1/assessments",
            json={
                "name": "by reference",
                "organization_id": org_id,
                "targets": [{"type": "cbom", "artifact_id": artifact_id}],
            },
        )

    def count(self, client: TestClient, org_id: str) -> int:
        response = client.get("/api/v1/assessments", params={"organization_id": org_id})
        assert response.status_code == 200, response.text
        return int(response.json()["total_count"])

    def test_other_organizations_document_is_refused(
        self, client: TestClient, artifact_id: str, other_org: str
    ) -> None:
        before = self.count(client, other_org)

        response = self.create(client, other_org, artifact_id)

        assert response.status_code == 400, response.text
        assert response.json()["details"][0]["field"] == "targets[0].artifact_id"
        assert self.count(client, other_org) == before

    def test_unknown_document_is_refused(self, client: TestClient, org_id: str) -> None:
        response = self.create(client, org_id, str(uuid.uuid4()))

        assert response.status_code == 400, response.text
        assert response.json()["details"][0]["field"] == "targets[0].artifact_id"

    def test_malformed_id_is_refused(self, client: TestClient, org_id: str) -> None:
        response = self.create(client, org_id, "not-a-uuid")

        assert response.status_code == 400, response.text
        assert "artifact_id" in response.text

    def test_same_organization_works(
        self,
        client: TestClient,
        org_id: str,
        artifact_id: str,
        dispatched: RecordingDispatcher,
        database: Database,
        settings: Settings,
    ) -> None:
        response = self.create(client, org_id, artifact_id)
        assert response.status_code == 201, response.text
        assessment = str(response.json()["id"])

        run_now(client, assessment, dispatched, database, settings)

        report = client.get(f"/api/v1/assessments/{assessment}/report").json()
        assert [t["status"] for t in report["targets"]] == ["ok"]
        assert {"RSA-2048", "ML-KEM-768"} <= {a["name"] for a in report["assets"]}

    def test_store_refuses_another_organizations_document(
        self, artifact_id: str, other_org: str, database: Database
    ) -> None:
        store = ArtifactStore(database, uuid.UUID(other_org))

        with pytest.raises(InvalidInput), store(uuid.UUID(artifact_id)):
            pass

    def test_run_does_not_read_another_organizations_document(
        self,
        client: TestClient,
        artifact_id: str,
        other_org: str,
        dispatched: RecordingDispatcher,
        database: Database,
        settings: Settings,
    ) -> None:
        """A stored target that names someone else's document (an older row) reads nothing."""
        response = client.post(
            "/api/v1/assessments",
            json={"name": "tampered", "organization_id": other_org, "target_assets": []},
        )
        assessment = str(response.json()["id"])
        with database.unit_of_work() as uow:
            row = uow.session.get(Assessment, uuid.UUID(assessment))
            assert row is not None
            row.targets = [{"type": "cbom", "artifact_id": artifact_id}]

        response = client.post(f"/api/v1/assessments/{assessment}/run")
        assert response.status_code == 202, response.text
        run_id = uuid.UUID(dispatched.sent[-1].kwargs["run_id"])
        RunExecutor(database, settings).execute(run_id)

        run = client.get(f"/api/v1/assessments/{assessment}").json()
        report = client.get(f"/api/v1/assessments/{assessment}/report")
        assert run["status"] == "FAILED"
        assert "RSA-2048" not in report.text
