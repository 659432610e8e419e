"""Benchmark: what one report download costs the API (prints figures; not a test).

Seeds a completed assessment of N sampled assets (100,000 by default) and their findings in a
database of its own on the local PostgreSQL (COPY, as a run writes them), starts the API under
uvicorn, and downloads ``GET /api/v1/assessments/{id}/report`` once per format, reading the body
as a stream. For each format it prints the seconds, the bytes and the API process's resident
memory: before, the peak during the download (VmHWM, reset through ``/proc/PID/clear_refs``
before each download) and the growth (peak minus before).

    .venv/bin/python bench/report_memory.py [--assets 100000] [--formats json,csv,...]

Needs PostgreSQL (trust auth, user postgres) and Redis on 127.0.0.1; the database is dropped
at the end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.reportseed: the seeding the memory tests use

from qrap_core import migrate  # noqa: E402  # after the path above
from qrap_core.db import Database  # noqa: E402
from tests.reportseed import seed_run  # noqa: E402

ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
API_KEY = "bench-admin-key-0123456789abcdef"
JWT_SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"  # noqa: S105  # local only
FORMATS = ("json", "csv", "cbom", "sarif", "html")


def admin(sql: str) -> None:
    connection = psycopg2.connect(ADMIN_DSN)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def start_api(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ) | {
        "QRAP_DATABASE_URL": url,
        "QRAP_REDIS_URL": "redis://127.0.0.1:6379/7",
        "QUANTUN_API_KEYS": f"{API_KEY}:bench:admin",
        "QUANTUN_JWT_SECRET": JWT_SECRET,
        "QRAP_RATE_LIMIT": "1000000",
        "QRAP_LOG_LEVEL": "warning",
    }
    command = [
        sys.executable, "-m", "uvicorn", "qrap_api.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", trust_env=False).status_code < 500:
                return process
        except httpx.TransportError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit(f"the API did not start; see {log}")


def download(client: httpx.Client, pid: int, path: str, fmt: str) -> dict[str, float]:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = status_kib(pid, "VmRSS")
    started = time.perf_counter()
    size = 0
    with client.stream("GET", path, params={"format": fmt}) as response:
        if response.status_code != 200:
            raise SystemExit(f"{fmt}: {response.status_code} {response.read()[:300]!r}")
        for chunk in response.iter_raw():
            size += len(chunk)
    seconds = time.perf_counter() - started
    peak = status_kib(pid, "VmHWM")
    return {"seconds": seconds, "bytes": size, "before": before, "peak": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--port", type=int, default=18_731)
    args = parser.parse_args()

    name = f"qrap_bench_report_{os.getpid()}"
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{name}"')
    try:
        migrate.upgrade(url)
        database = Database(url)
        started = time.perf_counter()
        with database.unit_of_work() as uow:
            seeded = seed_run(uow, assets=args.assets)
        database.dispose()
        print(f"seeded {seeded.assets:,} assets and {seeded.findings:,} findings "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        log = Path(f"/tmp/qrap-bench-report-{uuid.uuid4().hex[:8]}.log")  # noqa: S108  # a log
        api = start_api(url, args.port, log)
        try:
            path = f"/api/v1/assessments/{seeded.assessment_id}/report"
            headers = {"Authorization": f"ApiKey {API_KEY}"}
            print(f"{'format':<7} {'seconds':>8} {'MB':>9} {'RSS before MB':>14} "
                  f"{'peak MB':>8} {'growth MB':>10}")  # fmt: skip
            with httpx.Client(
                base_url=f"http://127.0.0.1:{args.port}", headers=headers, timeout=1800,
                trust_env=False,
            ) as client:  # fmt: skip
                for fmt in args.formats.split(","):
                    f = download(client, api.pid, path, fmt)
                    print(f"{fmt:<7} {f['seconds']:8.1f} {f['bytes'] / 1e6:9.1f} "
                          f"{f['before'] / 1024:14.0f} {f['peak'] / 1024:8.0f} "
                          f"{(f['peak'] - f['before']) / 1024:10.0f}", flush=True)  # fmt: skip
        finally:
            api.terminate()
            api.wait(30)
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
