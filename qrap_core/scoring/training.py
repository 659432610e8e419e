"""Deterministic training of the risk model from the expert prior (and analysts' feedback).

The training set is synthetic but realistic: sites (TLS endpoints, SSH servers, certificate
uploads, declared inventories) drawn from the catalog with a seeded generator, each under a
drawn context (date, Mosca's x and y, sensitivity, exposure, threat model). The real rule
engine raises their findings and ``features.extract`` turns them into rows, exactly as at
scoring time; ``prior.prior_score`` labels them. Everything is seeded and XGBoost runs with a
fixed thread count and no row or column sampling, so the same code and versions reproduce the
same model, prediction for prediction (and byte for byte).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from qrap_core.crypto import catalog
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import RiskLevel, Usage
from qrap_core.rules import RuleContext, evaluate
from qrap_core.scoring.aggregate import overall_risk_for
from qrap_core.scoring.card import render_card
from qrap_core.scoring.features import (
    EXPOSURES,
    FEATURE_NAMES,
    FEATURE_TYPES,
    FEATURES,
    INDEX,
    MONOTONE_CONSTRAINTS,
    SENSITIVITIES,
    THREAT_MODELS,
    FeatureContext,
    extract,
    refresh_crqc_probabilities,
)
from qrap_core.scoring.hndl import CrqcSurvey, CrqcTimeline, load_survey
from qrap_core.scoring.prior import PriorConfig, prior_score

MODEL_SERIES = "xgb-risk"
SHIPPED_VERSION = "1.1.0"
SHIPPED_PACKAGE = "qrap_core.scoring.artifacts"
Matrix = npt.NDArray[np.float32]
Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that decides the model; recorded in its metadata."""

    version: str = SHIPPED_VERSION
    seed: int = 20261128
    sites: int = 14000
    test_fraction: float = 0.2
    nthread: int = 4
    rounds: int = 150
    max_depth: int = 5
    learning_rate: float = 0.2
    min_child_weight: float = 2.0
    reg_lambda: float = 1.0
    max_bin: int = 256
    date_from: str = "2025-01-01"
    date_to: str = "2035-12-31"
    survey_edition: str | None = None  # None: the survey file's default edition
    # Feedback: the weight of one analyst verdict and how many context variations of it teach
    # "assets like this one" rather than this exact row.
    feedback_weight: float = 25.0
    feedback_variants: int = 40

    def xgb_params(self) -> dict[str, Any]:
        return {
            "objective": "reg:squarederror",
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "lambda": self.reg_lambda,
            "max_bin": self.max_bin,
            "seed": self.seed,
            "nthread": self.nthread,
            "subsample": 1.0,
            "colsample_bytree": 1.0,
            "max_cat_to_onehot": 1,
            "monotone_constraints": "(" + ",".join(str(m) for m in MONOTONE_CONSTRAINTS) + ")",
            "base_score": 0.0,
        }


@dataclass(frozen=True)
class FeedbackExample:
    """One asset an analyst judged: its feature row and the score the verdict stands for."""

    row: tuple[float, ...]
    target_score: float
    source: str  # finding id(s), for the metadata

    def key(self) -> str:
        return json.dumps([[None if math.isnan(v) else round(v, 4) for v in self.row],
                           round(self.target_score, 2)])  # fmt: skip


@dataclass
class TrainedModel:
    booster: xgb.Booster
    meta: dict[str, Any]


@dataclass
class Dataset:
    rows: Matrix
    labels: Vector
    groups: npt.NDArray[np.int64]  # site index of each row (held-out split is by site)
    names: list[str] = field(default_factory=list)


# --- synthetic sites --------------------------------------------------------------------------


