"""Benchmark: risk-model scoring throughput for a large estate (prints figures; not a test).

One assessment of N crypto assets (1,000,000 by default) under one run's assumptions, drawn
from the training sampler's site generator (TLS endpoints with chains, SSH servers, uploaded
certificates, declared inventories) over many hosts. The rules raise the findings first (timed
apart); then the risk model's own work is timed:

- features + predict + contributions: what a run does (``XGBoostRiskModel.score_assets``);
- features + predict: scores without explanations;
- the same model calls on the distinct rows alone, with no deduplication to help, as the
  worst case of an estate where every asset differs.

    .venv/bin/python bench/scoring.py [--assets 1000000] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

import xgboost as xgb

from qrap_core.discovery.types import CryptoAsset
from qrap_core.rules import RuleContext, evaluate
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring.base import ScoringContext
from qrap_core.scoring.features import extract
from qrap_core.scoring.model import explanation, load_model, unique_rows
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
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()

    model = load_model(device=args.device)
    model_path, _, _ = artifact_paths(shipped_directory(), SHIPPED_VERSION)
    trees = model.booster.num_boosted_rounds()
    size_kib = model_path.stat().st_size / 1024
    print(f"model {model.version}: {size_kib:.0f} KiB JSON, {trees} trees, "
          f"{len(model.meta['features'])} features")  # fmt: skip
    print(f"xgboost {xgb.__version__} on {model.device}, {os.cpu_count()} CPUs")
    print(f"building {args.assets:,} assets ...")
    (assets, findings), _ = timed("sites + rules (not part of the model)", lambda: estate(
        args.assets, args.seed))  # fmt: skip
    ctx = ScoringContext(now=NOW, shelf_life_years=10, migration_years=3, crqc_year=2035)
    n = len(assets)
    print(f"{n:,} assets, {len(findings):,} findings")

    print("features + predict + contributions (score_assets):")
    scores, full = timed("score_assets", lambda: model.score_assets(assets, findings, ctx))
    if len(scores) != n:
        raise SystemExit(f"{len(scores)} scores for {n} assets")

    print("features + predict (no contributions):")
    rows, t_features = timed(
        "features", lambda: extract(assets, findings, model.feature_context(ctx))
    )
    _, t_predict = timed("predict", lambda: model.predict_rows(rows))
    distinct, _ = unique_rows(rows)  # NaN-aware, as the model deduplicates
    unique = len(distinct)

    print(f"worst case: the {unique:,} distinct rows, no deduplication to help:")
    matrix = dmatrix(distinct)
    _, t_raw_predict = timed("predict (distinct rows)", lambda: model.booster.predict(matrix))
    contributions, t_raw_contrib = timed(
        "contributions (distinct rows)",
        lambda: model.booster.predict(matrix, pred_contribs=True),
    )
    _, t_explain = timed(
        "explanations (top 5, distinct rows)",
        lambda: [explanation(distinct[i], contributions[i]) for i in range(len(distinct))],
    )

    print()
    print(f"assets scored per second, {n:,} assets (one run's assumptions):")
    print(f"  features + predict + contributions   {n / full:12,.0f} /s  ({full:.1f} s)")
    print(f"  features + predict                   {n / (t_features + t_predict):12,.0f} /s  "
          f"({t_features + t_predict:.1f} s)")  # fmt: skip
    print(f"  of which features                    {n / t_features:12,.0f} /s")
    print(f"distinct rows: {unique:,} of {n:,} ({100 * unique / n:.1f} %)")
    d = len(distinct)
    print(f"  predict, no dedup                    {d / t_raw_predict:12,.0f} rows/s")
    print(f"  SHAP contributions, no dedup         {d / t_raw_contrib:12,.0f} rows/s")
    print(f"  explanation lists                    {d / t_explain:12,.0f} rows/s")
    print(f"model size: {model_path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
