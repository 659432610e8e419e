"""The algorithm catalog: canonical names, families, security strength, usage, NIST dates."""

from qrap_core.crypto.names import (
    IR8547_DEPRECATED_AFTER,
    IR8547_DISALLOWED_AFTER,
    AlgorithmInfo,
    catalog,
    ec_bits,
    finite_field_bits,
    ir8547_deadline,
    normalise,
    parse_algorithm,
)

__all__ = [
    "IR8547_DEPRECATED_AFTER",
    "IR8547_DISALLOWED_AFTER",
    "AlgorithmInfo",
    "catalog",
    "ec_bits",
    "finite_field_bits",
    "ir8547_deadline",
    "normalise",
    "parse_algorithm",
]
