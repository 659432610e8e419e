"""Migration planner: what each asset should move to, how hard that is, in which order.

Steps are ordered by urgency (CRITICAL first, the input order kept within a level). Assets
already on PQC or a standard hybrid, and symmetric ciphers and hashes that stay acceptable
(AES-128+, SHA-256+), need no step and are listed as skipped with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from qrap_core.crypto import AlgorithmInfo, ir8547_deadline, parse_algorithm
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import RISK_ORDER, FindingCategory, RiskLevel, Usage
from qrap_core.rules.base import FindingDraft
from qrap_core.rules.tls import parse_cipher_suite

Effort = Literal["LOW", "MEDIUM", "HIGH"]

RSA_UNKNOWN_USAGE_TARGET = "ML-KEM-768 (key transport) / ML-DSA-65 (signatures)"
MANUAL_REVIEW = "manual review"
_LEGACY_SUCCESSOR = {
    "X25519Kyber768Draft00": "X25519MLKEM768",
    "Kyber512": "ML-KEM-512",
    "Kyber768": "ML-KEM-768",
    "Kyber1024": "ML-KEM-1024",
    "Dilithium2": "ML-DSA-44",
    "Dilithium3": "ML-DSA-65",
    "Dilithium5": "ML-DSA-87",
}
_WEAK_CIPHERS = frozenset({"DES", "3DES", "RC4", "RC2"})
_WEAK_HASHES = frozenset({"MD4", "MD5", "SHA-1"})
_DEPRECATED_PROTOCOLS = {"sslv2", "sslv3", "tlsv1", "tlsv1.0", "tls1.0", "tlsv1.1", "tls1.1"}
_TLS_GROUP_FAMILIES = frozenset({"ECDH", "EC", "DH"})
# Above 192 bits of classical strength, keep the level with category 5 parameters.
_CATEGORY_5_ABOVE = 192


@dataclass(frozen=True, slots=True)
class PlanInput:
    """One asset to plan. ``target_algorithm`` and ``effort`` override the planner's choice."""

    asset: str
    algorithm: str
    urgency: RiskLevel = RiskLevel.MEDIUM
    usage: Usage | None = None
    protocol: str | None = None
    key_size: int | None = None
    target_algorithm: str | None = None
    effort: Effort | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class MigrationStep:
    asset: str
    current_algorithm: str
    target_algorithm: str
    priority: RiskLevel
    estimated_effort: Effort
    notes: str


@dataclass(frozen=True, slots=True)
class SkippedAsset:
    asset: str
    algorithm: str
    reason: str


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    """The original plan fields, plus the assets that need no step."""

    steps: list[MigrationStep]
    total_assets: int
    critical_count: int
    estimated_phases: int
    skipped: list[SkippedAsset] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the original ``POST /migration-plan`` answer (plus ``skipped``)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Target:
    algorithm: str
    effort: Effort
    note: str


def plan_migration(items: Sequence[PlanInput]) -> MigrationPlan:
    """Plan every item: a step per asset that must move, CRITICAL first.

    ``total_assets`` counts the input; ``estimated_phases`` counts the distinct priorities
    among the steps (one phase per urgency level).
    """
    steps: list[MigrationStep] = []
    skipped: list[SkippedAsset] = []
    for item in items:
        info = parse_algorithm(item.algorithm, item.key_size)
        reason = _skip_reason(info)
        if reason is not None and item.target_algorithm is None:
            skipped.append(SkippedAsset(item.asset, item.algorithm, reason))
            continue
        target = _target(item, info)
        if item.target_algorithm is not None and target.algorithm == MANUAL_REVIEW:
            # The caller knows what this is (a cipher suite, say); the catalog does not.
            target = _Target(item.target_algorithm, "MEDIUM", "")
        notes = " ".join(part for part in (target.note, item.notes or "") if part)
        steps.append(
            MigrationStep(
                asset=item.asset,
                current_algorithm=info.canonical if info.known else item.algorithm.strip(),
                target_algorithm=item.target_algorithm or target.algorithm,
                priority=item.urgency,
                estimated_effort=item.effort or target.effort,
                notes=notes,
            )
        )
    steps.sort(key=lambda step: RISK_ORDER[step.priority])  # stable: input order within a level
    return MigrationPlan(
        steps=steps,
        total_assets=len(items),
        critical_count=sum(1 for step in steps if step.priority is RiskLevel.CRITICAL),
        estimated_phases=len({step.priority for step in steps}),
        skipped=skipped,
    )


