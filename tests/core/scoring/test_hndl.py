"""Probabilistic Mosca: the original /hndl fields plus probability, threat model and time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qrap_core.enums import RISK_ORDER, RiskLevel
from qrap_core.errors import InvalidInput
from qrap_core.scoring.hndl import (
    THREAT_MODELS,
    HndlResult,
    assess,
    horizon_year,
    mosca_probability,
    timeline_for,
    urgency_for,
    urgency_for_probability,
)

MEDIAN = timeline_for("median")
ORIGINAL_FIELDS = {
    "algorithm",
    "estimated_break_year",
    "data_shelf_life_years",
    "risk_window_years",
    "is_at_risk",
    "urgency",
}
NEW_FIELDS = {"probability_at_risk", "threat_model", "migration_time_years", "reference_year"}


def hndl(
    algorithm: str,
    shelf: float = 10,
    migration: float = 3,
    *,
    threat_model: str = "median",
    reference_year: int = 2026,
) -> HndlResult:
    return assess(
        algorithm,
        shelf_life_years=shelf,
        migration_years=migration,
        timeline=timeline_for(threat_model),
        reference_year=reference_year,
    )


class TestAssess:
    def test_original_and_new_fields(self) -> None:
        body = hndl("RSA-2048").to_dict()
        assert set(body) >= ORIGINAL_FIELDS | NEW_FIELDS
        assert body["algorithm"] == "RSA-2048"
        assert body["threat_model"] == "median"
        assert (body["migration_time_years"], body["reference_year"]) == (3.0, 2026)
        assert body["urgency"] == "HIGH"  # a 45 % chance of exposure

    def test_rsa_2048_median(self) -> None:
        result = hndl("RSA-2048")
        # The median survey column reaches 50 % about 15 years after December 2024.
        assert result.estimated_break_year == 2040
        assert result.break_year_basis == "survey-median"
        # 2026 + 10 + 3 - 2040 = -1: the data expires a year before the median break...
        assert result.risk_window_years == 0
        # ...but a 45 % chance of exposure is not "LOW, not at risk".
        assert result.probability_at_risk == pytest.approx(0.4484, abs=1e-4)
        assert (result.is_at_risk, result.urgency) == (True, RiskLevel.HIGH)

    def test_original_field_types(self) -> None:
        body = hndl("RSA-2048", 15, 2.5).to_dict()
        assert type(body["estimated_break_year"]) is int
        assert type(body["data_shelf_life_years"]) is int
        assert type(body["risk_window_years"]) is int
        assert body["data_shelf_life_years"] == 15
        # 2026 + 15 + 2.5 - 2040 = 3.5, rounded up to whole years.
        assert body["risk_window_years"] == 4
        assert type(body["is_at_risk"]) is bool
        assert body["urgency"] in {level.value for level in RiskLevel}

    def test_pessimistic_breaks_earlier_and_raises_the_stakes(self) -> None:
        pessimistic = hndl("RSA-2048", 20, threat_model="pessimistic")
        optimistic = hndl("RSA-2048", 20, threat_model="optimistic")
        assert pessimistic.estimated_break_year == 2038
        assert optimistic.estimated_break_year == 2043
        assert pessimistic.probability_at_risk > optimistic.probability_at_risk
        assert pessimistic.urgency is RiskLevel.CRITICAL  # 2026 + 23 - 2038 = 11 years

    def test_echoes_the_spelling_and_names_the_entry(self) -> None:
        result = hndl("ecdh-sha2-nistp256")
        assert (result.algorithm, result.canonical_algorithm) == ("ecdh-sha2-nistp256", "ECDH-P256")
        assert result.applies

    @pytest.mark.parametrize(
        "name", ["AES-128", "AES-256-GCM", "SHA-256", "ML-KEM-768", "X25519MLKEM768", "ML-DSA-65"]
    )
    def test_quantum_safe_algorithms_are_not_at_risk(self, name: str) -> None:
        result = hndl(name, 50, 10)
        # Not broken within the survey's horizon: its last year (2024.95 + 30), a sentinel.
        assert result.estimated_break_year == horizon_year(MEDIAN) == 2055
        assert result.break_year_basis == "survey-horizon"
        assert result.risk_window_years == 0  # even though 2026 + 60 is past the horizon
        assert (result.is_at_risk, result.urgency, result.probability_at_risk) == (
            False,
            RiskLevel.LOW,
            0.0,
        )

    def test_no_median_within_the_horizon_dates_the_break_at_its_end(self) -> None:
        # Seen from 2050 the optimistic column never doubles its remaining probability.
        result = hndl("RSA-2048", 1, 0, threat_model="optimistic", reference_year=2050)
        assert result.estimated_break_year == 2055
        assert result.break_year_basis == "survey-horizon"
        assert result.risk_window_years == 0
        assert "horizon" in result.note

    @pytest.mark.parametrize("name", ["RSA-512", "DES", "RC4"])
    def test_classically_broken_is_broken_now(self, name: str) -> None:
        result = hndl(name, 10, 0)
        assert result.classically_broken
        assert result.estimated_break_year == 2026
        assert result.break_year_basis == "broken-now"
        assert result.probability_at_risk == 1.0
        assert result.risk_window_years == 10
        assert (result.is_at_risk, result.urgency) == (True, RiskLevel.CRITICAL)

    def test_signatures_are_not_harvested(self) -> None:
        result = hndl("ECDSA-P256")
        assert not result.applies
        assert "forge" in result.note

    def test_unknown_algorithm_is_400_naming_it(self) -> None:
        with pytest.raises(InvalidInput, match="Frobnicate") as raised:
            hndl("Frobnicate-9000")
        assert raised.value.details[0]["field"] == "algorithm"
        assert "Frobnicate-9000" in raised.value.details[0]["message"]

    def test_probability_curve_rises(self) -> None:
        curve = hndl("X25519").probability_by_year
        values = [point["probability"] for point in curve]
        assert values == sorted(values)
        assert curve[0]["year"] == 2031.0


class TestUrgency:
    @pytest.mark.parametrize(
        ("window", "level"),
        [(15, "CRITICAL"), (10, "CRITICAL"), (9.9, "HIGH"), (5, "HIGH"), (0.1, "MEDIUM"),
         (0, "LOW"), (-3, "LOW")],
    )  # fmt: skip
    def test_original_thresholds(self, window: float, level: str) -> None:
        assert urgency_for(window) is RiskLevel(level)


class TestUrgencyForProbability:
    @pytest.mark.parametrize(
        ("probability", "level"),
        [(1.0, "CRITICAL"), (0.5, "CRITICAL"), (0.4999, "HIGH"), (0.25, "HIGH"),
         (0.2499, "MEDIUM"), (0.10, "MEDIUM"), (0.0999, "LOW"), (0.0, "LOW")],
    )  # fmt: skip
    def test_thresholds(self, probability: float, level: str) -> None:
        assert urgency_for_probability(probability) is RiskLevel(level)


class TestUrgencyFollowsTheProbability:
    @pytest.mark.parametrize(
        ("shelf", "urgency"),
        [(0, "LOW"), (3, "MEDIUM"), (6, "HIGH"), (10, "HIGH"), (12, "CRITICAL")],
    )
    def test_rsa_2048_by_shelf_life(self, shelf: int, urgency: str) -> None:
        result = hndl("RSA-2048", shelf, 3)
        assert result.urgency is RiskLevel(urgency)
        assert result.is_at_risk is (urgency != "LOW")

    @settings(max_examples=300, deadline=None)
    @given(
        x=st.integers(min_value=0, max_value=100),
        y=st.floats(min_value=0, max_value=50, allow_nan=False),
        year=st.integers(min_value=2000, max_value=2100),
        model=st.sampled_from(THREAT_MODELS),
        algorithm=st.sampled_from(["RSA-2048", "X25519", "ECDSA-P256", "DES", "AES-128",
                                   "ML-KEM-768", "SHA-256", "RSA-512"]),
    )  # fmt: skip
    def test_answers_agree(self, x: int, y: float, year: int, model: str, algorithm: str) -> None:
        result = hndl(algorithm, x, y, threat_model=model, reference_year=year)
        assert isinstance(result.estimated_break_year, int)
        assert isinstance(result.risk_window_years, int)
        assert result.risk_window_years >= 0
        assert result.data_shelf_life_years == x
        order = RISK_ORDER[result.urgency]
        assert order <= RISK_ORDER[urgency_for(result.risk_window_years)]
        assert order <= RISK_ORDER[urgency_for_probability(result.probability_at_risk)]
        assert result.is_at_risk is (result.urgency is not RiskLevel.LOW)
        assert result.is_at_risk is (
            result.probability_at_risk >= 0.10 or result.risk_window_years > 0
        )


years = st.floats(min_value=0, max_value=100, allow_nan=False)
migration = st.floats(min_value=0, max_value=50, allow_nan=False)
reference = st.integers(min_value=2025, max_value=2045)
models = st.sampled_from(THREAT_MODELS)


class TestMonotonicity:
    @settings(max_examples=300, deadline=None)
    @given(x=years, extra=years, y=migration, year=reference, model=models)
    def test_longer_shelf_life_never_lowers_the_probability(
        self, x: float, extra: float, y: float, year: int, model: str
    ) -> None:
        timeline = timeline_for(model)
        assert mosca_probability(timeline, x + extra, y, year) >= mosca_probability(
            timeline, x, y, year
        )

    @settings(max_examples=300, deadline=None)
    @given(x=years, y=migration, extra=migration, year=reference, model=models)
    def test_longer_migration_never_lowers_the_probability(
        self, x: float, y: float, extra: float, year: int, model: str
    ) -> None:
        timeline = timeline_for(model)
        assert mosca_probability(timeline, x, y + extra, year) >= mosca_probability(
            timeline, x, y, year
        )

    @settings(max_examples=200, deadline=None)
    @given(
        x=years,
        extra=years,
        y=migration,
        algorithm=st.sampled_from(["RSA-2048", "X25519", "DH-3072", "ECDH-P384", "RSA-1024"]),
        model=models,
    )
    def test_longer_shelf_life_never_lowers_the_answer(
        self, x: float, extra: float, y: float, algorithm: str, model: str
    ) -> None:
        timeline = timeline_for(model)
        shorter = assess(
            algorithm, shelf_life_years=x, migration_years=y, timeline=timeline, reference_year=2026
        )
        longer = assess(
            algorithm,
            shelf_life_years=x + extra,
            migration_years=y,
            timeline=timeline,
            reference_year=2026,
        )
        assert longer.probability_at_risk >= shorter.probability_at_risk
        assert longer.risk_window_years >= shorter.risk_window_years
        assert longer.is_at_risk or not shorter.is_at_risk

    @settings(max_examples=200, deadline=None)
    @given(x=years, y=migration, year=reference)
    def test_pessimistic_is_never_safer_than_optimistic(
        self, x: float, y: float, year: int
    ) -> None:
        values = [mosca_probability(timeline_for(m), x, y, year) for m in THREAT_MODELS]
        assert values == sorted(values)
