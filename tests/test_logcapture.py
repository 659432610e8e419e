"""The session-wide log check (tests/logcapture.py) fails a session whose logs hold a secret,
under xdist too, and passes one whose logs are clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.logcapture import find_leaks

ROOT = Path(__file__).resolve().parents[1]
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJlLWJ5dGVz"
LEAKY = f'''
import logging
import structlog

def test_stdlib():
    logging.getLogger("leaky").warning("token %s", "{JWT}")

def test_structlog():
    structlog.get_logger().info("hook", note="whsec_" + "A" * 32)

def test_clean():
    logging.getLogger("clean").warning("GET /x?token=[redacted]")
'''
CLEAN = """
import logging

def test_clean():
    logging.getLogger("clean").warning("nothing to see: postgresql://qrap@db/qrap")
"""


def _run(tmp_path: Path, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_inner.py").write_text(source)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [
            sys.executable, "-m", "pytest", "-p", "tests.logcapture", "-p", "no:cacheprovider",
            "-q", "--basetemp", str(tmp_path / "inner"), "--rootdir", str(tmp_path), *args,
            "test_inner.py",
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


class TestFindLeaks:
    def test_known_secret_and_shapes(self) -> None:
        lines = [
            ("a", "Authorization: ApiKey s3cr3t-key-123"),
            ("b", f"bearer {JWT}"),
            ("c", "dsn postgresql://qrap:hunter22@db/qrap"),
            ("d", "[parameters: {'name': 'x'}]"),
            ("e", "dsn postgresql://qrap:[redacted]@db/qrap [parameters: [redacted]]"),
        ]

        leaks = find_leaks(lines, {"s3cr3t-key-123": "an API key"})

        assert [leak.split(":")[0] for leak in leaks] == [
            "an API key in a",
            "a JWT in b",
            "a password in a URL in c",
            "SQL parameters in d",
        ]
        assert all("s3cr3t-key-123" not in leak and JWT not in leak for leak in leaks)


class TestSession:
    @pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
    def test_a_leak_fails_the_session(self, tmp_path: Path, workers: list[str]) -> None:
        result = _run(tmp_path, LEAKY, *workers)

        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert "hold a secret" in output
        assert "a JWT in logging:leaky" in output
        assert "a webhook secret in structlog" in output
        assert JWT not in output  # the report names the kind of secret, never the secret

    def test_clean_logs_pass(self, tmp_path: Path) -> None:
        result = _run(tmp_path, CLEAN)

        assert result.returncode == 0, result.stdout + result.stderr
