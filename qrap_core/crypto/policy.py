"""What each catalog entry should become, and by when.

One place for the migration policy that rules, the planner and the catalog description share:
the post-quantum replacement per usage (NIST by default, or the CNSA 2.0 profile), the NIST IR
8547 (ipd) transition dates and the CNSA 2.0 "exclusively use" dates per kind of system.
The dates are NIST IR 8547's and CNSA 2.0's; change them here and nowhere else.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, get_args

from qrap_core.crypto.names import (
    IR8547_DEPRECATED_AFTER,
    IR8547_DISALLOWED_AFTER,
    AlgorithmInfo,
    ir8547_deadline,
    parse_algorithm,
)
from qrap_core.enums import Usage

Profile = Literal["nist", "cnsa2"]
PROFILES: tuple[Profile, ...] = ("nist", "cnsa2")

# What an asset does in its system; it picks the replacement (a root CA signs for decades,
# firmware is verified by boot ROMs) and the CNSA 2.0 date.
Role = Literal[
    "root-ca",
    "intermediate-ca",
    "leaf-certificate",
    "firmware-signing",
    "code-signing",
    "tls-server",
    "ssh",
    "vpn",
    "application",
    "data-at-rest",
]
ROLES: tuple[Role, ...] = get_args(Role)
SIGNING_ROLES = frozenset({"firmware-signing", "code-signing"})

# CNSA 2.0 (NSA, 2022-09; v2.1 2024-12): new National Security Systems acquisitions comply
# from 2027-01-01; each kind of system must "exclusively use" CNSA 2.0 algorithms by the end
# of the year below; every NSS is quantum-resistant by 2035.
CNSA2_NEW_ACQUISITIONS_FROM = date(2027, 1, 1)
CNSA2_ALL_SYSTEMS_BY = date(2035, 12, 31)
CNSA2_EXCLUSIVE_BY: dict[str, date] = {
    "software-and-firmware-signing": date(2030, 12, 31),
    "networking-equipment": date(2030, 12, 31),
    "web-browsers-servers-and-cloud-services": date(2033, 12, 31),
    "operating-systems": date(2033, 12, 31),
    "niche-equipment": date(2033, 12, 31),
    "custom-and-legacy-applications": date(2033, 12, 31),
}
_CNSA2_SYSTEM_OF_ROLE: dict[str, str] = {
    "firmware-signing": "software-and-firmware-signing",
    "code-signing": "software-and-firmware-signing",
    "vpn": "networking-equipment",
    "tls-server": "web-browsers-servers-and-cloud-services",
    "ssh": "operating-systems",
}
_CNSA2_DEFAULT_SYSTEM = "custom-and-legacy-applications"

# Classical transitions. SP 800-131A Rev. 2: strengths under 112 bits (DES, RC4, RSA-1024,
# SHA-1 and MD5 signatures) were disallowed after 2013, three-key TDEA for encryption after
# 2023. RFC 7465 (2015-02) prohibits RC4 in TLS. SP 800-52 Rev. 2: TLS 1.3 supported by
# 2024-01-01, and TLS 1.0/1.1 are out (RFC 8996). NIST retires SHA-1 entirely after 2030.
SP800_131A_LEGACY_DISALLOWED_AFTER = date(2013, 12, 31)
SP800_131A_TDEA_DISALLOWED_AFTER = date(2023, 12, 31)
RFC7465_RC4_PROHIBITED = date(2015, 2, 28)
SP800_52_TLS13_BY = date(2024, 1, 1)
SHA1_RETIRED_AFTER = date(2030, 12, 31)
# Catalog families the classical transitions retired: broken ciphers and hashes, and 64-bit
# block ciphers (Sweet32). The suite parser's flawed ciphers (``suites.CIPHER_FLAWS``) are
# among them.
BROKEN_FAMILIES = frozenset({"DES", "RC2", "RC4", "MD4", "MD5"})
SMALL_BLOCK_FAMILIES = frozenset({"3DES", "IDEA", "Blowfish", "CAST5"})

# Pre-standard drafts and the FIPS algorithms that replaced them.
STANDARD_SUCCESSOR: dict[str, str] = {
    "X25519Kyber768Draft00": "X25519MLKEM768",
    "Kyber512": "ML-KEM-512",
    "Kyber768": "ML-KEM-768",
    "Kyber1024": "ML-KEM-1024",
    "Dilithium2": "ML-DSA-44",
    "Dilithium3": "ML-DSA-65",
    "Dilithium5": "ML-DSA-87",
}
# Above 192 bits of classical strength (P-521, RSA-15360) a replacement needs category 5 to
# keep the asset's level.
CATEGORY_5_ABOVE = 192
_CNSA2_PQ = frozenset(
    {"ML-KEM-1024", "ML-DSA-87", "SecP384r1MLKEM1024", "mlkem1024nistp384-sha384"}
)
_CNSA2_FAMILIES = frozenset({"LMS", "XMSS"})
_CNSA2_SYMMETRIC = frozenset({"SHA-384", "SHA-512"})
_CIPHER_TARGET = "AES-256-GCM"


def cnsa2_approved(info: AlgorithmInfo) -> bool:
    """In the CNSA 2.0 suite: ML-KEM-1024, ML-DSA-87, LMS/XMSS, AES-256, SHA-384/512.

    Hybrids whose post-quantum half is ML-KEM-1024 count: the CNSA component carries them.
    """
    if not info.known:
        return False
    if info.canonical in _CNSA2_PQ or info.canonical in _CNSA2_SYMMETRIC:
        return True
    if info.family in _CNSA2_FAMILIES:
        return True
    return info.family == "AES" and info.key_size == 256


def cnsa2_system(role: str | None) -> str:
    """The CNSA 2.0 system category a role falls under (custom applications by default)."""
    return _CNSA2_SYSTEM_OF_ROLE.get(role or "", _CNSA2_DEFAULT_SYSTEM)


def cnsa2_deadline(info: AlgorithmInfo, role: str | None = None) -> date | None:
    """Last day a National Security System of this role may still use ``info``.

    None when the algorithm is in the CNSA 2.0 suite (or unknown: we never guess a date).
    """
    if not info.known or cnsa2_approved(info):
        return None
    return min(CNSA2_EXCLUSIVE_BY[cnsa2_system(role)], CNSA2_ALL_SYSTEMS_BY)


def ir8547_dates(info: AlgorithmInfo) -> dict[str, date | None]:
    """IR 8547 (ipd): 112-bit quantum-vulnerable algorithms deprecated after 2030, all of them
    disallowed after 2035. Unknown strength counts as 112 bits (the earlier date)."""
    if not info.quantum_vulnerable:
        return {"deprecated_after": None, "disallowed_after": None}
    weak = info.classical_bits is None or info.classical_bits < 128
    return {
        "deprecated_after": IR8547_DEPRECATED_AFTER if weak else None,
        "disallowed_after": IR8547_DISALLOWED_AFTER,
    }


def retired_after(family: str, *, tls: bool = False) -> date | None:
    """When a broken or 64-bit-block cipher or hash family was retired; None for others.

    RC4 in TLS: RFC 7465's prohibition (2015), later than SP 800-131A's date for RC4 at large.
    """
    if tls and family == "RC4":
        return RFC7465_RC4_PROHIBITED
    if family in BROKEN_FAMILIES:
        return SP800_131A_LEGACY_DISALLOWED_AFTER
    if family in SMALL_BLOCK_FAMILIES:
        return SP800_131A_TDEA_DISALLOWED_AFTER
    return None


def classical_deadline(info: AlgorithmInfo) -> date | None:
    """When the classical transitions retired ``info``; None when they did not.

    Broken ciphers and hashes, and public keys under 112 bits of strength: 2013 (SP 800-131A);
    64-bit block ciphers: 2023; SHA-1 as a hash: 2030 (its signatures were disallowed in 2013).
    """
    if not info.known:
        return None
    family = info.family or ""
    retired = retired_after(family)
    if retired is not None:
        return retired
    if info.primitive == "mac" and info.deprecated:
        return SP800_131A_LEGACY_DISALLOWED_AFTER
    if family == "SHA-1":
        return SHA1_RETIRED_AFTER
    if info.quantum_vulnerable and info.deprecated:
        return SP800_131A_LEGACY_DISALLOWED_AFTER  # SHA-1 and MD5 signature schemes
    bits = info.classical_bits
    if info.quantum_vulnerable and bits is not None and bits < 112:
        return SP800_131A_LEGACY_DISALLOWED_AFTER
    return None


def deadline(
    info: AlgorithmInfo, *, profile: Profile = "nist", role: str | None = None
) -> date | None:
    """The date a plan should meet: IR 8547's, or under CNSA 2.0 the earlier of both."""
    nist = ir8547_deadline(info)
    if profile == "nist":
        return nist
    cnsa = cnsa2_deadline(info, role)
    candidates = [d for d in (nist, cnsa) if d is not None]
    return min(candidates) if candidates else None


