"""A quick CLI: what ``qrap --help`` and ``qrap assess`` load before they answer or probe.

Seconds on a shared machine are noise (``bench/cli_startup.py`` prints them); which modules
are loaded is not. Each check runs the real command in a fresh interpreter and lists the
modules present at the moment that matters: the help text printed, the first connect.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

# Loaded only where they are used: by scoring, by SSH probes, by reports, by migrations.
HEAVY = ("xgboost", "numpy", "scipy", "alembic", "paramiko", "qrap_core.reports.model")

_AT_FIRST_CONNECT = """
import asyncio.selector_events as events, json, sys
target = sys.argv[1]
original = events.BaseSelectorEventLoop.sock_connect
async def spy(self, sock, address):
    if not getattr(spy, "seen", False):
        spy.seen = True
        with open(target, "w") as out:
            json.dump(sorted(sys.modules), out)
    return await original(self, sock, address)
events.BaseSelectorEventLoop.sock_connect = spy
sys.argv = ["qrap", *sys.argv[2:]]
from qrap_cli.main import app
app()
"""


def _loaded(modules: list[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_help_loads_no_pipeline() -> None:
    code = (
        "import sys, json\nsys.argv = ['qrap', '--help']\nfrom qrap_cli.main import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    for name in (*HEAVY, "sqlalchemy", "pydantic_settings", "qrap_core.pipeline", "rich.progress"):
        assert not _loaded(modules, name), f"qrap --help loads {name}"


@pytest.mark.parametrize("at_head", [False, True], ids=["new-database", "database-at-head"])
def test_assess_probes_before_loading_the_model(tmp_path: Path, at_head: bool) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    database = tmp_path / "embedded.db"
    seen = tmp_path / "modules.json"
    command = [sys.executable, "-c", _AT_FIRST_CONNECT, str(seen), "assess",
               f"tls://127.0.0.1:{port}", "--db", str(database), "--format", "json"]  # fmt: skip
    try:
        if at_head:  # a first run creates the database; the measured one finds it current
            subprocess.run(command, capture_output=True, timeout=120, check=False)
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    finally:
        listener.close()
    assert seen.exists(), done.stderr
    modules = json.loads(seen.read_text())
    assert _loaded(modules, "qrap_core.discovery.tls")
    expected_heavy = ("alembic",) if not at_head else ()  # a new database is migrated first
    for name in HEAVY:
        if name not in expected_heavy:
            assert not _loaded(modules, name), f"{name} is loaded before the first probe"
