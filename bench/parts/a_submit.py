"""a_submit: POST /api/v1/assessments (authentication, validation, audit, enqueue after commit)
under 50 connections for 15 s from a separate load-generator process, against a bare
insert-and-enqueue FastAPI app under the same uvicorn flags."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import psycopg2  # type: ignore[import-untyped]  # no stubs among the dev tools

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
)
from bench.parts.context import Context

WRK = shutil.which("wrk")
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def load(
    st: Stack, url: str, body: dict[str, Any], connections: int, seconds: int
) -> dict[str, Any]:
    """Drive ``url`` with wrk (Debian's) or, without it, bench/parts/loadgen.py."""
    body_file = st.logs / "a_body.json"
    body_file.write_text(json.dumps(body))
    header = f"Authorization: ApiKey {st.api_key}"
    if WRK is None:
        argv = [PYTHON, "-m", "bench.parts.loadgen", "--url", url, "--header", header]
        argv += ["--body-file", str(body_file), "--connections", str(connections)]
        argv += ["--duration", str(seconds)]
        out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        result["generator"] = "loadgen.py (httpx, asyncio)"
        return result
    script = st.logs / "a_post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "ApiKey {st.api_key}"\n'
        f"wrk.body = [==[{json.dumps(body)}]==]\n"
    )
    argv = [WRK, "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s"]
    argv += ["--latency", "-s", str(script), url]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    (st.logs / "a_wrk.txt").open("a").write(out)
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, Any]:
    def latency(pct: str) -> float:
        found = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if found is None:
            raise ValueError(f"no {pct}% latency in wrk's output:\n{out}")
        return float(found.group(1)) * _UNITS[found.group(2)]

    requests = re.search(r"(\d+) requests in ([\d.]+)(ms|s)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if requests is None or rps is None:
        raise ValueError(f"unexpected wrk output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests": int(requests.group(1)),
        "rps": float(rps.group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
        "generator": "wrk",
    }


def _count(st: Stack, table: str) -> int:
    with psycopg2.connect(libpq_dsn(st.db_url)) as conn, conn.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608  (a fixed table name)
        return int(cursor.fetchone()[0])


def run(ctx: Context) -> dict[str, Any]:
    connections = env_int("BENCH_A_CONNECTIONS", 50)
    seconds = env_int("BENCH_A_SECONDS", 15)
    with stack("a", ctx.logs) as st:
        with api(st) as (process, port), client(st, port) as http:
            body = {
                "name": "bench submit",
                "organization_id": organization(http),
                "target_assets": ["127.0.0.1:9"],
                "run": True,
            }
            url = f"http://127.0.0.1:{port}/api/v1/assessments"
            with profiled(process.pid, ctx.profile("a_submit_api")):
                ours = load(st, url, body, connections, seconds)
        created = _count(st, "assessments")
        with api(st, "baseline.log", "bench.parts.baseline_app:create_app") as (_, port):
            base = load(st, f"http://127.0.0.1:{port}/submit", body, connections, seconds)
        inserted = _count(st, "bench_baseline")
    return {
        "rps": ours["rps"],
        "p50_ms": ours["p50_ms"],
        "p99_ms": ours["p99_ms"],
        "baseline_rps": base["rps"],
        "ratio": ours["rps"] / base["rps"],
        "baseline_p50_ms": base["p50_ms"],
        "baseline_p99_ms": base["p99_ms"],
        "non_2xx": ours.get("non_2xx", 0),
        "assessments_created": created,
        "baseline_rows": inserted,
        "connections": connections,
        "duration_s": seconds,
        "generator": ours["generator"],
    }
