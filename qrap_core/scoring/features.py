"""The risk model's features: one row of numbers per crypto asset.

Training and scoring build rows with this one function, so the model never sees a feature
computed two ways. Each feature is listed once in ``FEATURES`` with its kind, the direction
its risk is known to move (the model's monotone constraint) and how to show its value in an
explanation. Missing values are NaN (XGBoost learns where they go).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from qrap_core.crypto import ir8547_deadline, parse_algorithm
from qrap_core.crypto.crqc import CrqcTimeline, timeline_for
from qrap_core.crypto.protocols import normalise_protocol
from qrap_core.crypto.suites import SuiteComponents, suite_components
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import FindingCategory, RiskLevel, Usage
from qrap_core.rules.base import AssetFacts, FindingDraft, build_facts
from qrap_core.rules.certificate import parse_timestamp

FeatureKind = Literal["categorical", "numeric", "binary", "ordinal"]
Matrix = npt.NDArray[np.float32]

FAMILIES: tuple[str, ...] = (
    "unknown", "RSA", "DSA", "DH", "EC", "ECDH", "EdDSA",
    "ML-KEM", "ML-DSA", "SLH-DSA", "LMS", "XMSS", "FN-DSA", "hybrid", "Kyber", "Dilithium",
    "AES", "ChaCha20", "Camellia", "ARIA", "SEED", "SM4",
    "3DES", "DES", "RC4", "RC2", "IDEA", "Blowfish", "CAST5",
    "MD5", "MD4", "SHA-1", "SHA-2", "SHA-3", "BLAKE2", "HMAC", "UMAC", "CMAC", "Poly1305",
    "protocol",
)  # fmt: skip
USAGES: tuple[str, ...] = tuple(usage.value for usage in Usage)
SENSITIVITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
EXPOSURES: tuple[str, ...] = ("internal", "partner", "internet")
THREAT_MODELS: tuple[str, ...] = ("optimistic", "median", "pessimistic")
PROTOCOLS: tuple[str, ...] = (
    "SSLv2/SSH-1",
    "SSLv3",
    "TLSv1.0",
    "TLSv1.1",
    "TLSv1.2",
    "TLSv1.3/SSH-2",
)
WEAKNESS_LEVELS: tuple[str, ...] = ("none", "LOW", "MEDIUM", "HIGH", "CRITICAL")

DEFAULT_SENSITIVITY = "medium"
# An asset whose exposure nobody stated and no address reveals counts as the middle value.
UNKNOWN_EXPOSURE = "partner"


@dataclass(frozen=True, slots=True)
class Feature:
    """One column: ``monotone`` is +1 when a larger value never lowers risk, -1 when it never
    raises it, 0 when the direction is not known; ``labels`` name categorical codes."""

    name: str
    kind: FeatureKind
    monotone: int
    description: str
    labels: tuple[str, ...] = ()


FEATURES: tuple[Feature, ...] = (
    Feature("family", "categorical", 0, "algorithm family (catalog)", FAMILIES),
    Feature("usage", "categorical", 0, "what the key does", USAGES),
    Feature("quantum_vulnerable", "binary", 1, "broken by Shor's algorithm"),
    Feature("classical_bits", "numeric", -1, "classical security strength (SP 800-57)"),
    Feature("quantum_level", "numeric", -1, "NIST post-quantum security category 0-5"),
    Feature("key_size", "numeric", -1, "key size in bits"),
    Feature("hybrid_pqc", "binary", -1, "PQC or a hybrid PQC key exchange is present"),
    Feature("protocol_version", "ordinal", -1, "protocol version (SSLv2 .. TLS 1.3)", PROTOCOLS),
    Feature("cert_lifetime_days", "numeric", 1, "certificate validity period in days"),
    Feature("days_to_expiry", "numeric", 0, "days until the certificate expires"),
    Feature("is_ca", "binary", 1, "a CA key: everything it signs inherits its exposure"),
    Feature("shelf_life_years", "numeric", 1, "years the data must stay secret (Mosca x)"),
    Feature("sensitivity", "ordinal", 1, "how sensitive the protected data is", SENSITIVITIES),
    Feature("exposure", "ordinal", 1, "where the asset can be reached and recorded", EXPOSURES),
    Feature("migration_years", "numeric", 1, "years the PQC migration takes (Mosca y)"),
    Feature("threat_model", "ordinal", 1, "CRQC timeline assumption", THREAT_MODELS),
    Feature("years_since_survey", "numeric", 0, "years between the CRQC survey and now"),
    Feature(
        "crqc_probability",
        "numeric",
        1,
        "P(CRQC within shelf life + migration time): probabilistic Mosca under the threat model",
    ),
    Feature(
        "crqc_probability_trusted",
        "numeric",
        1,
        "P(CRQC while the key is still trusted + migration time): when signatures fall",
    ),
    Feature("years_to_nist_deadline", "numeric", -1, "years left until NIST IR 8547's date"),
    Feature(
        "classical_weakness", "ordinal", 1, "worst classical finding on the asset", WEAKNESS_LEVELS
    ),
    Feature("deprecated", "binary", 1, "catalog marks the algorithm deprecated"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(feature.name for feature in FEATURES)
INDEX: dict[str, int] = {name: index for index, name in enumerate(FEATURE_NAMES)}
MONOTONE_CONSTRAINTS: tuple[int, ...] = tuple(feature.monotone for feature in FEATURES)
FEATURE_TYPES: tuple[str, ...] = tuple("c" if f.kind == "categorical" else "q" for f in FEATURES)

_FAMILY_CODE = {name: code for code, name in enumerate(FAMILIES)}
_USAGE_CODE = {name: code for code, name in enumerate(USAGES)}
_WEAKNESS_CODE = {
    RiskLevel.INFO: 0,
    RiskLevel.LOW: 1,
    RiskLevel.MEDIUM: 2,
    RiskLevel.HIGH: 3,
    RiskLevel.CRITICAL: 4,
}
# Findings that judge classical strength; the quantum ones are what the other features model.
_CLASSICAL_CATEGORIES = frozenset(
    {
        FindingCategory.WEAK_ALGORITHM,
        FindingCategory.SHORT_KEY_LENGTH,
        FindingCategory.DEPRECATED_PROTOCOL,
        FindingCategory.CERTIFICATE_EXPIRY,
    }
)
_PROTOCOL_CODE = {"SSLv2": 0, "SSLv3": 1, "TLSv1.0": 2, "TLSv1.1": 3, "TLSv1.2": 4, "TLSv1.3": 5}
_INTERNAL_SUFFIXES = (".local", ".internal", ".lan", ".corp", ".home.arpa", ".localdomain")
_DAY = 86400.0
_YEAR_DAYS = 365.25
_NAN = math.nan


# How long a signing key that is not a certificate (a declared key, an SSH host key) stays
# trusted, for want of a validity period.
DEFAULT_TRUST_YEARS = 2.0


@dataclass(frozen=True, slots=True)
class FeatureContext:
    """The run's assumptions, resolved: what every row of one scoring call shares.

    ``timeline`` is the CRQC distribution of the threat model (the packaged survey's when
    None); ``survey_year`` must be its survey's year.
    """

    now: datetime
    shelf_life_years: float
    migration_years: float
    threat_model: str
    survey_year: float
    sensitivity: str | None = None
    exposure: str | None = None
    timeline: CrqcTimeline | None = None

    @property
    def reference_year(self) -> float:
        """``now`` as a fractional year."""
        now = self.now if self.now.tzinfo else self.now.replace(tzinfo=UTC)
        start = datetime(now.year, 1, 1, tzinfo=UTC)
        return now.year + (now - start).total_seconds() / (_YEAR_DAYS * _DAY)


def extract(
    assets: Sequence[CryptoAsset], findings: Sequence[FindingDraft], ctx: FeatureContext
) -> Matrix:
    """One row per asset, in order; ``findings[i].asset_index`` points into ``assets``.

    Built column by column: one pass over the assets reads what the columns need; what depends
    on the algorithm description is computed once per distinct description (a large estate
    repeats a few hundred of them), the other asset columns once per distinct key, and the
    rest with numpy over whole columns.
    """
    reference = ctx.reference_year
    rows = np.empty((len(assets), len(FEATURES)), dtype=np.float32)
    shelf, migration, threat, elapsed = _shared_columns(ctx, reference)
    rows[:, INDEX["shelf_life_years"]] = shelf
    rows[:, INDEX["migration_years"]] = migration
    rows[:, INDEX["threat_model"]] = threat
    rows[:, INDEX["years_since_survey"]] = elapsed
    rows[:, INDEX["classical_weakness"]] = _weakness(findings, len(assets))
    if assets:
        _asset_columns(rows, assets, ctx, reference)
    _add_crqc_probabilities(rows, ctx, reference)
    return rows


def _weakness(findings: Sequence[FindingDraft], count: int) -> npt.NDArray[np.float64]:
    """Per asset, the worst classical finding's code (0: none)."""
    worst = np.zeros(count, dtype=np.int64)
    pairs = [
        (finding.asset_index, _WEAKNESS_CODE[finding.risk_level])
        for finding in findings
        if finding.category in _CLASSICAL_CATEGORIES
    ]
    if pairs:
        index, code = np.asarray(pairs, dtype=np.int64).T
        np.maximum.at(worst, index, code)
    return worst.astype(np.float64)


