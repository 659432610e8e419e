"""The CRQC timeline: when a cryptographically relevant quantum computer may exist.

The Global Risk Institute's expert survey gives P(CRQC within N years) for N = 5 ... 30, as a
pessimistic-optimistic range. That table lives in ``crqc_survey.json`` beside this module (a
user may point ``QRAP_CRQC_SURVEY_FILE`` at their own); its columns are the threat models.
Between horizons the cumulative probability is interpolated linearly; past the last horizon it
stays flat (the rest of the mass is "not within 30 years").

Time passes after a survey: at a reference year r, with e = r - survey year already elapsed
without a CRQC, the chance of one within t more years is the conditional
P(z <= e + t | z > e) = (F(e + t) - F(e)) / (1 - F(e)), non-decreasing in t.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qrap_core.errors import ConfigurationError, InvalidInput

if TYPE_CHECKING:  # numpy loads only where arrays are scored, not with every rule
    import numpy as np
    import numpy.typing as npt

ThreatModel = Literal["pessimistic", "median", "optimistic"]
# Ordered from the latest CRQC to the earliest: the risk model's ordinal feature.
THREAT_MODELS: tuple[ThreatModel, ...] = ("optimistic", "median", "pessimistic")
DEFAULT_THREAT_MODEL: ThreatModel = "median"
_COLUMNS = frozenset({"low", "mid", "high"})


@dataclass(frozen=True, slots=True)
class CrqcTimeline:
    """The cumulative probability of a CRQC over years after a survey, for one threat model."""

    edition: str
    threat_model: ThreatModel
    survey_year: float
    verified: bool
    # Years after the survey and P(CRQC by then), starting at (0, 0), non-decreasing.
    horizons: tuple[float, ...]
    cdf: tuple[float, ...]

    def cumulative(self, years_after_survey: float) -> float:
        """F(t): probability that a CRQC exists ``years_after_survey`` after the survey."""
        t = max(0.0, years_after_survey)
        if t >= self.horizons[-1]:
            return self.cdf[-1]
        index = bisect_right(self.horizons, t) - 1
        t0, t1 = self.horizons[index], self.horizons[index + 1]
        p0, p1 = self.cdf[index], self.cdf[index + 1]
        return p0 + (p1 - p0) * (t - t0) / (t1 - t0)

    def elapsed(self, reference_year: float) -> float:
        """Years between the survey and the reference year (never negative)."""
        return max(0.0, reference_year - self.survey_year)

    def probability_within(self, years: float, *, reference_year: float) -> float:
        """P(a CRQC within ``years`` of ``reference_year``), given none exists by then."""
        if years <= 0:
            return 0.0
        e = self.elapsed(reference_year)
        base = self.cumulative(e)
        if base >= 1.0:
            return 1.0
        return max(0.0, min(1.0, (self.cumulative(e + years) - base) / (1.0 - base)))

    def probabilities_within(
        self, years: npt.NDArray[np.float64], *, reference_year: float
    ) -> npt.NDArray[np.float64]:
        """``probability_within`` for many spans at once (same reference year)."""
        import numpy as np

        spans = np.asarray(years, dtype=np.float64)
        elapsed = np.full(spans.shape, self.elapsed(reference_year))
        return self.probabilities_after(elapsed, spans)

    def probabilities_after(
        self, elapsed: npt.NDArray[np.float64], years: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """P(CRQC within ``years`` | none after ``elapsed`` years since the survey), elementwise."""
        import numpy as np

        e = np.maximum(np.asarray(elapsed, dtype=np.float64), 0.0)
        spans = np.maximum(np.asarray(years, dtype=np.float64), 0.0)
        # np.interp holds the last value past the horizon, as ``cumulative`` does.
        base = np.interp(e, self.horizons, self.cdf)
        ahead = np.interp(e + spans, self.horizons, self.cdf)
        safe = np.where(base < 1.0, 1.0 - base, 1.0)
        conditional = np.where(base < 1.0, (ahead - base) / safe, np.where(spans > 0, 1.0, 0.0))
        return np.asarray(np.clip(conditional, 0.0, 1.0), dtype=np.float64)

    def years_until(self, probability: float, *, reference_year: float) -> float | None:
        """Years from ``reference_year`` until the conditional probability reaches
        ``probability``; None when the survey's horizon never gets there."""
        e = self.elapsed(reference_year)
        base = self.cumulative(e)
        target = base + probability * (1.0 - base)
        if target > self.cdf[-1] + 1e-12:
            return None
        # The first point at or after the target on the piecewise-linear curve, past e.
        for index in range(1, len(self.horizons)):
            t1, p1 = self.horizons[index], self.cdf[index]
            if t1 <= e or p1 < target:
                continue
            t0, p0 = self.horizons[index - 1], self.cdf[index - 1]
            if p0 >= target:
                return max(0.0, t0 - e)
            start = max(t0, e)
            p_start = self.cumulative(start)
            if p1 == p_start:
                return max(0.0, t1 - e)
            return max(0.0, start + (t1 - start) * (target - p_start) / (p1 - p_start) - e)
        return None

    def median_break_year(self, reference_year: float) -> float | None:
        """The year by which a CRQC is as likely as not, seen from ``reference_year``."""
        years = self.years_until(0.5, reference_year=reference_year)
        return None if years is None else reference_year + years