def plan_from_findings(
    assets: Sequence[CryptoAsset], findings: Sequence[FindingDraft]
) -> MigrationPlan:
    """Plan the assets that have findings; each one's urgency is its highest finding level.

    A MISSING_PQC finding's recommendation (which knows about CA roots and TLS groups) is
    the target; otherwise the planner's own choice, or, for what the catalog cannot place
    (protocol versions, cipher suites), the most urgent finding's recommendation.
    """
    by_asset: dict[int, list[FindingDraft]] = {}
    for finding in findings:
        if 0 <= finding.asset_index < len(assets):
            by_asset.setdefault(finding.asset_index, []).append(finding)
    items = [_input_for(assets[index], by_asset[index]) for index in sorted(by_asset)]
    return plan_migration(items)


def _input_for(asset: CryptoAsset, findings: list[FindingDraft]) -> PlanInput:
    ordered = sorted(findings, key=lambda f: RISK_ORDER[f.risk_level])
    urgency = ordered[0].risk_level
    # With no declared usage the rule had to pick one; the planner names both options instead.
    pqc = next(
        (
            f.recommended_algorithm
            for f in ordered
            if f.category is FindingCategory.MISSING_PQC and f.recommended_algorithm
        ),
        None,
    )
    if asset.usage is Usage.UNKNOWN:
        pqc = None
    algorithm = asset.algorithm or asset.name
    info = parse_algorithm(algorithm, asset.key_size)
    target = pqc
    if target is None and (not info.known or _skip_reason(info) is not None):
        target = next((f.recommended_algorithm for f in ordered if f.recommended_algorithm), None)
    if target is None and _is_deprecated_protocol(algorithm):
        target = "TLSv1.3"
    label = asset.location if asset.name == asset.location else f"{asset.location} ({asset.name})"
    rule_ids = ", ".join(sorted({f.rule_id for f in findings}))
    return PlanInput(
        asset=label,
        algorithm=algorithm,
        urgency=urgency,
        usage=asset.usage,
        protocol=asset.protocol,
        key_size=asset.key_size,
        target_algorithm=target,
        # Protocol versions and cipher suites change in server configuration only.
        effort="LOW" if asset.kind in ("protocol", "cipher_suite") else None,
        notes=f"Findings: {rule_ids}.",
    )


def _skip_reason(info: AlgorithmInfo) -> str | None:
    if not info.known:
        return None
    if info.post_quantum and not info.deprecated:
        return "already post-quantum" if info.pqc else "already on a post-quantum hybrid"
    if info.usage in (Usage.ENCRYPTION, Usage.HASH) and not info.deprecated:
        # NIST keeps AES-128 and SHA-256 acceptable against quantum attacks (IR 8547).
        return "symmetric or hash algorithm that stays acceptable"
    return None


def _target(item: PlanInput, info: AlgorithmInfo) -> _Target:
    if _is_deprecated_protocol(item.algorithm):
        return _Target("TLSv1.3", "LOW", "Disable the old version; TLS 1.3 is needed for PQC.")
    if not info.known:
        return _named_outside_catalog(item.algorithm) or _Target(
            MANUAL_REVIEW, "MEDIUM", "Algorithm not in the catalog: identify it before planning."
        )
    if info.deprecated and info.post_quantum:
        successor = _LEGACY_SUCCESSOR.get(info.canonical, "ML-KEM-768")
        return _Target(successor, "LOW", "Pre-standard draft: switch to the FIPS algorithm.")
    if info.family in _WEAK_CIPHERS:
        return _Target("AES-256-GCM", "LOW", "Broken or deprecated cipher.")
    if info.family in _WEAK_HASHES:
        return _Target("SHA-256", "LOW", "Broken hash; SHA-384 where CNSA 2.0 applies.")
    return _public_key_target(item, info)


