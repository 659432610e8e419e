"""What every part starts: a scratch database, a private Redis database, the API under uvicorn,
Celery workers, an admin client, RSS sampling and py-spy profiles.

Everything listens on and dials 127.0.0.1 only. Each scratch resource is removed on the way
out, also when a part fails.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg2  # type: ignore[import-untyped]  # no stubs among the dev tools
import redis

from bench.parts.profile import summarize
from qrap_core import migrate
from qrap_worker.queues import QUEUES

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
PG_ADMIN_DSN = os.environ.get("BENCH_PG_DSN", "host=127.0.0.1 port=5432 user=postgres")
REDIS_BASE = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
# Redis databases the bench may take (the test suite locks 8-15); one is locked per stack.
REDIS_DBS = [int(n) for n in os.environ.get("BENCH_REDIS_DBS", "1,2,3,4,5,6,7").split(",")]
_REDIS_LOCK = "qrap:bench-lock"
# The uvicorn command line of docker/Dockerfile's API image, on a loopback port.
UVICORN_FLAGS = [
    "--host", "127.0.0.1", "--timeout-graceful-shutdown", "20", "--no-server-header",
    "--http", "h11", "--h11-max-incomplete-event-size", "16384", "--timeout-keep-alive", "75",
]  # fmt: skip
# The worker command line of docker/Dockerfile's CPU worker image (every queue but the GPU's).
WORKER_QUEUES = ",".join(q for q in QUEUES if q != "scoring.gpu")
WORKER_FLAGS = ["--prefetch-multiplier", "1", "--without-gossip", "--without-mingle", "-E"]


def env_int(name: str, default: int) -> int:
    """A size from the environment (``BENCH_*``), so a quick run can scale a part down."""
    return int(os.environ.get(name, default))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def admin_exec(sql: str) -> None:
    conn = psycopg2.connect(PG_ADMIN_DSN + " dbname=postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()


@contextlib.contextmanager
def scratch_database(tag: str) -> Iterator[str]:
    """A database of this bench run's own, built by the migrations; dropped afterwards."""
    name = f"qrap_bench_{tag}_{os.getpid()}"
    admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_exec(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    try:
        migrate.upgrade(url)
        yield url
    finally:
        admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def libpq_dsn(url: str) -> str:
    """The psycopg2 DSN of a ``postgresql+psycopg2://`` URL."""
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """One of ``REDIS_DBS`` locked for this stack's lifetime, flushed before and after."""
    token = f"{os.getpid()}-{secrets.token_hex(8)}"
    for number in REDIS_DBS:
        client = redis.Redis.from_url(f"{REDIS_BASE}/{number}")
        if client.set(_REDIS_LOCK, token, nx=True, ex=3600):
            client.flushdb()
            client.set(_REDIS_LOCK, token, ex=3600)
            try:
                yield f"{REDIS_BASE}/{number}"
            finally:
                if client.get(_REDIS_LOCK) == token.encode():
                    client.flushdb()
                client.close()
            return
        client.close()
    raise RuntimeError(f"every bench Redis database ({REDIS_DBS}) is locked by another bench")


@dataclass
class Stack:
    """A scratch database and broker, the environment the services read, and their logs."""

    db_url: str
    broker_url: str
    logs: Path
    api_key: str = field(default_factory=lambda: "bench-" + secrets.token_hex(20))

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QRAP_", "QUANTUN_"))}
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "QRAP_DATABASE_URL": self.db_url,
                "QRAP_REDIS_URL": self.broker_url,
                "QUANTUN_API_KEYS": f"{self.api_key}:bench-admin:admin",
                "QRAP_RATE_LIMIT": "1000000000",  # one key sends every request
                "QRAP_SCAN_ALLOW_NETWORKS": "127.0.0.0/8",
                "QRAP_LOG_LEVEL": "info",
                "QRAP_WORKER_METRICS_PORT": "0",  # several workers on one host
            }
        )
        env.update(extra)
        return env


@contextlib.contextmanager
def stack(tag: str, logs: Path) -> Iterator[Stack]:
    logs.mkdir(parents=True, exist_ok=True)
    with scratch_database(tag) as db_url, private_redis() as broker_url:
        yield Stack(db_url=db_url, broker_url=broker_url, logs=logs)


