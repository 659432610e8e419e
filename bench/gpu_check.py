"""GPU check for the shipped risk model: same scores and SHAP contributions on CUDA as on CPU.

Two steps, because the GPU machine has XGBoost and NumPy but not QRAP's other dependencies:

    # here: the distinct feature rows of a realistic estate, built by QRAP's own code
    .venv/bin/python bench/gpu_check.py export --assets 200000 --out .gpu/rows.npy
    # on the GPU machine: only numpy and xgboost (with CUDA)
    python3 bench/gpu_check.py run --rows .gpu/rows.npy --n 1000000

`run` tiles the rows to N, predicts and computes contributions on the CPU and on CUDA with the
shipped booster, prints both timings, and fails if any score or contribution differs by more
than a float32 tolerance.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import xgboost as xgb

ARTIFACTS = Path(__file__).resolve().parent.parent / "qrap_core" / "scoring" / "artifacts"


def _shipped_model() -> Path:
    models = sorted(p for p in ARTIFACTS.glob("risk-model-*.json") if ".meta" not in p.name)
    if not models:
        raise SystemExit(f"no risk-model-*.json in {ARTIFACTS}")
    return models[-1]


def export(assets: int, out: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scoring import NOW, estate  # the scoring benchmark's estate generator

    from qrap_core.scoring.base import ScoringContext
    from qrap_core.scoring.features import extract
    from qrap_core.scoring.model import load_model, unique_rows

    model = load_model()
    found, findings = estate(assets, 11)
    ctx = ScoringContext(now=NOW, shelf_life_years=10, migration_years=3, crqc_year=2035)
    rows = extract(found, findings, model.feature_context(ctx))
    distinct, _ = unique_rows(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, np.asarray(distinct, dtype=np.float32))
    print(f"{len(distinct):,} distinct rows of {len(found):,} assets -> {out}")


def _timed(label: str, work: object) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    result = work()  # type: ignore[operator]  # a zero-argument callable
    seconds = time.perf_counter() - start
    print(f"  {label:<40} {seconds:8.3f} s")
    return result, seconds


def run(rows_path: Path, n: int) -> int:
    rows = np.load(rows_path)
    reps = -(-n // len(rows))
    data = np.tile(rows, (reps, 1))[:n]
    model_path = _shipped_model()
    print(f"xgboost {xgb.__version__}, model {model_path.name}, {n:,} rows x {data.shape[1]}")
    results: dict[str, dict[str, float]] = {}
    outputs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for device in ("cpu", "cuda"):
        booster = xgb.Booster()
        booster.load_model(str(model_path))
        booster.set_param({"device": device})
        names = booster.feature_names
        matrix = xgb.DMatrix(data, missing=np.nan, feature_names=names)
        print(f"{device}:")
        warm = xgb.DMatrix(data[:1000], missing=np.nan, feature_names=names)
        booster.predict(warm)  # warm-up: the first CUDA call builds the context
        scores, t_pred = _timed("predict", lambda b=booster, m=matrix: b.predict(m))
        contribs, t_contrib = _timed(
            "predict + contributions", lambda b=booster, m=matrix: b.predict(m, pred_contribs=True)
        )
        outputs[device] = (scores, contribs)
        results[device] = {"predict_rows_per_s": n / t_pred, "contribs_rows_per_s": n / t_contrib}
    score_diff = float(np.max(np.abs(outputs["cpu"][0] - outputs["cuda"][0])))
    contrib_diff = float(np.max(np.abs(outputs["cpu"][1] - outputs["cuda"][1])))
    print(json.dumps({"results": results, "max_score_diff": score_diff,
                      "max_contribution_diff": contrib_diff}, indent=2))  # fmt: skip
    for device in ("cpu", "cuda"):
        r = results[device]
        print(f"{device:>4}: predict {r['predict_rows_per_s']:14,.0f} rows/s, "
              f"with contributions {r['contribs_rows_per_s']:14,.0f} rows/s")  # fmt: skip
    ok = score_diff < 1e-4 and contrib_diff < 1e-3
    print("CUDA matches CPU" if ok else "MISMATCH between CUDA and CPU")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("export")
    exp.add_argument("--assets", type=int, default=200_000)
    exp.add_argument("--out", type=Path, default=Path(".gpu/rows.npy"))
    chk = sub.add_parser("run")
    chk.add_argument("--rows", type=Path, default=Path(".gpu/rows.npy"))
    chk.add_argument("--n", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.command == "export":
        export(args.assets, args.out)
        return 0
    return run(args.rows, args.n)


if __name__ == "__main__":
    raise SystemExit(main())
