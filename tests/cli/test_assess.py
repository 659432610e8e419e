"""`qrap assess` runs the real pipeline in-process on an embedded SQLite database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qrap_cli.demo_server import serve_tls

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "qrap_core" / "examples"
CERTS = EXAMPLES / "certs"


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

    def test_unreachable_target_is_a_target_error(self, tmp_path: Path) -> None:
        result = qrap("assess", "127.0.0.1:1", "--format", "json", tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["targets"][0]["status"] == "error"
        assert report["findings"] == []

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
