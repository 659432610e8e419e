"""``make bench``: QRAP's figures against this machine's limits, measured in one run.

Each part starts what it measures through the service's real entry points (uvicorn, Celery
workers, PostgreSQL and Redis on 127.0.0.1) on a scratch database and a private Redis
database, and compares it with a floor measured in the same run (the ``ratio``). A part that
fails records its error and the others still run. bench/README.md says what each figure means.

    .venv/bin/python bench/run.py                      # a-f, into bench/results/latest.json
    .venv/bin/python bench/run.py --parts a,e          # some parts, into bench/results/partial.json
    .venv/bin/python bench/run.py --profile bench/results/profiles   # py-spy for a, b and e

Sizes for a quick check: BENCH_A_SECONDS, BENCH_B_COMPONENTS, BENCH_C_ASSETS, BENCH_E_COUNT,
BENCH_F_ENDPOINTS, BENCH_F_SSLYZE_N (see bench/README.md).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg2  # type: ignore[import-untyped]  # noqa: E402  (no stubs; path set above)
import redis  # noqa: E402

from bench.parts.common import PG_ADMIN_DSN, REDIS_BASE, round_figures  # noqa: E402
from bench.parts.context import Context  # noqa: E402

PARTS = {
    "a": "a_submit",
    "b": "b_cbom",
    "c": "c_scoring",
    "d": "d_scaleout",
    "e": "e_small",
    "f": "f_discovery",
}
# The goals on a 2-core machine (bench/README.md): (figure, comparison, value).
GOALS: dict[str, list[tuple[str, str, float]]] = {
    "a_submit": [("ratio", ">=", 0.8), ("p99_ms", "<", 150)],
    "b_cbom": [("seconds", "<", 10), ("ratio", ">=", 0.7)],
    "c_scoring": [("ratio", ">=", 0.9)],
    "d_scaleout": [("ratio", ">=", 1.7)],
    "e_small": [("ratio", ">=", 0.25)],
    "f_discovery": [("seconds", "<", 30), ("ratio", ">=", 5)],
}
# The figures the table shows, in order; the JSON holds every figure a part returns.
SHOWN = {
    "a_submit": ["rps", "p50_ms", "p99_ms", "baseline_rps", "ratio"],
    "b_cbom": ["seconds", "components_per_s", "findings_rows_per_s", "copy_rows_per_s", "ratio",
               "peak_worker_rss_mb"],
    "c_scoring": ["assets_per_s", "raw_predict_rows_per_s", "ratio"],
    "d_scaleout": ["seconds_1", "seconds_2", "ratio"],
    "e_small": ["completed_per_s", "celery_noop_per_s", "ratio"],
    "f_discovery": ["seconds", "endpoints_per_s", "sslyze_endpoints_per_s", "ratio"],
}  # fmt: skip


def _version(*names: str) -> str | None:
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def _servers() -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        conn = psycopg2.connect(PG_ADMIN_DSN + " dbname=postgres")
        with conn, conn.cursor() as cursor:
            cursor.execute("SHOW server_version")
            found["postgres"] = str(cursor.fetchone()[0])
        conn.close()
    except psycopg2.Error as exc:
        found["postgres"] = f"unreachable: {exc}".strip()
    try:
        found["redis"] = str(redis.Redis.from_url(REDIS_BASE).info()["redis_version"])
    except redis.RedisError as exc:
        found["redis"] = f"unreachable: {exc}"
    return found


def machine() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "xgboost": _version("xgboost", "xgboost-cpu"),
        "sqlalchemy": _version("sqlalchemy"),
        "celery": _version("celery"),
        "fastapi": _version("fastapi"),
        "uvicorn": _version("uvicorn"),
        **_servers(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def run_part(key: str, ctx: Context) -> dict[str, Any]:
    """One part's figures, or its error; never raises."""
    name = PARTS[key]
    started = time.monotonic()
    try:
        module = importlib.import_module(f"bench.parts.{name}")
        figures: dict[str, Any] = module.run(ctx)
    except Exception as exc:  # a part's failure is its figure; the others still run
        figures = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        (ctx.logs / f"{name}.error.txt").write_text(traceback.format_exc())
    figures["elapsed_s"] = time.monotonic() - started
    figures["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return round_figures(figures)


def _goal_met(figures: dict[str, Any], figure: str, op: str, value: float) -> str:
    got = figures.get(figure)
    if not isinstance(got, int | float):
        return "-"
    met = got >= value if op == ">=" else got < value
    return "yes" if met else "no"


def table(figures: dict[str, dict[str, Any]]) -> str:
    lines = [f"{'part':<12} {'figure':<22} {'value':>14}  goal", "-" * 64]
    for name, found in figures.items():
        if "error" in found:
            lines.append(f"{name:<12} {'error':<22} {found['error'][:200]}")
            continue
        goals = {figure: (op, value) for figure, op, value in GOALS.get(name, [])}
        for figure in SHOWN.get(name, []):
            value = found.get(figure)
            shown = f"{value:,.2f}" if isinstance(value, int | float) else str(value)
            goal = ""
            if figure in goals:
                op, target = goals[figure]
                goal = f"{op} {target:g}: {_goal_met(found, figure, op, target)}"
            lines.append(f"{name:<12} {figure:<22} {shown:>14}  {goal}")
            name = ""
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default=os.environ.get("PARTS") or ",".join(PARTS))
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy profiles here")
    parser.add_argument("--logs", type=Path, default=ROOT / "bench" / "results" / "logs")
    args = parser.parse_args()
    # TERM (timeout, CI) unwinds like Ctrl-C: services stopped, scratch databases dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    keys = [k.strip() for k in args.parts.split(",") if k.strip()]
    unknown = [k for k in keys if k not in PARTS]
    if unknown or not keys:
        parser.error(f"--parts: unknown {unknown}; choose from {','.join(PARTS)}")
    every = set(keys) == set(PARTS)
    out = args.out or ROOT / "bench" / "results" / ("latest.json" if every else "partial.json")
    ctx = Context(logs=args.logs, profiles=args.profile)
    ctx.logs.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "machine": machine(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "figures": {},
    }
    started = time.monotonic()
    for key in sorted(keys):
        name = PARTS[key]
        print(f"== {name} ...", flush=True)
        ctx.results[name] = document["figures"][name] = run_part(key, ctx)
        print(json.dumps(ctx.results[name]), flush=True)
        document["total_seconds"] = round(time.monotonic() - started, 1)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(document, indent=2) + "\n")
    print()
    print(table(document["figures"]))
    print(f"\n{document['total_seconds']:.0f} s in all; written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
