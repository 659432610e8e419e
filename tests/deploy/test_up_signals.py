"""`make up` (scripts/up.sh) stops its four services together whichever process gets TERM:
`make` itself (which does not reliably pass it on) or the script. The `make up` log at info
level holds no periodic wake-ups (beat's webhook dispatch every 2 s logs at debug)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAMP = ".venv/.installed"
START_SECONDS = 120
STOP_SECONDS = 60
SERVICES = ("qrap serve", "worker", "beat", "flower")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _wait_for(condition: object, what: str, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]  # a callable
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen; make up's log:\n{log.read_text()[-4000:]}")
        time.sleep(0.5)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture
def make_up(
    pg_url: str, broker_url: str, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path, int]]:
    api_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QRAP_", "QUANTUN_"))}
    env |= {
        "QRAP_DATABASE_URL": pg_url,
        "QRAP_REDIS_URL": broker_url,
        "QRAP_API_PORT": str(api_port),
        "QRAP_WORKER_METRICS_PORT": "0",
        "QRAP_LOG_LEVEL": "info",
        "FLOWER_PORT": "0",
        "BEAT_SCHEDULE": str(tmp_path / "beat-schedule"),
        "TMPDIR": str(tmp_path),
    }
    log = tmp_path / "make-up.log"
    with log.open("wb") as out:
        # -o: never rebuild .venv here, whatever the timestamps say
        process = subprocess.Popen(
            ["make", "--no-print-directory", "-o", STAMP, "up"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield process, log, api_port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        for pid in _alive(_descendants(process.pid)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=30)


def _started(process: subprocess.Popen[bytes], log: Path, api_port: int) -> set[int]:
    _wait_for(lambda: _healthy(api_port), "the API answering /healthz", log, START_SECONDS)
    _wait_for(lambda: b" ready." in log.read_bytes(), "the worker ready", log, START_SECONDS)
    _wait_for(
        lambda: all(any(s in _cmdline(p) for p in _descendants(process.pid)) for s in SERVICES),
        "all four services running",
        log,
        START_SECONDS,
    )
    return _descendants(process.pid)


def _script_pid(process: subprocess.Popen[bytes]) -> int:
    scripts = [p for p in _descendants(process.pid) if "scripts/up.sh" in _cmdline(p)]
    assert scripts, "scripts/up.sh is not running under make"
    return min(scripts)


@pytest.mark.parametrize("target", ["make", "up.sh"])
def test_term_stops_every_service(
    make_up: tuple[subprocess.Popen[bytes], Path, int], target: str
) -> None:
    process, log, api_port = make_up
    started = _started(process, log, api_port)
    time.sleep(5)  # a few of beat's 2-second wake-ups
    os.kill(process.pid if target == "make" else _script_pid(process), signal.SIGTERM)
    _wait_for(lambda: not _alive(started), "every service stopping", log, STOP_SECONDS)
    process.wait(timeout=STOP_SECONDS)
    text = log.read_text()
    # Periodic wake-ups log at debug: none of beat's sends appear at info.
    assert "dispatch-webhooks" not in text
    assert "Traceback" not in text
