"""What every rule shares: the run's context, the finding it drafts, the facts it reads."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from qrap_core.crypto import AlgorithmInfo, parse_algorithm, policy
from qrap_core.crypto.crqc import CrqcTimeline
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import FindingCategory, RiskLevel, Usage

FIPS_203 = "FIPS 203"
FIPS_204 = "FIPS 204"
FIPS_205 = "FIPS 205"
SP_800_131A = "NIST SP 800-131A Rev. 2"
SP_800_57 = "NIST SP 800-57 Part 1 Rev. 5"
SP_800_52 = "NIST SP 800-52 Rev. 2"
IR_8547 = "NIST IR 8547 (ipd)"
CNSA_2 = "CNSA 2.0"
RFC_8996 = "RFC 8996"
RFC_7465 = "RFC 7465"
MOSCA = "M. Mosca, Cybersecurity in an Era with Quantum Computers, IEEE S&P 16(5), 2018"

# The transition dates live with the catalog (one place); rules cite them from there.
SP800_131A_LEGACY_DISALLOWED_AFTER = policy.SP800_131A_LEGACY_DISALLOWED_AFTER
SP800_131A_TDEA_DISALLOWED_AFTER = policy.SP800_131A_TDEA_DISALLOWED_AFTER

FINITE_FIELD_FAMILIES = frozenset({"RSA", "DSA", "DH"})
EC_FAMILIES = frozenset({"EC", "ECDH", "ECDSA"})
# Public-key families Shor's algorithm breaks.
QUANTUM_VULNERABLE_FAMILIES = FINITE_FIELD_FAMILIES | EC_FAMILIES | {"EdDSA"}
# Kinds whose algorithm is a public-key primitive the quantum rules judge.
PUBLIC_KEY_KINDS = frozenset({"certificate", "key_exchange", "algorithm", "key"})


@dataclass(frozen=True, slots=True)
class RuleContext:
    """The run's clock and the organization's assumptions (Mosca's x, y and z).

    ``crqc_year`` is the fixed z the HNDL rule fires on; ``crqc`` is the survey timeline whose
    probability of exposure the finding reports beside it (the packaged median when None).
    """

    now: datetime
    shelf_life_years: float = 10
    migration_years: float = 3
    crqc_year: int = 2035
    expiry_warning_days: int = 30
    crqc: CrqcTimeline | None = None

    @property
    def now_utc(self) -> datetime:
        """``now`` as an aware UTC datetime (a naive one is taken to be UTC)."""
        return self.now.replace(tzinfo=UTC) if self.now.tzinfo is None else self.now


@dataclass(frozen=True)
class FindingDraft:
    """A finding before it is stored. ``fingerprint`` identifies it across retries of a run."""

    rule_id: str
    category: FindingCategory
    risk_level: RiskLevel
    title: str
    description: str
    affected_asset: str
    current_algorithm: str | None
    recommended_algorithm: str | None
    remediation: str
    evidence: dict[str, Any]
    deadline: date | None
    references: tuple[str, ...]
    asset_index: int
    fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (enums as strings, the deadline as an ISO date)."""
        return {
            "rule_id": self.rule_id,
            "category": self.category.value,
            "risk_level": self.risk_level.value,
            "title": self.title,
            "description": self.description,
            "affected_asset": self.affected_asset,
            "current_algorithm": self.current_algorithm,
            "recommended_algorithm": self.recommended_algorithm,
            "remediation": self.remediation,
            "evidence": self.evidence,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "references": list(self.references),
            "asset_index": self.asset_index,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule's stable identity: reports, SARIF and triage history key on ``rule_id``."""

    rule_id: str
    category: FindingCategory
    name: str
    summary: str


@dataclass(frozen=True, slots=True)
class AssetFacts:
    """One asset with what the catalog adds: parsed algorithm, effective size, PQ status."""

    index: int
    asset: CryptoAsset
    info: AlgorithmInfo
    key_size: int | None
    family: str | None
    post_quantum: bool
    quantum_vulnerable: bool
    # Another asset at the same location offers a hybrid or PQ key exchange: a classical
    # group there is a fallback, not the only option.
    pq_kex_at_location: bool

    @property
    def details(self) -> dict[str, Any]:
        return self.asset.details

    @property
    def kind(self) -> str:
        return self.asset.kind

    @property
    def raw_algorithm(self) -> str:
        return self.asset.algorithm or self.asset.name

    @property
    def display_algorithm(self) -> str:
        """The algorithm as a finding names it: observed names for handshakes, else canonical."""
        if self.kind in ("key_exchange", "cipher_suite", "protocol") or not self.info.known:
            return self.raw_algorithm
        return self.info.canonical

    @property
    def classical_bits(self) -> int | None:
        return self.info.classical_bits

    @property
    def is_key_establishment(self) -> bool:
        """Agrees, transports or encrypts keys or data with a public key: what HNDL is about."""
        if self.kind == "key_exchange":
            return True
        if self.asset.usage is Usage.KEY_ESTABLISHMENT:
            return True
        # Public-key encryption (RSA-OAEP of data or keys) is harvestable just like a key exchange.
        return self.asset.usage is Usage.ENCRYPTION and self.quantum_vulnerable


RuleCheck = Callable[[AssetFacts, RuleContext], FindingDraft | None]


@dataclass(frozen=True, slots=True)
class Rule:
    spec: RuleSpec
    check: RuleCheck


def build_facts(assets: Iterable[CryptoAsset]) -> list[AssetFacts]:
    """Parse every asset once; note the locations that offer a hybrid or PQ key exchange."""
    parsed = [(asset, _parse(asset)) for asset in assets]
    pq_locations = {
        asset.location
        for asset, info in parsed
        if asset.kind in ("key_exchange", "algorithm", "key")
        and (asset.usage is Usage.KEY_ESTABLISHMENT or asset.kind == "key_exchange")
        and _declared_post_quantum(asset, info)
        # Clients dropped the pre-standard drafts: offering one is no PQ option for them.
        and not info.deprecated
    }
    facts: list[AssetFacts] = []
    for index, (asset, info) in enumerate(parsed):
        family = info.family if info.known else asset.family
        post_quantum = _declared_post_quantum(asset, info)
        vulnerable = not post_quantum and (
            info.quantum_vulnerable if info.known else family in QUANTUM_VULNERABLE_FAMILIES
        )
        facts.append(
            AssetFacts(
                index=index,
                asset=asset,
                info=info,
                key_size=asset.key_size if asset.key_size is not None else info.key_size,
                family=family,
                post_quantum=post_quantum,
                quantum_vulnerable=vulnerable and asset.kind in PUBLIC_KEY_KINDS,
                pq_kex_at_location=asset.location in pq_locations,
            )
        )
    return facts


def draft(
    spec: RuleSpec,
    facts: AssetFacts,
    *,
    risk_level: RiskLevel,
    title: str,
    description: str,
    remediation: str,
    evidence: dict[str, Any],
    references: tuple[str, ...],
    recommended_algorithm: str | None = None,
    current_algorithm: str | None = None,
    deadline: date | None = None,
) -> FindingDraft:
    """A FindingDraft for this rule and asset, with its fingerprint."""
    affected = facts.asset.location
    return FindingDraft(
        rule_id=spec.rule_id,
        category=spec.category,
        risk_level=risk_level,
        title=title,
        description=description,
        affected_asset=affected,
        current_algorithm=current_algorithm or facts.display_algorithm,
        recommended_algorithm=recommended_algorithm,
        remediation=remediation,
        evidence=evidence,
        deadline=deadline,
        references=references,
        asset_index=facts.index,
        fingerprint=finding_fingerprint(spec.rule_id, affected, facts.asset),
    )


def asset_identity(asset: CryptoAsset) -> list[Any]:
    """What makes an observation this observation, independent of when it was made."""
    details = asset.details
    return [
        asset.kind,
        asset.name,
        asset.algorithm,
        asset.family,
        asset.key_size,
        asset.usage.value,
        asset.protocol,
        details.get("group"),
        details.get("fingerprint_sha256"),
        # Without a fingerprint, issuer and serial number identify a certificate.
        details.get("issuer"),
        details.get("serial_number"),
    ]


def finding_fingerprint(rule_id: str, affected_asset: str, asset: CryptoAsset) -> str:
    """sha256 hex of the rule, the affected asset and the asset's identity.

    The parts are JSON-encoded as one list, so field boundaries can never shift and two
    different observations never share a fingerprint.
    """
    payload = json.dumps(
        [rule_id, affected_asset, asset_identity(asset)],
        separators=(",", ":"),
        ensure_ascii=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _parse(asset: CryptoAsset) -> AlgorithmInfo:
    text = asset.algorithm or asset.name
    curve = asset.details.get("curve")
    if asset.kind == "certificate" and isinstance(curve, str) and curve:
        # The named curve is more precise than a size: brainpoolP256r1 is not P-256.
        by_curve = parse_algorithm(f"ECDSA-{curve}")
        if by_curve.known:
            return by_curve
    return parse_algorithm(text, asset.key_size)


def _declared_post_quantum(asset: CryptoAsset, info: AlgorithmInfo) -> bool:
    details = asset.details
    return bool(details.get("pqc") or details.get("hybrid_pqc")) or info.post_quantum
