"""Benchmark: risk-model scoring throughput for a large estate (prints figures; not a test).

One assessment of N crypto assets (1,000,000 by default) under one run's assumptions, drawn
from the training sampler's site generator (TLS endpoints with chains, SSH servers, uploaded
certificates, declared inventories) over many hosts. The rules raise the findings first (not
timed as scoring). Then:

- ``assets_per_s``: ``XGBoostRiskModel.score_assets`` end to end (features, deduplication,
  prediction, SHAP explanations as the API serves them);
- ``raw_predict_rows_per_s``: ``booster.inplace_predict`` on the same N-row feature matrix;
- ``ratio``: the first over the second; and a breakdown of where the time goes.

Both are timed ``--repeat`` times, alternately, and the medians reported (the machine is
shared: alternating keeps the two figures under the same load); CPU seconds are printed too.

    .venv/bin/python bench/scoring.py [--assets 1000000] [--repeat 3] [--device cpu|cuda]
                                      [--json PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import xgboost as xgb

from qrap_core.discovery.types import CryptoAsset
from qrap_core.rules import RuleContext, evaluate
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring.base import ScoringContext
from qrap_core.scoring.features import Matrix, extract
from qrap_core.scoring.model import XGBoostRiskModel, explanations, load_model, unique_rows
from qrap_core.scoring.shap import distinct
from qrap_core.scoring.training import (
    SHIPPED_VERSION,
    SiteSampler,
    artifact_paths,
    dmatrix,
    shipped_directory,
)

T = TypeVar("T")
NOW = datetime(2026, 11, 28, tzinfo=UTC)


def timed(label: str, work: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    print(f"  {label:<44} {seconds:8.2f} s")
    return result, seconds


def estate(count: int, seed: int) -> tuple[list[CryptoAsset], list[FindingDraft]]:
    """``count`` assets from sites, with each site's findings (indices into the whole list)."""
    sampler = SiteSampler(seed, NOW, NOW)
    assets: list[CryptoAsset] = []
    findings: list[FindingDraft] = []
    rule_ctx = RuleContext(now=NOW, shelf_life_years=10, migration_years=3)
    index = 0
    while len(assets) < count:
        site = sampler.site(index, NOW)[: count - len(assets)]
        # Many hosts, as a large estate has: the location is part of each asset's identity.
        offset = len(assets)
        for finding in evaluate(site, rule_ctx):
            findings.append(_shift(finding, offset))
        assets.extend(site)
        index += 1
    return assets, findings


def _shift(finding: FindingDraft, offset: int) -> FindingDraft:
    return replace(finding, asset_index=finding.asset_index + offset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=3, help="timings to take the median of")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--json", type=Path, help="also write the figures here (c_scoring)")
    args = parser.parse_args()

    model = load_model(device=args.device)
    model_path, _, _ = artifact_paths(shipped_directory(), SHIPPED_VERSION)
    print(f"model {model.version}: {model_path.stat().st_size / 1024:.0f} KiB JSON, "
          f"{model.booster.num_boosted_rounds()} trees")  # fmt: skip
    print(f"xgboost {xgb.__version__} on {model.device}, {os.cpu_count()} CPUs")
    print(f"building {args.assets:,} assets ...")
    (assets, findings), _ = timed("sites + rules (not part of the model)", lambda: estate(
        args.assets, args.seed))  # fmt: skip
    ctx = ScoringContext(now=NOW, shelf_life_years=10, migration_years=3, crqc_year=2035)
    n = len(assets)
    print(f"{n:,} assets, {len(findings):,} findings")

    scores, _ = timed("score_assets (with explanations, first call)", lambda: (
        model.score_assets(assets, findings, ctx)))  # fmt: skip
    if len(scores) != n:
        raise SystemExit(f"{len(scores)} scores for {n} assets")
    # The steps as score_assets runs them: with the cyclic garbage collector paused.
    gc.disable()
    rows, t_features = timed("  features", lambda: extract(
        assets, findings, model.feature_context(ctx)))  # fmt: skip
    d, c, t_parts = breakdown(model, rows)
    gc.enable()
    sample = rows[:2000]
    _, t_xgb_shap = timed("  XGBoost pred_contribs (2,000 rows, reference)", lambda: (
        model.booster.predict(dmatrix(sample), pred_contribs=True)))  # fmt: skip
    full, t_raw, cpu_full, cpu_raw = alternate(model, assets, findings, ctx, rows, args.repeat)
    for label, wall, cpu in (("score_assets", full, cpu_full), ("raw inplace_predict", t_raw,
                                                                  cpu_raw)):  # fmt: skip
        print(f"  {label + f', median of {args.repeat}':<44} {wall:8.2f} s ({cpu:.2f} s CPU)")

    figures = {
        "assets_per_s": round(n / full, 1),
        "raw_predict_rows_per_s": round(n / t_raw, 1),
        "ratio": round(t_raw / full, 3),
        "score_cpu_s": round(cpu_full, 3),
        "raw_predict_cpu_s": round(cpu_raw, 3),
    }
    print()
    print(f"distinct rows: {d:,} of {n:,} ({100 * d / n:.1f} %), split classes: {c:,}")
    print(f"features {n / t_features:,.0f} assets/s, dedup {n / t_parts[0]:,.0f} rows/s, "
          f"predict {c / t_parts[1]:,.0f} rows/s, SHAP {c / t_parts[2]:,.0f} rows/s "
          f"(XGBoost pred_contribs {len(sample) / t_xgb_shap:,.0f} rows/s)")  # fmt: skip
    for key, value in figures.items():
        print(f"{key:<24} {value:>14,}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"c_scoring": figures}, indent=2) + "\n")


def breakdown(model: XGBoostRiskModel, rows: Matrix) -> tuple[int, int, list[float]]:
    """Time score_assets' steps after the features; returns the distinct rows, the split
    classes and the seconds of deduplication, prediction and SHAP values."""

    def dedup() -> tuple[Matrix, Any, Any]:
        unique, _ = unique_rows(rows)
        classes = model.explainer.split_classes(unique)
        first, of_class = distinct(classes)
        return unique, classes[first], (first, of_class)

    (unique, classes, (first, of_class)), t_dedup = timed("  deduplication + split classes", dedup)
    _, t_predict = timed("  predict (one row per split class)", lambda: model.booster.predict(
        dmatrix(unique[first])))  # fmt: skip
    contributions, t_shap = timed("  SHAP values (one row per split class)", lambda: (
        model.explainer.class_contributions(classes)))  # fmt: skip
    timed("  explanation lists (distinct rows)", lambda: explanations(
        unique, contributions[of_class]))  # fmt: skip
    return len(unique), len(classes), [t_dedup, t_predict, t_shap]


def alternate(
    model: XGBoostRiskModel,
    assets: list[CryptoAsset],
    findings: list[FindingDraft],
    ctx: ScoringContext,
    rows: Matrix,
    repeat: int,
) -> tuple[float, float, float, float]:
    """Median wall and CPU seconds of score_assets and of raw inplace_predict, alternated."""
    wall: dict[str, list[float]] = {"score": [], "raw": []}
    cpu: dict[str, list[float]] = {"score": [], "raw": []}
    work: dict[str, Callable[[], object]] = {
        "score": lambda: model.score_assets(assets, findings, ctx),
        "raw": lambda: model.booster.inplace_predict(rows),
    }
    for _ in range(repeat):
        for name, call in work.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            call()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return (
        statistics.median(wall["score"]),
        statistics.median(wall["raw"]),
        statistics.median(cpu["score"]),
        statistics.median(cpu["raw"]),
    )


if __name__ == "__main__":
    main()