def _public_key_target(item: PlanInput, info: AlgorithmInfo) -> _Target:
    usage = item.usage if item.usage not in (None, Usage.UNKNOWN) else info.usage
    strong = (info.classical_bits or 0) > _CATEGORY_5_ABOVE
    deadline = ir8547_deadline(info)
    by = f" NIST IR 8547: migrate by {deadline.isoformat()}." if deadline else ""
    if usage is Usage.SIGNATURE:
        target = "ML-DSA-87" if strong else "ML-DSA-65"
        return _Target(target, "HIGH", f"Re-issue keys and certificates (CA before leaves).{by}")
    if usage in (Usage.KEY_ESTABLISHMENT, Usage.ENCRYPTION):
        protocol = (item.protocol or "").upper()
        if protocol.startswith("SSH"):
            target = "mlkem1024nistp384-sha384" if strong else "mlkem768x25519-sha256"
            return _Target(target, "LOW", f"Enable the hybrid SSH key exchange.{by}")
        if protocol.startswith(("TLS", "DTLS")) or _is_tls_group(item.algorithm, info):
            target = "SecP384r1MLKEM1024" if strong else "X25519MLKEM768"
            return _Target(target, "LOW", f"Enable the hybrid TLS 1.3 group.{by}")
        target = "ML-KEM-1024" if strong else "ML-KEM-768"
        return _Target(target, "MEDIUM", f"Replace the key establishment in the application.{by}")
    return _Target(
        RSA_UNKNOWN_USAGE_TARGET,
        "HIGH",
        f"Usage not declared: the target depends on what the key does.{by}",
    )


_SIGNATURE_SCHEME = re.compile(
    r"^(?:(?P<hash>md2|md4|md5|sha1|sha224|sha256|sha384|sha512)with(?P<key>rsaencryption|rsa|dsa|ecdsa)"
    r"|(?P<key2>ecdsa|dsa)with(?P<hash2>sha1|sha224|sha256|sha384|sha512))$"
)
_WEAK_SIGNATURE_HASHES = frozenset({"md2", "md4", "md5", "sha1"})
_SHA256_SCHEME = {
    "rsa": "sha256WithRSAEncryption",
    "ecdsa": "ecdsa-with-SHA256",
    "dsa": "ML-DSA-65",
}
_BROKEN_SUITE_CIPHERS = frozenset({"NULL", "DES", "RC4", "3DES", "RC2", "IDEA"})


def _named_outside_catalog(name: str) -> _Target | None:
    """Signature schemes ("sha1WithRSAEncryption") and cipher suites, which findings name."""
    key = re.sub(r"[\s_\-]", "", name.lower())
    scheme = _SIGNATURE_SCHEME.match(key)
    if scheme is not None:
        hash_name = scheme["hash"] or scheme["hash2"]
        key_type = (scheme["key"] or scheme["key2"]).removesuffix("encryption")
        if hash_name in _WEAK_SIGNATURE_HASHES:
            return _Target(_SHA256_SCHEME[key_type], "MEDIUM", "Re-issue with a SHA-2 signature.")
        return _Target("ML-DSA-65", "HIGH", "Re-issue keys and certificates (CA before leaves).")
    suite = parse_cipher_suite(name)
    if suite.cipher == "?":
        return None
    if suite.cipher in _BROKEN_SUITE_CIPHERS or suite.export or suite.anonymous:
        return _Target("AES-256-GCM", "LOW", "Remove the cipher suite from the configuration.")
    if suite.forward_secrecy is False:
        return _Target("X25519MLKEM768", "LOW", "Offer ephemeral (ECDHE, hybrid) key exchange.")
    if suite.mode == "CBC":
        return _Target("AES-128-GCM", "LOW", "Prefer AEAD cipher suites.")
    return None


def _is_tls_group(algorithm: str, info: AlgorithmInfo) -> bool:
    """TLS named groups people write as such: x25519, secp256r1, ffdhe2048."""
    name = algorithm.strip().lower()
    return info.family in _TLS_GROUP_FAMILIES and (
        name in ("x25519", "x448") or name.startswith(("secp", "ffdhe", "brainpool"))
    )


def _is_deprecated_protocol(algorithm: str) -> bool:
    return algorithm.strip().lower().replace(" ", "") in _DEPRECATED_PROTOCOLS
