"""The columnar feature builder and the numpy SHAP values against what they replace: the
per-asset builder (bit for bit) and XGBoost's own ``pred_contribs``; and the shortcuts of
``score_assets`` (split classes, vectorized explanations and rounding) against the direct
per-row computation."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
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
from qrap_core.scoring import shap
from qrap_core.scoring.base import ScoringContext
from qrap_core.scoring.features import FEATURE_NAMES, FeatureContext, Matrix, extract
from qrap_core.scoring.model import explanation, explanations, load_model, rounded, unique_rows
from qrap_core.scoring.shap import TreeExplainer, distinct
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

    def test_equal_details_of_other_types(self) -> None:
        # Assets whose details compare equal (True == 1, 90 == 90.0, one instant in two
        # zones) share a key: their rows must still be what each would get alone.
        later = NOW + timedelta(days=400)
        assets = [
            CryptoAsset("certificate", f"CN={n}", f"10.0.0.{n}:443", Usage.SIGNATURE, "RSA",
                        "RSA", 2048, details={"not_after": not_after, "lifetime_days": life,
                                              "is_ca": ca, "pqc": pq, "sensitivity": "high"})
            for n, (not_after, life, ca, pq) in enumerate([
                (later, 90, True, 1),
                (later.astimezone(timezone(timedelta(hours=5))), 90.0, 1, True),
                (later.isoformat(), 90, 1.0, 1.0),
                (later.replace(tzinfo=None), 90, 0, 0),
                ("", None, False, None),
            ])
        ]  # fmt: skip
        ctx = FeatureContext(
            now=NOW, shelf_life_years=5, migration_years=2, threat_model="median",
            survey_year=2024.95,
        )  # fmt: skip
        findings = evaluate(assets, RuleContext(now=NOW))
        assert same_bits(extract(assets, findings, ctx), reference_extract(assets, findings, ctx))


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


def odd_rows(rows: Matrix, seed: int, count: int) -> Matrix:
    """Rows of a run, changed: missing values, unseen, negative and fractional category
    codes, huge values, and values exactly at, just below and just above split points."""
    rng = np.random.default_rng(seed)
    odd = rows[rng.integers(0, len(rows), count)].copy()
    odd[rng.random(odd.shape) < 0.15] = np.nan
    family, usage = FEATURE_NAMES.index("family"), FEATURE_NAMES.index("usage")
    odd[rng.random(count) < 0.1, family] = -3.0
    odd[rng.random(count) < 0.1, family] = 2.5
    odd[rng.random(count) < 0.1, usage] = 99.0
    odd[rng.random(count) < 0.05, 3] = 3e38
    odd[rng.random(count) < 0.05, 5] = -3e38
    model = json.loads(MODEL.booster.save_raw("json"))
    for tree in model["learner"]["gradient_booster"]["model"]["trees"][:40]:
        for node, child in enumerate(tree["left_children"]):
            if child == -1 or node in tree["categories_nodes"]:
                continue
            feature = int(tree["split_indices"][node])
            at = np.float32(tree["split_conditions"][node])
            for value in (at, np.nextafter(at, -np.inf), np.nextafter(at, np.inf)):
                odd[int(rng.integers(0, count)), feature] = value
    return odd


class TestSplitClasses:
    def test_rows_of_one_class_get_what_each_row_gets_alone(self) -> None:
        assets, findings = estate(5, 200)
        rows, _ = unique_rows(extract(assets, findings, MODEL.feature_context(context())))
        odd = odd_rows(rows, 3, 3000)
        together = MODEL.explainer.contributions(odd)
        alone = np.concatenate([MODEL.explainer.contributions(odd[i : i + 1]) for i in range(300)])
        assert same_bits(together[:300], alone)
        theirs = MODEL.booster.predict(dmatrix(odd), pred_contribs=True)
        assert np.abs(together - theirs).max() < 1e-3

    def test_a_class_has_one_prediction(self) -> None:
        assets, findings = estate(5, 200)
        rows, _ = unique_rows(extract(assets, findings, MODEL.feature_context(context())))
        odd = np.concatenate([rows, odd_rows(rows, 4, 3000)])
        classes = MODEL.explainer.split_classes(odd)
        _, inverse = unique_rows(classes)
        assert len(np.unique(inverse)) < len(odd)  # the check below compares something
        predicted = MODEL.booster.predict(dmatrix(odd))
        first = np.full(inverse.max() + 1, -1)
        first[inverse[::-1]] = np.arange(len(odd))[::-1]
        assert predicted.tobytes() == predicted[first[inverse]].tobytes()

    def test_small_batches_are_explained_from_the_cache_exactly(self) -> None:
        assets, findings = estate(5, 200)
        rows, _ = unique_rows(extract(assets, findings, MODEL.feature_context(context())))
        classes = MODEL.explainer.split_classes(odd_rows(rows, 5, 400))
        first, _ = distinct(classes)
        batches = [classes[first[n : n + 7]] for n in range(0, 56, 7)]
        explainer = TreeExplainer(MODEL.booster)  # its own, empty cache
        cold = [explainer.explain_classes(batch) for batch in batches]
        assert explainer.cache_misses == 56
        warm = [explainer.explain_classes(batch[::-1]) for batch in batches]
        assert explainer.cache_misses == 56  # every class again, in another order: all hits
        for batch, first_time, again in zip(batches, cold, warm, strict=True):
            direct = explainer.class_contributions(batch)
            assert same_bits(first_time, direct)
            assert same_bits(again, direct[::-1])
        # A big batch is computed directly, and leaves the cache alone.
        big = classes[first[: shap.CACHED_BATCH + 1]]
        assert same_bits(explainer.explain_classes(big), explainer.class_contributions(big))
        assert explainer.cache_misses == 56

    def test_the_cache_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(shap, "CACHE_CLASSES", 10)
        assets, findings = estate(5, 200)
        rows, _ = unique_rows(extract(assets, findings, MODEL.feature_context(context())))
        classes = MODEL.explainer.split_classes(odd_rows(rows, 6, 400))
        first, _ = distinct(classes)
        explainer = TreeExplainer(MODEL.booster)
        for n in range(0, 40, 4):
            batch = classes[first[n : n + 4]]
            assert same_bits(explainer.explain_classes(batch), explainer.class_contributions(batch))
        assert len(explainer._cache) == 10


def context() -> ScoringContext:
    return ScoringContext(now=NOW, shelf_life_years=10, migration_years=3, crqc_year=2035)


class TestScoreAssets:
    def test_equals_scoring_every_row_directly(self) -> None:
        assets, findings = estate(9, 300)
        scored = MODEL.score_assets(assets, findings, context())
        rows = extract(assets, findings, MODEL.feature_context(context()))
        raw = MODEL.booster.predict(dmatrix(rows)).astype(np.float64)
        contributions = MODEL.explainer.contributions(rows)
        assert len(scored) == len(assets)
        for i, result in enumerate(scored):
            assert result.score == round(float(np.clip(raw[i], 0.0, 100.0)), 2)
            assert result.explanation == explanation(rows[i], contributions[i])


class TestExplanations:
    def test_equal_the_row_by_row_lists(self) -> None:
        assets, findings = estate(13, 300)
        rows, _ = unique_rows(extract(assets, findings, MODEL.feature_context(context())))
        rows = np.concatenate([rows, odd_rows(rows, 5, 2000)])
        contributions = MODEL.explainer.contributions(rows)
        expected = [explanation(rows[i], contributions[i]) for i in range(len(rows))]
        assert explanations(rows, contributions) == expected

    def test_small_contributions_and_empty_input(self) -> None:
        rng = np.random.default_rng(8)
        contributions = (rng.standard_normal((500, 23)) * 0.004).astype(np.float32)
        contributions[::7, :3] = [0.005, -0.005, 0.0049999]
        rows = rng.integers(0, 3, (500, 22)).astype(np.float32)
        expected = [explanation(rows[i], contributions[i]) for i in range(len(rows))]
        assert explanations(rows, contributions) == expected
        assert explanations(rows[:0], contributions[:0]) == []


class TestRounded:
    @pytest.mark.parametrize("digits", [2, 3])
    def test_rounds_as_python_does(self, digits: int) -> None:
        rng = np.random.default_rng(digits)
        halves = (np.arange(-20000, 20000) + 0.5) / 10.0**digits  # ties, as near as binary gets
        values = np.concatenate([
            halves, rng.standard_normal(20000) * 50, rng.random(2000) * 1e-4,
            [0.0, -0.0, 2.675, 1.0005, -0.0005, 1e300, -1e300, np.inf, -np.inf, 1e-320],
        ])  # fmt: skip
        ours = rounded(values, digits).tolist()
        assert ours == [round(value, digits) for value in values.tolist()]
        assert [np.copysign(1.0, v) for v in ours] == [
            np.copysign(1.0, round(value, digits)) for value in values.tolist()
        ]
        assert np.isnan(rounded(np.array([np.nan]), digits)[0])
