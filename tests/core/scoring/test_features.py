"""Feature rows: what each column says about an asset, the same at training and scoring."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from qrap_core.crypto.crqc import timeline_for
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import Usage
from qrap_core.rules import RuleContext, evaluate
from qrap_core.scoring.features import (
    FAMILIES,
    FEATURE_NAMES,
    FEATURES,
    INDEX,
    MONOTONE_CONSTRAINTS,
    FeatureContext,
    display_value,
    extract,
)

NOW = datetime(2026, 7, 2, tzinfo=UTC)
CTX = FeatureContext(
    now=NOW, shelf_life_years=12, migration_years=4, threat_model="pessimistic", survey_year=2024.95
)
KEX = Usage.KEY_ESTABLISHMENT


def row(*assets: CryptoAsset, ctx: FeatureContext = CTX, index: int = 0) -> dict[str, float]:
    findings = evaluate(list(assets), RuleContext(now=ctx.now))
    values = extract(list(assets), findings, ctx)[index]
    return {name: float(values[i]) for i, name in enumerate(FEATURE_NAMES)}


def kex(group: str, location: str = "shop.example.com:443", **details: Any) -> CryptoAsset:
    return CryptoAsset(
        "key_exchange", group, location, KEX, group, protocol="TLSv1.3", details=details
    )


class TestSpec:
    def test_features_the_issue_lists(self) -> None:
        assert set(FEATURE_NAMES) >= {
            "family", "classical_bits", "quantum_level", "key_size", "usage", "hybrid_pqc",
            "protocol_version", "cert_lifetime_days", "days_to_expiry", "shelf_life_years",
            "sensitivity", "exposure", "migration_years", "threat_model",
        }  # fmt: skip

    def test_known_directions_are_constrained(self) -> None:
        constraints = dict(zip(FEATURE_NAMES, MONOTONE_CONSTRAINTS, strict=True))
        assert constraints["shelf_life_years"] == 1
        assert constraints["migration_years"] == 1
        assert constraints["classical_bits"] == -1
        assert constraints["key_size"] == -1
        assert constraints["hybrid_pqc"] == -1
        assert constraints["family"] == 0  # categorical: no order to constrain


class TestExtract:
    def test_shared_assumptions(self) -> None:
        values = row(kex("X25519"))
        assert values["shelf_life_years"] == 12
        assert values["migration_years"] == 4
        assert values["threat_model"] == 2  # pessimistic
        assert values["years_since_survey"] == pytest.approx(2026.5 - 2024.95, abs=0.01)
        # X25519 is disallowed after 2035-12-31: about 9.5 years from July 2026.
        assert values["years_to_nist_deadline"] == pytest.approx(9.5, abs=0.02)

    def test_classical_key_exchange(self) -> None:
        values = row(kex("X25519"))
        assert values["family"] == FAMILIES.index("ECDH")
        assert values["quantum_vulnerable"] == 1
        assert (values["classical_bits"], values["quantum_level"]) == (128, 0)
        assert values["hybrid_pqc"] == 0
        assert values["protocol_version"] == 5
        assert values["exposure"] == 2  # a public host name: internet

    def test_a_hybrid_offered_at_the_same_location_counts(self) -> None:
        values = row(kex("X25519"), kex("X25519MLKEM768", hybrid_pqc=True))
        assert values["hybrid_pqc"] == 1
        hybrid = row(kex("X25519"), kex("X25519MLKEM768", hybrid_pqc=True), index=1)
        assert (hybrid["quantum_vulnerable"], hybrid["quantum_level"]) == (0, 3)

    def test_private_addresses_are_internal(self) -> None:
        assert row(kex("X25519", "10.0.0.5:443"))["exposure"] == 0
        assert row(kex("X25519", "db.internal:5432"))["exposure"] == 0

    def test_profile_and_details_override_the_address(self) -> None:
        ctx = FeatureContext(
            now=NOW, shelf_life_years=1, migration_years=1, threat_model="median",
            survey_year=2024.95, sensitivity="critical", exposure="partner",
        )  # fmt: skip
        values = row(kex("X25519", "10.0.0.5:443"), ctx=ctx)
        assert (values["sensitivity"], values["exposure"]) == (3, 1)
        asset = CryptoAsset(
            "algorithm", "vault", "vault", KEX, "RSA-2048", details={"sensitivity": "low"}
        )
        assert row(asset, ctx=ctx)["sensitivity"] == 0

    def test_certificate_validity(self) -> None:
        cert = CryptoAsset(
            "certificate", "CN=x", "shop.example.com:443", Usage.SIGNATURE, "RSA", "RSA", 2048,
            details={"not_after": "2027-07-02T00:00:00+00:00", "lifetime_days": 730,
                     "is_ca": True, "signature_hash": "sha1"},
        )  # fmt: skip
        values = row(cert)
        assert values["cert_lifetime_days"] == 730
        assert values["days_to_expiry"] == pytest.approx(365)
        assert values["is_ca"] == 1
        assert values["usage"] == list(Usage).index(Usage.SIGNATURE)
        assert values["classical_weakness"] == 3  # CERT-001: SHA-1, HIGH

    def test_static_rsa_suite_is_a_quantum_vulnerable_key_establishment(self) -> None:
        suite = CryptoAsset(
            "cipher_suite", "AES128-SHA", "shop.example.com:443", Usage.ENCRYPTION, "AES128-SHA",
            protocol="TLSv1.2",
        )  # fmt: skip
        values = row(suite)
        assert values["family"] == FAMILIES.index("AES")
        assert values["quantum_vulnerable"] == 1
        assert values["usage"] == list(Usage).index(KEX)
        assert values["key_size"] == 128
        assert values["protocol_version"] == 4
        assert values["classical_weakness"] == 2  # TLS-005, MEDIUM

    def test_aead_suite_is_its_cipher(self) -> None:
        suite = CryptoAsset(
            "cipher_suite", "TLS_AES_128_GCM_SHA256", "h:443", Usage.ENCRYPTION,
            "TLS_AES_128_GCM_SHA256", protocol="TLSv1.3",
        )  # fmt: skip
        values = row(suite)
        assert (values["quantum_vulnerable"], values["classical_bits"]) == (0, 128)
        assert values["quantum_level"] == 1

    def test_protocol_asset(self) -> None:
        values = row(CryptoAsset("protocol", "TLSv1.0", "h:443", Usage.PROTOCOL, "TLSv1.0"))
        assert values["family"] == FAMILIES.index("protocol")
        assert values["protocol_version"] == 2
        assert values["classical_weakness"] == 3

    def test_unknown_algorithm_has_missing_values(self) -> None:
        values = row(CryptoAsset("algorithm", "x", "x", Usage.UNKNOWN, "GOST R 34.10-2012"))
        assert values["family"] == 0
        assert math.isnan(values["classical_bits"])
        assert math.isnan(values["quantum_level"])
        assert math.isnan(values["years_to_nist_deadline"])

    def test_display_values(self) -> None:
        features = {f.name: f for f in FEATURES}
        assert display_value(features["family"], float(FAMILIES.index("RSA"))) == "RSA"
        assert display_value(features["threat_model"], 2.0) == "pessimistic"
        assert display_value(features["hybrid_pqc"], 1.0) is True
        assert display_value(features["classical_bits"], math.nan) is None
        assert display_value(features["shelf_life_years"], 7.123) == 7.12
        assert INDEX["family"] == 0

    def test_mosca_probabilities_follow_the_configured_timeline(self) -> None:
        asset = kex("X25519")
        median = row(asset)
        assert median["crqc_probability"] == pytest.approx(
            timeline_for("pessimistic").probability_within(16, reference_year=2026.5), abs=1e-3
        )
        slow = FeatureContext(
            now=NOW, shelf_life_years=12, migration_years=4, threat_model="pessimistic",
            survey_year=2024.95, timeline=timeline_for("optimistic"),
        )  # fmt: skip
        assert row(asset, ctx=slow)["crqc_probability"] < median["crqc_probability"]
        # A signing key not in a certificate counts as trusted for two years.
        signer = CryptoAsset("algorithm", "s", "s", Usage.SIGNATURE, "RSA-2048")
        assert row(signer)["crqc_probability_trusted"] == pytest.approx(
            timeline_for("pessimistic").probability_within(2 + 4, reference_year=2026.5), abs=1e-3
        )

    @pytest.mark.parametrize(
        ("kind", "protocol", "code"),
        [
            ("protocol", "SSH-1.99", 0),
            ("key_exchange", "SSH-1.99", 5),
            ("key_exchange", "SSH-2.0", 5),
            ("protocol", "SSH-1.5", 0),
            ("key_exchange", "TLSv1.2", 4),
            ("protocol", "SSLv3", 1),
        ],
    )
    def test_protocol_versions(self, kind: str, protocol: str, code: int) -> None:
        asset = CryptoAsset(kind, protocol, "h:22", Usage.PROTOCOL, protocol, protocol=protocol)  # type: ignore[arg-type]  # kinds from the literal
        assert row(asset)["protocol_version"] == code
