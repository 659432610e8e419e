"""`qrap hndl`, `qrap plan` and `qrap model info`: the API's answers on the command line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from qrap_cli.main import app
from qrap_core.scoring.training import SHIPPED_VERSION

runner = CliRunner()


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The commands read settings from the environment: start each test from the defaults.
    for name in ("QRAP_THREAT_MODEL", "QRAP_MODEL_VERSION", "QRAP_MODEL_DIR",
                 "QRAP_CRQC_SURVEY_FILE", "QRAP_DEFAULT_MIGRATION_YEARS"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    # The commands configure logging onto the CliRunner's stderr, which is closed after each
    # invocation: put the process's logging back so later tests do not write to it.
    structlog_config = structlog.get_config()
    root_handlers = logging.root.handlers[:]
    yield
    structlog.configure(**structlog_config)
    logging.root.handlers[:] = root_handlers


class TestHndl:
    def test_json_has_the_api_fields(self) -> None:
        result = runner.invoke(
            app, ["hndl", "RSA-2048", "--shelf-life", "15", "--reference-year", "2026",
                  "--format", "json"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert body["data_shelf_life_years"] == 15
        assert body["estimated_break_year"] == 2040
        assert body["risk_window_years"] == 4
        assert type(body["risk_window_years"]) is type(body["data_shelf_life_years"]) is int
        # The window alone says MEDIUM; exposure is more likely than not, so CRITICAL.
        assert body["probability_at_risk"] >= 0.5
        assert (body["is_at_risk"], body["urgency"]) == (True, "CRITICAL")

    def test_table(self) -> None:
        result = runner.invoke(app, ["hndl", "X25519", "--threat-model", "pessimistic"])
        assert result.exit_code == 0, result.output
        assert "probability_at_risk" in result.stdout
        assert "pessimistic" in result.stdout

    def test_unknown_algorithm(self) -> None:
        result = runner.invoke(app, ["hndl", "Frobnicate-9000"])
        assert result.exit_code == 2
        assert "unknown algorithm 'Frobnicate-9000'" in result.output


class TestPlan:
    def test_json_plan_from_a_file(self, tmp_path: Path) -> None:
        path = tmp_path / "assets.json"
        path.write_text(
            json.dumps(
                {"assets": [
                    {"asset": "web", "algorithm": "X25519", "protocol": "TLSv1.3"},
                    {"asset": "root", "algorithm": "RSA-4096", "role": "root-ca",
                     "urgency": "high"},
                    {"asset": "done", "algorithm": "ML-KEM-768"},
                ]}
            )
        )  # fmt: skip
        result = runner.invoke(app, ["plan", str(path), "--format", "json"])
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert [s["asset"] for s in body["steps"]] == ["root", "web"]
        assert body["skipped"][0]["asset"] == "done"
        cnsa = json.loads(
            runner.invoke(app, ["plan", str(path), "--profile", "cnsa2", "--format", "json"]).stdout
        )
        # CNSA 2.0 wants category 5: even ML-KEM-768 moves.
        assert {s["target_algorithm"] for s in cnsa["steps"]} == {
            "ML-DSA-87",
            "SecP384r1MLKEM1024",
            "ML-KEM-1024",
        }

    def test_table_lists_phases(self, tmp_path: Path) -> None:
        path = tmp_path / "assets.json"
        path.write_text(json.dumps([{"asset": "old", "algorithm": "3DES"}]))
        result = runner.invoke(app, ["plan", str(path)])
        assert result.exit_code == 0, result.output
        assert "Phase 1: Retire classically broken cryptography" in result.stdout
        assert "AES-256-GCM" in result.stdout

    def test_invalid_input_names_the_field(self, tmp_path: Path) -> None:
        path = tmp_path / "assets.json"
        path.write_text(json.dumps({"assets": [{"asset": "a"}]}))
        result = runner.invoke(app, ["plan", str(path)])
        assert result.exit_code == 2
        assert "assets.0.algorithm" in result.output

    def test_not_json(self, tmp_path: Path) -> None:
        path = tmp_path / "assets.json"
        path.write_text("{")
        assert runner.invoke(app, ["plan", str(path)]).exit_code == 2


class TestModel:
    def test_info_describes_the_shipped_model(self) -> None:
        result = runner.invoke(app, ["model", "info"])
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert body["model_id"] == f"xgb-risk-{SHIPPED_VERSION}"
        assert body["device"] == "cpu"
        assert len(body["features"]) == 22
        assert body["metrics"]["r2"] > 0.95

    def test_train_needs_somewhere_to_write(self, monkeypatch: pytest.MonkeyPatch) -> None:
        result = runner.invoke(app, ["model", "train"])
        assert result.exit_code == 2
        assert "QRAP_MODEL_DIR" in result.output
