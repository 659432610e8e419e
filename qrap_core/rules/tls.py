"""TLS rules: protocol versions and cipher suites (key exchange groups are in quantum.py)."""

from __future__ import annotations

from qrap_core.crypto import IR8547_DEPRECATED_AFTER, policy, protocols

# Re-exported: the suite and version parsers lived here before the catalog took them over.
from qrap_core.crypto.protocols import normalise_protocol as normalise_protocol
from qrap_core.crypto.suites import SuiteProfile as SuiteProfile
from qrap_core.crypto.suites import parse_cipher_suite as parse_cipher_suite
from qrap_core.enums import FindingCategory, RiskLevel
from qrap_core.rules.base import (
    IR_8547,
    RFC_7465,
    RFC_8996,
    SP_800_52,
    SP_800_131A,
    AssetFacts,
    FindingDraft,
    Rule,
    RuleContext,
    RuleSpec,
    draft,
)

DEPRECATED_PROTOCOL = RuleSpec(
    "QRAP-TLS-001",
    FindingCategory.DEPRECATED_PROTOCOL,
    "deprecated protocol version accepted",
    "SSLv2/SSLv3 (critical) or TLS 1.0/1.1 (high) is accepted",
)
BROKEN_CIPHER_SUITE = RuleSpec(
    "QRAP-TLS-002",
    FindingCategory.WEAK_ALGORITHM,
    "broken cipher suite accepted",
    "A NULL, EXPORT, anonymous or single-DES cipher suite is accepted",
)
WEAK_CIPHER_SUITE = RuleSpec(
    "QRAP-TLS-003",
    FindingCategory.WEAK_ALGORITHM,
    "weak cipher suite accepted",
    "An RC4, 3DES, IDEA or RC2 cipher suite is accepted",
)
CBC_SHA1_SUITE = RuleSpec(
    "QRAP-TLS-004",
    FindingCategory.WEAK_ALGORITHM,
    "CBC cipher suite with a SHA-1 MAC",
    "A CBC-mode suite authenticated with HMAC-SHA1 (padding-oracle prone, no AEAD)",
)
NO_FORWARD_SECRECY = RuleSpec(
    "QRAP-TLS-005",
    FindingCategory.WEAK_ALGORITHM,
    "cipher suite without forward secrecy",
    "A static RSA, DH or ECDH key exchange suite: one key compromise decrypts past sessions",
)

# SSL is broken outright (POODLE, DROWN); TLS 1.0 and 1.1 are only deprecated.
_PROTOCOL_LEVELS = {
    version: RiskLevel.CRITICAL if protocols.is_ssl(version) else RiskLevel.HIGH
    for version in protocols.DEPRECATED
}


