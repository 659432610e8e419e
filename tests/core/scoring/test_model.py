"""The shipped XGBoost model: loading, scores, SHAP explanations, and the properties the
monotone constraints promise (checked with hypothesis over random contexts)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import Usage
from qrap_core.errors import ConfigurationError
from qrap_core.rules import RuleContext, evaluate
from qrap_core.scoring import RiskModel, ScoringContext, XGBoostRiskModel, get_risk_model
from qrap_core.scoring.features import FEATURE_NAMES, extract
from qrap_core.scoring.model import BASELINE, OTHER, load_artifact, load_model
from qrap_core.scoring.training import SHIPPED_VERSION, artifact_paths, shipped_directory
from qrap_core.settings import Settings

MODEL = load_model()
NOW = datetime(2026, 11, 28, tzinfo=UTC)
KEX, SIG = Usage.KEY_ESTABLISHMENT, Usage.SIGNATURE


def context(
    now: datetime = NOW,
    shelf: float = 10,
    migration: float = 3,
    sensitivity: str | None = None,
    exposure: str | None = None,
    threat: str | None = None,
) -> ScoringContext:
    return ScoringContext(
        now=now,
        shelf_life_years=shelf,
        migration_years=migration,
        crqc_year=2035,
        sensitivity=sensitivity,
        exposure=exposure,
        threat_model=threat,
    )


def score(assets: list[CryptoAsset], ctx: ScoringContext | None = None, index: int = 0) -> float:
    """The model's score of ``assets[index]`` (without explanations: the properties only need
    the number, and SHAP values are the slow part)."""
    ctx = ctx or context()
    rule_ctx = RuleContext(
        now=ctx.now, shelf_life_years=ctx.shelf_life_years, migration_years=ctx.migration_years
    )
    rows = extract(assets, evaluate(assets, rule_ctx), MODEL.feature_context(ctx))
    return round(float(MODEL.predict_rows(rows)[index]), 2)


def declared(algorithm: str, usage: Usage = Usage.UNKNOWN, key_size: int | None = None,
             protocol: str | None = None) -> CryptoAsset:  # fmt: skip
    return CryptoAsset("algorithm", "app", "app", usage, algorithm, key_size=key_size,
                       protocol=protocol, details={"declared": True})  # fmt: skip


def kex(group: str, location: str = "shop.example.com:443", protocol: str = "TLSv1.3",
        **details: object) -> CryptoAsset:  # fmt: skip
    return CryptoAsset("key_exchange", group, location, KEX, group, protocol=protocol,
                       details=dict(details))  # fmt: skip


def certificate(algorithm: str, key_size: int | None, *, curve: str | None = None,
                lifetime_days: int = 398, is_ca: bool = False) -> CryptoAsset:  # fmt: skip
    not_after = NOW + timedelta(days=lifetime_days // 2)
    return CryptoAsset(
        "certificate", "CN=x", "shop.example.com:443", SIG, algorithm,
        {"RSA": "RSA", "ECDSA": "EC", "DSA": "DSA"}.get(algorithm), key_size,
        details={"subject": "CN=x", "issuer": "CN=ca", "curve": curve, "is_ca": is_ca,
                 "lifetime_days": lifetime_days, "not_after": not_after.isoformat(),
                 "signature_hash": "sha256", "self_signed": False},
    )  # fmt: skip


class TestLoading:
    def test_the_shipped_model(self) -> None:
        assert MODEL.version == f"xgb-risk-{SHIPPED_VERSION}"
        assert tuple(f["name"] for f in MODEL.meta["features"]) == FEATURE_NAMES
        assert MODEL.device == "cpu"
        model_path, meta_path, card_path = artifact_paths(shipped_directory(), SHIPPED_VERSION)
        assert model_path.stat().st_size < 2_000_000  # a small artifact
        assert meta_path.exists()
        assert card_path.exists()

    def test_the_pipeline_gets_the_xgboost_model_once_per_process(self) -> None:
        first: RiskModel = get_risk_model(Settings())
        assert isinstance(first, XGBoostRiskModel)
        assert get_risk_model(Settings()) is first

    def test_a_tampered_artifact_is_refused(self, tmp_path: Path) -> None:
        for path in artifact_paths(shipped_directory(), SHIPPED_VERSION):
            shutil.copy(path, tmp_path / path.name)
        model_path, _, _ = artifact_paths(tmp_path, SHIPPED_VERSION)
        model_path.write_bytes(model_path.read_bytes().replace(b'"', b"'", 1))
        with pytest.raises(ConfigurationError, match="sha256"):
            load_artifact(tmp_path, SHIPPED_VERSION)

    def test_a_feedback_version_needs_the_model_dir(self) -> None:
        with pytest.raises(ConfigurationError, match="QRAP_MODEL_DIR"):
            load_model(version=f"{SHIPPED_VERSION}+fb.0123456789")

    def test_a_model_of_other_features_is_refused(self) -> None:
        booster, meta = load_artifact(shipped_directory(), SHIPPED_VERSION)
        meta = json.loads(json.dumps(meta))
        meta["features"] = meta["features"][:-1]
        with pytest.raises(ConfigurationError, match="retrain"):
            XGBoostRiskModel(booster, meta)

    def test_cuda_runs_where_xgboost_has_it_and_falls_back_to_cpu(self) -> None:
        booster, meta = load_artifact(shipped_directory(), SHIPPED_VERSION)
        with capture_logs() as logs:
            model = XGBoostRiskModel(booster, meta, device="cuda")
        cuda = bool(xgb.build_info().get("USE_CUDA"))
        assert model.device == ("cuda" if cuda else "cpu")
        warned = [entry["event"] for entry in logs if entry["log_level"] == "warning"]
        assert warned == ([] if cuda else ["model.cuda_unavailable"])
        assets = [kex("X25519"), declared("RSA-2048", SIG)]
        findings = evaluate(assets, RuleContext(now=NOW))
        on_device = [s.score for s in model.score_assets(assets, findings, context())]
        on_cpu = [s.score for s in MODEL.score_assets(assets, findings, context())]
        assert on_device == pytest.approx(on_cpu, abs=0.05)


class TestScores:
    def test_one_score_per_asset_with_explanations(self) -> None:
        assets = [kex("X25519"), declared("AES-128", Usage.ENCRYPTION), declared("DES")]
        findings = evaluate(assets, RuleContext(now=NOW))
        scores = MODEL.score_assets(assets, findings, context())
        assert len(scores) == 3
        for item in scores:
            assert 0 <= item.score <= 100
            features = [entry["feature"] for entry in item.explanation]
            assert features[-1] == BASELINE
            assert set(features) - {OTHER, BASELINE} <= set(FEATURE_NAMES)
            assert {"feature", "value", "contribution"} == set(item.explanation[0])
            total = sum(entry["contribution"] for entry in item.explanation)
            assert total == pytest.approx(item.score, abs=0.05) or item.score in (0.0, 100.0)

    def test_explanations_name_the_drivers(self) -> None:
        (des,) = MODEL.score_assets([declared("DES")], evaluate([declared("DES")],
                                    RuleContext(now=NOW)), context())  # fmt: skip
        top = des.explanation[0]
        assert (top["feature"], top["value"]) == ("classical_weakness", "CRITICAL")
        assert des.score >= 80

    @pytest.mark.parametrize(
        ("asset", "low", "high"),
        [
            (declared("AES-128", Usage.ENCRYPTION), 0, 10),
            (declared("SHA-256", Usage.HASH), 0, 10),
            (declared("ML-KEM-768", KEX), 0, 10),
            (kex("X25519MLKEM768", hybrid_pqc=True), 0, 10),
            (kex("X25519"), 30, 60),
            (declared("RSA-2048", SIG), 25, 60),
            (declared("DES", Usage.ENCRYPTION), 80, 100),
            (CryptoAsset("protocol", "TLSv1.0", "h:443", Usage.PROTOCOL, "TLSv1.0"), 60, 80),
        ],
    )
    def test_levels_are_sensible(self, asset: CryptoAsset, low: float, high: float) -> None:
        assert low <= score([asset]) <= high

    def test_identical_rows_are_scored_once_with_the_same_result(self) -> None:
        assets = [kex("X25519"), declared("RSA-2048", SIG), declared("DES")]
        findings = evaluate(assets, RuleContext(now=NOW))
        rows = extract(assets, findings, MODEL.feature_context(context()))
        repeated = np.concatenate([rows, rows[::-1], rows])
        together = MODEL.explain_rows(repeated)
        alone = [MODEL.explain_rows(rows[i : i + 1]) for i in range(3)]
        mixed = together.contributions
        assert mixed is not None
        for i in range(3):
            single = alone[i].contributions
            assert single is not None
            assert together.scores[i] == alone[i].scores[0]
            assert together.scores[5 - i] == alone[i].scores[0]
            assert np.array_equal(mixed[i], single[0])

    def test_sensitivity_and_exposure_from_the_profile_raise_the_hndl_score(self) -> None:
        calm = score([kex("X25519")], context(sensitivity="low", exposure="internal"))
        tense = score([kex("X25519")], context(sensitivity="critical", exposure="internet"))
        assert tense > calm


# --- properties -------------------------------------------------------------------------------

contexts = st.builds(
    context,
    now=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
    ),
    shelf=st.floats(min_value=0, max_value=60, allow_nan=False),
    migration=st.floats(min_value=0, max_value=12, allow_nan=False),
    sensitivity=st.sampled_from([None, "low", "medium", "high", "critical"]),
    exposure=st.sampled_from([None, "internal", "partner", "internet"]),
    threat=st.sampled_from([None, "optimistic", "median", "pessimistic"]),
)
usages = st.sampled_from([SIG, KEX, Usage.UNKNOWN])
FINITE_FIELD_SIZES = {
    "RSA": [512, 768, 1024, 1536, 2048, 3072, 4096, 7680, 8192, 15360],
    "DSA": [512, 1024, 2048, 3072],
    "DH": [768, 1024, 1536, 2048, 3072, 4096, 6144, 8192],
}
CURVES = [("P-192", 192), ("P-224", 224), ("P-256", 256), ("P-384", 384), ("P-521", 521)]


class TestProperties:
    @settings(max_examples=150, deadline=None)
    @given(
        family=st.sampled_from(sorted(FINITE_FIELD_SIZES)),
        pair=st.tuples(st.integers(0, 9), st.integers(0, 9)),
        usage=usages,
        ctx=contexts,
    )
    def test_a_stronger_finite_field_key_never_raises_the_score(
        self, family: str, pair: tuple[int, int], usage: Usage, ctx: ScoringContext
    ) -> None:
        sizes = FINITE_FIELD_SIZES[family]
        weak, strong = sorted(sizes[min(i, len(sizes) - 1)] for i in pair)
        weaker = score([declared(f"{family}-{weak}", usage)], ctx)
        stronger = score([declared(f"{family}-{strong}", usage)], ctx)
        assert stronger <= weaker + 1e-6

    @settings(max_examples=100, deadline=None)
    @given(
        pair=st.tuples(st.integers(0, 4), st.integers(0, 4)), ctx=contexts, as_cert=st.booleans()
    )
    def test_a_stronger_curve_never_raises_the_score(
        self, pair: tuple[int, int], ctx: ScoringContext, as_cert: bool
    ) -> None:
        (weak_name, weak), (strong_name, strong) = sorted(CURVES[i] for i in pair)
        if as_cert:
            first = certificate("ECDSA", weak, curve=weak_name.replace("P-", "secp") + "r1")
            second = certificate("ECDSA", strong, curve=strong_name.replace("P-", "secp") + "r1")
        else:
            first = declared(f"ECDSA-{weak_name}", SIG)
            second = declared(f"ECDSA-{strong_name}", SIG)
        assert score([second], ctx) <= score([first], ctx) + 1e-6

    @settings(max_examples=100, deadline=None)
    @given(pair=st.tuples(st.integers(0, 4), st.integers(0, 4)), ctx=contexts)
    def test_a_stronger_rsa_certificate_never_raises_the_score(
        self, pair: tuple[int, int], ctx: ScoringContext
    ) -> None:
        weak, strong = sorted([1024, 2048, 3072, 4096, 8192][i] for i in pair)
        assert score([certificate("RSA", strong)], ctx) <= score([certificate("RSA", weak)], ctx)

    @settings(max_examples=150, deadline=None)
    @given(
        pair=st.sampled_from(
            [
                ("X25519", "X25519MLKEM768", "TLSv1.3"),
                ("secp256r1", "SecP256r1MLKEM768", "TLSv1.3"),
                ("secp384r1", "SecP384r1MLKEM1024", "TLSv1.3"),
                ("curve25519-sha256", "mlkem768x25519-sha256", "SSH-2.0"),
                ("curve25519-sha256", "sntrup761x25519-sha512@openssh.com", "SSH-2.0"),
            ]
        ),
        ctx=contexts,
    )
    def test_a_hybrid_key_exchange_never_scores_higher(
        self, pair: tuple[str, str, str], ctx: ScoringContext
    ) -> None:
        classical, hybrid, protocol = pair
        alone = score([kex(classical, protocol=protocol)], ctx)
        as_hybrid = score([kex(hybrid, protocol=protocol, hybrid_pqc=True)], ctx)
        assert as_hybrid <= alone
        # The same classical group scores no higher when a hybrid is offered beside it.
        beside = score(
            [kex(classical, protocol=protocol), kex(hybrid, protocol=protocol, hybrid_pqc=True)],
            ctx,
        )
        assert beside <= alone + 1e-6

    @settings(max_examples=100, deadline=None)
    @given(
        asset=st.sampled_from(
            [
                declared("AES-128", Usage.ENCRYPTION),
                declared("AES-128-GCM", Usage.UNKNOWN),
                declared("SHA-256", Usage.HASH),
                declared("SHA256", Usage.UNKNOWN),
            ]
        ),
        ctx=contexts,
    )
    def test_aes_128_and_sha_256_are_never_flagged(
        self, asset: CryptoAsset, ctx: ScoringContext
    ) -> None:
        assert score([asset], ctx) < 30  # LOW under the original thresholds

    @settings(max_examples=100, deadline=None)
    @given(ctx=contexts, extra=st.floats(min_value=0, max_value=40, allow_nan=False))
    def test_longer_shelf_life_never_lowers_a_key_exchange_score(
        self, ctx: ScoringContext, extra: float
    ) -> None:
        longer = context(ctx.now, ctx.shelf_life_years + extra, ctx.migration_years,
                         ctx.sensitivity, ctx.exposure, ctx.threat_model)  # fmt: skip
        assert score([kex("X25519")], longer) >= score([kex("X25519")], ctx) - 1e-6
