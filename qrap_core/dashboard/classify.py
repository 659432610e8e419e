"""An asset's post-quantum classification, as the dashboard labels it, from the catalog."""

from __future__ import annotations

from qrap_core.crypto import AlgorithmInfo, parse_algorithm
from qrap_core.crypto.protocols import normalise_protocol
from qrap_core.crypto.suites import suite_components


def pq_class(algorithm: str | None, key_size: int | None = None, kind: str | None = None) -> str:
    """One of: post-quantum, hybrid, quantum-vulnerable, quantum-resistant, protocol, unknown.

    A cipher suite is classed by its public-key parts (key exchange, authentication): a
    suite with RSA or (EC)DHE is quantum-vulnerable whatever its bulk cipher.
    """
    if not algorithm:
        return "unknown"
    if kind == "protocol" or (kind is None and normalise_protocol(algorithm)):
        return "protocol"
    if kind == "cipher_suite":
        parts = suite_components(algorithm)
        if parts is None:
            return "unknown"
        public = [p for p in (parts.key_exchange, parts.authentication) if p is not None]
        if any(p.quantum_vulnerable and not p.post_quantum for p in public):
            return "quantum-vulnerable"
        return _of(parts.cipher) if not public else "quantum-resistant"
    return _of(parse_algorithm(algorithm, key_size))


def _of(info: AlgorithmInfo | None) -> str:
    if info is None or not info.known:
        return "unknown"
    if info.hybrid:
        return "hybrid"
    if info.pqc:
        return "post-quantum"
    if info.quantum_vulnerable:
        return "quantum-vulnerable"
    return "quantum-resistant"  # symmetric ciphers and hashes of sufficient size
