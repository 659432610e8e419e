"""c_scoring: bench/scoring.py in a subprocess (1,000,000 assets by default): assets scored
per second with explanations against XGBoost's raw predict on the same rows."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.parts.common import PYTHON, ROOT, env_int
from bench.parts.context import Context

SCRIPT = ROOT / "bench" / "scoring.py"
# The lines bench/scoring.py prints, for a version without --json.
_PRINTED = {
    "assets_per_s": r"features \+ predict \+ contributions\s+([\d,.]+) /s",
    "features_predict_assets_per_s": r"features \+ predict\s+([\d,.]+) /s",
    "raw_predict_rows_per_s": r"predict, no dedup\s+([\d,.]+) rows/s",
    "contributions_rows_per_s": r"SHAP contributions, no dedup\s+([\d,.]+) rows/s",
}


def supports_json() -> bool:
    helptext = subprocess.run(
        [PYTHON, str(SCRIPT), "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return "--json" in helptext


def parse_printed(out: str) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name, pattern in _PRINTED.items():
        found = re.search(pattern, out)
        if found is not None:
            figures[name] = float(found.group(1).replace(",", ""))
    if "assets_per_s" not in figures or "raw_predict_rows_per_s" not in figures:
        raise ValueError(f"bench/scoring.py printed no figures I know:\n{out[-2000:]}")
    return figures


def run(ctx: Context) -> dict[str, Any]:
    assets = env_int("BENCH_C_ASSETS", 1_000_000)
    argv = [PYTHON, str(SCRIPT), "--assets", str(assets)]
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "scoring.json"
        as_json = supports_json()
        if as_json:
            argv += ["--json", str(target)]
        # Bounded so that make bench ends: past it the part records the timeout as its error.
        timeout = env_int("BENCH_C_TIMEOUT", 600)
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        (ctx.logs / "c_scoring.log").write_text(done.stdout + done.stderr)
        done.check_returncode()
        if as_json:
            loaded = json.loads(target.read_text())
            figures: dict[str, Any] = dict(loaded.get("c_scoring", loaded))
        else:
            figures = parse_printed(done.stdout)
    if "ratio" not in figures:
        figures["ratio"] = figures["assets_per_s"] / figures["raw_predict_rows_per_s"]
    figures["assets"] = assets
    figures["source"] = "bench/scoring.py --json" if as_json else "bench/scoring.py (printed)"
    return figures