def replacement(
    info: AlgorithmInfo,
    usage: Usage | None = None,
    *,
    protocol: str | None = None,
    role: str | None = None,
    profile: Profile = "nist",
) -> str | None:
    """What ``info`` should be replaced with for this usage, or None when nothing needs to move.

    Key establishment goes to ML-KEM (a hybrid group in TLS, a hybrid kex in SSH); signatures
    to ML-DSA, long-lived roots to SLH-DSA and firmware or code signing to LMS (SP 800-208).
    Above 192 bits of classical strength, or under the CNSA 2.0 profile, category 5 parameters
    (ML-KEM-1024, ML-DSA-87). Symmetric ciphers and hashes move only when broken, or under
    CNSA 2.0 when weaker than AES-256 / SHA-384. Usage UNKNOWN names both public-key options.
    """
    if not info.known:
        return None
    effective = usage if usage not in (None, Usage.UNKNOWN) else info.usage
    if info.post_quantum:
        return _post_quantum_replacement(info, effective, protocol, role, profile)
    if not info.quantum_vulnerable:
        return _symmetric_replacement(info, profile)
    strong = profile == "cnsa2" or (info.classical_bits or 0) > CATEGORY_5_ABOVE
    if effective in (Usage.KEY_ESTABLISHMENT, Usage.ENCRYPTION):
        return key_establishment_target(strong, protocol)
    if effective is Usage.SIGNATURE:
        return signature_target(info, strong, role, profile)
    kex = key_establishment_target(strong, None)
    sig = signature_target(info, strong, role, profile)
    what = "key transport" if info.family == "RSA" else "key agreement"
    return f"{kex} ({what}) / {sig} (signatures)"