_PUBLIC_HOSTS = ("shop.example.com", "api.example.org", "203.0.113.10", "198.51.100.7")
_PRIVATE_HOSTS = ("10.1.2.3", "192.168.10.5", "db.internal", "intranet.corp", "172.16.4.9")
_TLS_VERSIONS = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_TLS_GROUPS = (
    ("x25519", "ECDH"),
    ("secp256r1", "ECDH"),
    ("secp384r1", "ECDH"),
    ("secp521r1", "ECDH"),
    ("ffdhe2048", "DH"),
    ("ffdhe3072", "DH"),
    ("X25519MLKEM768", "hybrid"),
    ("SecP256r1MLKEM768", "hybrid"),
    ("SecP384r1MLKEM1024", "hybrid"),
    ("X25519Kyber768Draft00", "hybrid"),
)
_SUITES_13 = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
_SUITES_12 = (
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES128-SHA",
    "DHE-RSA-AES256-SHA256",
    "AES128-SHA",
    "AES256-GCM-SHA384",
    "DES-CBC3-SHA",
    "RC4-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_NULL_SHA",
    "EXP-RC4-MD5",
    "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA",
)
_CERT_KEYS = (
    ("RSA", "RSA", 1024, None),
    ("RSA", "RSA", 2048, None),
    ("RSA", "RSA", 3072, None),
    ("RSA", "RSA", 4096, None),
    ("ECDSA", "EC", 256, "secp256r1"),
    ("ECDSA", "EC", 384, "secp384r1"),
    ("ECDSA", "EC", 521, "secp521r1"),
    ("ECDSA", "EC", 256, "brainpoolP256r1"),
    ("Ed25519", "EdDSA", 256, None),
    ("ML-DSA-65", "ML-DSA", None, None),
)
_SSH_KEX = (
    "curve25519-sha256",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group1-sha1",
    "diffie-hellman-group16-sha512",
    "sntrup761x25519-sha512@openssh.com",
    "mlkem768x25519-sha256",
)
_SSH_HOST_KEYS = (
    ("ssh-ed25519", None),
    ("rsa-sha2-512", 3072),
    ("rsa-sha2-256", 2048),
    ("ssh-rsa", 1024),
    ("ecdsa-sha2-nistp256", None),
    ("ssh-dss", None),
)
_SSH_SYMMETRIC = (
    ("aes256-gcm@openssh.com", Usage.ENCRYPTION),
    ("chacha20-poly1305@openssh.com", Usage.ENCRYPTION),
    ("aes128-ctr", Usage.ENCRYPTION),
    ("aes128-cbc", Usage.ENCRYPTION),
    ("3des-cbc", Usage.ENCRYPTION),
    ("hmac-sha2-256-etm@openssh.com", Usage.HASH),
    ("hmac-sha2-512", Usage.HASH),
    ("umac-64@openssh.com", Usage.HASH),
    ("hmac-sha1", Usage.HASH),
    ("hmac-md5", Usage.HASH),
)
_RSA_SIZES = (512, 768, 1024, 1536, 2048, 3072, 4096, 7680, 8192, 15360)
_INVENTORY_USAGES = (None, "key-establishment", "signature", "encryption", "unknown")
_UNKNOWN_NAMES = ("GOST R 34.10-2012", "Frobnicate-9000", "SM2", "HQC-128")
_SHELF_CHOICES = (0, 0.5, 1, 2, 3, 5, 7, 10, 12, 15, 20, 25, 30, 40, 50)


