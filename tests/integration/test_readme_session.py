"""The README's curl session runs as written, twice in a row, against a real API (uvicorn) and
Celery worker started here on free ports with the session's PostgreSQL database and Redis.

The block between ``<!-- session:start -->`` and ``<!-- session:end -->`` is run by
``bash -euo pipefail``: every curl uses --fail-with-body, so any refused step fails the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from qrap_core.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.conftest import ROOT, worker_env

pytestmark = pytest.mark.integration

README = ROOT / "README.md"
BLOCK = re.compile(r"<!-- session:start -->\s*```sh\n(?P<code>.*?)```\s*<!-- session:end -->", re.S)
START_SECONDS = 90
SESSION_SECONDS = 240


def session_code() -> str:
    blocks = BLOCK.findall(README.read_text(encoding="utf-8"))
    assert len(blocks) == 1, "README.md must hold exactly one marked session block"
    code: str = blocks[0]
    return code


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait(ready: object, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not ready():  # type: ignore[operator]  # a callable
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.3)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture
def service(settings: Settings, tmp_path: Path) -> Iterator[dict[str, str]]:
    """uvicorn and a worker as `make up` runs them; the environment a second shell needs."""
    env = {k: v for k, v in worker_env(settings).items() if not k.startswith("QUANTUN_")}
    env |= {"QUANTUN_JWT_SECRET": JWT_SECRET, "PYTHONPATH": str(ROOT)}
    port = _free_port()
    api_log, worker_log = tmp_path / "api.log", tmp_path / "worker.log"
    processes = []
    try:
        with api_log.open("wb") as out:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "qrap_api.app:create_app", "--factory",
                 "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            ))  # fmt: skip
        with worker_log.open("wb") as out:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "qrap_worker.app", "worker",
                 "-Q", "assessments,scoring.cpu,maintenance,webhooks", "-c", "2",
                 "--prefetch-multiplier", "1", "-l", "INFO", "-n", f"readme-{os.getpid()}@%h"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            ))  # fmt: skip
        _wait(lambda: _healthy(port), "the API", api_log)
        _wait(lambda: b" ready." in worker_log.read_bytes(), "the worker", worker_log)
        yield env | {"API": f"http://127.0.0.1:{port}/api/v1", "TLS_PORT": str(_free_port())}
    finally:
        for process in processes:
            _stop(process)


def _run_session(env: dict[str, str], log: Path) -> str:
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", session_code()],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            code = process.wait(timeout=SESSION_SECONDS)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the TLS server, if a step failed
    output = log.read_text()
    assert code == 0, f"the README session failed (exit {code}):\n{output[-6000:]}"
    return output


def _objects(output: str) -> list[dict[str, object]]:
    """The JSON objects jq printed, in order."""
    decoder, found, index = json.JSONDecoder(), [], 0
    while (start := output.find("{", index)) != -1:
        try:
            value, index = decoder.raw_decode(output, start)
        except json.JSONDecodeError:
            index = start + 1
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def test_session_runs_twice_as_written(service: dict[str, str], tmp_path: Path) -> None:
    for attempt in (1, 2):
        output = _run_session(service, tmp_path / f"session-{attempt}.log")
        objects = _objects(output)
        status = next(o for o in objects if "overall_risk" in o and "progress" in o)
        assert status["status"] == "COMPLETED", output
        assert status["overall_risk"] in ("CRITICAL", "HIGH"), output
        assert any(o.get("rule_id") for o in objects), "no HIGH finding listed"
        assert {"triage_status": "accepted_risk", "analyst_risk_level": "MEDIUM"} in objects
        assert any("estimated_break_year" in o for o in objects)
        assert any("risk_score" in o and "progress" not in o for o in objects)
        assert any(o.get("asset") == "vpn-gw" and o.get("target_algorithm") for o in objects)
        # The TLS server the session started was probed: its target has a result, no error.
        target = f"127.0.0.1:{service['TLS_PORT']}"
        assert {"target": target, "status": "ok"}.items() <= next(
            o for o in objects if o.get("target") == target
        ).items(), output
        assert "QRAP_SCAN_ALLOW_NETWORKS" not in output, "the probe of the local server was refused"
        assert "null" not in re.findall(r'"id": (\S+)', output)
