#!/usr/bin/env python3
"""Container health check for every QRAP process: ``qrap-healthcheck [api|worker|beat|flower]``.

Without an argument the role is read from the container's command line (PID 1, or the process
docker-init started), so one HEALTHCHECK serves the image whichever process it runs:

- api:    GET /healthz on the uvicorn port (``--port``, else QRAP_API_PORT, else 8083): 200 when
          PostgreSQL and Redis answer.
- worker: a Celery ``ping`` to this container's node (``celery@<hostname>``) through the broker.
- flower: GET /healthcheck on Flower's port (``--port``, else FLOWER_PORT, else 5555); that page
          needs no credentials.
- beat and one-shot commands (alembic): healthy while the process runs.

Exit status 0 healthy, 1 unhealthy (Docker's convention). Standard library only, except the
worker check, which imports the Celery app the worker itself runs.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 5.0


def _command_line() -> list[str]:
    try:
        with open("/proc/1/cmdline", "rb") as handle:
            return [part.decode(errors="replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        return []


def _role(argv: list[str]) -> str:
    words = {os.path.basename(part) for part in argv}
    if "flower" in words:
        return "flower"
    if "worker" in words:
        return "worker"
    if "beat" in words:
        return "beat"
    if words & {"uvicorn", "serve"}:
        return "api"
    return "other"


def _option(argv: list[str], name: str) -> str | None:
    for index, part in enumerate(argv):
        if part == name and index + 1 < len(argv):
            return argv[index + 1]
        if part.startswith(name + "="):
            return part.split("=", 1)[1]
    return None


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        sys.stderr.write(f"unhealthy: {url}: {exc}\n")
        return 1
    if status != 200:
        sys.stderr.write(f"unhealthy: {url} answered {status}\n")
        return 1
    return 0


def _worker() -> int:
    from qrap_worker.app import celery_app

    node = f"celery@{socket.gethostname()}"
    replies = celery_app.control.ping(destination=[node], timeout=TIMEOUT_SECONDS, limit=1)
    if not replies:
        sys.stderr.write(f"unhealthy: {node} did not answer a ping\n")
        return 1
    return 0


def main(args: list[str]) -> int:
    argv = _command_line()
    role = args[0] if args else _role(argv)
    if role == "api":
        port = _option(argv, "--port") or os.environ.get("QRAP_API_PORT") or "8083"
        return _get(f"http://127.0.0.1:{port}/healthz")
    if role == "flower":
        port = _option(argv, "--port") or os.environ.get("FLOWER_PORT") or "5555"
        return _get(f"http://127.0.0.1:{port}/healthcheck")
    if role == "worker":
        return _worker()
    if role in ("beat", "other"):
        return 0
    sys.stderr.write(f"unknown role {role!r}: use api, worker, beat or flower\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
