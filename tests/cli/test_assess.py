"""`qrap assess` runs the real pipeline in-process on an embedded SQLite database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qrap_cli import remote
from qrap_cli.demo_server import serve_tls
from qrap_cli.main import app
from qrap_core.reports.model import Report
from tests.reports.sample import sample_report

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "qrap_core" / "examples"
CERTS = EXAMPLES / "certs"


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound once to learn a free number, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def qrap(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QRAP_", "QUANTUN_"))}
    env["XDG_DATA_HOME"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-m", "qrap_cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


class TestAssess:
    def test_json_report_for_certificate_inventory_and_tls(self, tmp_path: Path) -> None:
        with serve_tls(CERTS / "tls-server.pem", CERTS / "tls-server.key") as port:
            result = qrap(
                "assess", f"127.0.0.1:{port}",
                "--cert", str(CERTS / "rsa1024.pem"),
                "--cert", str(CERTS / "expired-rsa2048.pem"),
                "--inventory", str(EXAMPLES / "inventory.json"),
                "--shelf-life", "25",
                "--format", "json",
                tmp_path=tmp_path,
            )  # fmt: skip
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["assessment"]["status"] == "COMPLETED"
        assert report["assessment"]["data_profile"]["shelf_life_years"] == 25
        categories = {f["category"] for f in report["findings"]}
        assert {"SHORT_KEY_LENGTH", "CERTIFICATE_EXPIRY", "MISSING_PQC"} <= categories
        assert "HARVEST_NOW_DECRYPT_LATER" in categories
        assert {t["status"] for t in report["targets"]} == {"ok"}
        assert report["assessment"]["summary"]["total_findings"] == len(report["findings"])
        assert (tmp_path / "qrap" / "embedded.db").exists()

    def test_table_output(self, tmp_path: Path) -> None:
        result = qrap("assess", "--cert", str(CERTS / "rsa1024.pem"), tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "SHORT_KEY_LENGTH" in result.stdout
        assert "risk score" in result.stdout

    def test_a_run_that_assessed_nothing_exits_nonzero_with_the_error(
        self, tmp_path: Path, closed_port: int
    ) -> None:
        target = f"127.0.0.1:{closed_port}"
        result = qrap("assess", target, "--format", "json", tmp_path=tmp_path)
        assert result.returncode == 1
        assert result.stdout == ""  # no report that reads "LOW risk, score 0"
        assert "the run ended FAILED: no target could be assessed" in result.stderr
        assert f"{target}: cannot connect" in result.stderr

    def test_a_partial_run_says_which_targets_could_not_be_assessed(
        self, tmp_path: Path, closed_port: int
    ) -> None:
        target = f"127.0.0.1:{closed_port}"
        result = qrap(
            "assess", target, "--cert", str(CERTS / "rsa2048.pem"), "--format", "json",
            tmp_path=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"1 of 2 targets could not be assessed: {target}: cannot connect" in result.stderr
        report = json.loads(result.stdout)
        summary = report["assessment"]["summary"]
        assert (summary["targets_failed"], summary["targets_total"], summary["partial"]) == (
            1,
            2,
            True,
        )
        assert {t["target"]: t["status"] for t in report["targets"]}[target] == "error"
        assert report["findings"]

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["assess", "--cert", "/nonexistent.pem"], "cannot read certificate"),
            (["assess", "not a host!"], "neither a host name"),
            (["assess"], "nothing to assess"),
            (["assess", "example.com", "--format", "xml"], "--format"),
        ],
    )
    def test_bad_input_exits_nonzero_with_one_line(
        self, tmp_path: Path, args: list[str], message: str
    ) -> None:
        result = qrap(*args, tmp_path=tmp_path)
        assert result.returncode == 2
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1

    def test_malformed_certificate_file(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.pem"
        bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
        result = qrap("assess", "--cert", str(bad), tmp_path=tmp_path)
        assert result.returncode == 2
        assert "certificate" in result.stderr.lower()

    def test_fail_on_threshold(self, tmp_path: Path) -> None:
        result = qrap(
            "assess", "--cert", str(CERTS / "rsa1024.pem"), "--fail-on", "high", tmp_path=tmp_path
        )
        assert result.returncode == 3


def _remote_report(targets: list[dict[str, Any]], status: str = "COMPLETED") -> Report:
    failed = sum(1 for t in targets if t["status"] != "ok")
    summary = {"targets_total": len(targets), "targets_failed": failed, "total_findings": 0}
    return sample_report(
        assessment={"name": "r", "status": status}, summary=summary, targets=targets
    )


class TestAssessRemote:
    """The --api-url path reads the run's status and report from the server (stubbed here;
    tests/integration/test_remote_cli.py runs it against a real one)."""

    def test_a_failed_run_exits_nonzero_with_its_error(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        error = "no target could be assessed: 10.0.0.9:443: cannot connect"
        failed = {"target": "10.0.0.9:443", "type": "tls", "status": "error", "error": "x"}
        answer = ("FAILED", error, _remote_report([failed], "FAILED"))
        monkeypatch.setattr(remote, "assess_remote", lambda *_a, **_k: answer)
        result = CliRunner().invoke(
            app, ["assess", "10.0.0.9:443", "--api-url", "http://qrap.invalid", "--format", "json"]
        )
        assert result.exit_code == 1
        assert f"the run ended FAILED: {error}" in result.output

    def test_a_partial_run_prints_the_failed_targets(self, monkeypatch: pytest.MonkeyPatch) -> None:
        targets = [
            {"target": "a:443", "type": "tls", "status": "ok"},
            {"target": "b:443", "type": "tls", "status": "error", "error": "timed out"},
            {"target": "c:443", "type": "tls", "status": "error", "error": "refused"},
        ]
        answer = ("COMPLETED", "", _remote_report(targets))
        monkeypatch.setattr(remote, "assess_remote", lambda *_a, **_k: answer)
        result = CliRunner().invoke(
            app,
            ["assess", "a:443", "b:443", "c:443", "--api-url", "http://qrap.invalid",
             "--format", "json"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert (
            "2 of 3 targets could not be assessed: b:443: timed out; c:443: refused"
            in result.output
        )
