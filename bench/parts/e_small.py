"""e_small: 5,000 one-target inventory assessments submitted at once (50 connections, from a
separate process) and run to the end, against Celery no-op tasks on the same broker with the
same worker settings."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import psycopg2  # type: ignore[import-untyped]  # no stubs among the dev tools
import redis
from celery import Celery

from bench.parts.common import (
    PYTHON,
    ROOT,
    Stack,
    api,
    client,
    env_int,
    libpq_dsn,
    organization,
    profiled,
    stack,
    worker,
)
from bench.parts.context import Context
from qrap_core.settings import Settings
from qrap_worker.app import configure

NOOP_COUNTER = "bench:noop-done"  # the key bench/parts/noop_worker.py increments
ITEM = {"asset": "vpn gateway", "algorithm": "RSA-2048", "usage": "signature", "key_size": 2048}


def _submit(st: Stack, port: int, org: str, count: int) -> dict[str, Any]:
    body = {
        "name": "bench small",
        "organization_id": org,
        "targets": [{"type": "inventory", "assets": [ITEM]}],
        "run": True,
    }
    body_file = st.logs / "e_body.json"
    body_file.write_text(json.dumps(body))
    argv = [PYTHON, "-m", "bench.parts.loadgen", "--header", f"Authorization: ApiKey {st.api_key}"]
    argv += ["--url", f"http://127.0.0.1:{port}/api/v1/assessments", "--body-file", str(body_file)]
    argv += ["--connections", "50", "--count", str(count)]
    out = subprocess.run(argv, cwd=ROOT, env=st.env(), capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _finished(st: Stack) -> tuple[int, int]:
    with psycopg2.connect(libpq_dsn(st.db_url)) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED')),"
            " count(*) FILTER (WHERE status = 'FAILED') FROM assessments"
        )
        done, failed = cursor.fetchone()
        return int(done), int(failed)


def assessments(ctx: Context, st: Stack, count: int, concurrency: int) -> dict[str, Any]:
    timeout = env_int("BENCH_E_TIMEOUT", 300)
    with (
        api(st) as (_, port),
        client(st, port) as http,
        worker(st, concurrency, "e-worker") as node,
        profiled(node.pid, ctx.profile("e_small_worker")),
    ):
        org = organization(http)
        submitted = _submit(st, port, org, count)
        # A submission lost to a timeout on a loaded host is counted, not waited for.
        accepted = int(submitted["statuses"].get("202", 0))
        if accepted < count * 0.99:
            raise RuntimeError(f"submissions answered {submitted['statuses']}")
        # Bounded: past the deadline the rate is what ended so far over the time it took.
        deadline = time.monotonic() + timeout
        while (finished := _finished(st))[0] < accepted and time.monotonic() < deadline:
            time.sleep(0.2)
        seconds = time.time() - submitted["started_at"]
    return {
        "completed_per_s": finished[0] / seconds,
        "completed": finished[0],
        "timed_out": finished[0] < accepted,
        "accepted": accepted,
        "submit_statuses": submitted["statuses"],
        "seconds": seconds,
        "submit_seconds": submitted["seconds"],
        "submit_p99_ms": submitted["p99_ms"],
        "failed": finished[1],
    }


def noop(st: Stack, count: int, concurrency: int) -> float:
    """No-op tasks per second, publishing included, through a worker with QRAP's settings."""
    counter = redis.Redis.from_url(st.broker_url)
    counter.delete(NOOP_COUNTER)
    app = Celery("bench-noop-client")
    configure(app, Settings(redis_url=st.broker_url, database_url=st.db_url))
    timeout = env_int("BENCH_E_TIMEOUT", 900)
    with worker(st, concurrency, "e-noop", app="bench.parts.noop_worker", queues="assessments"):
        started = time.perf_counter()
        for _ in range(count):
            app.send_task("bench.noop", queue="assessments")
        deadline = time.monotonic() + timeout
        while (done := int(counter.get(NOOP_COUNTER) or 0)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{done} of {count} no-op tasks ran in {timeout} s")
            time.sleep(0.05)
        seconds = time.perf_counter() - started
    counter.close()
    return count / seconds


def run(ctx: Context) -> dict[str, Any]:
    count = env_int("BENCH_E_COUNT", 5000)
    concurrency = env_int("BENCH_E_CONCURRENCY", 2)  # QRAP_WORKER_CONCURRENCY's default
    with stack("e", ctx.logs) as st:
        figures = assessments(ctx, st, count, concurrency)
        figures["celery_noop_per_s"] = noop(st, count, concurrency)
    figures["ratio"] = figures["completed_per_s"] / figures["celery_noop_per_s"]
    figures.update(count=count, worker_concurrency=concurrency)
    return figures
