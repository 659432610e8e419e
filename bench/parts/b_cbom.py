"""b_cbom: a 100,000-component CBOM uploaded to an assessment and run to COMPLETED through
uvicorn and Celery worker processes, against a raw COPY of the same findings rows."""

from __future__ import annotations

import contextlib
import io
import time
from functools import lru_cache
from typing import Any

import httpx
import psycopg2  # type: ignore[import-untyped]  # no stubs among the dev tools

from bench.parts import cbom_doc
from bench.parts.common import (
    RssSampler,
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

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED"}


@lru_cache(maxsize=1)
def _document(components: int) -> bytes:
    return cbom_doc.document(components)


def components() -> int:
    return env_int("BENCH_B_COMPONENTS", 100_000)


def _wait(http: httpx.Client, assessment_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = http.get(f"/api/v1/assessments/{assessment_id}").json()
        if body["status"] in TERMINAL:
            return body
        if time.monotonic() > deadline:
            raise TimeoutError(f"assessment still {body['status']} after {timeout:.0f} s")
        time.sleep(0.25)


def _prepare(http: httpx.Client, document: bytes) -> tuple[str, float]:
    """A new assessment with the CBOM uploaded: (id, upload seconds)."""
    org = organization(http)
    created = http.post("/api/v1/assessments", json={"name": "bench cbom", "organization_id": org})
    created.raise_for_status()
    assessment_id = str(created.json()["id"])
    started = time.perf_counter()
    uploaded = http.post(
        f"/api/v1/assessments/{assessment_id}/artifacts",
        files={"file": ("estate.cdx.json", document, "application/json")},
    )
    uploaded.raise_for_status()
    return assessment_id, time.perf_counter() - started


def _rows(st: Stack, assessment_id: str) -> tuple[int, int]:
    with psycopg2.connect(libpq_dsn(st.db_url)) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM findings WHERE assessment_id = %s", (assessment_id,))
        findings = int(cursor.fetchone()[0])
        cursor.execute(
            "SELECT count(*) FROM crypto_assets WHERE assessment_id = %s", (assessment_id,)
        )
        return findings, int(cursor.fetchone()[0])


def copy_rows_per_s(st: Stack, assessment_id: str) -> tuple[float, int]:
    """Raw psycopg2 COPY of the run's own findings rows into a scratch table of the same shape
    (columns, defaults, indexes; no foreign keys), commit included."""
    buffer = io.BytesIO()
    conn = psycopg2.connect(libpq_dsn(st.db_url))
    try:
        with conn.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_copy")
            cursor.execute("CREATE TABLE bench_copy (LIKE findings INCLUDING ALL)")
            conn.commit()
            query = cursor.mogrify(
                "COPY (SELECT * FROM findings WHERE assessment_id = %s) TO STDOUT",
                (assessment_id,),
            ).decode()
            cursor.copy_expert(query, buffer)
            rows = buffer.getvalue().count(b"\n")
            buffer.seek(0)
            started = time.perf_counter()
            cursor.copy_expert("COPY bench_copy FROM STDIN", buffer)
            conn.commit()
            seconds = time.perf_counter() - started
            cursor.execute("DROP TABLE bench_copy")
            conn.commit()
    finally:
        conn.close()
    return rows / seconds, rows


def measure(ctx: Context, nodes: int, tag: str, profile: str | None = None) -> dict[str, Any]:
    """One CBOM run with ``nodes`` worker nodes of one process each."""
    count = components()
    document = _document(count)
    with stack(tag, ctx.logs) as st, api(st) as (_, port), client(st, port) as http:
        assessment_id, upload_seconds = _prepare(http, document)
        with contextlib.ExitStack() as workers:
            started = [workers.enter_context(worker(st, 1, f"{tag}-w{n}")) for n in range(nodes)]
            sampler = RssSampler([p.pid for p in started])
            trace = ctx.profile(profile) if profile else None
            with sampler, profiled(started[0].pid, trace):
                begun = time.perf_counter()
                http.post(f"/api/v1/assessments/{assessment_id}/run").raise_for_status()
                final = _wait(http, assessment_id, env_int("BENCH_B_TIMEOUT", 900))
                seconds = time.perf_counter() - begun
        if final["status"] != "COMPLETED":
            raise RuntimeError(f"run ended {final['status']}: {final.get('error')}")
        findings, assets = _rows(st, assessment_id)
        copy_rate, copied = copy_rows_per_s(st, assessment_id)
    return {
        "seconds": seconds,
        "upload_seconds": upload_seconds,
        "components": count,
        "document_mb": len(document) / 1e6,
        "components_per_s": count / seconds,
        "findings_rows": findings,
        "asset_rows": assets,
        "findings_rows_per_s": findings / seconds,
        "copy_rows_per_s": copy_rate,
        "copy_rows": copied,
        "ratio": (findings / seconds) / copy_rate,
        "peak_worker_rss_mb": sampler.peak_total_mb,
        "peak_worker_process_rss_mb": sampler.peak_process_mb,
        "idle_worker_rss_mb": sampler.baseline_total_mb,
        "worker_nodes": nodes,
    }


def run(ctx: Context) -> dict[str, Any]:
    return measure(ctx, nodes=1, tag="b", profile="b_cbom_worker")
