"""Classical weaknesses of keys and declared algorithms, whatever the quantum outlook."""

from __future__ import annotations

from dataclasses import dataclass

from qrap_core.crypto import policy
from qrap_core.enums import FindingCategory, RiskLevel, Usage
from qrap_core.rules.base import (
    CNSA_2,
    EC_FAMILIES,
    FINITE_FIELD_FAMILIES,
    PUBLIC_KEY_KINDS,
    SP800_131A_LEGACY_DISALLOWED_AFTER,
    SP_800_57,
    SP_800_131A,
    AssetFacts,
    FindingDraft,
    Rule,
    RuleContext,
    RuleSpec,
    draft,
)

SHORT_FINITE_FIELD_KEY = RuleSpec(
    "QRAP-KEY-001",
    FindingCategory.SHORT_KEY_LENGTH,
    "short RSA/DSA/DH key",
    "RSA, DSA or finite-field DH key under 2048 bits (under 1024: critical)",
)
SHORT_EC_KEY = RuleSpec(
    "QRAP-KEY-002",
    FindingCategory.SHORT_KEY_LENGTH,
    "short elliptic-curve key",
    "Elliptic-curve key under 224 bits (under 112 bits of security)",
)
WEAK_DECLARED_ALGORITHM = RuleSpec(
    "QRAP-ALG-001",
    FindingCategory.WEAK_ALGORITHM,
    "broken or deprecated symmetric cipher or hash",
    "A declared DES, 3DES, RC4, RC2, IDEA, Blowfish, CAST5, MD4, MD5 or SHA-1",
)

_MIN_FINITE_FIELD = 2048
_CRITICAL_FINITE_FIELD = 1024
_MIN_EC = 224
_DECLARED_KINDS = frozenset({"algorithm", "key"})


