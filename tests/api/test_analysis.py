"""POST /score, /hndl, /migration-plan and GET /assessments/{id}/migration-plan: the original
fields, the new ones, and their errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qrap_core.db import Database
from qrap_core.enums import RiskLevel
from qrap_core.pipeline import RunExecutor
from qrap_core.scoring.aggregate import BANDS
from qrap_core.settings import Settings
from tests.conftest import VIEWER_KEY, RecordingDispatcher


def run_inventory(
    client: TestClient,
    org_id: str,
    database: Database,
    settings: Settings,
    dispatched: RecordingDispatcher,
    items: list[dict[str, Any]],
    **profile: Any,
) -> str:
    """Create an assessment of declared ``items``, run it in-process, return its id."""
    created = client.post(
        "/api/v1/assessments",
        json={
            "name": "risk engine",
            "organization_id": org_id,
            "targets": [{"type": "inventory", "name": "estate", "assets": items}],
            "data_profile": profile,
            "run": True,
        },
    )
    assert created.status_code == 202, created.text
    run_id = uuid.UUID(dispatched.sent[-1].kwargs["run_id"])
    assert RunExecutor(database, settings).execute(run_id).status == "COMPLETED"
    return str(created.json()["id"])


class TestScore:
    def test_original_request_and_response(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/score",
            json={
                "findings": [
                    {"category": "MISSING_PQC", "risk_level": "HIGH", "affected_asset": "vpn",
                     "current_algorithm": "RSA-2048", "recommended_algorithm": "ML-KEM-768"},
                    {"category": "WEAK_ALGORITHM", "risk_level": "CRITICAL",
                     "affected_asset": "legacy", "current_algorithm": "DES"},
                ],
                "total_assets": 4,
            },
        )  # fmt: skip
        assert response.status_code == 200, response.text
        body = response.json()
        assert {"risk_score", "overall_risk", "pqc_readiness", "finding_breakdown"} <= set(body)
        assert body["finding_breakdown"] == {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 0, "LOW": 0,
                                             "INFO": 0}  # fmt: skip
        assert body["pqc_readiness"] == 75.0
        assert body["overall_risk"] in ("CRITICAL", "HIGH", "MEDIUM", "LOW")
        assert body["model_version"].startswith("xgb-risk-")
        assert {a["affected_asset"] for a in body["assets"]} == {"vpn", "legacy"}
        assert body["assets"][0]["explanation"][0]["feature"]

    def test_assumptions_move_the_score(self, client: TestClient) -> None:
        request = {
            "findings": [{"category": "HARVEST_NOW_DECRYPT_LATER", "risk_level": "HIGH",
                          "affected_asset": "api", "current_algorithm": "X25519"}],
            "total_assets": 1,
        }  # fmt: skip
        calm = client.post(
            "/api/v1/score",
            json=request | {"data_shelf_life_years": 1, "sensitivity": "low",
                            "threat_model": "optimistic"},
        ).json()  # fmt: skip
        tense = client.post(
            "/api/v1/score",
            json=request | {"data_shelf_life_years": 30, "sensitivity": "critical",
                            "threat_model": "pessimistic"},
        ).json()  # fmt: skip
        assert tense["risk_score"] > calm["risk_score"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"findings": [{"category": "X", "risk_level": "HIGH"}], "total_assets": 1},
             "findings[0].category"),
            ({"findings": [{"category": "MISSING_PQC", "risk_level": "SEVERE"}],
              "total_assets": 1}, "findings[0].risk_level"),
            ({"findings": [], "total_assets": -1}, "total_assets"),
            ({"findings": []}, "total_assets"),
            ({"findings": [], "total_assets": 1, "colour": "red"}, "colour"),
        ],
    )  # fmt: skip
    def test_400_names_the_field(
        self, client: TestClient, body: dict[str, Any], field: str
    ) -> None:
        response = client.post("/api/v1/score", json=body)
        assert response.status_code == 400
        assert field in [d["field"] for d in response.json()["details"]]
        assert response.json()["error"]


class TestHndl:
    def test_original_fields_plus_new(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/hndl", json={"algorithm": "RSA-2048", "reference_year": 2026}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["algorithm"] == "RSA-2048"
        assert body["data_shelf_life_years"] == 10  # the original default
        assert body["estimated_break_year"] == 2040
        # 2026 + 10 + 3 - 2040 = -1: the window is never negative.
        assert body["risk_window_years"] == 0
        assert body["threat_model"] == "median"
        assert body["migration_time_years"] == 3.0
        assert body["reference_year"] == 2026
        assert 0.4 < body["probability_at_risk"] < 0.5
        # A 45 % chance of exposure: at risk, HIGH (>= 0.25), whatever the median year says.
        assert (body["is_at_risk"], body["urgency"]) == (True, "HIGH")

    @pytest.mark.parametrize(
        ("algorithm", "basis"),
        [("RSA-2048", "survey-median"), ("X25519", "survey-median"), ("DES", "broken-now"),
         ("ML-KEM-768", "survey-horizon"), ("AES-256", "survey-horizon"),
         ("SHA-256", "survey-horizon"), ("ML-DSA-65", "survey-horizon")],
    )  # fmt: skip
    def test_original_field_types(self, client: TestClient, algorithm: str, basis: str) -> None:
        response = client.post(
            "/api/v1/hndl",
            json={"algorithm": algorithm, "data_shelf_life_years": 15, "reference_year": 2026,
                  "migration_time_years": 2.5},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        body = response.json()
        assert type(body["estimated_break_year"]) is int  # never null for a known algorithm
        assert type(body["data_shelf_life_years"]) is int
        assert type(body["risk_window_years"]) is int
        assert body["risk_window_years"] >= 0
        assert type(body["is_at_risk"]) is bool
        assert body["data_shelf_life_years"] == 15
        assert body["break_year_basis"] == basis
        if basis == "survey-horizon":  # not broken by Shor: the survey's last year, no window
            assert body["estimated_break_year"] == 2055
            assert (body["risk_window_years"], body["is_at_risk"], body["urgency"]) == (
                0,
                False,
                "LOW",
            )

    def test_whole_years_of_shelf_life(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/hndl", json={"algorithm": "RSA-2048", "data_shelf_life_years": 7.5}
        )
        assert response.status_code == 400
        assert "data_shelf_life_years" in [d["field"] for d in response.json()["details"]]

    def test_long_secrets_under_a_pessimistic_model(self, client: TestClient) -> None:
        body = client.post(
            "/api/v1/hndl",
            json={"algorithm": "ecdh-sha2-nistp256", "data_shelf_life_years": 25,
                  "migration_time_years": 5, "threat_model": "pessimistic",
                  "reference_year": 2026},
        ).json()  # fmt: skip
        assert body["is_at_risk"] is True
        assert body["urgency"] == "CRITICAL"
        assert body["canonical_algorithm"] == "ECDH-P256"
        assert body["risk_window_years"] == 2026 + 25 + 5 - body["estimated_break_year"]

    def test_unknown_algorithm_is_400_naming_it(self, client: TestClient) -> None:
        response = client.post("/api/v1/hndl", json={"algorithm": "Frobnicate-9000"})
        assert response.status_code == 400
        body = response.json()
        assert "Frobnicate-9000" in body["error"]
        assert body["details"][0]["field"] == "algorithm"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "algorithm"),
            ({"algorithm": "RSA-2048", "data_shelf_life_years": -1}, "data_shelf_life_years"),
            ({"algorithm": "RSA-2048", "threat_model": "doom"}, "threat_model"),
        ],
    )
    def test_400_names_the_field(
        self, client: TestClient, body: dict[str, Any], field: str
    ) -> None:
        response = client.post("/api/v1/hndl", json=body)
        assert response.status_code == 400
        assert field in [d["field"] for d in response.json()["details"]]

    def test_viewers_may_ask(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/hndl",
            json={"algorithm": "X25519"},
            headers={"Authorization": f"ApiKey {VIEWER_KEY}"},
        )
        assert response.status_code == 200

    def test_needs_authentication(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/hndl", json={"algorithm": "X25519"}, headers={"Authorization": ""}
        )
        assert response.status_code == 401


class TestMigrationPlan:
    def test_original_fields_plus_phases(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/migration-plan",
            json={
                "assets": [
                    {"asset": "web", "algorithm": "X25519", "protocol": "TLSv1.3"},
                    {"asset": "payroll", "algorithm": "RSA-2048", "urgency": "CRITICAL",
                     "usage": "signature"},
                    {"asset": "root", "algorithm": "RSA-4096", "role": "root-ca"},
                    {"asset": "leaf", "algorithm": "ECDSA-P256", "role": "leaf-certificate",
                     "depends_on": ["root"]},
                    {"asset": "kem", "algorithm": "ML-KEM-768"},
                    {"asset": "odd", "algorithm": "GOST R 34.10-2012", "urgency": "low"},
                ]
            },
        )  # fmt: skip
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["total_assets"], body["critical_count"]) == (6, 1)
        assert body["estimated_phases"] == len(body["phases"])
        steps = {s["asset"]: s for s in body["steps"]}
        assert "kem" not in steps  # already on PQC
        assert body["steps"][0]["asset"] == "payroll"  # CRITICAL first
        for step in body["steps"]:
            assert {"asset", "current_algorithm", "target_algorithm", "priority",
                    "estimated_effort", "notes"} <= set(step)  # fmt: skip
        assert steps["web"]["target_algorithm"] == "X25519MLKEM768"
        assert steps["payroll"]["target_algorithm"] == "ML-DSA-65"
        assert steps["payroll"]["deadline"] == "2030-12-31"
        assert steps["root"]["target_algorithm"] == "SLH-DSA-SHA2-128s"
        assert steps["leaf"]["depends_on"] == ["root"]
        assert steps["root"]["phase"] < steps["leaf"]["phase"]
        assert body["unknown_algorithms"] == ["GOST R 34.10-2012"]
        assert body["skipped"][0]["asset"] == "kem"

    def test_cnsa2_profile(self, client: TestClient) -> None:
        body = client.post(
            "/api/v1/migration-plan",
            json={"profile": "cnsa2", "assets": [{"asset": "kt", "algorithm": "RSA-3072",
                                                   "usage": "key-transport"}]},
        ).json()  # fmt: skip
        assert body["profile"] == "cnsa2"
        assert body["steps"][0]["target_algorithm"] == "ML-KEM-1024"

    def test_400_names_the_field(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/migration-plan",
            json={"assets": [{"asset": "a", "algorithm": "RSA", "urgency": "SOON"}]},
        )
        assert response.status_code == 400
        assert "assets[0].urgency" in [d["field"] for d in response.json()["details"]]

    def test_for_an_assessment(
        self,
        client: TestClient,
        org_id: str,
        database: Database,
        settings: Settings,
        dispatched: RecordingDispatcher,
    ) -> None:
        assessment_id = run_inventory(
            client, org_id, database, settings, dispatched,
            [{"asset": "vpn", "algorithm": "RSA-2048", "usage": "key-transport"},
             {"asset": "signer", "algorithm": "ECDSA-P256", "usage": "signature"},
             {"asset": "disk", "algorithm": "AES-256-GCM", "usage": "encryption"}],
        )  # fmt: skip
        response = client.get(f"/api/v1/assessments/{assessment_id}/migration-plan")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["assessment_id"] == assessment_id
        assert body["run_id"]
        assert {s["asset"] for s in body["steps"]} == {"vpn", "signer"}
        phases = [p["key"] for p in body["phases"]]
        assert phases.index("key-establishment") < phases.index("signatures")
        cnsa = client.get(
            f"/api/v1/assessments/{assessment_id}/migration-plan", params={"profile": "cnsa2"}
        ).json()
        assert {s["target_algorithm"] for s in cnsa["steps"]} >= {"ML-KEM-1024", "ML-DSA-87"}
        # The JSON report's plan is the same plan.
        report = client.get(f"/api/v1/assessments/{assessment_id}/report").json()
        assert report["migration_plan"]["steps"] == body["steps"]

    def test_unknown_assessment_or_run_is_404(self, client: TestClient, org_id: str) -> None:
        assert client.get(f"/api/v1/assessments/{uuid.uuid4()}/migration-plan").status_code == 404
        created = client.post(
            "/api/v1/assessments", json={"name": "empty", "organization_id": org_id}
        ).json()
        empty = client.get(f"/api/v1/assessments/{created['id']}/migration-plan")
        assert empty.status_code == 200
        assert empty.json()["steps"] == []
        missing_run = client.get(
            f"/api/v1/assessments/{created['id']}/migration-plan",
            params={"run_id": str(uuid.uuid4())},
        )
        assert missing_run.status_code == 404


class TestRunsAreScoredByTheModel:
    def test_every_finding_carries_an_explanation_and_the_run_its_model(
        self,
        client: TestClient,
        org_id: str,
        database: Database,
        settings: Settings,
        dispatched: RecordingDispatcher,
    ) -> None:
        assessment_id = run_inventory(
            client, org_id, database, settings, dispatched,
            [{"asset": "vpn", "algorithm": "RSA-2048", "usage": "key-transport"},
             {"asset": "old", "algorithm": "DES"},
             {"asset": "disk", "algorithm": "AES-128", "usage": "encryption"},
             {"asset": "digest", "algorithm": "SHA-256", "usage": "hash"}],
            shelf_life_years=20,
        )  # fmt: skip
        detail = client.get(f"/api/v1/assessments/{assessment_id}").json()
        assert detail["latest_run"]["model_version"].startswith("xgb-risk-")
        findings = client.get(
            "/api/v1/findings", params={"assessment_id": assessment_id, "limit": 100}
        ).json()["findings"]
        assert findings
        for finding in findings:
            assert finding["explanation"], finding["rule_id"]
            assert finding["explanation"][-1]["feature"] == "(baseline)"
            assert finding["explanation"][-2]["feature"] == "(risk level band)"
            floor, ceiling = BANDS[RiskLevel(finding["risk_level"])]
            assert floor <= finding["risk_score"] <= ceiling
            assert finding["deadline"]
        # AES-128 and SHA-256 raise nothing.
        assert {f["affected_asset"] for f in findings} == {"vpn", "old"}
        assets = client.get(f"/api/v1/assessments/{assessment_id}/assets").json()["assets"]
        scores = {a["name"]: a["quantum_risk_score"] for a in assets}
        assert scores["disk"] < 30
        assert scores["digest"] < 30
        assert scores["old"] > scores["disk"]