# The columns that only the algorithm description decides, in _static_row's order.
_STATIC = (
    "family", "usage", "quantum_vulnerable", "classical_bits", "quantum_level", "key_size",
    "protocol_version", "years_to_nist_deadline", "deprecated",
)  # fmt: skip


# What _asset_columns reads from one asset, by position in its key (after the seven fields).
_CURVE, _PQC, _HYBRID, _IS_CA, _SENSITIVITY, _EXPOSURE = range(7, 13)
# The columns that the key alone decides.
_KEYED = np.asarray(
    [
        INDEX[name]
        for name in (*_STATIC, "is_ca", "sensitivity", "cert_lifetime_days", "days_to_expiry")
    ],
    dtype=np.intp,
)


def _asset_columns(
    rows: Matrix, assets: Sequence[CryptoAsset], ctx: FeatureContext, reference: float
) -> None:
    # One pass reads every field and detail the columns use, except the location; each
    # distinct key is computed once (a large estate repeats the same few thousand).
    keys = [
        (
            a.kind, a.algorithm or a.name, bool(a.algorithm), a.key_size, a.family, a.usage,
            a.protocol, d.get("curve"), d.get("pqc"), d.get("hybrid_pqc"), d.get("is_ca"),
            d.get("sensitivity"), d.get("exposure"), d.get("not_after"),
            d.get("lifetime_days"), d.get("days_to_expiry"),
        )
        for a in assets
        for d in (a.details,)
    ]  # fmt: skip
    codes, first = _factorize(keys)
    part = np.empty((len(first), len(FEATURES)), dtype=np.float32)
    flags, stated = _key_columns(
        part, [assets[i] for i in first], [keys[i] for i in first], ctx, reference
    )
    rows[:, _KEYED] = part[codes][:, _KEYED]
    # hybrid_pqc: the asset is PQ itself, or a key establishment where another asset at the
    # same location offers a PQ or hybrid key exchange.
    locations = [asset.location for asset in assets]
    location_codes, location_first = _factorize(locations)
    flags = flags[codes]
    offers_pq = np.zeros(len(location_first), dtype=bool)
    offers_pq[location_codes[flags[:, 2]]] = True
    rows[:, INDEX["hybrid_pqc"]] = flags[:, 0] | (flags[:, 1] & offers_pq[location_codes])
    by_location = np.asarray(
        [float(EXPOSURES.index(_exposure_of_location(locations[i]))) for i in location_first]
    )
    stated = stated[codes]
    rows[:, INDEX["exposure"]] = np.where(stated >= 0, stated, by_location[location_codes])