def key_establishment_target(strong: bool, protocol: str | None) -> str:
    """A hybrid group in TLS 1.3 and SSH (clients without PQ keep working), else ML-KEM."""
    kind = protocol_kind(protocol)
    if kind == "ssh":
        return "mlkem1024nistp384-sha384" if strong else "mlkem768x25519-sha256"
    if kind == "tls":
        return "SecP384r1MLKEM1024" if strong else "X25519MLKEM768"
    return "ML-KEM-1024" if strong else "ML-KEM-768"


def signature_target(info: AlgorithmInfo, strong: bool, role: str | None, profile: Profile) -> str:
    """ML-DSA by default; hash-based signatures where a key signs for decades."""
    if role in SIGNING_ROLES:
        # Boot ROMs verify firmware for the device's life: stateful hash-based signatures are
        # CNSA 2.0's choice and rest on nothing but the hash (SP 800-208).
        return "LMS"
    if role == "root-ca" and profile == "nist":
        # A root outlives many leaves; a stateless hash-based signature needs no lattice
        # assumption. CNSA 2.0 has no SLH-DSA, so its roots take ML-DSA-87 below.
        bits = info.classical_bits or 0
        strength = 256 if bits > CATEGORY_5_ABOVE else 192 if bits > 128 else 128
        return f"SLH-DSA-SHA2-{strength}s"
    return "ML-DSA-87" if strong else "ML-DSA-65"


