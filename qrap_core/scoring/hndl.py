"""Harvest now, decrypt later: Mosca's inequality with the CRQC's arrival as a distribution.

Mosca: data recorded today is exposed when x + y > z, with x the years it must stay secret,
y the years the migration takes and z the years until a cryptographically relevant quantum
computer (CRQC). z is not a number but a distribution: the expert survey's timeline
(``qrap_core.crypto.crqc``), whose columns are the threat models. The answer is a probability
of exposure, P(x + y > z), and a risk window around the year a CRQC becomes as likely as not.

Urgency follows both: the original window thresholds (>= 10 years CRITICAL, >= 5 HIGH, > 0
MEDIUM) and the probability of exposure (>= 0.50 CRITICAL: exposure is as likely as not;
>= 0.25 HIGH; >= 0.10 MEDIUM: one chance in ten of losing data that must stay secret is a risk
to act on), whichever is higher. ``is_at_risk`` is true exactly when urgency is above LOW, so a
45 % chance of exposure is never "LOW, not at risk" because the median break year happens to
fall a year after the data expires.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

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
from qrap_core.enums import RISK_ORDER, RiskLevel, Usage
from qrap_core.errors import InvalidInput

__all__ = [
    "DEFAULT_THREAT_MODEL",
    "THREAT_MODELS",
    "CrqcSurvey",
    "CrqcTimeline",
    "HndlResult",
    "ThreatModel",
    "assess",
    "horizon_year",
    "load_survey",
    "mosca_probability",
    "timeline_for",
    "urgency_for",
    "urgency_for_probability",
]

# Original service's urgency thresholds on the risk window (years).
_URGENCY = ((10.0, RiskLevel.CRITICAL), (5.0, RiskLevel.HIGH))
# Urgency thresholds on the probability of exposure P(x + y > z), highest first.
PROBABILITY_URGENCY = (
    (0.50, RiskLevel.CRITICAL),
    (0.25, RiskLevel.HIGH),
    (0.10, RiskLevel.MEDIUM),
)
# At risk from this probability of exposure on (the MEDIUM threshold), or with a positive window.
AT_RISK_PROBABILITY = 0.10
BreakYearBasis = Literal["broken-now", "survey-median", "survey-horizon"]
# Public-key strength below this (RSA-512/768, 160-bit curves) is broken classically today:
# recorded traffic needs no quantum computer at all.
CLASSICALLY_BROKEN_BELOW_BITS = 80
_CLASSICALLY_BROKEN_CIPHERS = frozenset({"DES", "RC4", "RC2"})


@dataclass(frozen=True, slots=True)
class HndlResult:
    """The original ``POST /hndl`` fields plus the probabilistic ones."""

    algorithm: str
    canonical_algorithm: str
    estimated_break_year: int
    data_shelf_life_years: int
    risk_window_years: int
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
    # How estimated_break_year was found: "broken-now" (classically broken: the reference
    # year), "survey-median" (the year a CRQC becomes as likely as not) or "survey-horizon"
    # (not within the survey's horizon: its last year, a sentinel; for algorithms Shor's
    # algorithm does not break this always holds).
    break_year_basis: BreakYearBasis = "survey-median"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the urgency as its name)."""
        return {
            "algorithm": self.algorithm,
            "canonical_algorithm": self.canonical_algorithm,
            "estimated_break_year": self.estimated_break_year,
            "break_year_basis": self.break_year_basis,
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


def urgency_for_probability(probability: float) -> RiskLevel:
    """>= 0.50 CRITICAL, >= 0.25 HIGH, >= 0.10 MEDIUM, else LOW."""
    for threshold, level in PROBABILITY_URGENCY:
        if probability >= threshold:
            return level
    return RiskLevel.LOW


def hndl_urgency(window_years: float, probability: float) -> RiskLevel:
    """The higher of the window's urgency (the original thresholds) and the probability's."""
    return min(
        urgency_for(window_years), urgency_for_probability(probability), key=RISK_ORDER.__getitem__
    )


def horizon_year(timeline: CrqcTimeline) -> int:
    """The last year the survey speaks for (survey year + its last horizon, rounded up)."""
    return math.ceil(timeline.survey_year + timeline.horizons[-1])


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

    ``risk_window_years`` = reference year + x + y - estimated break year, the whole years
    (rounded up, never negative) recorded data stays secret after the (median) break;
    ``probability_at_risk`` = P(x + y > z) under the timeline; urgency and ``is_at_risk`` as
    the module says. ``estimated_break_year`` is always a year: the reference year for a
    classically broken algorithm, the median break year, or, where a CRQC is not as likely as
    not within the survey's horizon and for algorithms Shor's algorithm does not break, the
    survey's horizon year (``break_year_basis`` says which). Harvesting matters for what
    protects confidentiality: public-key key establishment and encryption, and broken ciphers.
    For signatures the same figures say when forgery becomes possible, and ``applies`` is
    false; for hashes and sound ciphers nothing is at risk (window 0, probability 0).
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
    # Past the survey's horizon it says nothing: a break "not within the horizon" is dated at
    # its end (never before the reference year), which errs towards a longer window.
    horizon = max(horizon_year(timeline), reference_year)
    basis: BreakYearBasis = "survey-horizon"
    if broken:
        break_year = reference_year
        basis = "broken-now"
        probability = 1.0
        curve = [{"year": float(reference_year), "probability": 1.0}]
    elif vulnerable:
        median = timeline.median_break_year(float(reference_year))
        if median is None:
            break_year = horizon
        else:
            break_year, basis = round(median), "survey-median"
        probability = mosca_probability(timeline, x, y, float(reference_year))
    else:
        break_year, probability = horizon, 0.0
    window = 0
    if broken or vulnerable:
        # Rounded up so that any positive window counts (the original "> 0 MEDIUM").
        window = max(0, math.ceil(round(reference_year + x + y - break_year, 6)))
    urgency = hndl_urgency(window, probability)
    return HndlResult(
        algorithm=algorithm.strip(),
        canonical_algorithm=info.canonical,
        estimated_break_year=break_year,
        break_year_basis=basis,
        data_shelf_life_years=round(x),
        risk_window_years=window,
        is_at_risk=urgency is not RiskLevel.LOW,
        urgency=urgency,
        probability_at_risk=round(probability, 4),
        threat_model=timeline.threat_model,
        migration_time_years=y,
        reference_year=reference_year,
        survey_edition=timeline.edition,
        quantum_vulnerable=vulnerable,
        classically_broken=broken,
        applies=applies,
        note=_note(info, broken, vulnerable, applies, basis == "survey-horizon"),
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
    info: AlgorithmInfo, broken: bool, vulnerable: bool, applies: bool, beyond_horizon: bool
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
    if beyond_horizon:
        return (
            f"Under this threat model a CRQC is not as likely as not within the survey's "
            f"horizon (the break year given is its end); {info.canonical} stays exposed to the "
            "remaining probability."
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