def _key_columns(
    part: Matrix,
    assets: Sequence[CryptoAsset],
    keys: Sequence[tuple[Any, ...]],
    ctx: FeatureContext,
    reference: float,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """The keyed columns of one asset per distinct key; returns ``_flags`` and the stated
    exposure's code (-1: none) per key."""
    # Everything build_facts and _static_row read: assets with equal keys get equal facts.
    static_codes, first = _factorize(
        [
            (*key[:7], key[_CURVE] if key[0] == "certificate" else None,
             bool(key[_PQC] or key[_HYBRID]))
            for key in keys
        ]
    )  # fmt: skip
    facts = build_facts([assets[i] for i in first])
    static = np.asarray([_static_row(f, reference) for f in facts], dtype=np.float64)
    for column, name in enumerate(_STATIC):
        part[:, INDEX[name]] = static[static_codes, column]
    flags = np.asarray([_flags(f) for f in facts], dtype=bool).reshape(len(facts), 3)
    part[:, INDEX["is_ca"]] = [1.0 if key[_IS_CA] else 0.0 for key in keys]
    part[:, INDEX["sensitivity"]] = _mapped(
        [key[_SENSITIVITY] or ctx.sensitivity for key in keys],
        lambda value: float(_level(value, SENSITIVITIES, 1)),
    )
    stated = _mapped(
        [key[_EXPOSURE] or ctx.exposure for key in keys],
        lambda value: (
            float(EXPOSURES.index(value)) if isinstance(value, str) and value in EXPOSURES else -1.0
        ),
    )
    _certificate_columns(part, assets, [asset.kind for asset in assets], ctx)
    return flags[static_codes], np.asarray(stated, dtype=np.float64)


def _certificate_columns(
    rows: Matrix, assets: Sequence[CryptoAsset], kinds: Sequence[str], ctx: FeatureContext
) -> None:
    lifetime = np.full(len(assets), _NAN)
    remaining = np.full(len(assets), _NAN)
    certificates = [index for index, kind in enumerate(kinds) if kind == "certificate"]
    if certificates:
        now = ctx.now if ctx.now.tzinfo else ctx.now.replace(tzinfo=UTC)
        cache: dict[str, float | None] = {}
        days = [_days(assets[index].details, now, cache) for index in certificates]
        lifetime[certificates] = [pair[0] for pair in days]
        remaining[certificates] = [pair[1] for pair in days]
    rows[:, INDEX["cert_lifetime_days"]] = lifetime
    rows[:, INDEX["days_to_expiry"]] = remaining


def _days(
    details: dict[str, Any], now: datetime, cache: dict[str, float | None]
) -> tuple[float, float]:
    """``_certificate_days`` for one certificate, parsing each distinct expiry date once."""
    lifetime = details.get("lifetime_days")
    value = details.get("not_after")
    key = value if isinstance(value, str) else None
    if key is not None and key in cache:
        remaining = cache[key]
    else:
        not_after = parse_timestamp(value)
        # Whole days, as the rules count them: finer would only make every row unique.
        remaining = (
            None
            if not_after is None
            else float(math.floor((not_after - now).total_seconds() / _DAY))
        )
        if key is not None:
            cache[key] = remaining
    if remaining is None:
        declared = details.get("days_to_expiry")
        remaining = float(declared) if isinstance(declared, int | float) else _NAN
    return (float(lifetime) if isinstance(lifetime, int | float) else _NAN), remaining


def _factorize(values: list[Any]) -> tuple[npt.NDArray[np.intp], list[int]]:
    """A code per value (in order of first appearance) and each code's first position."""
    index: dict[Any, int] = {}
    try:
        codes = np.asarray([index.setdefault(v, len(index)) for v in values], dtype=np.intp)
    except TypeError:  # an unhashable detail: every asset is its own key
        codes = np.arange(len(values), dtype=np.intp)
    if len(codes) == 0:
        return codes, []
    seen = np.maximum.accumulate(codes)
    new = np.empty(len(codes), dtype=bool)
    new[0] = True
    new[1:] = codes[1:] > seen[:-1]
    return codes, np.flatnonzero(new).tolist()


def _mapped(values: list[Any], function: Callable[[Any], float]) -> list[float]:
    """``function`` of each value, computed once per distinct value."""
    cache: dict[Any, float] = {}
    try:
        return [cache[v] if v in cache else cache.setdefault(v, function(v)) for v in values]
    except TypeError:  # an unhashable detail
        return [function(v) for v in values]


def _add_crqc_probabilities(rows: Matrix, ctx: FeatureContext, reference: float) -> None:
    """Mosca under the run's timeline: P(CRQC within x + y), and within the years a signing
    key stays trusted + y (its remaining validity for a certificate)."""
    timeline = ctx.timeline or timeline_for(ctx.threat_model)
    y = max(0.0, float(ctx.migration_years))
    x = max(0.0, float(ctx.shelf_life_years))
    rows[:, INDEX["crqc_probability"]] = timeline.probability_within(
        x + y, reference_year=reference
    )
    remaining = rows[:, INDEX["days_to_expiry"]].astype(np.float64)
    trusted = np.where(
        np.isnan(rows[:, INDEX["cert_lifetime_days"]]),
        DEFAULT_TRUST_YEARS,
        np.maximum(np.nan_to_num(remaining, nan=0.0), 0.0) / _YEAR_DAYS,
    )
    rows[:, INDEX["crqc_probability_trusted"]] = timeline.probabilities_within(
        trusted + y, reference_year=reference
    )


def refresh_crqc_probabilities(rows: Matrix, timelines: dict[str, CrqcTimeline]) -> None:
    """Recompute both Mosca columns from each row's own shelf life, migration time, threat
    model and elapsed years (after those were changed, as training's feedback variants do)."""
    threat = np.nan_to_num(rows[:, INDEX["threat_model"]], nan=1.0).astype(int)
    elapsed = np.nan_to_num(rows[:, INDEX["years_since_survey"]], nan=0.0).astype(np.float64)
    y = np.maximum(np.nan_to_num(rows[:, INDEX["migration_years"]], nan=0.0), 0.0)
    x = np.maximum(np.nan_to_num(rows[:, INDEX["shelf_life_years"]], nan=0.0), 0.0)
    remaining = np.nan_to_num(rows[:, INDEX["days_to_expiry"]].astype(np.float64), nan=0.0)
    trusted = np.where(
        np.isnan(rows[:, INDEX["cert_lifetime_days"]]),
        DEFAULT_TRUST_YEARS,
        np.maximum(remaining, 0.0) / _YEAR_DAYS,
    )
    for code, name in enumerate(THREAT_MODELS):
        mask = threat == code
        if not mask.any():
            continue
        timeline = timelines[name]
        rows[mask, INDEX["crqc_probability"]] = timeline.probabilities_after(
            elapsed[mask], (x + y)[mask]
        )
        rows[mask, INDEX["crqc_probability_trusted"]] = timeline.probabilities_after(
            elapsed[mask], (trusted + y)[mask]
        )


def _shared_columns(ctx: FeatureContext, reference: float) -> tuple[float, float, float, float]:
    threat = THREAT_MODELS.index(ctx.threat_model) if ctx.threat_model in THREAT_MODELS else 1
    return (
        float(ctx.shelf_life_years),
        float(ctx.migration_years),
        float(threat),
        max(0.0, reference - ctx.survey_year),
    )


def _static_row(facts: AssetFacts, reference: float) -> tuple[float, ...]:
    """The columns of ``_STATIC``: what the asset's algorithm description decides."""
    asset = facts.asset
    info = facts.info
    family = facts.family
    usage = _usage(facts)
    vulnerable = facts.quantum_vulnerable
    bits: float = _num(facts.classical_bits)
    level: float = _num(info.quantum_level) if info.known else _NAN
    key_size: float = _num(facts.key_size)
    deprecated = info.deprecated
    if asset.kind == "cipher_suite":
        parts = _suite(facts.raw_algorithm)
        if parts is not None:
            family, usage, vulnerable, bits, level, key_size, deprecated = _suite_row(parts)
    elif asset.kind == "protocol":
        family, usage = "protocol", Usage.PROTOCOL.value
    if vulnerable:
        level = 0.0
    elif facts.post_quantum and math.isnan(level):
        level = 1.0  # a hybrid or PQ marking without a catalog entry: the lowest category
    deadline = ir8547_deadline(info) if vulnerable and info.known else None
    if vulnerable and deadline is None and asset.kind == "cipher_suite":
        deadline = _STATIC_RSA_DEADLINE
    years_to_deadline = (
        (deadline.toordinal() - _ordinal(reference)) / _YEAR_DAYS if deadline else _NAN
    )
    return (
        float(_FAMILY_CODE.get(family or "unknown", 0)),
        float(_USAGE_CODE[usage]),
        1.0 if vulnerable else 0.0,
        bits,
        level,
        key_size,
        _protocol_version(asset),
        years_to_deadline,
        1.0 if deprecated else 0.0,
    )


def _flags(facts: AssetFacts) -> tuple[bool, bool, bool]:
    """Post-quantum itself; a key establishment; offers PQ key exchange at its location (as
    ``build_facts`` decides ``pq_kex_at_location``)."""
    asset = facts.asset
    offers = (
        asset.kind in ("key_exchange", "algorithm", "key")
        and (asset.usage is Usage.KEY_ESTABLISHMENT or asset.kind == "key_exchange")
        and facts.post_quantum
        and not facts.info.deprecated
    )
    return facts.post_quantum, facts.is_key_establishment, offers


# Static RSA key transport in a suite has no key size in its name: IR 8547's earlier date.
_STATIC_RSA_DEADLINE = ir8547_deadline(parse_algorithm("RSA-OAEP"))


def _usage(facts: AssetFacts) -> str:
    if facts.is_key_establishment:
        return Usage.KEY_ESTABLISHMENT.value
    if facts.kind == "certificate":
        return Usage.SIGNATURE.value
    usage = facts.asset.usage
    if usage is Usage.UNKNOWN and facts.info.known:
        usage = facts.info.usage
    return usage.value


@lru_cache(maxsize=4096)
def _suite(name: str) -> SuiteComponents | None:
    return suite_components(name)


def _suite_row(parts: SuiteComponents) -> tuple[str, str, bool, float, float, float, bool]:
    """A suite's row is its bulk cipher's, except that static RSA key transport makes the
    suite itself a quantum-vulnerable key establishment (no separate key exchange asset)."""
    cipher = parts.cipher
    static_rsa = parts.suite.key_exchange in ("RSA", "RSAPSK")
    family = cipher.family if cipher is not None and cipher.family else "unknown"
    bits = _num(cipher.classical_bits) if cipher is not None else 0.0  # NULL: no secrecy
    level = _num(cipher.quantum_level) if cipher is not None else 0.0
    key_size = _num(parts.suite.cipher_bits)
    deprecated = bool(cipher is not None and cipher.deprecated) or parts.suite.export
    usage = Usage.KEY_ESTABLISHMENT.value if static_rsa else Usage.ENCRYPTION.value
    return family, usage, static_rsa, bits, level, key_size, deprecated


def _certificate_days(facts: AssetFacts, ctx: FeatureContext) -> tuple[float, float]:
    if facts.kind != "certificate":
        return _NAN, _NAN
    details = facts.details
    lifetime = details.get("lifetime_days")
    not_after = parse_timestamp(details.get("not_after"))
    if not_after is not None:
        now = ctx.now if ctx.now.tzinfo else ctx.now.replace(tzinfo=UTC)
        # Whole days, as the rules count them: finer would only make every row unique.
        remaining = float(math.floor((not_after - now).total_seconds() / _DAY))
    else:
        declared = details.get("days_to_expiry")
        remaining = float(declared) if isinstance(declared, int | float) else _NAN
    return (float(lifetime) if isinstance(lifetime, int | float) else _NAN), remaining


def _protocol_version(asset: CryptoAsset) -> float:
    text = asset.protocol or (asset.algorithm if asset.kind == "protocol" else None) or ""
    if not text:
        return _NAN
    upper = text.strip().upper()
    if upper.startswith("SSH"):
        # SSH-1 is long broken; SSH-2 is the current protocol (PQ key exchange exists there).
        # "SSH-1.99" is a server that speaks both: its protocol asset is judged as SSH-1, the
        # key exchanges and keys it showed in its SSH-2 KEXINIT as SSH-2.
        ssh_version = upper.replace("-", "").removeprefix("SSH")
        if ssh_version.startswith("1.99"):
            return 0.0 if asset.kind == "protocol" else 5.0
        return 0.0 if ssh_version.startswith("1") else 5.0
    version = normalise_protocol(text)
    return float(_PROTOCOL_CODE[version]) if version in _PROTOCOL_CODE else _NAN


def _exposure(asset: CryptoAsset, ctx: FeatureContext) -> int:
    stated = asset.details.get("exposure") or ctx.exposure
    if isinstance(stated, str) and stated in EXPOSURES:
        return EXPOSURES.index(stated)
    return EXPOSURES.index(_exposure_of_location(asset.location))


@lru_cache(maxsize=65536)
def _exposure_of_location(location: str) -> str:
    """Where a probed ``host:port`` lives: private and loopback addresses are internal."""
    host, sep, port = location.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return UNKNOWN_EXPOSURE
    host = host.strip("[]").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(_INTERNAL_SUFFIXES) or "." not in host:
            return "internal"
        return "internet"
    if address.is_private or address.is_loopback or address.is_link_local:
        return "internal"
    return "internet"


def _level(value: object, labels: tuple[str, ...], default: int) -> int:
    if isinstance(value, str) and value.strip().lower() in labels:
        return labels.index(value.strip().lower())
    return default


def _num(value: float | int | None) -> float:
    return _NAN if value is None else float(value)


def _ordinal(fractional_year: float) -> float:
    year = int(fractional_year)
    return datetime(year, 1, 1).toordinal() + (fractional_year - year) * _YEAR_DAYS


def display_value(feature: Feature, value: float) -> Any:
    """A feature value as an explanation shows it: a label for codes, None for missing."""
    if math.isnan(value):
        return None
    if feature.labels and feature.kind in ("categorical", "ordinal"):
        code = int(value)
        return feature.labels[code] if 0 <= code < len(feature.labels) else str(code)
    if feature.kind == "binary":
        return bool(value)
    return round(float(value), 2)
