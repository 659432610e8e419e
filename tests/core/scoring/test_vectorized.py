"""The columnar feature builder and the numpy SHAP values against what they replace: the
per-asset builder (bit for bit) and XGBoost's own ``pred_contribs``."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from qrap_core.discovery import inventory
from qrap_core.discovery.certificate import certificate_assets, load_certificates
from qrap_core.discovery.targets import InventoryItem, InventoryTarget
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import Usage
from qrap_core.rules import RuleContext, evaluate
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring.base import ScoringContext
from qrap_core.scoring.features import FeatureContext, Matrix, extract
from qrap_core.scoring.model import load_model, unique_rows
from qrap_core.scoring.training import SiteSampler, dmatrix
from tests.core.scoring.reference_features import reference_extract

EXAMPLES = Path(__file__).resolve().parents[3] / "qrap_core" / "examples"
NOW = datetime(2026, 11, 28, tzinfo=UTC)
MODEL = load_model()


def sampled_sites(seed: int, count: int) -> list[tuple[list[CryptoAsset], FeatureContext]]:
    """The training sampler's sites, each under its own drawn context."""
    sampler = SiteSampler(
        seed, datetime(2025, 1, 1, tzinfo=UTC), datetime(2035, 12, 31, tzinfo=UTC)
    )
    sites = []
    for index in range(count):
        now, shelf, migration, sensitivity, exposure, threat = sampler.context()
        ctx = FeatureContext(
            now=now, shelf_life_years=shelf, migration_years=migration, threat_model=threat,
            survey_year=2024.95, sensitivity=sensitivity if index % 3 else None,
            exposure=exposure if index % 2 else None,
        )  # fmt: skip
        sites.append((sampler.site(index, now), ctx))
    return sites


def example_assets() -> list[CryptoAsset]:
    assets: list[CryptoAsset] = []
    for path in sorted((EXAMPLES / "certs").glob("*.pem")):
        assets += certificate_assets(
            load_certificates(path.read_bytes()), location=f"certificate:{path.name}", now=NOW
        )
    items = json.loads((EXAMPLES / "inventory.json").read_text())
    target = InventoryTarget(assets=[InventoryItem.model_validate(item) for item in items])
    assets += inventory.analyze(target).assets
    return assets


def same_bits(left: Matrix, right: Matrix) -> bool:
    return left.shape == right.shape and left.tobytes() == right.tobytes()


def estate(seed: int, sites: int) -> tuple[list[CryptoAsset], list[FindingDraft]]:
    """Many sites as one run (locations repeat across sites, as in a large estate)."""
    assets: list[CryptoAsset] = []
    findings: list[FindingDraft] = []
    for site, ctx in sampled_sites(seed, sites):
        offset = len(assets)
        findings += [
            replace(finding, asset_index=finding.asset_index + offset)
            for finding in evaluate(site, RuleContext(now=ctx.now))
        ]
        assets += site
    return assets, findings


class TestExtractMatchesThePerAssetBuilder:
    def test_every_sampled_site(self) -> None:
        for assets, ctx in sampled_sites(20261128, 1500):
            findings = evaluate(assets, RuleContext(now=ctx.now))
            assert same_bits(
                extract(assets, findings, ctx), reference_extract(assets, findings, ctx)
            )

    @pytest.mark.parametrize("exposure", [None, "internet"])
    @pytest.mark.parametrize("sensitivity", [None, "critical"])
    def test_many_sites_as_one_run(self, exposure: str | None, sensitivity: str | None) -> None:
        assets, findings = estate(7, 400)
        ctx = FeatureContext(
            now=NOW, shelf_life_years=10, migration_years=3, threat_model="median",
            survey_year=2024.95, sensitivity=sensitivity, exposure=exposure,
        )  # fmt: skip
        assert same_bits(extract(assets, findings, ctx), reference_extract(assets, findings, ctx))

    def test_the_examples(self) -> None:
        assets = example_assets()
        assert len(assets) > 5
        findings = evaluate(assets, RuleContext(now=NOW))
        ctx = MODEL.feature_context(
            ScoringContext(now=NOW, shelf_life_years=15, migration_years=3, crqc_year=2035)
        )
        assert same_bits(extract(assets, findings, ctx), reference_extract(assets, findings, ctx))

    def test_odd_details(self) -> None:
        odd = [
            CryptoAsset("certificate", "CN=a", "h:443", Usage.SIGNATURE, "RSA", "RSA", 2048,
                        details={"not_after": "garbage", "days_to_expiry": 12, "is_ca": 1,
                                 "sensitivity": ["x"], "exposure": {"a": 1}, "curve": ["p"]}),
            CryptoAsset("certificate", "CN=b", "10.0.0.1:443", Usage.SIGNATURE, "RSA", "RSA",
                        details={"not_after": NOW, "lifetime_days": 90.5, "sensitivity": 0}),
            CryptoAsset("key", "k", "vault", Usage.KEY_ESTABLISHMENT, "ML-KEM-768",
                        details={"pqc": True, "exposure": "internet", "sensitivity": "HIGH "}),
            CryptoAsset("algorithm", "a", "vault", Usage.KEY_ESTABLISHMENT, "X25519"),
        ]  # fmt: skip
        ctx = FeatureContext(
            now=NOW, shelf_life_years=1, migration_years=2, threat_model="median",
            survey_year=2024.95,
        )  # fmt: skip
        findings = evaluate(odd, RuleContext(now=NOW))
        assert same_bits(extract(odd, findings, ctx), reference_extract(odd, findings, ctx))
        assert extract([], [], ctx).shape == (0, len(reference_extract(odd[:1], [], ctx)[0]))


class TestContributions:
    def test_equal_xgboosts_own_shap_values(self) -> None:
        assets, findings = estate(11, 300)
        ctx = MODEL.feature_context(
            ScoringContext(now=NOW, shelf_life_years=10, migration_years=3, crqc_year=2035)
        )
        rows, _ = unique_rows(extract(assets, findings, ctx))
        ours = MODEL.explainer.contributions(rows)
        theirs = MODEL.booster.predict(dmatrix(rows), pred_contribs=True)
        assert ours.shape == theirs.shape
        assert np.abs(ours - theirs).max() < 1e-3
        # They add up to the prediction, as SHAP values do.
        total = ours.astype(np.float64).sum(axis=1)
        assert np.abs(total - MODEL.booster.predict(dmatrix(rows))).max() < 1e-3

    def test_missing_values_and_unseen_categories(self) -> None:
        rows = np.full((3, 22), np.nan, dtype=np.float32)
        rows[1, :2] = [99, 7]  # categories no split has seen
        rows[2] = 1.0
        theirs = MODEL.booster.predict(dmatrix(rows), pred_contribs=True)
        assert np.abs(MODEL.explainer.contributions(rows) - theirs).max() < 1e-3
        assert MODEL.explainer.contributions(rows[:0]).shape == (0, 23)
