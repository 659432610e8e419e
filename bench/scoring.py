"""Benchmark: risk-model scoring throughput for a large estate (prints figures; not a test).

One assessment of N crypto assets (1,000,000 by default) under one run's assumptions, drawn
from the training sampler's site generator (TLS endpoints with chains, SSH servers, uploaded
certificates, declared inventories) over many hosts. The rules raise the findings first (not
timed as scoring). Then:

- ``assets_per_s``: ``XGBoostRiskModel.score_assets`` end to end (features, deduplication,
  prediction, SHAP explanations as the API serves them);
- ``raw_predict_rows_per_s``: ``booster.inplace_predict`` on the same N-row feature matrix;
- ``ratio``: the first over the second; and a breakdown of where the time goes.

    .venv/bin/python bench/scoring.py [--assets 1000000] [--device cpu|cuda] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
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

    scores, full = timed("score_assets (with explanations)", lambda: model.score_assets(
        assets, findings, ctx))  # fmt: skip
    if len(scores) != n:
        raise SystemExit(f"{len(scores)} scores for {n} assets")
    rows, t_features = timed("  features", lambda: extract(
        assets, findings, model.feature_context(ctx)))  # fmt: skip
    (distinct, _), t_unique = timed("  deduplication", lambda: unique_rows(rows))
    _, t_predict = timed("  predict (distinct rows)", lambda: model.booster.predict(
        dmatrix(distinct)))  # fmt: skip
    contributions, t_shap = timed("  SHAP values (distinct rows)", lambda: (
        model.explainer.contributions(distinct)))  # fmt: skip
    timed("  explanation lists (distinct rows)", lambda: [
        explanation(distinct[i], contributions[i]) for i in range(len(distinct))])  # fmt: skip
    sample = distinct[:2000]
    _, t_xgb_shap = timed("  XGBoost pred_contribs (2,000 rows, reference)", lambda: (
        model.booster.predict(dmatrix(sample), pred_contribs=True)))  # fmt: skip
    _, t_raw = timed("raw inplace_predict (all rows)", lambda: model.booster.inplace_predict(rows))

    figures = {
        "assets_per_s": round(n / full, 1),
        "raw_predict_rows_per_s": round(n / t_raw, 1),
        "ratio": round(t_raw / full, 3),
    }
    d = len(distinct)
    print()
    print(f"distinct rows: {d:,} of {n:,} ({100 * d / n:.1f} %)")
    print(f"features {n / t_features:,.0f} assets/s, dedup {n / t_unique:,.0f} rows/s, "
          f"predict {d / t_predict:,.0f} rows/s, SHAP {d / t_shap:,.0f} rows/s "
          f"(XGBoost pred_contribs {len(sample) / t_xgb_shap:,.0f} rows/s)")  # fmt: skip
    for key, value in figures.items():
        print(f"{key:<24} {value:>14,}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"c_scoring": figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
