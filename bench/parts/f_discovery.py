"""f_discovery: 1,000 local TLS endpoints (openssl s_server) fully probed by QRAP's discovery,
against sslyze on a sample with the same checks (bench/discovery.py's machinery)."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

from bench.discovery import scan_qrap, scan_sslyze, servers
from bench.parts.common import ROOT, env_int
from bench.parts.context import Context

SSLYZE_PYTHON = ROOT / ".venv-bench" / "bin" / "python"


def _rate(result: dict[str, Any]) -> float:
    return float(result["completed"]) / float(result["seconds"])


def run(ctx: Context) -> dict[str, Any]:
    count = env_int("BENCH_F_ENDPOINTS", 1000)
    sample = env_int("BENCH_F_SSLYZE_N", 100)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 16384)), hard))
    with servers(count) as ports:
        if len(ports) < count:
            raise RuntimeError(f"only {len(ports)} of {count} TLS servers started")
        ours = scan_qrap(ports, concurrency=256, timeout=10.0)
        if ours["completed"] != count:
            raise RuntimeError(f"QRAP probed {ours['completed']} of {count}: {ours['errors']}")
        figures: dict[str, Any] = {
            "seconds": ours["seconds"],
            "endpoints": count,
            "endpoints_per_s": _rate(ours),
            "client_cpu_seconds": ours["cpu_seconds"],
        }
        subset = ports[:sample]
        figures["qrap_sample_endpoints_per_s"] = _rate(scan_qrap(subset, 256, 10.0))
        if not Path(SSLYZE_PYTHON).exists():
            figures["sslyze_error"] = f"{SSLYZE_PYTHON} not found (make bench installs it)"
            return figures
        theirs = scan_sslyze(str(SSLYZE_PYTHON), subset, per_server=5, servers_at_once=32)
    figures["sslyze_endpoints_per_s"] = _rate(theirs)
    figures["sslyze_sample"] = len(subset)
    figures["ratio"] = figures["endpoints_per_s"] / figures["sslyze_endpoints_per_s"]
    (ctx.logs / "f_groups.txt").write_text(f"QRAP {ours['groups']}\nsslyze {theirs['curves']}\n")
    return figures
