"""Declared inventories: turn each {asset, algorithm, usage, ...} entry into a crypto asset.

Nothing is probed: the owner says what an asset uses and the catalog says what that means.
An algorithm the catalog does not know is kept as declared (``known: False``) so that rules
stay silent on it rather than guess.
"""

from __future__ import annotations

from typing import Any

from qrap_core.crypto import AlgorithmInfo, normalise, parse_algorithm
from qrap_core.discovery.targets import InventoryItem, InventoryTarget
from qrap_core.discovery.types import CryptoAsset, TargetResult
from qrap_core.enums import Usage

TARGET_TYPE = "inventory"

# Spellings people use for a usage, normalised like algorithm names ("key_exchange" and
# "Key Exchange" meet on "keyexchange").
_USAGE_SPELLINGS: dict[Usage, tuple[str, ...]] = {
    Usage.KEY_ESTABLISHMENT: (
        "key-establishment",
        "key-exchange",
        "kex",
        "key-agreement",
        "ka",
        "key-transport",
        "key-encapsulation",
        "kem",
        "key-wrap",
        "key-wrapping",
        "key-management",
    ),
    Usage.SIGNATURE: (
        "signature",
        "signatures",
        "signing",
        "sign",
        "digital-signature",
        "authentication",
        "auth",
        "code-signing",
        "firmware-signing",
        "certificate",
        "verification",
        "verify",
    ),
    Usage.ENCRYPTION: (
        "encryption",
        "encrypt",
        "data-encryption",
        "data-at-rest",
        "confidentiality",
        "cipher",
        "bulk-encryption",
    ),
    Usage.HASH: ("hash", "hashing", "digest", "integrity", "checksum", "fingerprint"),
    Usage.PROTOCOL: ("protocol", "transport"),
}
_USAGES: dict[str, Usage] = {
    normalise(spelling): usage
    for usage, spellings in _USAGE_SPELLINGS.items()
    for spelling in (usage.value, *spellings)
}


def parse_usage(text: str | None) -> Usage | None:
    """The Usage a declared string means: UNKNOWN for one we cannot read, None for none given."""
    if text is None or not text.strip():
        return None
    return _USAGES.get(normalise(text), Usage.UNKNOWN)


def analyze(target: InventoryTarget) -> TargetResult:
    """One ``algorithm`` asset per declared item, in the order declared. Never fails on content."""
    assets = [_asset(item) for item in target.assets]
    unknown = sorted({a.details["declared_algorithm"] for a in assets if not a.details["known"]})
    return TargetResult(
        target=target.label(),
        type=TARGET_TYPE,
        status="ok",
        assets=assets,
        details={"declared_items": len(assets), "unknown_algorithms": unknown},
    )


def _asset(item: InventoryItem) -> CryptoAsset:
    info = parse_algorithm(item.algorithm, item.key_size)
    declared_usage = parse_usage(item.usage)
    conflict = _size_conflict(info, item.key_size)
    if conflict is not None:
        # The key_size field is the owner's statement about this very asset: it wins over a
        # size in the algorithm's name, and the asset's algorithm follows it.
        info = _resized(info, conflict["declared_key_size"], declared_usage or info.usage)
    details: dict[str, Any] = {
        "declared": True,
        "declared_algorithm": item.algorithm,
        "known": info.known,
        "urgency": item.urgency,
        "notes": item.notes,
        "hybrid_pqc": info.hybrid,
        "pqc": info.pqc,
        "quantum_vulnerable": info.quantum_vulnerable,
        "classical_bits": info.classical_bits,
        "usage_declared": declared_usage is not None,
    }
    if item.usage is not None:
        details["declared_usage"] = item.usage
    if conflict is not None:
        details["key_size_conflict"] = conflict
    return CryptoAsset(
        kind="algorithm",
        name=item.asset,
        location=item.asset,
        usage=declared_usage if declared_usage is not None else info.usage,
        algorithm=info.canonical if info.known else item.algorithm,
        family=info.family,
        key_size=item.key_size if item.key_size is not None else info.key_size,
        protocol=item.protocol,
        details=details,
    )


def _size_conflict(info: AlgorithmInfo, declared: int | None) -> dict[str, int] | None:
    """Both the name and the key_size field gave a size, and they differ ("RSA-2048", 4096)."""
    if declared is None or info.key_size is None or declared == info.key_size:
        return None
    return {"declared_key_size": declared, "name_key_size": info.key_size}


# Family-level catalog names that take a size: what a resized asset is parsed as.
_SIZEABLE = {"RSA": "RSA", "DSA": "DSA", "DH": "DH", "EdDSA": "EdDSA", "AES": "AES"}
_EC_BY_USAGE = {Usage.SIGNATURE: "ECDSA", Usage.KEY_ESTABLISHMENT: "ECDH"}


def _resized(info: AlgorithmInfo, key_size: int, usage: Usage) -> AlgorithmInfo:
    if info.family in ("EC", "ECDH"):
        family_name = _EC_BY_USAGE.get(usage, "EC")
    else:
        family_name = _SIZEABLE.get(info.family or "", "")
    if not family_name:
        return info
    return parse_algorithm(family_name, key_size)