class SiteSampler:
    """Draws sites; all randomness goes through one seeded numpy Generator."""

    def __init__(self, seed: int, start: datetime, end: datetime) -> None:
        self.rng = np.random.default_rng(seed)
        self.start = start
        self.span_days = (end - start).days
        self.names = sorted(catalog())

    def pick(self, items: Sequence[Any]) -> Any:
        return items[int(self.rng.integers(len(items)))]

    def chance(self, probability: float) -> bool:
        return bool(self.rng.random() < probability)

    def context(self) -> tuple[datetime, float, float, str, str, str]:
        now = self.start + timedelta(days=int(self.rng.integers(self.span_days + 1)))
        shelf = float(
            self.pick(_SHELF_CHOICES) if self.chance(0.6) else round(self.rng.uniform(0, 50), 1)
        )
        migration = round(float(self.rng.uniform(0, 10)), 1)
        return (
            now,
            shelf,
            migration,
            self.pick(SENSITIVITIES),
            self.pick(EXPOSURES),
            self.pick(THREAT_MODELS),
        )

    def site(self, index: int, now: datetime) -> list[CryptoAsset]:
        kind = self.pick(("tls", "tls", "ssh", "certificate", "inventory", "inventory"))
        host = self.pick(_PUBLIC_HOSTS if self.chance(0.6) else _PRIVATE_HOSTS)
        location = f"{host}:{443 if kind == 'tls' else 22}"
        if kind == "tls":
            return self._tls(location, now)
        if kind == "ssh":
            return self._ssh(location)
        if kind == "certificate":
            return self._chain(f"upload-{index}", now, length=int(self.rng.integers(1, 4)))
        return self._inventory(index)

    def _tls(self, location: str, now: datetime) -> list[CryptoAsset]:
        lowest = int(self.rng.integers(0, len(_TLS_VERSIONS)))
        versions = _TLS_VERSIONS[lowest:]
        top = versions[-1]
        assets = [
            CryptoAsset("protocol", v, location, Usage.PROTOCOL, v, protocol=v,
                        details={"negotiated": v == top})
            for v in versions
        ]  # fmt: skip
        for _ in range(int(self.rng.integers(1, 4))):
            suite = self.pick(_SUITES_13 if top == "TLSv1.3" and self.chance(0.6) else _SUITES_12)
            assets.append(
                CryptoAsset("cipher_suite", suite, location, Usage.ENCRYPTION, suite,
                            protocol=top, details={"bits": 128})
            )  # fmt: skip
        for _ in range(int(self.rng.integers(1, 4))):
            group, family = self.pick(_TLS_GROUPS)
            protocol = "TLSv1.3" if family == "hybrid" else self.pick(("TLSv1.2", "TLSv1.3"))
            assets.append(
                CryptoAsset(
                    "key_exchange", group, location, Usage.KEY_ESTABLISHMENT, group, family,
                    protocol=protocol,
                    details={"group": group, "hybrid_pqc": family == "hybrid", "pqc": False},
                )
            )  # fmt: skip
        return assets + self._chain(location, now, length=int(self.rng.integers(1, 4)))

    def _chain(self, location: str, now: datetime, *, length: int) -> list[CryptoAsset]:
        assets = []
        for position in range(length):
            algorithm, family, size, curve = self.pick(_CERT_KEYS)
            is_root = position == length - 1 and length > 1
            lifetime = int(
                self.pick((90, 398, 825, 1095))
                if position == 0
                else self.pick((1825, 3650, 7300, 9125))
            )
            age = int(self.rng.integers(-60, lifetime + 120))
            not_before = now - timedelta(days=age)
            not_after = not_before + timedelta(days=lifetime)
            signature_hash = self.pick(("sha256", "sha256", "sha384", "sha1", "md5"))
            scheme = (
                f"{signature_hash}WithRSAEncryption"
                if family == "RSA"
                else f"ecdsa-with-{signature_hash.upper()}"
            )
            name = f"CN=cert-{position}"
            assets.append(
                CryptoAsset(
                    "certificate", name, location, Usage.SIGNATURE, algorithm, family, size,
                    details={
                        "subject": name,
                        "issuer": name if is_root else f"CN=cert-{position + 1}",
                        "serial_number": str(position), "not_before": not_before.isoformat(),
                        "not_after": not_after.isoformat(), "lifetime_days": lifetime,
                        "is_ca": position > 0, "self_signed": is_root,
                        "signature_hash": signature_hash,
                        "signature_algorithm": scheme,
                        "curve": curve, "chain_index": position,
                    },
                )
            )  # fmt: skip
        return assets

    def _ssh(self, location: str) -> list[CryptoAsset]:
        """Assets shaped as the SSH analyzer reports them (protocol, kex, host keys, ciphers
        and MACs with their ``ssh_role``), so the SSH rules judge them as in a real run."""
        protocol = "SSH-1.99" if self.chance(0.05) else "SSH-2.0"
        assets = [
            CryptoAsset("protocol", protocol, location, Usage.PROTOCOL, protocol,
                        protocol=protocol, details={"negotiated": True})
        ]  # fmt: skip
        for name in {self.pick(_SSH_KEX) for _ in range(int(self.rng.integers(1, 4)))}:
            assets.append(
                CryptoAsset("key_exchange", name, location, Usage.KEY_ESTABLISHMENT, name,
                            protocol=protocol, details={})
            )  # fmt: skip
        for name, size in {self.pick(_SSH_HOST_KEYS) for _ in range(int(self.rng.integers(1, 3)))}:
            assets.append(
                CryptoAsset("algorithm", name, location, Usage.SIGNATURE, name, key_size=size,
                            protocol=protocol,
                            details={"ssh_role": "host_key", "signature_algorithms": [name]})
            )  # fmt: skip
        for name, usage in {self.pick(_SSH_SYMMETRIC) for _ in range(int(self.rng.integers(0, 4)))}:
            role = "mac" if usage is Usage.HASH else "cipher"
            assets.append(
                CryptoAsset("algorithm", name, location, usage, name, protocol=protocol,
                            details={"ssh_role": role})
            )  # fmt: skip
        return sorted(assets, key=lambda a: (a.kind, a.name))

    def _inventory(self, index: int) -> list[CryptoAsset]:
        assets = []
        for item in range(int(self.rng.integers(1, 7))):
            roll = self.rng.random()
            key_size: int | None = None
            if roll < 0.3:
                algorithm = self.pick(("RSA", "DSA", "DH"))
                key_size = int(self.pick(_RSA_SIZES))
            elif roll < 0.95:
                algorithm = self.pick(self.names)
            else:
                algorithm = self.pick(_UNKNOWN_NAMES)
            usage_text = self.pick(_INVENTORY_USAGES)
            usage = Usage(usage_text) if usage_text else Usage.UNKNOWN
            protocol = self.pick((None, None, "TLSv1.3", "TLSv1.2", "SSH-2.0"))
            name = f"app-{index}-{item}"
            assets.append(
                CryptoAsset("algorithm", name, name, usage, algorithm, key_size=key_size,
                            protocol=protocol, details={"declared": True})
            )  # fmt: skip
        return assets


