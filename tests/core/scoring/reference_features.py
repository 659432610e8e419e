"""The per-asset feature builder that scoring used before the columnar one: kept as the
reference the columnar ``features.extract`` must reproduce bit for bit."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from qrap_core.crypto import ir8547_deadline
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import Usage
from qrap_core.rules.base import AssetFacts, FindingDraft, build_facts
from qrap_core.scoring.features import (
    _CLASSICAL_CATEGORIES,
    _FAMILY_CODE,
    _NAN,
    _STATIC_RSA_DEADLINE,
    _USAGE_CODE,
    _WEAKNESS_CODE,
    _YEAR_DAYS,
    FEATURES,
    SENSITIVITIES,
    THREAT_MODELS,
    FeatureContext,
    Matrix,
    _add_crqc_probabilities,
    _certificate_days,
    _exposure,
    _level,
    _num,
    _ordinal,
    _protocol_version,
    _suite,
    _suite_row,
    _usage,
)


def reference_extract(
    assets: Sequence[CryptoAsset], findings: Sequence[FindingDraft], ctx: FeatureContext
) -> Matrix:
    """One row per asset, in order; ``findings[i].asset_index`` points into ``assets``."""
    worst: dict[int, int] = {}
    for finding in findings:
        if finding.category in _CLASSICAL_CATEGORIES:
            code = _WEAKNESS_CODE[finding.risk_level]
            if code > worst.get(finding.asset_index, 0):
                worst[finding.asset_index] = code
    reference = ctx.reference_year
    shared = _shared_columns(ctx, reference)
    rows = np.empty((len(assets), len(FEATURES)), dtype=np.float32)
    for index, facts in enumerate(build_facts(assets)):
        rows[index] = _row(facts, worst.get(index, 0), ctx, reference, shared)
    _add_crqc_probabilities(rows, ctx, reference)
    return rows


def _shared_columns(ctx: FeatureContext, reference: float) -> tuple[float, float, float, float]:
    threat = THREAT_MODELS.index(ctx.threat_model) if ctx.threat_model in THREAT_MODELS else 1
    return (
        float(ctx.shelf_life_years),
        float(ctx.migration_years),
        float(threat),
        max(0.0, reference - ctx.survey_year),
    )


def _row(
    facts: AssetFacts,
    weakness: int,
    ctx: FeatureContext,
    reference: float,
    shared: tuple[float, float, float, float],
) -> list[float]:
    asset = facts.asset
    details = asset.details
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
    hybrid = facts.post_quantum or (facts.is_key_establishment and facts.pq_kex_at_location)
    lifetime, remaining = _certificate_days(facts, ctx)
    deadline = ir8547_deadline(info) if vulnerable and info.known else None
    if vulnerable and deadline is None and asset.kind == "cipher_suite":
        deadline = _STATIC_RSA_DEADLINE
    years_to_deadline = (
        (deadline.toordinal() - _ordinal(reference)) / _YEAR_DAYS if deadline else _NAN
    )
    shelf, migration, threat, elapsed = shared
    return [
        float(_FAMILY_CODE.get(family or "unknown", 0)),
        float(_USAGE_CODE[usage]),
        1.0 if vulnerable else 0.0,
        bits,
        level,
        key_size,
        1.0 if hybrid else 0.0,
        _protocol_version(asset),
        lifetime,
        remaining,
        1.0 if details.get("is_ca") else 0.0,
        shelf,
        float(_level(details.get("sensitivity") or ctx.sensitivity, SENSITIVITIES, 1)),
        float(_exposure(asset, ctx)),
        migration,
        threat,
        elapsed,
        _NAN,  # crqc_probability and crqc_probability_trusted: filled for all rows at once
        _NAN,
        years_to_deadline,
        float(weakness),
        1.0 if deprecated else 0.0,
    ]
