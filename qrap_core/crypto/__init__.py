"""The algorithm catalog: canonical names, families, security strength, usage, NIST dates.

``names`` parses spellings onto entries, ``suites`` splits TLS cipher suites into entries
(and says what is wrong with them), ``protocols`` reads SSL/TLS versions, ``policy`` holds
replacements and transition dates, ``crqc`` the CRQC timeline.
"""

from qrap_core.crypto.names import (
    IR8547_DEPRECATED_AFTER,
    IR8547_DISALLOWED_AFTER,
    STANDARD_SIZES,
    AlgorithmInfo,
    catalog,
    ec_bits,
    entries,
    finite_field_bits,
    ir8547_deadline,
    normalise,
    parse_algorithm,
    parse_cbom_algorithm,
)
from qrap_core.crypto.suites import SuiteComponents, parse_cipher_suite, suite_components

__all__ = [
    "IR8547_DEPRECATED_AFTER",
    "IR8547_DISALLOWED_AFTER",
    "STANDARD_SIZES",
    "AlgorithmInfo",
    "SuiteComponents",
    "catalog",
    "ec_bits",
    "entries",
    "finite_field_bits",
    "ir8547_deadline",
    "normalise",
    "parse_algorithm",
    "parse_cbom_algorithm",
    "parse_cipher_suite",
    "suite_components",
]
