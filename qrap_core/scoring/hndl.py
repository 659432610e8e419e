"""Harvest now, decrypt later: Mosca's inequality with the CRQC's arrival as a distribution.

Mosca: data recorded today is exposed when x + y > z, with x the years it must stay secret,
y the years the migration takes and z the years until a cryptographically relevant quantum
computer (CRQC). z is not a number but a distribution: the expert survey's timeline
(``qrap_core.crypto.crqc``), whose columns are the threat models. The answer is a probability
of exposure, P(x + y > z), and a risk window around the year a CRQC becomes as likely as not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qrap_core.crypto import AlgorithmInfo, parse_algorithm
from qrap_core.crypto.crqc import (
    DEFAULT_THREAT_MODEL,
    THREAT_MODELS,
    CrqcSurvey,
    CrqcTimeline,
    ThreatModel,
    load_survey,
    timeline_for,
)
from qrap_core.enums import RiskLevel, Usage
from qrap_core.errors import InvalidInput

__all__ = [
    "DEFAULT_THREAT_MODEL",
    "THREAT_MODELS",
    "CrqcSurvey",
    "CrqcTimeline",
    "HndlResult",
    "ThreatModel",
    "assess",
    "load_survey",
    "mosca_probability",
    "timeline_for",
    "urgency_for",
]

# Original service's urgency thresholds on the risk window (years).
_URGENCY = ((10.0, RiskLevel.CRITICAL), (5.0, RiskLevel.HIGH))
# Public-key strength below this (RSA-512/768, 160-bit curves) is broken classically today:
# recorded traffic needs no quantum computer at all.
CLASSICALLY_BROKEN_BELOW_BITS = 80
_CLASSICALLY_BROKEN_CIPHERS = frozenset({"DES", "RC4", "RC2"})


@dataclass(frozen=True, slots=True)
class HndlResult:
    """The original ``POST /hndl`` fields plus the probabilistic ones."""

    algorithm: str
    canonical_algorithm: str
    estimated_break_year: int | None
    data_shelf_life_years: float
    risk_window_years: float
    is_at_risk: bool
    urgency: RiskLevel
    probability_at_risk: float
    threat_model: ThreatModel
    migration_time_years: float
    reference_year: int
    survey_edition: str
    quantum_vulnerable: bool
    classically_broken: bool
    applies: bool
    note: str
    probability_by_year: list[dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the urgency as its name)."""
        return {
            "algorithm": self.algorithm,
            "canonical_algorithm": self.canonical_algorithm,
            "estimated_break_year": self.estimated_break_year,
            "data_shelf_life_years": self.data_shelf_life_years,
            "risk_window_years": self.risk_window_years,
            "is_at_risk": self.is_at_risk,
            "urgency": self.urgency.value,
            "probability_at_risk": self.probability_at_risk,
            "threat_model": self.threat_model,
            "migration_time_years": self.migration_time_years,
            "reference_year": self.reference_year,
            "survey_edition": self.survey_edition,
            "quantum_vulnerable": self.quantum_vulnerable,
            "classically_broken": self.classically_broken,
            "applies": self.applies,
            "note": self.note,
            "probability_by_year": self.probability_by_year,
        }


def urgency_for(window_years: float) -> RiskLevel:
    """The original thresholds: >= 10 CRITICAL, >= 5 HIGH, > 0 MEDIUM, else LOW."""
    for threshold, level in _URGENCY:
        if window_years >= threshold:
            return level
    return RiskLevel.MEDIUM if window_years > 0 else RiskLevel.LOW


def mosca_probability(
    timeline: CrqcTimeline, shelf_life_years: float, migration_years: float, reference_year: float
) -> float:
    """P(x + y > z): the chance a CRQC arrives before data recorded now stops mattering."""
    return timeline.probability_within(
        max(0.0, shelf_life_years) + max(0.0, migration_years), reference_year=reference_year
    )


def is_classically_broken(info: AlgorithmInfo) -> bool:
    """Broken without a quantum computer: public keys under 80 bits, DES, RC4, RC2."""
    if info.family in _CLASSICALLY_BROKEN_CIPHERS:
        return True
    return (
        info.quantum_vulnerable
        and info.classical_bits is not None
        and info.classical_bits < CLASSICALLY_BROKEN_BELOW_BITS
    )


