"""How fast the CLI answers: ``qrap --help`` and the time ``qrap assess`` takes to its first probe.

Runs each command N times in fresh interpreters and prints percentiles. The first probe is
the moment a loopback listener started here accepts the CLI's first connection; the target
then closes it, so the run ends quickly. The embedded database is created by a warm-up run
first (a user's second command), and bytecode is written as an installed package would have.

    .venv/bin/python bench/cli_startup.py [-n 20]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

QRAP = str(Path(sys.executable).with_name("qrap"))


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"min {ordered[0]:.3f} s  p50 {statistics.median(ordered):.3f} s  p90 {p90:.3f} s"


def _help(runs: int, env: dict[str, str]) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([QRAP, "--help"], env=env, capture_output=True, check=True)
        samples.append(time.perf_counter() - started)
    return samples


def _first_probe(runs: int, env: dict[str, str], database: Path) -> list[float]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    accepted: list[float] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(time.perf_counter())
            connection.close()

    threading.Thread(target=accept, daemon=True).start()
    command = [QRAP, "assess", f"tls://127.0.0.1:{port}", "--db", str(database), "--format", "json"]
    subprocess.run(command, env=env, capture_output=True, check=False)  # warm-up: creates the db
    samples = []
    for _ in range(runs):
        accepted.clear()
        started = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=False)
        if accepted:
            samples.append(accepted[0] - started)
    listener.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=10)
    runs = parser.parse_args().runs
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as scratch:
        help_samples = _help(runs, env)
        probe_samples = _first_probe(runs, env, Path(scratch) / "embedded.db")
    print(f"qrap --help               {_percentiles(help_samples)}  (goal < 0.3 s)")
    print(f"qrap assess: first probe  {_percentiles(probe_samples)}  (goal < 1 s)")


if __name__ == "__main__":
    main()