def deprecated_protocol(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-TLS-001: RFC 8996 deprecates TLS 1.0 and 1.1; SSL is broken (POODLE, DROWN)."""
    if facts.kind != "protocol" or facts.details.get("accepted") is False:
        return None
    version = normalise_protocol(facts.raw_algorithm)
    level = _PROTOCOL_LEVELS.get(version or "")
    if version is None or level is None:
        return None
    negotiated = bool(facts.details.get("negotiated"))
    return draft(
        DEPRECATED_PROTOCOL,
        facts,
        risk_level=level,
        title=f"{version} is accepted",
        description=(
            f"The server at {facts.asset.location} accepts {version}"
            + (" and negotiated it by default." if negotiated else ".")
            + " Deprecated versions lack modern AEAD suites and allow downgrade attacks; "
            "post-quantum key exchange exists only in TLS 1.3."
        ),
        remediation=f"Disable {version}; offer TLS 1.3 (with TLS 1.2 only where clients need it).",
        current_algorithm=version,
        recommended_algorithm="TLSv1.3",
        evidence={"protocol": version, "negotiated": negotiated},
        # SP 800-52 Rev. 2: TLS 1.3 by 2024-01-01; SSL was disallowed long before.
        deadline=(
            policy.SP800_131A_LEGACY_DISALLOWED_AFTER
            if protocols.is_ssl(version)
            else policy.SP800_52_TLS13_BY
        ),
        references=(RFC_8996, SP_800_52),
    )


def _broken_reasons(profile: SuiteProfile, bits: object) -> list[str]:
    reasons = []
    flaw = profile.cipher_flaw
    if flaw is not None and flaw.broken:
        reasons.append(flaw.reason)
    if profile.export:
        reasons.append("EXPORT-grade key exchange or cipher")
    if profile.anonymous:
        reasons.append("anonymous key exchange: no server authentication")
    if isinstance(bits, int) and not isinstance(bits, bool) and 0 < bits < 64:
        reasons.append(f"{bits}-bit effective key")
    return reasons


def _suite(facts: AssetFacts) -> SuiteProfile | None:
    """The parsed suite, or None when this is not a suite whose bulk cipher we recognise.

    An unrecognised name (GOST, a signalling value) yields no finding rather than a guess.
    """
    if facts.kind != "cipher_suite":
        return None
    profile = parse_cipher_suite(facts.raw_algorithm)
    return profile if profile.cipher != "?" else None


def _suite_evidence(facts: AssetFacts, profile: SuiteProfile) -> dict[str, object]:
    return {
        "cipher_suite": profile.name,
        "protocol": facts.asset.protocol,
        "bits": facts.details.get("bits"),
        "key_exchange": profile.key_exchange,
        "cipher": profile.cipher,
        "mode": profile.mode,
        "mac": profile.mac,
    }


def broken_cipher_suite(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-TLS-002: suites that give no confidentiality or no authentication at all."""
    profile = _suite(facts)
    if profile is None:
        return None
    reasons = _broken_reasons(profile, facts.details.get("bits"))
    if not reasons:
        return None
    return draft(
        BROKEN_CIPHER_SUITE,
        facts,
        risk_level=RiskLevel.CRITICAL,
        title=f"Broken cipher suite {profile.name} is accepted",
        description=(
            f"{facts.asset.location} accepts {profile.name}: {'; '.join(reasons)}. "
            "Traffic using it can be read or tampered with today."
        ),
        remediation="Remove the suite; offer only ECDHE suites with AES-GCM or ChaCha20-Poly1305.",
        recommended_algorithm="AES-256-GCM",
        evidence=_suite_evidence(facts, profile) | {"reasons": reasons},
        deadline=policy.SP800_131A_LEGACY_DISALLOWED_AFTER,
        references=(SP_800_52, SP_800_131A),
    )


def weak_cipher_suite(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-TLS-003: RC4 and 64-bit block ciphers (Sweet32)."""
    profile = _suite(facts)
    if profile is None or _broken_reasons(profile, facts.details.get("bits")):
        return None
    flaw = profile.cipher_flaw
    deadline = policy.retired_after(profile.cipher, tls=True)
    if flaw is None or flaw.broken or deadline is None:
        return None
    reason = flaw.reason
    return draft(
        WEAK_CIPHER_SUITE,
        facts,
        risk_level=RiskLevel.HIGH,
        title=f"Weak cipher suite {profile.name} is accepted",
        description=f"{facts.asset.location} accepts {profile.name}: {reason}.",
        remediation="Remove the suite; offer only ECDHE suites with AES-GCM or ChaCha20-Poly1305.",
        recommended_algorithm="AES-256-GCM",
        evidence=_suite_evidence(facts, profile) | {"reasons": [reason]},
        deadline=deadline,
        references=(SP_800_52, SP_800_131A, *((RFC_7465,) if profile.cipher == "RC4" else ())),
    )


def cbc_sha1_suite(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-TLS-004: a sound cipher in CBC with HMAC-SHA1 (Lucky13-style oracles; no AEAD)."""
    profile = _suite(facts)
    if profile is None or profile.mode != "CBC" or profile.mac != "SHA1":
        return None
    if profile.cipher_flaw is not None or _broken_reasons(profile, facts.details.get("bits")):
        return None  # the weak cipher is the finding that matters
    return draft(
        CBC_SHA1_SUITE,
        facts,
        risk_level=RiskLevel.LOW,
        title=f"CBC suite with SHA-1 MAC {profile.name} is accepted",
        description=(
            f"{facts.asset.location} accepts {profile.name}: CBC with HMAC-SHA1 is not broken, "
            "but MAC-then-encrypt has a history of padding-oracle attacks and no AEAD."
        ),
        remediation=(
            "Prefer AEAD suites (AES-GCM, ChaCha20-Poly1305); keep CBC only for old clients."
        ),
        recommended_algorithm="AES-128-GCM",
        evidence=_suite_evidence(facts, profile),
        # NIST retires SHA-1 altogether after 2030, HMAC included.
        deadline=policy.SHA1_RETIRED_AFTER,
        references=(SP_800_52, SP_800_131A),
    )


def no_forward_secrecy(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-TLS-005: static key exchange lets one stolen key decrypt every recorded session."""
    profile = _suite(facts)
    if profile is None or _broken_reasons(profile, facts.details.get("bits")):
        return None
    declared = facts.details.get("forward_secrecy")
    forward_secrecy = declared if isinstance(declared, bool) else profile.forward_secrecy
    if forward_secrecy is not False:
        return None
    return draft(
        NO_FORWARD_SECRECY,
        facts,
        risk_level=RiskLevel.MEDIUM,
        title=f"Cipher suite without forward secrecy {profile.name} is accepted",
        description=(
            f"{facts.asset.location} accepts {profile.name}, whose {profile.key_exchange} key "
            "exchange is static: whoever obtains the server key, by theft or later by a quantum "
            "computer, decrypts every recorded session."
        ),
        remediation=(
            "Offer only ephemeral (ECDHE) key exchange; on TLS 1.3 enable the hybrid "
            "X25519MLKEM768 group."
        ),
        recommended_algorithm="X25519MLKEM768",
        evidence=_suite_evidence(facts, profile) | {"forward_secrecy": False},
        # Static RSA or DH of unstated size: IR 8547's date for 112-bit keys.
        deadline=IR8547_DEPRECATED_AFTER,
        references=(SP_800_52, IR_8547),
    )


RULES = (
    Rule(DEPRECATED_PROTOCOL, deprecated_protocol),
    Rule(BROKEN_CIPHER_SUITE, broken_cipher_suite),
    Rule(WEAK_CIPHER_SUITE, weak_cipher_suite),
    Rule(CBC_SHA1_SUITE, cbc_sha1_suite),
    Rule(NO_FORWARD_SECRECY, no_forward_secrecy),
)