@contextlib.contextmanager
def service(
    argv: list[str], env: dict[str, str], log: Path, ready: Callable[[], bool], timeout: float = 90
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv``, wait until ``ready()``; on the way out TERM it (KILL after 30 s)."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{argv[:4]} did not start:\n{tail}")
            time.sleep(0.2)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def answers(port: int, path: str = "/healthz") -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1.0).status_code < 500
        except httpx.HTTPError:
            return False

    return check


@contextlib.contextmanager
def api(
    st: Stack, log_name: str = "api.log", app: str = "qrap_api.app:create_app"
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The API (or another app factory) under uvicorn with the image's flags: (process, port)."""
    port = free_port()
    argv = [PYTHON, "-m", "uvicorn", app, "--factory", "--port", str(port), *UVICORN_FLAGS]
    with service(argv, st.env(), st.logs / log_name, answers(port)) as process:
        yield process, port


def worker(
    st: Stack, concurrency: int, name: str, app: str = "qrap_worker.app", queues: str = ""
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """A Celery worker node with the image's flags and ``concurrency`` prefork children."""
    log = st.logs / f"{name}.log"
    argv = [PYTHON, "-m", "celery", "-A", app, "worker", "-Q", queues or WORKER_QUEUES]
    argv += [*WORKER_FLAGS, "-l", "INFO", "-c", str(concurrency), "-n", f"{name}-{os.getpid()}@%h"]
    offset = log.stat().st_size if log.exists() else 0
    return service(argv, st.env(), log, lambda: b" ready." in _tail(log, offset))


def _tail(log: Path, offset: int) -> bytes:
    with log.open("rb") as handle:
        handle.seek(offset)
        return handle.read()


def client(st: Stack, port: int) -> httpx.Client:
    return httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"ApiKey {st.api_key}"},
        timeout=httpx.Timeout(600.0),
    )


def organization(http: httpx.Client) -> str:
    response = http.post("/api/v1/organizations", json={"name": f"bench-{secrets.token_hex(4)}"})
    response.raise_for_status()
    return str(response.json()["id"])


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                queue.extend(int(c) for c in children)
    return found


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """Samples the resident memory of some process trees every ``interval`` seconds.

    ``peak_total_mb`` is the largest sum over all their processes at one sample, and
    ``peak_process_mb`` the largest single process seen.
    """

    def __init__(self, pids: list[int], interval: float = 0.25) -> None:
        self.pids = pids
        self.interval = interval
        self.peak_total_mb = 0.0
        self.peak_process_mb = 0.0
        self.baseline_total_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> float:
        sizes = [rss_mb(p) for root in self.pids for p in descendants(root)]
        self.peak_process_mb = max([self.peak_process_mb, *sizes])
        total = sum(sizes)
        self.peak_total_mb = max(self.peak_total_mb, total)
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> RssSampler:
        self.baseline_total_mb = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


@contextlib.contextmanager
def profiled(pid: int, out: Path | None) -> Iterator[None]:
    """py-spy samples ``pid`` and its children while the block runs (nothing when ``out`` is
    None); the raw collapsed stacks go to ``out``, a summary next to it. Only threads holding
    the GIL are sampled (``--gil``): where the CPU goes, not where threads wait (a PostgreSQL
    round trip, an idle AnyIO thread), which a plain sample counts as busy."""
    if out is None:
        yield
        return
    pyspy = Path(PYTHON).with_name("py-spy")
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(pyspy), "record", "--pid", str(pid), "--subprocesses", "--gil", "--format", "raw"]
    argv += ["--rate", "50", "--output", str(out), "--nonblocking"]
    log = out.with_suffix(".log").open("wb")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(1.0)  # attach before the measured work starts
        yield
    finally:
        stop(process, signal.SIGINT)
        log.close()
        if out.exists():
            out.with_suffix(".summary.txt").write_text(summarize(out))


def round_figures(figures: dict[str, Any]) -> dict[str, Any]:
    """Floats to 3 decimal places for the JSON (the rest is noise on a shared host)."""
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}
