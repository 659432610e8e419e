"""Quantum exposure: missing PQC for key establishment and signatures, and HNDL.

Key establishment and signatures are judged apart (what users of other tools ask for):
recorded key exchanges can be decrypted later (harvest now, decrypt later), while a signature
only needs to be unforgeable while it is verified, so signatures are driven by deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from qrap_core.crypto import (
    IR8547_DEPRECATED_AFTER,
    IR8547_DISALLOWED_AFTER,
    ir8547_deadline,
    policy,
)
from qrap_core.crypto.crqc import DEFAULT_THREAT_MODEL, timeline_for
from qrap_core.enums import FindingCategory, RiskLevel, Usage
from qrap_core.rules.base import (
    CNSA_2,
    FIPS_203,
    FIPS_204,
    FIPS_205,
    IR_8547,
    MOSCA,
    AssetFacts,
    FindingDraft,
    Rule,
    RuleContext,
    RuleSpec,
    draft,
)
from qrap_core.rules.certificate import is_root, parse_timestamp, validity

QUANTUM_VULNERABLE_KEY_ESTABLISHMENT = RuleSpec(
    "QRAP-PQC-001",
    FindingCategory.MISSING_PQC,
    "quantum-vulnerable key establishment",
    "RSA, DH, ECDH or X25519 key establishment with no hybrid or ML-KEM alternative",
)
QUANTUM_VULNERABLE_SIGNATURE = RuleSpec(
    "QRAP-PQC-002",
    FindingCategory.MISSING_PQC,
    "quantum-vulnerable signature",
    "RSA, ECDSA, EdDSA or DSA signature key (certificate or declared)",
)
LEGACY_PQ_DRAFT = RuleSpec(
    "QRAP-PQC-003",
    FindingCategory.WEAK_ALGORITHM,
    "pre-standard post-quantum algorithm",
    "A draft PQ algorithm (X25519Kyber768Draft00, Kyber, Dilithium) replaced by FIPS 203/204",
)
HARVEST_NOW_DECRYPT_LATER = RuleSpec(
    "QRAP-HNDL-001",
    FindingCategory.HARVEST_NOW_DECRYPT_LATER,
    "harvest now, decrypt later",
    "Quantum-vulnerable key establishment where Mosca's x + y > z puts recorded data at risk",
)

# Endpoint verdicts under which current clients negotiate a post-quantum key exchange.
_PQ_VERDICTS = frozenset({"pq-only", "hybrid-pq"})
# Certificates valid longer than the CA/Browser Forum's old 825-day cap are long-lived.
LONG_LIVED_DAYS = 825
_STANDARD_SUCCESSOR = policy.STANDARD_SUCCESSOR


def _ir8547_evidence(deadline: date | None) -> dict[str, str | None]:
    return {
        "ir8547_deprecated_after": IR8547_DEPRECATED_AFTER.isoformat(),
        "ir8547_disallowed_after": IR8547_DISALLOWED_AFTER.isoformat(),
        "deadline": deadline.isoformat() if deadline else None,
    }


def is_signature_like(facts: AssetFacts) -> bool:
    """A quantum-vulnerable key judged as a signature key.

    Certificates, declared signatures, and public keys whose usage nobody declared: HNDL is
    not invented for those.
    """
    return facts.quantum_vulnerable and not facts.is_key_establishment


def is_vulnerable_key_establishment(facts: AssetFacts) -> bool:
    """A quantum-vulnerable key exchange, key transport or public-key encryption."""
    return facts.quantum_vulnerable and facts.is_key_establishment


def kex_target(facts: AssetFacts) -> str:
    """The PQ replacement for a key establishment: a hybrid group in TLS and SSH, else ML-KEM."""
    strong = (facts.classical_bits or 0) > policy.CATEGORY_5_ABOVE
    protocol = "SSH" if _is_ssh(facts) else "TLS" if _is_tls(facts) else None
    return policy.key_establishment_target(strong, protocol)


def signature_target(facts: AssetFacts) -> str:
    """ML-DSA-65 by default, ML-DSA-87 above 192 bits, SLH-DSA for long-lived root CAs."""
    strong = (facts.classical_bits or 0) > policy.CATEGORY_5_ABOVE
    long_lived_root = facts.kind == "certificate" and is_root(facts) and _is_long_lived(facts)
    role = "root-ca" if long_lived_root else None
    return policy.signature_target(facts.info, strong, role, "nist")


@dataclass(frozen=True, slots=True)
class EndpointKex:
    """How one classical key establishment stands at its endpoint.

    ``judged``: this asset carries the endpoint's quantum findings. ``fallback``: current
    clients get a hybrid or ML-KEM exchange there and only clients without PQ support land on
    this one. ``verdict``: the probe's key-exchange verdict, None for declared assets.
    """

    judged: bool
    fallback: bool
    verdict: str | None


def endpoint_kex(facts: AssetFacts) -> EndpointKex:
    """The endpoint's verdict as a probe recorded it, else what the location's assets show.

    A probe sees the whole endpoint and names the one classical exchange that stands for it,
    so an endpoint yields one finding, not one per group it also accepts. Declared assets are
    judged one by one, as a fallback when a PQ key exchange is declared at the same location.
    """
    details = facts.details
    verdict = details.get("endpoint_verdict")
    if isinstance(verdict, str):
        return EndpointKex(
            judged=bool(details.get("endpoint_representative")),
            fallback=bool(details.get("fallback")),
            verdict=verdict,
        )
    return EndpointKex(judged=True, fallback=facts.pq_kex_at_location, verdict=None)


def quantum_vulnerable_key_establishment(
    facts: AssetFacts, ctx: RuleContext
) -> FindingDraft | None:
    """QRAP-PQC-001: Shor's algorithm recovers the shared secret from a recorded exchange.

    HIGH where current clients land on it; MEDIUM for a legacy-client fallback next to a
    hybrid or ML-KEM exchange, once per endpoint.
    """
    if not is_vulnerable_key_establishment(facts):
        return None
    endpoint = endpoint_kex(facts)
    if not endpoint.judged:
        return None
    target = kex_target(facts)
    deadline = ir8547_deadline(facts.info)
    fallback = endpoint.fallback
    level = RiskLevel.MEDIUM if fallback else RiskLevel.HIGH
    algorithm = facts.display_algorithm
    tls12 = (facts.asset.protocol or "").upper().replace(" ", "") in ("TLSV1.2", "TLS1.2")
    if fallback:
        situation = (
            " Current clients negotiate a hybrid or ML-KEM key exchange there; only clients "
            "without PQ support fall back to this one, and their recorded sessions stay "
            "exposed to harvest-now-decrypt-later."
        )
    elif endpoint.verdict in _PQ_VERDICTS:
        situation = (
            " The server also accepts a hybrid or ML-KEM key exchange, yet chose this one for "
            "a client that offered both: current clients land on it."
        )
    else:
        situation = " No hybrid or ML-KEM alternative was seen for this asset."
    description = (
        f"{facts.asset.location} establishes keys with {algorithm}, which a cryptographically "
        "relevant quantum computer breaks." + situation
    )
    if fallback:
        remediation = (
            f"Keep {algorithm} only for the clients that still need it: find them, upgrade "
            f"them to {target}, then disable the classical fallback."
        )
    elif endpoint.verdict in _PQ_VERDICTS:
        remediation = f"Prefer {target} over classical groups in the server's configuration."
    elif _is_ssh(facts) or _is_tls(facts):
        remediation = f"Enable {target} and prefer it over classical groups."
    else:
        remediation = (
            f"Replace the key establishment with {target}, or a hybrid of {target} and the "
            "current algorithm during the transition."
        )
    if tls12:
        remediation += " Hybrid groups exist only in TLS 1.3: enable TLS 1.3 first."
    return draft(
        QUANTUM_VULNERABLE_KEY_ESTABLISHMENT,
        facts,
        risk_level=level,
        title=(
            f"Legacy-client fallback to classical key exchange {algorithm}"
            if fallback
            else f"Key establishment with {algorithm} has no post-quantum protection"
        ),
        description=description,
        remediation=remediation,
        recommended_algorithm=target,
        evidence={
            "algorithm": algorithm,
            "family": facts.family,
            "key_size": facts.key_size,
            "classical_bits": facts.classical_bits,
            "protocol": facts.asset.protocol,
            "negotiated": facts.details.get("negotiated"),
            "hybrid_pqc": bool(facts.details.get("hybrid_pqc")),
            "pq_offered_at_location": facts.pq_kex_at_location,
            "legacy_client_fallback": fallback,
            "endpoint_verdict": endpoint.verdict,
        }
        | _ir8547_evidence(deadline),
        deadline=deadline,
        references=(FIPS_203, IR_8547, CNSA_2),
    )


def quantum_vulnerable_signature(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-PQC-002: a CRQC forges these signatures; CA and long-lived keys matter most.

    An expired certificate is INFO: no client should accept its signatures any more, so there
    is nothing to re-issue, only (for a root) a trust store to clean.
    """
    if not is_signature_like(facts):
        return None
    details = facts.details
    is_ca = bool(details.get("is_ca"))
    current = validity(facts, ctx)
    expired_on = current.expired_on(ctx) if current is not None else None
    long_lived = facts.kind == "certificate" and expired_on is None and _is_long_lived(facts)
    usage_declared = facts.kind == "certificate" or facts.asset.usage is Usage.SIGNATURE
    level = RiskLevel.HIGH if is_ca or long_lived else RiskLevel.MEDIUM
    target = signature_target(facts)
    deadline = ir8547_deadline(facts.info)
    algorithm = facts.display_algorithm
    subject = details.get("subject") or facts.asset.name
    what = f"The certificate {subject}" if facts.kind == "certificate" else facts.asset.name
    description = (
        f"{what} signs with {algorithm}, which a quantum computer can forge."
        if usage_declared
        else f"{what} uses {algorithm}, whose signatures a quantum computer can forge."
    )
    if expired_on is not None:
        level = RiskLevel.INFO
        description += (
            f" It expired on {expired_on.isoformat()}, so clients that check dates no longer "
            "accept its signatures."
        )
    elif is_ca:
        description += " It is a CA key: every certificate it issues inherits the exposure."
    if long_lived:
        description += _validity_note(facts, deadline)
    if not usage_declared:
        description += (
            " Its usage was not declared, so it is judged as a signature key; if it also "
            "transports or agrees keys, declare that usage to have its data exposure assessed."
        )
    last_day = (
        f"NIST IR 8547 sets {deadline.isoformat() if deadline else 'no date'} as the last day "
        "for this algorithm."
    )
    if expired_on is not None:
        remediation = (
            "Nothing to re-issue: remove the expired root from the bundle or trust store."
            if is_root(facts)
            else f"Renew it with {target} in mind (QRAP-CERT-002 covers the expiry); " + last_day
        )
    elif is_root(facts):
        remediation = (
            f"Plan the move to a {target} root: the CA creates it, clients add it to their "
            "trust stores, and intermediates and leaves are re-issued under it; " + last_day
        )
    else:
        remediation = (
            f"Plan re-issuance with {target}"
            + (" starting with the CA hierarchy (roots before leaves)" if is_ca else "")
            + "; "
            + last_day
        )
    standards = (FIPS_204, FIPS_205) if target.startswith("SLH-DSA") else (FIPS_204,)
    return draft(
        QUANTUM_VULNERABLE_SIGNATURE,
        facts,
        risk_level=level,
        title=f"Signature algorithm {algorithm} is quantum-vulnerable",
        description=description,
        remediation=remediation,
        recommended_algorithm=target,
        evidence=_signature_evidence(facts, is_ca, long_lived, usage_declared)
        | {"expired": expired_on is not None}
        | _ir8547_evidence(deadline),
        deadline=deadline,
        references=(*standards, IR_8547, CNSA_2),
    )


