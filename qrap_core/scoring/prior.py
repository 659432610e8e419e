"""The expert prior the risk model is trained on: a documented formula, not a data set.

No public data set labels crypto assets with quantum risk, so the labels are what NIST IR 8547,
SP 800-57 and the CRQC expert survey imply, written down once here. For one feature row, each
source of risk is a probability-like term in [0, 1]:

- ``hndl``: harvest now, decrypt later. Probabilistic Mosca P(x + y > z) under the threat
  model's CRQC distribution (the ``crqc_probability`` feature), for quantum-vulnerable key
  establishment (half weight when the usage is unknown), scaled by data sensitivity and
  network exposure, and cut when a PQC or hybrid key exchange is also offered (old clients
  still fall back).
- ``forgery``: a CRQC forges signatures while the key is still trusted: P(CRQC within its
  remaining validity + migration time) (``crqc_probability_trusted``), larger for long-lived
  certificates and CA keys.
- ``deadline``: NIST IR 8547 pressure for every quantum-vulnerable key: a logistic in the
  slack (years to the IR 8547 date minus migration years).
- ``floor``: every quantum-vulnerable public key must move eventually.
- ``classical``: the worst of the rules' classical findings, classical strength under 112
  bits (SP 800-57), deprecated algorithms and deprecated protocol versions (SSL, TLS 1.0/1.1;
  TLS 1.2 a little, as it cannot carry a PQ key exchange).

Risk = 1 - prod(1 - term), so every term can only raise it, and the score is 100 x risk.
Each term moves in the direction the model's monotone constraints declare.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from qrap_core.scoring.features import INDEX, USAGES

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PriorConfig:
    """Every constant of the prior, recorded in the model's metadata and card."""

    sensitivity_weight: tuple[float, ...] = (0.3, 0.6, 0.85, 1.0)  # low .. critical
    exposure_weight: tuple[float, ...] = (0.6, 0.8, 1.0)  # internal, partner, internet
    hybrid_fallback_factor: float = 0.35  # HNDL left when a PQ key exchange is also offered
    unknown_usage_weight: float = 0.5  # RSA or EC with no declared usage: half of each
    forgery_scale: float = 0.7
    long_lived_days: float = 3650.0  # lifetime at which the certificate factor saturates
    non_ca_factor: float = 0.75
    deadline_scale: float = 0.6
    deadline_softness_years: float = 1.5
    quantum_floor: float = 0.15
    weakness_risk: tuple[float, ...] = (0.0, 0.15, 0.4, 0.7, 0.92)  # none, LOW .. CRITICAL
    # (bits below, risk): SP 800-57 strengths under 112 bits, worst first.
    weak_bits: tuple[tuple[float, float], ...] = ((40, 0.95), (64, 0.75), (80, 0.7), (112, 0.55))
    deprecated_risk: float = 0.3
    protocol_risk: tuple[float, ...] = (0.9, 0.9, 0.6, 0.55, 0.1, 0.0)  # SSLv2 .. TLS 1.3
    terms: tuple[str, ...] = field(default=("hndl", "forgery", "deadline", "floor", "classical"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_KEX = USAGES.index("key-establishment")
_SIG = USAGES.index("signature")
_UNKNOWN = USAGES.index("unknown")


def prior_terms(
    rows: npt.NDArray[np.floating[Any]], config: PriorConfig | None = None
) -> dict[str, FloatArray]:
    """Each term of the prior for every row (see the module docstring)."""
    cfg = config or PriorConfig()
    x = rows.astype(np.float64)
    col = {name: x[:, index] for name, index in INDEX.items()}
    vulnerable = col["quantum_vulnerable"] > 0.5
    usage = col["usage"]
    unknown = usage == _UNKNOWN
    kex_weight = np.where(usage == _KEX, 1.0, np.where(unknown, cfg.unknown_usage_weight, 0.0))
    sig_weight = np.where(usage == _SIG, 1.0, np.where(unknown, cfg.unknown_usage_weight, 0.0))
    migration = np.nan_to_num(col["migration_years"], nan=0.0)
    sensitivity = _weights(col["sensitivity"], cfg.sensitivity_weight, 1)
    exposure = _weights(col["exposure"], cfg.exposure_weight, 1)
    hybrid = col["hybrid_pqc"] > 0.5

    # The Mosca probabilities are features already, computed under the run's timeline.
    p_hndl = np.nan_to_num(col["crqc_probability"], nan=0.0)
    hndl = vulnerable * kex_weight * p_hndl * sensitivity * exposure
    hndl = np.where(hybrid, hndl * cfg.hybrid_fallback_factor, hndl)

    is_cert = ~np.isnan(col["cert_lifetime_days"])
    p_forge = np.nan_to_num(col["crqc_probability_trusted"], nan=0.0)
    lifetime = np.nan_to_num(col["cert_lifetime_days"], nan=0.0)
    lifetime_factor = np.where(
        is_cert, 0.6 + 0.4 * np.minimum(1.0, lifetime / cfg.long_lived_days), 0.8
    )
    ca_factor = np.where(col["is_ca"] > 0.5, 1.0, cfg.non_ca_factor)
    forgery = (
        vulnerable
        * sig_weight
        * p_forge
        * cfg.forgery_scale
        * lifetime_factor
        * ca_factor
        * (0.7 + 0.3 * exposure)
    )

    slack = np.nan_to_num(col["years_to_nist_deadline"], nan=50.0) - migration
    deadline = vulnerable * cfg.deadline_scale / (1.0 + np.exp(slack / cfg.deadline_softness_years))
    floor = vulnerable * cfg.quantum_floor

    weakness = np.asarray(cfg.weakness_risk)[
        np.clip(np.nan_to_num(col["classical_weakness"], nan=0.0), 0, 4).astype(int)
    ]
    bits = col["classical_bits"]
    bits_risk = np.zeros_like(bits)
    for below, risk in reversed(cfg.weak_bits):
        bits_risk = np.where(~np.isnan(bits) & (bits < below), risk, bits_risk)
    deprecated = (col["deprecated"] > 0.5) * cfg.deprecated_risk
    version = col["protocol_version"]
    codes = np.clip(np.nan_to_num(version, nan=5.0), 0, 5).astype(int)
    protocol = np.where(np.isnan(version), 0.0, np.asarray(cfg.protocol_risk)[codes])
    # One classical weakness is one problem, whichever way it shows (a TLS 1.0 finding and the
    # TLS 1.0 version itself): the worst of them, not their combination.
    classical = np.maximum.reduce([weakness, bits_risk, deprecated, protocol])

    return {
        "hndl": hndl,
        "forgery": forgery,
        "deadline": deadline,
        "floor": floor,
        "classical": classical,
    }


def prior_score(
    rows: npt.NDArray[np.floating[Any]], config: PriorConfig | None = None
) -> FloatArray:
    """The label: 100 x (1 - prod(1 - term)), in [0, 100]."""
    terms = prior_terms(rows, config)
    safe = np.ones(rows.shape[0])
    for term in terms.values():
        safe = safe * (1.0 - np.clip(term, 0.0, 1.0))
    return np.asarray(100.0 * (1.0 - safe), dtype=np.float64)


def _weights(values: FloatArray, table: tuple[float, ...], default: int) -> FloatArray:
    codes = np.clip(np.nan_to_num(values, nan=float(default)), 0, len(table) - 1).astype(int)
    return np.asarray(np.asarray(table, dtype=np.float64)[codes], dtype=np.float64)