def build_dataset(
    config: TrainingConfig,
    timelines: dict[str, CrqcTimeline],
    survey_year: float,
) -> Dataset:
    """The synthetic rows and their prior labels."""
    start = datetime.fromisoformat(config.date_from).replace(tzinfo=UTC)
    end = datetime.fromisoformat(config.date_to).replace(tzinfo=UTC)
    sampler = SiteSampler(config.seed, start, end)
    chunks: list[Matrix] = []
    groups: list[npt.NDArray[np.int64]] = []
    for index in range(config.sites):
        now, shelf, migration, sensitivity, exposure, threat = sampler.context()
        assets = sampler.site(index, now)
        findings = evaluate(
            assets, RuleContext(now=now, shelf_life_years=shelf, migration_years=migration)
        )
        ctx = FeatureContext(
            now=now,
            shelf_life_years=shelf,
            migration_years=migration,
            threat_model=threat,
            survey_year=survey_year,
            sensitivity=sensitivity,
            exposure=exposure,
            timeline=timelines[threat],
        )
        rows = extract(assets, findings, ctx)
        chunks.append(rows)
        groups.append(np.full(len(rows), index, dtype=np.int64))
    matrix = np.concatenate(chunks).astype(np.float32)
    labels = prior_score(matrix)
    return Dataset(matrix, labels, np.concatenate(groups))


# --- training ---------------------------------------------------------------------------------


def timelines_of(survey: CrqcSurvey, edition: str | None) -> dict[str, CrqcTimeline]:
    return {name: survey.timeline(name, edition) for name in THREAT_MODELS}


def dmatrix(rows: Matrix, labels: Vector | None = None, weights: Vector | None = None,
            nthread: int = 4) -> xgb.DMatrix:  # fmt: skip
    return xgb.DMatrix(
        rows,
        label=labels,
        weight=weights,
        feature_names=list(FEATURE_NAMES),
        feature_types=list(FEATURE_TYPES),
        enable_categorical=True,
        nthread=nthread,
        missing=np.nan,
    )