def short_finite_field_key(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-KEY-001: SP 800-131A disallows RSA, DSA and DH moduli under 2048 bits."""
    size = facts.key_size
    if facts.kind not in PUBLIC_KEY_KINDS or facts.family not in FINITE_FIELD_FAMILIES:
        return None
    if size is None or size >= _MIN_FINITE_FIELD:
        return None
    family = facts.family
    level = RiskLevel.CRITICAL if size < _CRITICAL_FINITE_FIELD else RiskLevel.HIGH
    # FIPS 186-5 no longer approves DSA for signing: skip the classical hop and go to PQC.
    recommended = "ML-DSA-65" if family == "DSA" else f"{family}-3072"
    return draft(
        SHORT_FINITE_FIELD_KEY,
        facts,
        risk_level=level,
        title=f"{family} key of {size} bits is below the 2048-bit minimum",
        description=(
            f"{facts.asset.name} uses a {size}-bit {family} key, about "
            f"{facts.classical_bits or 'under 80'} bits of classical security. Keys under 2048 "
            "bits have been disallowed since 2013; under 1024 bits they are within reach of "
            "public factoring and discrete-log records."
        ),
        remediation=(
            f"Replace the key with {recommended} (3072 bits keeps 128-bit security past 2030) "
            "and plan its post-quantum replacement at the same time."
        ),
        recommended_algorithm=recommended,
        evidence={
            "family": family,
            "key_size": size,
            "minimum_key_size": _MIN_FINITE_FIELD,
            "classical_bits": facts.classical_bits,
        },
        deadline=SP800_131A_LEGACY_DISALLOWED_AFTER,
        references=(SP_800_131A, SP_800_57),
    )


def short_ec_key(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-KEY-002: curves under 224 bits give less than 112 bits of security."""
    size = facts.key_size
    if facts.kind not in PUBLIC_KEY_KINDS or facts.family not in EC_FAMILIES:
        return None
    if size is None or size >= _MIN_EC:
        return None
    key_establishment = facts.is_key_establishment or facts.family == "ECDH"
    recommended = "ECDH-P256" if key_establishment else "ECDSA-P256"
    return draft(
        SHORT_EC_KEY,
        facts,
        risk_level=RiskLevel.HIGH,
        title=f"Elliptic-curve key of {size} bits is below the 224-bit minimum",
        description=(
            f"{facts.asset.name} uses a {size}-bit curve, about {facts.classical_bits} bits of "
            "classical security, below the 112 bits SP 800-131A requires."
        ),
        remediation=f"Move to {recommended} or stronger, and plan the post-quantum replacement.",
        recommended_algorithm=recommended,
        evidence={
            "family": facts.family,
            "key_size": size,
            "minimum_key_size": _MIN_EC,
            "classical_bits": facts.classical_bits,
            "curve": facts.details.get("curve"),
        },
        deadline=SP800_131A_LEGACY_DISALLOWED_AFTER,
        references=(SP_800_131A, SP_800_57),
    )


@dataclass(frozen=True, slots=True)
class _Weakness:
    level: RiskLevel
    reason: str
    recommended: str


_CIPHER_TARGET = "AES-256-GCM"
_HASH_TARGET = "SHA-256"
_WEAK: dict[str, _Weakness] = {
    "DES": _Weakness(RiskLevel.CRITICAL, "a 56-bit key is brute-forced in hours", _CIPHER_TARGET),
    "RC2": _Weakness(RiskLevel.CRITICAL, "RC2 is broken and long withdrawn", _CIPHER_TARGET),
    "RC4": _Weakness(
        RiskLevel.HIGH, "RC4 keystream biases recover plaintext (RFC 7465)", _CIPHER_TARGET
    ),
    "3DES": _Weakness(
        RiskLevel.HIGH,
        "its 64-bit block allows Sweet32 collisions and SP 800-131A disallows it after 2023",
        _CIPHER_TARGET,
    ),
    "MD4": _Weakness(RiskLevel.CRITICAL, "MD4 collisions are trivial", _HASH_TARGET),
    "MD5": _Weakness(RiskLevel.CRITICAL, "MD5 collisions take seconds", _HASH_TARGET),
    "SHA-1": _Weakness(
        RiskLevel.HIGH,
        "chosen-prefix collisions are practical (SHAttered, 2017; Shambles, 2020)",
        _HASH_TARGET,
    ),
    # 64-bit blocks, like 3DES: Sweet32 recovers plaintext after about 2^32 blocks.
    "IDEA": _Weakness(RiskLevel.HIGH, "its 64-bit block allows Sweet32 collisions", _CIPHER_TARGET),
    "Blowfish": _Weakness(
        RiskLevel.HIGH, "its 64-bit block allows Sweet32 collisions", _CIPHER_TARGET
    ),
    "CAST5": _Weakness(
        RiskLevel.HIGH, "its 64-bit block allows Sweet32 collisions", _CIPHER_TARGET
    ),
}


def weak_declared_algorithm(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-ALG-001: a declared cipher or hash that is broken or being withdrawn."""
    if facts.kind not in _DECLARED_KINDS or not facts.info.known:
        return None
    weakness = _WEAK.get(facts.info.family or "")
    if weakness is None:
        return None
    is_hash = facts.info.usage is Usage.HASH
    return draft(
        WEAK_DECLARED_ALGORITHM,
        facts,
        risk_level=weakness.level,
        title=f"{facts.info.canonical} is broken or deprecated",
        description=f"{facts.asset.name} declares {facts.info.canonical}: {weakness.reason}.",
        remediation=(
            f"Replace {facts.info.canonical} with {weakness.recommended}"
            + (" (SHA-384 where CNSA 2.0 applies)." if is_hash else ".")
        ),
        recommended_algorithm=weakness.recommended,
        evidence={
            "algorithm": facts.info.canonical,
            "declared_algorithm": facts.details.get("declared_algorithm", facts.raw_algorithm),
            "classical_bits": facts.classical_bits,
            "declared_usage": facts.asset.usage.value,
        },
        deadline=policy.classical_deadline(facts.info),
        references=(SP_800_131A, CNSA_2) if is_hash else (SP_800_131A,),
    )


RULES = (
    Rule(SHORT_FINITE_FIELD_KEY, short_finite_field_key),
    Rule(SHORT_EC_KEY, short_ec_key),
    Rule(WEAK_DECLARED_ALGORITHM, weak_declared_algorithm),
)
