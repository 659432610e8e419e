"""`qrap assess --cert` on a CA bundle: accepted, truthful, quiet, and limits that name the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from qrap_core.discovery.certificate import MAX_CERTIFICATE_BYTES, MAX_CERTIFICATES
from tests import cabundle

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]


def qrap(
    *args: str, home: Path, python_flags: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    # No inherited warning options: the run must be quiet by itself.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QRAP_", "QUANTUN_")) and k != "PYTHONWARNINGS"
    }
    env["XDG_DATA_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, *python_flags, "-m", "qrap_cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )


@pytest.fixture(scope="session")
def bundle_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "ca-certificates.crt"
    path.write_bytes(cabundle.bundle().pem)
    return path


@pytest.fixture(scope="session")
def run(
    bundle_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> subprocess.CompletedProcess[str]:
    """One JSON assessment of the 150-root bundle, shared by the checks below."""
    home = tmp_path_factory.mktemp("home")
    return qrap("assess", "--cert", str(bundle_file), "--format", "json", home=home)


@pytest.fixture(scope="session")
def report(run: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert run.returncode == 0, run.stderr
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def _by_subject(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    subjects = {asset["id"]: asset["details"]["subject"] for asset in report["assets"]}
    found: dict[str, list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        found.setdefault(subjects[finding["asset_id"]], []).append(finding)
    return found


class TestBundle:
    def test_accepted(self, report: dict[str, Any]) -> None:
        [target] = report["targets"]
        assert target["target"] == "ca-certificates.crt"
        assert target["status"] == "ok"
        assert target["details"]["certificates"] == 150
        assert len(report["assets"]) == 150
        serials = {a["details"]["serial_number"] for a in report["assets"]}
        assert {"-11d4c2142bde21eb579d53fb0c223bff", "0"} <= serials

    def test_no_library_warning_reaches_the_terminal(
        self, run: subprocess.CompletedProcess[str]
    ) -> None:
        for stream in (run.stdout, run.stderr):
            assert "Warning" not in stream  # CryptographyDeprecationWarning, DeprecationWarning
        assert run.stderr.strip() == ""

    def test_the_bundle_does_make_cryptography_warn(self, tmp_path: Path) -> None:
        # Proves the check above is not vacuous: with -W the user gets the warnings back.
        odd = [r for r in cabundle.bundle().roots if r.nonpositive_serial]
        assert len(odd) == 2
        path = tmp_path / "odd.pem"
        path.write_bytes(b"".join(r.pem for r in odd))
        result = qrap(
            "assess", "--cert", str(path), "--format", "json",
            home=tmp_path, python_flags=("-W", "default"),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "CryptographyDeprecationWarning" in result.stderr

    def test_expired_roots_are_reported_as_expired(self, report: dict[str, Any]) -> None:
        by_subject = _by_subject(report)
        expired = [r for r in cabundle.bundle().roots if r.expired]
        assert len(expired) == 15
        for root in expired:
            findings = {f["rule_id"]: f for f in by_subject[root.subject]}
            assert findings["QRAP-CERT-002"]["risk_level"] == "LOW"
            assert "expired on" in findings["QRAP-CERT-002"]["description"]
            assert findings["QRAP-PQC-002"]["risk_level"] == "INFO"
            assert "stays valid" not in findings["QRAP-PQC-002"]["description"]
            for finding in findings.values():
                assert "Plan re-issuance" not in finding["remediation"]
                assert "Renew" not in finding["remediation"]

    def test_root_self_signatures_are_info(self, report: dict[str, Any]) -> None:
        levels = Counter(
            f["risk_level"] for f in report["findings"] if f["rule_id"] == "QRAP-CERT-001"
        )
        assert levels == {"INFO": sum(r.sha1 for r in cabundle.bundle().roots)}


class TestLimits:
    def test_too_many_certificates_names_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "huge-bundle.pem"
        path.write_bytes(cabundle.over_limit(MAX_CERTIFICATES + 1))
        result = qrap("assess", "--cert", str(path), home=tmp_path)
        assert result.returncode == 2
        assert f"{path}: too many PEM blocks: 1,001 (at most 1,000" in result.stderr

    def test_too_many_bytes_names_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "padded.pem"
        path.write_bytes(cabundle.over_limit(1) + b"#" * MAX_CERTIFICATE_BYTES)
        result = qrap("assess", "--cert", str(path), home=tmp_path)
        assert result.returncode == 2
        assert f"{path}: " in result.stderr
        assert "more than the limit of 4,194,304 bytes" in result.stderr

    def test_a_bad_block_names_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "cut.pem"
        path.write_bytes(cabundle.bundle().pem[:-40])
        result = qrap("assess", "--cert", str(path), home=tmp_path)
        assert result.returncode == 2
        assert f"{path}: truncated PEM" in result.stderr