def train(
    config: TrainingConfig | None = None,
    *,
    survey: CrqcSurvey | None = None,
    feedback: Sequence[FeedbackExample] = (),
    base_version: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainedModel:
    """Train from the prior (plus ``feedback``); deterministic for a given config and input."""
    config = config or TrainingConfig()
    survey = survey or load_survey()
    timelines = timelines_of(survey, config.survey_edition)
    survey_year = next(iter(timelines.values())).survey_year
    say = progress or (lambda _message: None)
    say(f"building {config.sites} synthetic sites")
    data = build_dataset(config, timelines, survey_year)
    rng = np.random.default_rng(config.seed + 1)
    held_out_sites = rng.random(config.sites) < config.test_fraction
    test = held_out_sites[data.groups]
    train_rows, train_labels = data.rows[~test], data.labels[~test]
    weights = np.ones(len(train_rows))
    feedback_info: dict[str, Any] | None = None
    version = config.version
    if feedback:
        fb_rows, fb_labels, fb_weights = feedback_rows(feedback, timelines, config)
        train_rows = np.concatenate([train_rows, fb_rows]).astype(np.float32)
        train_labels = np.concatenate([train_labels, fb_labels])
        weights = np.concatenate([weights, fb_weights])
        feedback_info = _feedback_info(feedback, len(fb_rows), config)
        version = f"{base_version or config.version}+fb.{feedback_info['digest']}"
    say(f"training on {len(train_rows)} rows")
    booster = xgb.train(
        config.xgb_params(),
        dmatrix(train_rows, train_labels, weights, config.nthread),
        num_boost_round=config.rounds,
    )
    booster.set_attr(qrap_version=version)
    test_rows, test_labels = data.rows[test], data.labels[test]
    say("evaluating on held-out sites")
    metrics = evaluate_model(booster, test_rows, test_labels, config.nthread)
    checks = monotonicity_checks(booster, test_rows, config.nthread)
    meta = {
        "version": version,
        "model_id": f"{MODEL_SERIES}-{version}",
        "series": MODEL_SERIES,
        "trained_from": "expert prior" + (" + analyst feedback" if feedback else ""),
        "xgboost_version": xgb.__version__,
        "numpy_version": np.__version__,
        "training": asdict(config) | {"params": config.xgb_params()},
        "features": [asdict(feature) for feature in FEATURES],
        "prior": PriorConfig().to_dict(),
        "crqc_survey": _survey_meta(survey, timelines),
        "data": {
            "sites": config.sites,
            "rows": len(data.rows),
            "train_rows": int((~test).sum()),
            "test_rows": int(test.sum()),
            "label_mean": round(float(data.labels.mean()), 3),
            "label_share_by_level": _level_shares(data.labels),
        },
        "metrics": metrics,
        "monotonicity": checks,
        "feedback": feedback_info,
    }
    return TrainedModel(booster, meta)


def _feedback_info(
    feedback: Sequence[FeedbackExample], rows: int, config: TrainingConfig
) -> dict[str, Any]:
    """What the card says of the blended verdicts; the digest names the version."""
    digest = hashlib.sha256(
        "\n".join(sorted(example.key() for example in feedback)).encode()
    ).hexdigest()[:10]
    return {
        "verdicts": len(feedback),
        "training_rows": rows,
        "weight_per_verdict": config.feedback_weight,
        "variants_per_verdict": config.feedback_variants,
        "digest": digest,
        "sources": sorted({example.source for example in feedback})[:50],
    }


def _survey_meta(survey: CrqcSurvey, timelines: dict[str, CrqcTimeline]) -> dict[str, Any]:
    first = next(iter(timelines.values()))
    return {
        "source": survey.source,
        "edition": first.edition,
        "survey_year": first.survey_year,
        "verified": first.verified,
        "threat_models": {name: list(t.cdf[1:]) for name, t in timelines.items()},
        "horizons_years": list(first.horizons[1:]),
    }


def feedback_rows(
    feedback: Sequence[FeedbackExample],
    timelines: dict[str, CrqcTimeline],
    config: TrainingConfig,
) -> tuple[Matrix, Vector, Vector]:
    """Rows that teach the analysts' verdicts, for the asset and for assets like it.

    A verdict says how far the organization's view sits from the prior for this kind of
    asset: delta = verdict - prior(row). The row itself gets the verdict; variants that keep
    the asset and redraw its context (shelf life, migration time, sensitivity, exposure, threat
    model, date) get prior(variant) + delta, so the appetite carries over to similar assets.
    """
    rng = np.random.default_rng(config.seed + 2)
    ordered = sorted(feedback, key=lambda example: example.key())
    rows: list[Matrix] = []
    labels: list[Vector] = []
    for example in ordered:
        base = np.asarray([example.row], dtype=np.float32)
        delta = example.target_score - float(prior_score(base)[0])
        variants = np.repeat(base, config.feedback_variants, axis=0)
        variants[:, INDEX["shelf_life_years"]] = rng.choice(_SHELF_CHOICES, len(variants))
        variants[:, INDEX["migration_years"]] = rng.uniform(0, 10, len(variants)).round(1)
        variants[:, INDEX["sensitivity"]] = rng.integers(0, len(SENSITIVITIES), len(variants))
        variants[:, INDEX["exposure"]] = rng.integers(0, len(EXPOSURES), len(variants))
        variants[:, INDEX["threat_model"]] = rng.integers(0, len(THREAT_MODELS), len(variants))
        shift = rng.uniform(-1.0, 3.0, len(variants))
        variants[:, INDEX["years_since_survey"]] = np.maximum(
            0.0, base[0, INDEX["years_since_survey"]] + shift
        )
        deadline = base[0, INDEX["years_to_nist_deadline"]]
        if not math.isnan(float(deadline)):
            variants[:, INDEX["years_to_nist_deadline"]] = deadline - shift
        refresh_crqc_probabilities(variants, timelines)
        variant_labels = np.clip(prior_score(variants) + delta, 0.0, 100.0)
        rows += [base, variants]
        labels += [np.asarray([example.target_score]), variant_labels]
    matrix = np.concatenate(rows).astype(np.float32)
    target = np.concatenate(labels)
    return matrix, target, np.full(len(matrix), config.feedback_weight)


# --- evaluation -------------------------------------------------------------------------------


def predict(booster: xgb.Booster, rows: Matrix, nthread: int = 4) -> Vector:
    return np.asarray(booster.predict(dmatrix(rows, nthread=nthread)), dtype=np.float64)


def evaluate_model(
    booster: xgb.Booster, rows: Matrix, labels: Vector, nthread: int
) -> dict[str, Any]:
    """Held-out fidelity to the prior: errors, R², rank correlation, risk-level agreement."""
    predicted = np.clip(predict(booster, rows, nthread), 0.0, 100.0)
    errors = predicted - labels
    variance = float(((labels - labels.mean()) ** 2).sum())
    levels_true = [overall_risk_for(float(v)) for v in labels]
    levels_pred = [overall_risk_for(float(v)) for v in predicted]
    agree = sum(a is b for a, b in zip(levels_true, levels_pred, strict=True))
    off_by_two = sum(
        abs(_LEVEL_RANK[a] - _LEVEL_RANK[b]) >= 2
        for a, b in zip(levels_true, levels_pred, strict=True)
    )
    return {
        "rows": len(labels),
        "rmse": round(float(np.sqrt((errors**2).mean())), 3),
        "mae": round(float(np.abs(errors).mean()), 3),
        "max_abs_error": round(float(np.abs(errors).max()), 3),
        "p99_abs_error": round(float(np.quantile(np.abs(errors), 0.99)), 3),
        "r2": round(1.0 - float((errors**2).sum()) / variance, 4) if variance else None,
        "spearman": round(_spearman(labels, predicted), 4),
        "risk_level_agreement": round(agree / len(labels), 4),
        "risk_level_off_by_two_or_more": int(off_by_two),
    }


_LEVEL_RANK = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2, RiskLevel.CRITICAL: 3}


