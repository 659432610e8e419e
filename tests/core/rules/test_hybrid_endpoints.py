"""Quantum findings judged per endpoint, from the verdict a probe recorded on its assets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import FindingCategory, RiskLevel, Usage
from qrap_core.rules.base import FindingDraft
from qrap_core.rules.engine import RuleContext, evaluate

CTX = RuleContext(now=datetime(2026, 1, 1, tzinfo=UTC))
HOST = "203.0.113.7:443"
QUANTUM_KEX_RULES = ("QRAP-PQC-001", "QRAP-HNDL-001")


def probed(
    name: str,
    verdict: str,
    *,
    family: str = "ECDH",
    representative: bool = False,
    fallback: bool = False,
    pqc: bool = False,
    key_size: int | None = None,
    protocol: str = "TLSv1.3",
) -> CryptoAsset:
    """A key exchange as the TLS and SSH probes record it."""
    return CryptoAsset(
        kind="key_exchange",
        name=name,
        location=HOST,
        usage=Usage.KEY_ESTABLISHMENT,
        algorithm=name,
        family=family,
        key_size=key_size,
        protocol=protocol,
        details={
            "group": name,
            "hybrid_pqc": pqc,
            "pqc": pqc,
            "negotiated": False,
            "endpoint_verdict": verdict,
            "endpoint_representative": representative,
            "fallback": fallback,
        },
    )


def quantum(findings: list[FindingDraft]) -> list[tuple[str, RiskLevel, str | None]]:
    return [
        (f.rule_id, f.risk_level, f.current_algorithm)
        for f in findings
        if f.rule_id in QUANTUM_KEX_RULES
    ]


def hybrid_endpoint(*extra: CryptoAsset) -> list[CryptoAsset]:
    return [
        probed("X25519MLKEM768", "hybrid-pq", family="hybrid", pqc=True),
        probed("X25519", "hybrid-pq", representative=True, fallback=True),
        *extra,
    ]


class TestHybridEndpoint:
    def test_one_medium_legacy_client_fallback_and_no_hndl(self) -> None:
        findings = evaluate(hybrid_endpoint(), CTX)

        assert quantum(findings) == [("QRAP-PQC-001", RiskLevel.MEDIUM, "X25519")]
        finding = findings[0]
        assert finding.title == "Legacy-client fallback to classical key exchange X25519"
        assert finding.evidence["legacy_client_fallback"] is True
        assert finding.evidence["endpoint_verdict"] == "hybrid-pq"
        assert "clients without PQ support" in finding.description
        assert "disable the classical fallback" in finding.remediation

    def test_other_classical_landings_add_no_quantum_finding(self) -> None:
        others = [
            probed(name, "hybrid-pq", protocol="SSH-2.0")
            for name in ("ecdh-sha2-nistp256", "diffie-hellman-group14-sha256")
        ]

        findings = evaluate(hybrid_endpoint(*others), CTX)

        assert quantum(findings) == [("QRAP-PQC-001", RiskLevel.MEDIUM, "X25519")]

    def test_weak_classical_landing_keeps_its_weak_key_finding(self) -> None:
        dh = probed("DH", "hybrid-pq", family="DH", key_size=1024, protocol="TLSv1.2")

        findings = evaluate(hybrid_endpoint(dh), CTX)

        assert [(f.rule_id, f.risk_level) for f in findings if f.current_algorithm == "DH"] == [
            ("QRAP-KEY-001", RiskLevel.HIGH)
        ]

    @pytest.mark.parametrize("shelf_life", [10, 30])
    def test_no_high_or_critical_hndl_whatever_the_shelf_life(self, shelf_life: int) -> None:
        ctx = RuleContext(now=CTX.now, shelf_life_years=shelf_life)

        findings = evaluate(hybrid_endpoint(), ctx)

        assert not [f for f in findings if f.category is FindingCategory.HARVEST_NOW_DECRYPT_LATER]
        assert all(f.risk_level is RiskLevel.MEDIUM for f in findings)

    def test_server_preferring_classical_over_an_offered_hybrid_stays_high(self) -> None:
        # The probe's client offered X25519MLKEM768 and still got X25519: so do current clients.
        assets = [
            probed("X25519", "hybrid-pq", representative=True, fallback=False),
            probed("X25519MLKEM768", "hybrid-pq", family="hybrid", pqc=True),
        ]

        findings = evaluate(assets, CTX)

        assert [(r, lvl) for r, lvl, _ in quantum(findings)] == [
            ("QRAP-PQC-001", RiskLevel.HIGH),
            ("QRAP-HNDL-001", RiskLevel.HIGH),
        ]
        assert "chose this one" in findings[0].description


class TestClassicalEndpoint:
    def test_keeps_its_high_hndl_once(self) -> None:
        assets = [
            probed("X25519", "classical-only", representative=True),
            probed("secp256r1", "classical-only"),
        ]

        assert quantum(evaluate(assets, CTX)) == [
            ("QRAP-PQC-001", RiskLevel.HIGH, "X25519"),
            ("QRAP-HNDL-001", RiskLevel.HIGH, "X25519"),
        ]

    @pytest.mark.parametrize("verdict", ["legacy-pq-draft", "not-tested"])
    def test_no_standard_pq_option_is_no_fallback(self, verdict: str) -> None:
        assets = [probed("X25519", verdict, representative=True)]

        levels = {rule: level for rule, level, _ in quantum(evaluate(assets, CTX))}

        assert levels == {"QRAP-PQC-001": RiskLevel.HIGH, "QRAP-HNDL-001": RiskLevel.HIGH}


class TestDeclaredAssets:
    """Inventories and CBOMs carry no probe verdict: each asset is judged with its location."""

    def declared(self, name: str, **details: object) -> CryptoAsset:
        return CryptoAsset(
            kind="key_exchange",
            name=name,
            location="gateway",
            usage=Usage.KEY_ESTABLISHMENT,
            algorithm=name,
            details=dict(details),
        )

    def test_classical_next_to_a_declared_hybrid_is_a_medium_fallback(self) -> None:
        assets = [self.declared("X25519"), self.declared("X25519MLKEM768", hybrid_pqc=True)]

        assert quantum(evaluate(assets, CTX)) == [("QRAP-PQC-001", RiskLevel.MEDIUM, "X25519")]

    def test_classical_alone_is_high_with_hndl(self) -> None:
        levels = {
            rule: level for rule, level, _ in quantum(evaluate([self.declared("X25519")], CTX))
        }

        assert levels == {"QRAP-PQC-001": RiskLevel.HIGH, "QRAP-HNDL-001": RiskLevel.HIGH}