def protocol_kind(protocol: str | None) -> str | None:
    """ "ssh", "tls" or None for a protocol as assets and inputs spell it."""
    text = (protocol or "").strip().upper()
    if text.startswith("SSH"):
        return "ssh"
    if text.startswith(("TLS", "SSL", "DTLS", "HTTPS")):
        return "tls"
    return None


def replacements(info: AlgorithmInfo, profile: Profile = "nist") -> dict[str, str]:
    """The replacement for every usage this algorithm can serve (the catalog's "per usage")."""
    if not info.known:
        return {}
    usages: tuple[Usage, ...]
    if info.quantum_vulnerable and info.usage is Usage.UNKNOWN:
        usages = (Usage.KEY_ESTABLISHMENT, Usage.SIGNATURE)
    else:
        usages = (info.usage,)
    out: dict[str, str] = {}
    for usage in usages:
        target = replacement(info, usage, profile=profile)
        if target is not None:
            out[usage.value] = target
    return out


def describe(info: AlgorithmInfo) -> dict[str, Any]:
    """Everything the catalog says about one entry, JSON-ready."""
    dates = ir8547_dates(info)
    return {
        "canonical": info.canonical,
        "known": info.known,
        "family": info.family,
        "primitive": info.primitive,
        "usage": info.usage.value,
        "key_size": info.key_size,
        "parameter_set": info.parameter_set,
        "classical_security_bits": info.classical_bits,
        "nist_quantum_security_level": info.quantum_level,
        "quantum_vulnerable": info.quantum_vulnerable,
        "post_quantum": info.post_quantum,
        "hybrid": info.hybrid,
        "deprecated": info.deprecated,
        "pqc_replacement": replacements(info, "nist"),
        "cnsa2_replacement": replacements(info, "cnsa2"),
        "ir8547_deprecated_after": _iso(dates["deprecated_after"]),
        "ir8547_disallowed_after": _iso(dates["disallowed_after"]),
        "cnsa2_approved": cnsa2_approved(info),
        "cnsa2_exclusive_use_by": _iso(cnsa2_deadline(info)),
    }


def _post_quantum_replacement(
    info: AlgorithmInfo,
    usage: Usage,
    protocol: str | None,
    role: str | None,
    profile: Profile,
) -> str | None:
    if info.deprecated:
        successor = STANDARD_SUCCESSOR.get(info.canonical)
        if successor is None:
            return None
        if profile == "cnsa2":
            return replacement(parse_algorithm(successor), usage, protocol=protocol, role=role,
                               profile=profile) or successor  # fmt: skip
        return successor
    if profile == "nist" or cnsa2_approved(info):
        return None
    # Post-quantum but outside CNSA 2.0 (ML-KEM-768, ML-DSA-65, SLH-DSA, hybrids with 768).
    if usage is Usage.SIGNATURE:
        return "LMS" if role in SIGNING_ROLES else "ML-DSA-87"
    return key_establishment_target(True, protocol or _protocol_of_hybrid(info))


def _protocol_of_hybrid(info: AlgorithmInfo) -> str | None:
    # Hybrid names say their protocol: SSH kex names carry their hash ("-sha256").
    if not info.hybrid:
        return None
    return "SSH" if "-sha" in info.canonical else "TLS"


def _symmetric_replacement(info: AlgorithmInfo, profile: Profile) -> str | None:
    is_mac = info.primitive == "mac"
    if info.usage is Usage.HASH:
        if info.deprecated:
            if is_mac:
                return "HMAC-SHA384" if profile == "cnsa2" else "HMAC-SHA256"
            return "SHA-384" if profile == "cnsa2" else "SHA-256"
        if profile == "cnsa2" and not is_mac and (info.classical_bits or 0) < 192:
            return "SHA-384"
        return None
    if info.usage is Usage.ENCRYPTION:
        if info.deprecated:
            return _CIPHER_TARGET
        if profile == "cnsa2" and (info.family != "AES" or (info.key_size or 0) < 256):
            return _CIPHER_TARGET
    return None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None