@dataclass(frozen=True, slots=True)
class CrqcSurvey:
    """The survey table: editions, and which column each threat model reads."""

    source: str
    default_edition: str
    editions: dict[str, dict[str, Any]]
    threat_models: dict[str, str]
    path: str = field(default="(package)")

    def timeline(self, threat_model: str, edition: str | None = None) -> CrqcTimeline:
        """The timeline of one threat model; raises InvalidInput for an unknown name."""
        chosen = edition or self.default_edition
        if chosen not in self.editions:
            raise InvalidInput(
                f"unknown CRQC survey edition {chosen!r}",
                details=[{"field": "edition", "message": f"one of {sorted(self.editions)}"}],
            )
        column = self.threat_models.get(threat_model)
        if column is None:
            raise InvalidInput(
                f"unknown threat model {threat_model!r}",
                details=[
                    {"field": "threat_model", "message": f"one of {sorted(self.threat_models)}"}
                ],
            )
        data = self.editions[chosen]
        low, high = data["low"], data["high"]
        values = {
            "low": low,
            "high": high,
            "mid": [(a + b) / 2 for a, b in zip(low, high, strict=True)],
        }[column]
        return CrqcTimeline(
            edition=chosen,
            threat_model=threat_model,  # type: ignore[arg-type]  # checked against the table
            survey_year=float(data["survey_year"]),
            verified=bool(data.get("verified", False)),
            horizons=(0.0, *(float(h) for h in data["horizons_years"])),
            cdf=(0.0, *(float(p) for p in values)),
        )


def load_survey(path: Path | None = None) -> CrqcSurvey:
    """The survey table from ``path`` or the packaged default; raises ConfigurationError."""
    return _load_survey(str(path) if path is not None else None)


@lru_cache(maxsize=8)
def _load_survey(path: str | None) -> CrqcSurvey:
    try:
        if path is None:
            text = resources.files("qrap_core.crypto").joinpath("crqc_survey.json").read_text()
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"QRAP_CRQC_SURVEY_FILE: cannot read {path}: {exc}") from None
    problems = _validate(data)
    if problems:
        raise ConfigurationError(
            f"QRAP_CRQC_SURVEY_FILE: {path or 'crqc_survey.json'}: " + "; ".join(problems)
        )
    return CrqcSurvey(
        source=str(data.get("source", "")),
        default_edition=str(data["default_edition"]),
        editions=dict(data["editions"]),
        threat_models=dict(data["threat_models"]),
        path=path or "(package)",
    )


def _validate(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return ["the document must be a JSON object"]
    problems: list[str] = []
    editions = data.get("editions")
    if not isinstance(editions, dict) or not editions:
        return ["'editions' must map edition names to tables"]
    if data.get("default_edition") not in editions:
        problems.append("'default_edition' must name one of 'editions'")
    models = data.get("threat_models")
    if not isinstance(models, dict) or set(models) != set(THREAT_MODELS):
        problems.append(f"'threat_models' must map exactly {list(THREAT_MODELS)} to columns")
    elif not set(models.values()) <= _COLUMNS:
        problems.append(f"'threat_models' columns must be among {sorted(_COLUMNS)}")
    for name, table in editions.items():
        problems += [f"edition {name}: {p}" for p in _validate_edition(table)]
    return problems


def _validate_edition(table: Any) -> list[str]:
    if not isinstance(table, dict):
        return ["must be an object"]
    try:
        survey_year = float(table["survey_year"])
        horizons = [float(h) for h in table["horizons_years"]]
        low = [float(p) for p in table["low"]]
        high = [float(p) for p in table["high"]]
    except (KeyError, TypeError, ValueError):
        return ["needs survey_year, horizons_years, low and high (numbers)"]
    problems = []
    if not 1990 <= survey_year <= 2100:
        problems.append("survey_year out of range")
    if not horizons or len(low) != len(horizons) or len(high) != len(horizons):
        problems.append("horizons_years, low and high must have the same length")
        return problems
    if any(b <= a for a, b in pairwise([0.0, *horizons])):
        problems.append("horizons_years must be positive and increasing")
    for column, values in (("low", low), ("high", high)):
        if any(not 0.0 <= p <= 1.0 for p in values):
            problems.append(f"{column} probabilities must lie in [0, 1]")
        if any(b < a for a, b in pairwise(values)):
            problems.append(f"{column} probabilities must not decrease")
    if any(a > b for a, b in zip(low, high, strict=True)):
        problems.append("each low probability must not exceed its high one")
    return problems


def timeline_for(
    threat_model: str = DEFAULT_THREAT_MODEL,
    *,
    survey_file: Path | None = None,
    edition: str | None = None,
) -> CrqcTimeline:
    """The timeline of a threat model from the configured (or packaged) survey."""
    return load_survey(survey_file).timeline(threat_model, edition)