def _spearman(a: Vector, b: Vector) -> float:
    """Spearman's rho with tied values sharing their average rank.

    The labels are heavily tied (many synthetic assets share one prior score): ranking them
    by position in an unstable sort made the figure depend on numpy's SIMD sort kernel, so a
    machine with another CPU computed another metric. Average ranks do not depend on order.
    """
    from scipy.stats import spearmanr  # only training evaluates; keep it off the run's path

    return float(spearmanr(a, b).statistic)


def _level_shares(labels: Vector) -> dict[str, float]:
    levels = [overall_risk_for(float(v)).value for v in labels]
    return {level: round(levels.count(level) / len(levels), 4) for level in sorted(set(levels))}


# Values each constrained feature is swept over in the monotonicity check.
_SWEEPS: dict[str, tuple[float, ...]] = {
    "quantum_vulnerable": (0, 1),
    "classical_bits": (40, 64, 80, 112, 128, 192, 256),
    "quantum_level": (0, 1, 2, 3, 4, 5),
    "key_size": (256, 512, 1024, 2048, 3072, 4096, 8192, 15360),
    "hybrid_pqc": (0, 1),
    "protocol_version": (0, 1, 2, 3, 4, 5),
    "cert_lifetime_days": (30, 90, 398, 825, 1825, 3650, 9125),
    "is_ca": (0, 1),
    "shelf_life_years": (0, 1, 2, 5, 10, 15, 20, 30, 50, 100),
    "sensitivity": (0, 1, 2, 3),
    "exposure": (0, 1, 2),
    "migration_years": (0, 1, 2, 3, 5, 8, 10, 20),
    "threat_model": (0, 1, 2),
    "years_to_nist_deadline": (-5, -1, 0, 1, 2, 4, 6, 9, 12),
    "crqc_probability": (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0),
    "crqc_probability_trusted": (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0),
    "classical_weakness": (0, 1, 2, 3, 4),
    "deprecated": (0, 1),
}


