"""Probabilistic Mosca: the original /hndl fields plus probability, threat model and time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qrap_core.enums import RiskLevel
from qrap_core.errors import InvalidInput
from qrap_core.scoring.hndl import (
    THREAT_MODELS,
    HndlResult,
    assess,
    mosca_probability,
    timeline_for,
    urgency_for,
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
        assert body["urgency"] == "LOW"

    def test_rsa_2048_median(self) -> None:
        result = hndl("RSA-2048")
        # The median survey column reaches 50 % about 15 years after December 2024.
        assert result.estimated_break_year == 2040
        assert result.risk_window_years == 2026 + 10 + 3 - 2040
        assert (result.is_at_risk, result.urgency) == (False, RiskLevel.LOW)
        assert result.probability_at_risk == pytest.approx(0.4484, abs=1e-4)

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
        assert result.estimated_break_year is None
        assert (result.is_at_risk, result.urgency, result.probability_at_risk) == (
            False,
            RiskLevel.LOW,
            0.0,
        )

    @pytest.mark.parametrize("name", ["RSA-512", "DES", "RC4"])
    def test_classically_broken_is_broken_now(self, name: str) -> None:
        result = hndl(name, 10, 0)
        assert result.classically_broken
        assert result.estimated_break_year == 2026
        assert result.probability_at_risk == 1.0
        assert result.urgency is RiskLevel.CRITICAL

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