def _validity_note(facts: AssetFacts, deadline: date | None) -> str:
    """What makes a valid certificate long-lived, from its real dates."""
    not_after = parse_timestamp(facts.details.get("not_after"))
    lifetime = facts.details.get("lifetime_days")
    if not_after is not None and deadline is not None and not_after.date() > deadline:
        return (
            f" It stays valid until {not_after.date().isoformat()}, past "
            f"{deadline.isoformat()}, the last day NIST IR 8547 allows this algorithm."
        )
    until = f" (until {not_after.date().isoformat()})" if not_after is not None else ""
    if isinstance(lifetime, int) and not isinstance(lifetime, bool):
        return f" It is long-lived: valid for {lifetime:,} days{until}."
    return f" It is long-lived{until}."


def legacy_pq_draft(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-PQC-003: pre-standard PQ algorithms are still quantum-resistant but obsolete."""
    info = facts.info
    if not (info.known and info.deprecated and info.post_quantum):
        return None
    successor = _STANDARD_SUCCESSOR.get(info.canonical)
    return draft(
        LEGACY_PQ_DRAFT,
        facts,
        risk_level=RiskLevel.LOW,
        title=f"Pre-standard post-quantum algorithm {info.canonical}",
        description=(
            f"{facts.asset.location} uses {info.canonical}, a draft that FIPS 203/204 replaced. "
            "It still resists quantum attacks, but current clients no longer offer it, so they "
            "fall back to classical key exchange."
        ),
        remediation=f"Move to the standard {successor or 'FIPS 203/204 algorithm'}.",
        recommended_algorithm=successor,
        evidence={"algorithm": info.canonical, "successor": successor, "legacy_pq_draft": True},
        # Clients already dropped the drafts, so they protect nobody from today on.
        deadline=ctx.now_utc.date(),
        references=(FIPS_203, FIPS_204),
    )


def harvest_now_decrypt_later(facts: AssetFacts, ctx: RuleContext) -> FindingDraft | None:
    """QRAP-HNDL-001: Mosca's inequality x + y > z, with x = shelf life, y = migration time,
    z = years until a CRQC. CRITICAL when the data must stay secret 10+ years past the CRQC.

    Judged per endpoint: where current clients get a hybrid or ML-KEM exchange, only legacy
    clients are exposed, and QRAP-PQC-001 reports that fallback at MEDIUM instead."""
    if not is_vulnerable_key_establishment(facts):
        return None
    endpoint = endpoint_kex(facts)
    if not endpoint.judged or endpoint.fallback:
        return None
    now_year = ctx.now_utc.year
    x, y, z = ctx.shelf_life_years, ctx.migration_years, ctx.crqc_year - now_year
    if x + y <= z:
        return None
    years_secret_past_crqc = now_year + x - ctx.crqc_year
    level = RiskLevel.CRITICAL if years_secret_past_crqc >= 10 else RiskLevel.HIGH
    target = kex_target(facts)
    deadline = ir8547_deadline(facts.info)
    algorithm = facts.display_algorithm
    # Beside the fixed z, the survey timeline's chance that a CRQC arrives within x + y.
    timeline = ctx.crqc or timeline_for(DEFAULT_THREAT_MODEL)
    now = ctx.now_utc
    reference = now.year + (now.timetuple().tm_yday - 1) / 365.25
    probability = round(timeline.probability_within(x + y, reference_year=reference), 4)
    return draft(
        HARVEST_NOW_DECRYPT_LATER,
        facts,
        risk_level=level,
        title=f"Data protected by {algorithm} can be harvested now and decrypted later",
        description=(
            f"Traffic keyed with {algorithm} at {facts.asset.location} can be recorded today. "
            f"The data must stay secret {_years(x)} and migrating takes {_years(y)}, while a "
            f"CRQC is assumed {_when(z, ctx.crqc_year)}: x + y > z "
            f"({_num(x)} + {_num(y)} > {_num(z)}), so recordings made now are at risk. Under "
            f"the {timeline.threat_model} threat model of the expert survey the chance of a "
            f"CRQC within {_years(x + y)} is {probability:.0%}."
        ),
        remediation=(
            f"Move this key establishment to {target} first: hybrid key exchange protects new "
            "recordings immediately, whatever the signature timeline."
        ),
        recommended_algorithm=target,
        evidence={
            "algorithm": algorithm,
            "shelf_life_years": x,
            "migration_years": y,
            "years_to_crqc": z,
            "crqc_year": ctx.crqc_year,
            "now_year": now_year,
            "exposure_years": x + y - z,
            "secret_until_year": now_year + x,
            "years_secret_past_crqc": years_secret_past_crqc,
            "inequality": f"{_num(x)} + {_num(y)} > {_num(z)}",
            "pq_offered_at_location": facts.pq_kex_at_location,
            "probability_at_risk": probability,
            "threat_model": timeline.threat_model,
            "crqc_survey_edition": timeline.edition,
        },
        deadline=deadline,
        references=(FIPS_203, IR_8547, MOSCA),
    )


def _signature_evidence(
    facts: AssetFacts, is_ca: bool, long_lived: bool, usage_declared: bool
) -> dict[str, Any]:
    details = facts.details
    return {
        "algorithm": facts.display_algorithm,
        "family": facts.family,
        "key_size": facts.key_size,
        "classical_bits": facts.classical_bits,
        "is_ca": is_ca,
        "self_signed": bool(details.get("self_signed")),
        "long_lived": long_lived,
        "lifetime_days": details.get("lifetime_days"),
        "not_after": details.get("not_after"),
        "usage_declared": usage_declared,
    }


def _is_long_lived(facts: AssetFacts) -> bool:
    """Valid for more than 825 days, or still valid when IR 8547 retires its algorithm."""
    lifetime = facts.details.get("lifetime_days")
    if isinstance(lifetime, int) and lifetime > LONG_LIVED_DAYS:
        return True
    not_after = parse_timestamp(facts.details.get("not_after"))
    deadline = ir8547_deadline(facts.info)
    return not_after is not None and deadline is not None and not_after.date() > deadline


def _is_ssh(facts: AssetFacts) -> bool:
    if (facts.asset.protocol or "").upper().startswith("SSH"):
        return True
    raw = facts.raw_algorithm.lower()
    # SSH key exchange names carry their hash ("curve25519-sha256", "ecdh-sha2-nistp256").
    return "-sha" in raw or "@" in raw


def _is_tls(facts: AssetFacts) -> bool:
    protocol = (facts.asset.protocol or "").upper()
    return facts.kind == "key_exchange" or protocol.startswith(("TLS", "SSL", "HTTPS", "DTLS"))


def _num(value: float) -> str:
    return f"{value:g}"


def _when(years_to_crqc: float, crqc_year: int) -> str:
    if years_to_crqc <= 0:
        return f"to exist already ({crqc_year})"
    return f"in {_years(years_to_crqc)} ({crqc_year})"


def _years(value: float) -> str:
    return f"{_num(value)} year{'s' if value != 1 else ''}"


RULES = (
    Rule(QUANTUM_VULNERABLE_KEY_ESTABLISHMENT, quantum_vulnerable_key_establishment),
    Rule(HARVEST_NOW_DECRYPT_LATER, harvest_now_decrypt_later),
    Rule(QUANTUM_VULNERABLE_SIGNATURE, quantum_vulnerable_signature),
    Rule(LEGACY_PQ_DRAFT, legacy_pq_draft),
)
