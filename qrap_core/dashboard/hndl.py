"""The HNDL curves the dashboard draws: Mosca's probability of exposure under each threat
model, against the data's shelf life and over the years to come."""

from __future__ import annotations

from pathlib import Path

from qrap_core.reports.charts import Series
from qrap_core.scoring import hndl

SHELF_LIVES = tuple(range(0, 41, 2))  # years of secrecy drawn on the calculator's x axis
YEARS_AHEAD = 30


def _timelines(
    survey_file: Path | None, edition: str | None
) -> list[tuple[str, hndl.CrqcTimeline]]:
    return [
        (model, hndl.timeline_for(model, survey_file=survey_file, edition=edition))
        for model in hndl.THREAT_MODELS
    ]


def exposure_by_shelf_life(
    migration_years: float,
    reference_year: int,
    *,
    survey_file: Path | None = None,
    edition: str | None = None,
) -> list[Series]:
    """P(x + y > z) for shelf lives x in ``SHELF_LIVES`` and migration time y, per model."""
    return [
        Series(
            model,
            [
                (float(x), hndl.mosca_probability(timeline, x, migration_years, reference_year))
                for x in SHELF_LIVES
            ],
        )
        for model, timeline in _timelines(survey_file, edition)
    ]


def exposure_by_year(
    migration_years: float,
    reference_year: int,
    *,
    survey_file: Path | None = None,
    edition: str | None = None,
) -> list[Series]:
    """The chance that data recorded now and secret until each coming year is exposed (its
    shelf life runs to that year, the migration adds ``migration_years``), per model."""
    return [
        Series(
            model,
            [
                (
                    float(reference_year + years),
                    hndl.mosca_probability(timeline, years, migration_years, reference_year),
                )
                for years in range(0, YEARS_AHEAD + 1, 2)
            ],
        )
        for model, timeline in _timelines(survey_file, edition)
    ]
