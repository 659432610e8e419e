"""What analyzers return: observed crypto assets and a per-target outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from qrap_core.enums import Usage

AssetKind = Literal["certificate", "protocol", "cipher_suite", "key_exchange", "algorithm", "key"]


@dataclass(frozen=True, slots=True)
class CryptoAsset:
    """One piece of cryptography that a probe or a document showed.

    ``location`` is what findings call ``affected_asset``: ``host:port`` as submitted for a
    network target, ``certificate:<subject>`` for an uploaded certificate, the declared name
    for an inventory entry.
    """

    kind: AssetKind
    name: str
    location: str
    usage: Usage
    algorithm: str | None = None  # e.g. "RSA", "ECDSA", "X25519", "TLS_AES_128_GCM_SHA256"
    family: str | None = None  # e.g. "RSA", "EC", "EdDSA", "DH", "ML-KEM", "AES"
    key_size: int | None = None  # bits (curve size for EC)
    protocol: str | None = None  # e.g. "TLSv1.3" for assets learned from a handshake
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TargetResult:
    """Outcome of analyzing one target: assets when reached, an error when not."""

    target: str
    type: str
    status: Literal["ok", "error"]
    assets: list[CryptoAsset] = field(default_factory=list)
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failed(cls, target: str, type_: str, error: str) -> TargetResult:
        return cls(target=target, type=type_, status="error", error=error)