def monotonicity_checks(booster: xgb.Booster, rows: Matrix, nthread: int) -> dict[str, Any]:
    """Sweep every constrained feature over held-out rows; count direction violations."""
    sample = rows[: min(len(rows), 2000)]
    results: dict[str, Any] = {}
    for feature in FEATURES:
        if feature.monotone == 0:
            continue
        values = _SWEEPS[feature.name]
        grid = np.repeat(sample, len(values), axis=0)
        grid[:, INDEX[feature.name]] = np.tile(np.asarray(values, dtype=np.float32), len(sample))
        predicted = predict(booster, grid, nthread).reshape(len(sample), len(values))
        steps = np.diff(predicted, axis=1) * feature.monotone
        violations = int((steps < -1e-4).sum())
        results[feature.name] = {
            "direction": "non-decreasing" if feature.monotone > 0 else "non-increasing",
            "rows": len(sample),
            "values": list(values),
            "violations": violations,
        }
    return results


# --- artifacts --------------------------------------------------------------------------------


def artifact_paths(directory: Path, version: str) -> tuple[Path, Path, Path]:
    """Model, metadata and model card paths of ``version`` in ``directory``."""
    stem = directory / f"risk-model-{version}"
    return (
        stem.with_name(stem.name + ".json"),
        stem.with_name(stem.name + ".meta.json"),
        stem.with_name(stem.name + ".md"),
    )


def save(model: TrainedModel, directory: Path) -> tuple[Path, Path, Path]:
    """Write the model, its metadata (with the model's sha256) and its card."""
    directory.mkdir(parents=True, exist_ok=True)
    model_path, meta_path, card_path = artifact_paths(directory, model.meta["version"])
    raw = bytes(model.booster.save_raw("json"))
    model_path.write_bytes(raw)
    meta = dict(model.meta)
    meta["artifact"] = {
        "file": model_path.name,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "bytes": len(raw),
        "trees": model.booster.num_boosted_rounds(),
    }
    text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    meta_path.write_text(text, encoding="utf-8")
    # Rendered from the JSON as written, so the card matches one rendered from the file.
    card_path.write_text(render_card(json.loads(text)), encoding="utf-8")
    model.meta = meta
    return model_path, meta_path, card_path


def config_from_meta(meta: dict[str, Any]) -> TrainingConfig:
    """The training config recorded in a model's metadata (to retrain it)."""
    fields = {k: v for k, v in meta["training"].items() if k != "params"}
    return replace(TrainingConfig(), **fields)


def shipped_directory() -> Path:
    """Where the shipped artifact lives inside the installed package."""
    return Path(str(resources.files(SHIPPED_PACKAGE)))


def reproduction_report(model: TrainedModel, directory: Path | None = None) -> dict[str, Any]:
    """Does ``model`` reproduce the artifact of its version in ``directory`` (the shipped one
    by default)? Compares the model files byte for byte and the predictions on fresh rows."""
    directory = directory or shipped_directory()
    model_path, _, _ = artifact_paths(directory, model.meta["version"])
    shipped_raw = model_path.read_bytes()
    shipped = xgb.Booster()
    shipped.load_model(bytearray(shipped_raw))
    config = TrainingConfig()
    survey = load_survey()
    timelines = timelines_of(survey, config.survey_edition)
    probe = build_dataset(
        replace(config, seed=config.seed + 97, sites=400),
        timelines,
        next(iter(timelines.values())).survey_year,
    ).rows
    ours = predict(model.booster, probe, config.nthread)
    theirs = predict(shipped, probe, config.nthread)
    difference = float(np.abs(ours - theirs).max()) if len(probe) else 0.0
    return {
        "artifact": str(model_path),
        "same_bytes": bytes(model.booster.save_raw("json")) == shipped_raw,
        "same_predictions": difference == 0.0,
        "max_prediction_difference": difference,
        "probe_rows": len(probe),
    }