def assess(
    algorithm: str,
    *,
    shelf_life_years: float,
    migration_years: float,
    timeline: CrqcTimeline,
    reference_year: int,
    key_size: int | None = None,
) -> HndlResult:
    """Mosca's inequality for ``algorithm``. Raises InvalidInput naming an unknown algorithm.

    ``risk_window_years`` = reference year + x + y - estimated break year, the years recorded
    data stays secret after the (median) break; ``probability_at_risk`` = P(x + y > z) under
    the timeline. Harvesting matters for what protects confidentiality: public-key key
    establishment and encryption, and broken ciphers. For signatures the same figures say when
    forgery becomes possible, and ``applies`` is false; for hashes and sound ciphers nothing is
    at risk.
    """
    info = parse_algorithm(algorithm, key_size)
    if not info.known:
        raise InvalidInput(
            f"unknown algorithm {algorithm.strip()!r}",
            details=[
                {"field": "algorithm", "message": f"{algorithm.strip()!r} is not in the catalog"}
            ],
        )
    x, y = float(shelf_life_years), float(migration_years)
    broken = is_classically_broken(info)
    vulnerable = info.quantum_vulnerable
    applies = broken or (vulnerable and info.usage is not Usage.SIGNATURE)
    curve = _curve(timeline, reference_year, vulnerable and not broken)
    if broken:
        break_year: int | None = reference_year
        probability = 1.0
        curve = [{"year": float(reference_year), "probability": 1.0}]
    elif vulnerable:
        median = timeline.median_break_year(float(reference_year))
        break_year = None if median is None else round(median)
        probability = mosca_probability(timeline, x, y, float(reference_year))
    else:
        break_year, probability = None, 0.0
    window = 0.0 if break_year is None else round(reference_year + x + y - break_year, 1)
    return HndlResult(
        algorithm=algorithm.strip(),
        canonical_algorithm=info.canonical,
        estimated_break_year=break_year,
        data_shelf_life_years=x,
        risk_window_years=window,
        is_at_risk=window > 0,
        urgency=urgency_for(window),
        probability_at_risk=round(probability, 4),
        threat_model=timeline.threat_model,
        migration_time_years=y,
        reference_year=reference_year,
        survey_edition=timeline.edition,
        quantum_vulnerable=vulnerable,
        classically_broken=broken,
        applies=applies,
        note=_note(info, broken, vulnerable, applies, break_year),
        probability_by_year=curve,
    )


def _curve(timeline: CrqcTimeline, reference_year: int, vulnerable: bool) -> list[dict[str, float]]:
    if not vulnerable:
        return []
    return [
        {
            "year": float(reference_year + years),
            "probability": round(
                timeline.probability_within(years, reference_year=float(reference_year)), 4
            ),
        }
        for years in (5, 10, 15, 20, 25, 30)
    ]


def _note(
    info: AlgorithmInfo, broken: bool, vulnerable: bool, applies: bool, break_year: int | None
) -> str:
    if broken:
        return f"{info.canonical} is broken classically: recorded data is readable today."
    if not vulnerable:
        if info.post_quantum:
            return f"{info.canonical} resists quantum attacks: recorded data stays protected."
        if info.usage is Usage.HASH:
            return f"{info.canonical} protects no confidentiality: nothing to decrypt later."
        return (
            f"{info.canonical} keeps its security against quantum attacks (Grover's search "
            "does not break it; NIST requires no larger keys)."
        )
    if break_year is None:
        return (
            f"Under this threat model a CRQC is not as likely as not within the survey's "
            f"horizon; {info.canonical} stays exposed to the remaining probability."
        )
    if not applies:
        return (
            f"{info.canonical} is a signature algorithm: nothing recorded can be decrypted, "
            "but signatures become forgeable once a CRQC exists; migrate by the NIST deadline."
        )
    return (
        f"Data protected by {info.canonical} and recorded today can be decrypted once a CRQC "
        "exists."
    )
