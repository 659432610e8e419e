"""The CRQC timeline: the survey table in configuration, its interpolation and conditioning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qrap_core.crypto.crqc import THREAT_MODELS, load_survey, timeline_for
from qrap_core.errors import ConfigurationError, InvalidInput


def survey_document() -> dict[str, Any]:
    return {
        "source": "test",
        "default_edition": "t",
        "editions": {
            "t": {
                "survey_year": 2020.0,
                "horizons_years": [10, 20],
                "low": [0.2, 0.4],
                "high": [0.4, 0.8],
            }
        },
        "threat_models": {"pessimistic": "high", "median": "mid", "optimistic": "low"},
    }


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "survey.json"
    path.write_text(json.dumps(document))
    return path


class TestPackagedSurvey:
    def test_knowledge_md_figures_for_2024(self) -> None:
        survey = load_survey()
        assert survey.default_edition == "2024"
        pessimistic = survey.timeline("pessimistic")
        optimistic = survey.timeline("optimistic")
        assert pessimistic.cdf[1:] == (0.14, 0.34, 0.62, 0.82, 0.92)
        assert optimistic.cdf[1:] == (0.05, 0.19, 0.39, 0.60, 0.77)
        assert survey.timeline("median").cdf[1] == pytest.approx(0.095)
        assert pessimistic.verified

    def test_the_2025_edition_is_marked_unverified(self) -> None:
        assert not load_survey().timeline("median", "2025").verified

    @pytest.mark.parametrize("year", [2025.0, 2027.5, 2030.0, 2035.0])
    def test_pessimistic_is_never_later_than_optimistic(self, year: float) -> None:
        timelines = [timeline_for(name) for name in THREAT_MODELS]
        for years in range(0, 41):
            values = [t.probability_within(years, reference_year=year) for t in timelines]
            assert values == sorted(values)


class TestTimeline:
    def test_interpolates_and_stays_flat_past_the_horizon(self, tmp_path: Path) -> None:
        timeline = load_survey(write(tmp_path, survey_document())).timeline("median")
        assert timeline.cumulative(5) == pytest.approx(0.15)
        assert timeline.cumulative(20) == pytest.approx(0.6)
        assert timeline.cumulative(80) == pytest.approx(0.6)

    def test_conditions_on_no_crqc_so_far(self, tmp_path: Path) -> None:
        timeline = load_survey(write(tmp_path, survey_document())).timeline("median")
        # 10 years after the survey F = 0.3; within 10 more: (0.6 - 0.3) / 0.7.
        assert timeline.probability_within(10, reference_year=2030.0) == pytest.approx(3 / 7)
        assert timeline.probability_within(0, reference_year=2030.0) == 0.0

    def test_vectorised_form_agrees_with_the_scalar_one(self) -> None:
        timeline = timeline_for("pessimistic")
        spans = np.asarray([0.0, 1.0, 4.5, 13.0, 29.0, 80.0])
        many = timeline.probabilities_within(spans, reference_year=2027.3)
        one_by_one = [timeline.probability_within(s, reference_year=2027.3) for s in spans]
        assert many.tolist() == pytest.approx(one_by_one)
        elapsed = np.asarray([0.0, 2.0, 10.0])
        after = timeline.probabilities_after(elapsed, np.asarray([10.0, 10.0, 10.0]))
        expected = [timeline.probability_within(10, reference_year=timeline.survey_year + e)
                    for e in elapsed]  # fmt: skip
        assert after.tolist() == pytest.approx(expected)

    def test_years_until_inverts_the_conditional(self, tmp_path: Path) -> None:
        timeline = load_survey(write(tmp_path, survey_document())).timeline("pessimistic")
        years = timeline.years_until(0.5, reference_year=2020.0)
        assert years is not None
        assert timeline.probability_within(years, reference_year=2020.0) == pytest.approx(0.5)
        # The optimistic column never reaches 50 % within its horizon.
        optimistic = load_survey(write(tmp_path, survey_document())).timeline("optimistic")
        assert optimistic.years_until(0.5, reference_year=2020.0) is None


class TestConfiguration:
    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (lambda d: d["editions"]["t"].update(low=[0.5, 0.4]), "must not decrease"),
            (lambda d: d["editions"]["t"].update(high=[0.1, 0.3]), "must not exceed"),
            (lambda d: d["editions"]["t"].update(horizons_years=[10, 5]), "increasing"),
            (lambda d: d["editions"]["t"].update(low=[0.2]), "same length"),
            (lambda d: d["editions"]["t"].update(high=[0.4, 1.5]), "in [0, 1]"),
            (lambda d: d.update(default_edition="x"), "default_edition"),
            (lambda d: d["threat_models"].pop("median"), "threat_models"),
        ],
    )
    def test_invalid_tables_name_the_problem(
        self, tmp_path: Path, change: Any, message: str
    ) -> None:
        document = survey_document()
        change(document)
        with pytest.raises(ConfigurationError, match="QRAP_CRQC_SURVEY_FILE") as raised:
            load_survey(write(tmp_path, document))
        assert message in raised.value.message

    def test_unreadable_file(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="cannot read"):
            load_survey(tmp_path / "missing.json")

    def test_unknown_threat_model_or_edition(self) -> None:
        with pytest.raises(InvalidInput, match="threat model"):
            timeline_for("doomsday")
        with pytest.raises(InvalidInput, match="edition"):
            timeline_for("median", edition="1999")
