"""Each rule fires where it should, stays silent where it should not, and says why."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import FindingCategory, RiskLevel, Usage
from qrap_core.rules import RuleContext, evaluate, rule_catalog
from qrap_core.rules.base import FindingDraft
from qrap_core.rules.tls import normalise_protocol, parse_cipher_suite

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# The six finding categories' rule families of the risk engine.
SIX = frozenset({"KEY", "ALG", "CERT", "TLS", "PQC", "HNDL"})
CTX = RuleContext(now=NOW)
HOST = "127.0.0.1:8443"


def cert(
    algorithm: str = "RSA",
    key_size: int | None = 2048,
    *,
    location: str = HOST,
    **details: Any,
) -> CryptoAsset:
    base: dict[str, Any] = {
        "subject": "CN=leaf",
        "issuer": "CN=ca",
        "serial_number": "01",
        "not_before": "2025-10-01T00:00:00+00:00",
        "not_after": "2026-12-01T00:00:00+00:00",
        "lifetime_days": 426,
        "is_ca": False,
        "self_signed": False,
        "signature_algorithm": "sha256WithRSAEncryption",
        "signature_hash": "sha256",
        "curve": None,
        "chain_index": 0,
        "fingerprint_sha256": "ab" * 32,
    }
    family = {"RSA": "RSA", "ECDSA": "EC", "DSA": "DSA"}.get(algorithm, "EdDSA")
    return CryptoAsset(
        kind="certificate",
        name=str(details.get("subject", "CN=leaf")),
        location=location,
        usage=Usage.SIGNATURE,
        algorithm=algorithm,
        family=family,
        key_size=key_size,
        details=base | details,
    )


def kex(
    group: str,
    *,
    family: str = "ECDH",
    protocol: str | None = "TLSv1.3",
    location: str = HOST,
    hybrid: bool = False,
    key_size: int | None = None,
) -> CryptoAsset:
    return CryptoAsset(
        kind="key_exchange",
        name=group,
        location=location,
        usage=Usage.KEY_ESTABLISHMENT,
        algorithm=group,
        family=family,
        key_size=key_size,
        protocol=protocol,
        details={"group": group, "hybrid_pqc": hybrid, "pqc": False},
    )


def suite(name: str, *, forward_secrecy: bool | None = None, bits: int = 128) -> CryptoAsset:
    details: dict[str, Any] = {"bits": bits}
    if forward_secrecy is not None:
        details["forward_secrecy"] = forward_secrecy
    return CryptoAsset(
        kind="cipher_suite",
        name=name,
        location=HOST,
        usage=Usage.ENCRYPTION,
        algorithm=name,
        protocol="TLSv1.2",
        details=details,
    )


def protocol(version: str, *, negotiated: bool = False, **extra: Any) -> CryptoAsset:
    return CryptoAsset(
        kind="protocol",
        name=version,
        location=HOST,
        usage=Usage.PROTOCOL,
        algorithm=version,
        details={"negotiated": negotiated} | extra,
    )


def declared(
    algorithm: str,
    usage: Usage,
    *,
    asset: str = "app",
    key_size: int | None = None,
    family: str | None = None,
    protocol: str | None = None,
) -> CryptoAsset:
    return CryptoAsset(
        kind="algorithm",
        name=asset,
        location=asset,
        usage=usage,
        algorithm=algorithm,
        family=family,
        key_size=key_size,
        protocol=protocol,
        details={"declared": True, "declared_algorithm": algorithm},
    )


def by_rule(findings: list[FindingDraft]) -> dict[str, FindingDraft]:
    result = {f.rule_id: f for f in findings}
    assert len(result) == len(findings), "a rule fired twice for one asset"
    return result


def rules_for(asset: CryptoAsset, ctx: RuleContext = CTX) -> dict[str, RiskLevel]:
    return {f.rule_id: f.risk_level for f in evaluate([asset], ctx)}


class TestShortFiniteFieldKey:
    @pytest.mark.parametrize(
        ("asset", "level"),
        [
            (cert("RSA", 512), RiskLevel.CRITICAL),
            (cert("RSA", 1023), RiskLevel.CRITICAL),
            (cert("RSA", 1024), RiskLevel.HIGH),
            (cert("RSA", 1536), RiskLevel.HIGH),
            (cert("DSA", 1024), RiskLevel.HIGH),
            (kex("DH", family="DH", key_size=1024, protocol="TLSv1.2"), RiskLevel.HIGH),
            (declared("RSA-768", Usage.KEY_ESTABLISHMENT), RiskLevel.CRITICAL),
            (declared("DH-1024", Usage.KEY_ESTABLISHMENT), RiskLevel.HIGH),
        ],
    )
    def test_fires(self, asset: CryptoAsset, level: RiskLevel) -> None:
        finding = by_rule(evaluate([asset], CTX))["QRAP-KEY-001"]
        assert finding.risk_level is level
        assert finding.category is FindingCategory.SHORT_KEY_LENGTH
        assert finding.evidence["key_size"] < 2048
        assert finding.evidence["minimum_key_size"] == 2048
        assert finding.deadline == date(2013, 12, 31)
        assert "NIST SP 800-131A Rev. 2" in finding.references

    @pytest.mark.parametrize(
        "asset",
        [
            cert("RSA", 2048),
            cert("RSA", 4096),
            cert("RSA", None),
            cert("ECDSA", 256, curve="secp256r1"),
            kex("ffdhe2048", family="DH"),
            declared("RSA-3072", Usage.SIGNATURE),
        ],
    )
    def test_does_not_fire(self, asset: CryptoAsset) -> None:
        assert "QRAP-KEY-001" not in rules_for(asset)

    def test_recommends_a_3072_bit_key_and_no_dsa(self) -> None:
        assert by_rule(evaluate([cert("RSA", 1024)], CTX))[
            "QRAP-KEY-001"
        ].recommended_algorithm == ("RSA-3072")
        assert by_rule(evaluate([cert("DSA", 1024)], CTX))[
            "QRAP-KEY-001"
        ].recommended_algorithm == ("ML-DSA-65")


class TestShortEcKey:
    def test_fires_below_224_bits(self) -> None:
        finding = by_rule(evaluate([cert("ECDSA", 192, curve="prime192v1")], CTX))["QRAP-KEY-002"]
        assert finding.risk_level is RiskLevel.HIGH
        assert finding.evidence["classical_bits"] == 80
        assert finding.recommended_algorithm == "ECDSA-P256"

    def test_key_establishment_gets_an_ecdh_recommendation(self) -> None:
        finding = by_rule(evaluate([declared("P-192", Usage.KEY_ESTABLISHMENT)], CTX))
        assert finding["QRAP-KEY-002"].recommended_algorithm == "ECDH-P256"

    @pytest.mark.parametrize("size", [224, 256, 384, 521])
    def test_does_not_fire(self, size: int) -> None:
        assert "QRAP-KEY-002" not in rules_for(cert("ECDSA", size))


class TestWeakDeclaredAlgorithm:
    @pytest.mark.parametrize(
        ("algorithm", "usage", "level", "recommended"),
        [
            ("DES", Usage.ENCRYPTION, RiskLevel.CRITICAL, "AES-256-GCM"),
            ("3DES", Usage.ENCRYPTION, RiskLevel.HIGH, "AES-256-GCM"),
            ("DES-EDE3-CBC", Usage.ENCRYPTION, RiskLevel.HIGH, "AES-256-GCM"),
            ("RC4", Usage.ENCRYPTION, RiskLevel.HIGH, "AES-256-GCM"),
            ("MD5", Usage.HASH, RiskLevel.CRITICAL, "SHA-256"),
            ("SHA-1", Usage.HASH, RiskLevel.HIGH, "SHA-256"),
            ("blowfish-cbc", Usage.ENCRYPTION, RiskLevel.HIGH, "AES-256-GCM"),
            ("cast128-cbc", Usage.ENCRYPTION, RiskLevel.HIGH, "AES-256-GCM"),
            ("IDEA", Usage.ENCRYPTION, RiskLevel.HIGH, "AES-256-GCM"),
        ],
    )
    def test_fires(self, algorithm: str, usage: Usage, level: RiskLevel, recommended: str) -> None:
        finding = by_rule(evaluate([declared(algorithm, usage)], CTX))["QRAP-ALG-001"]
        assert finding.risk_level is level
        assert finding.category is FindingCategory.WEAK_ALGORITHM
        assert finding.recommended_algorithm == recommended
        assert finding.evidence["declared_algorithm"] == algorithm

    def test_3des_carries_its_sp800_131a_deadline(self) -> None:
        finding = by_rule(evaluate([declared("3DES", Usage.ENCRYPTION)], CTX))["QRAP-ALG-001"]
        assert finding.deadline == date(2023, 12, 31)

    @pytest.mark.parametrize(
        ("algorithm", "deadline"),
        [("DES", date(2013, 12, 31)), ("MD5", date(2013, 12, 31)), ("SHA-1", date(2030, 12, 31))],
    )
    def test_every_weakness_has_a_deadline(self, algorithm: str, deadline: date) -> None:
        findings = evaluate([declared(algorithm, Usage.UNKNOWN)], CTX)
        assert by_rule(findings)["QRAP-ALG-001"].deadline == deadline


class TestNotFlagged:
    @pytest.mark.parametrize(
        "asset",
        [
            declared("AES-128", Usage.ENCRYPTION),
            declared("AES-128-GCM", Usage.ENCRYPTION),
            declared("AES-256", Usage.ENCRYPTION),
            declared("ChaCha20-Poly1305", Usage.ENCRYPTION),
            declared("SHA-256", Usage.HASH),
            declared("SHA-384", Usage.HASH),
            declared("SHA3-256", Usage.HASH),
            declared("ML-KEM-768", Usage.KEY_ESTABLISHMENT),
            declared("ML-DSA-65", Usage.SIGNATURE),
            declared("SLH-DSA-SHA2-128s", Usage.SIGNATURE),
            declared("GOST R 34.10-2012", Usage.SIGNATURE),
            declared("Frobnicate", Usage.UNKNOWN, family="RSA-ish"),
            suite("TLS_AES_128_GCM_SHA256"),
            suite("TLS_CHACHA20_POLY1305_SHA256"),
            suite("ECDHE-RSA-AES128-GCM-SHA256"),
            suite("ECDHE-ECDSA-AES256-GCM-SHA384"),
            suite("GOST2012-KUZNYECHIK-KUZNYECHIKOMAC"),
            protocol("TLSv1.2"),
            protocol("TLSv1.3", negotiated=True),
            kex("X25519MLKEM768", family="hybrid", hybrid=True),
            kex("SecP256r1MLKEM768", family="hybrid", hybrid=True),
            kex("MLKEM768", family="ML-KEM"),
            declared("HMAC-SHA256", Usage.HASH),
            declared("hmac-sha1", Usage.HASH),  # HMAC-SHA1 stays approved for MACs
            declared("Camellia-256", Usage.ENCRYPTION),
            declared("SHA-512/256", Usage.HASH),
        ],
    )
    def test_no_finding(self, asset: CryptoAsset) -> None:
        assert evaluate([asset], CTX) == []

    @pytest.mark.parametrize(
        "ctx",
        [
            CTX,
            RuleContext(now=NOW, shelf_life_years=100, migration_years=50, crqc_year=2026),
            RuleContext(now=datetime(2040, 1, 1, tzinfo=UTC), crqc_year=2030),
        ],
    )
    @pytest.mark.parametrize(
        "asset",
        [
            declared("AES-128", Usage.ENCRYPTION),
            declared("AES-128", Usage.UNKNOWN),
            declared("SHA-256", Usage.HASH),
            declared("SHA-256", Usage.UNKNOWN),
            declared("SHA256", Usage.HASH, asset="digest"),
        ],
    )
    def test_aes128_and_sha256_never_need_migration(
        self, asset: CryptoAsset, ctx: RuleContext
    ) -> None:
        # NIST does not require larger AES keys or hashes against Grover (IR 8547).
        assert evaluate([asset], ctx) == []


class TestWeakSignatureHash:
    @pytest.mark.parametrize(
        ("details", "level"),
        [
            ({"signature_hash": "md5", "signature_algorithm": "md5WithRSAEncryption"}, "CRITICAL"),
            ({"signature_hash": "sha1", "signature_algorithm": "sha1WithRSAEncryption"}, "HIGH"),
            ({"signature_hash": None, "signature_algorithm": "ecdsa-with-SHA1"}, "HIGH"),
            ({"signature_hash": "SHA-1", "signature_algorithm": "dsa_with_sha1"}, "HIGH"),
            # A root is trusted by being in the store, not by its own signature.
            ({"signature_hash": "sha1", "self_signed": True, "is_ca": True}, "INFO"),
            ({"signature_hash": "md5", "self_signed": True}, "INFO"),
        ],
    )
    def test_fires(self, details: dict[str, Any], level: str) -> None:
        finding = by_rule(evaluate([cert(**details)], CTX))["QRAP-CERT-001"]
        assert finding.risk_level is RiskLevel(level)
        assert finding.category is FindingCategory.WEAK_ALGORITHM
        assert finding.evidence["signature_hash"] in ("md5", "sha1")
        assert finding.evidence["self_signed"] is bool(details.get("self_signed"))

    def test_recommends_the_matching_sha2_scheme(self) -> None:
        rsa = by_rule(evaluate([cert(signature_hash="sha1")], CTX))["QRAP-CERT-001"]
        ec = by_rule(evaluate([cert("ECDSA", 384, curve="secp384r1", signature_hash="sha1")], CTX))[
            "QRAP-CERT-001"
        ]
        assert rsa.recommended_algorithm == "sha256WithRSAEncryption"
        assert ec.recommended_algorithm == "ecdsa-with-SHA384"

    @pytest.mark.parametrize(
        "details",
        [
            {"signature_hash": "sha256"},
            {"signature_hash": "sha384", "signature_algorithm": "ecdsa-with-SHA384"},
            {"signature_hash": None, "signature_algorithm": "ed25519"},
        ],
    )
    def test_does_not_fire(self, details: dict[str, Any]) -> None:
        assert "QRAP-CERT-001" not in rules_for(cert(**details))

    def test_only_certificates(self) -> None:
        assert "QRAP-CERT-001" not in rules_for(declared("SHA-256", Usage.HASH))


class TestCertificateExpiry:
    def test_expired(self) -> None:
        asset = cert(not_after="2025-12-20T12:00:00+00:00", days_to_expiry=-12)
        finding = by_rule(evaluate([asset], CTX))["QRAP-CERT-002"]
        assert finding.risk_level is RiskLevel.HIGH
        assert finding.category is FindingCategory.CERTIFICATE_EXPIRY
        assert finding.deadline == date(2025, 12, 20)
        assert finding.evidence["days_to_expiry"] == -12
        assert "QRAP-CERT-003" not in rules_for(asset)

    def test_expiring_within_the_window(self) -> None:
        asset = cert(not_after="2026-01-11T00:00:00Z")
        finding = by_rule(evaluate([asset], CTX))["QRAP-CERT-003"]
        assert finding.risk_level is RiskLevel.MEDIUM
        assert finding.deadline == date(2026, 1, 11)
        assert finding.evidence["days_to_expiry"] == 10
        assert finding.evidence["warning_days"] == 30
        assert "QRAP-CERT-002" not in rules_for(asset)

    def test_outside_the_window(self) -> None:
        rules = rules_for(cert(not_after="2026-02-15T00:00:00Z"))
        assert "QRAP-CERT-002" not in rules
        assert "QRAP-CERT-003" not in rules

    def test_window_comes_from_the_context(self) -> None:
        ctx = RuleContext(now=NOW, expiry_warning_days=60)
        assert "QRAP-CERT-003" in rules_for(cert(not_after="2026-02-15T00:00:00Z"), ctx)

    def test_measured_against_the_run_clock_not_the_probe(self) -> None:
        # The analyzer saw 40 days left; by the run's clock it has expired.
        asset = cert(not_after="2026-01-01T00:00:00Z", days_to_expiry=40)
        later = RuleContext(now=NOW + timedelta(days=1))
        assert "QRAP-CERT-002" in rules_for(asset, later)

    def test_naive_clock_is_utc(self) -> None:
        ctx = RuleContext(now=datetime(2026, 1, 1))  # naive on purpose: the case under test
        assert "QRAP-CERT-003" in rules_for(cert(not_after="2026-01-11T00:00:00Z"), ctx)

    @pytest.mark.parametrize(("days", "rule"), [(-1, "QRAP-CERT-002"), (0, "QRAP-CERT-003")])
    def test_falls_back_to_the_analyzers_day_count(self, days: int, rule: str) -> None:
        assert rule in rules_for(cert(not_after=None, days_to_expiry=days))

    def test_no_validity_no_finding(self) -> None:
        rules = rules_for(cert(not_after="not a date"))
        assert not {"QRAP-CERT-002", "QRAP-CERT-003"} & set(rules)


class TestDeprecatedProtocol:
    @pytest.mark.parametrize(
        ("version", "level"),
        [
            ("SSLv2", RiskLevel.CRITICAL),
            ("SSLv3", RiskLevel.CRITICAL),
            ("TLSv1.0", RiskLevel.HIGH),
            ("TLSv1", RiskLevel.HIGH),
            ("TLS 1.0", RiskLevel.HIGH),
            ("TLSv1.1", RiskLevel.HIGH),
        ],
    )
    def test_fires(self, version: str, level: RiskLevel) -> None:
        finding = by_rule(evaluate([protocol(version, negotiated=True)], CTX))["QRAP-TLS-001"]
        assert finding.risk_level is level
        assert finding.category is FindingCategory.DEPRECATED_PROTOCOL
        assert finding.evidence == {"protocol": normalise_protocol(version), "negotiated": True}
        assert finding.recommended_algorithm == "TLSv1.3"

    @pytest.mark.parametrize("version", ["TLSv1.2", "TLSv1.3", "QUIC"])
    def test_does_not_fire(self, version: str) -> None:
        assert rules_for(protocol(version)) == {}

    def test_not_when_reported_as_refused(self) -> None:
        assert rules_for(protocol("TLSv1.0", accepted=False)) == {}


class TestCipherSuites:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("NULL-SHA", {"QRAP-TLS-002": "CRITICAL"}),
            ("TLS_RSA_WITH_NULL_SHA256", {"QRAP-TLS-002": "CRITICAL"}),
            ("EXP-RC4-MD5", {"QRAP-TLS-002": "CRITICAL"}),
            ("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", {"QRAP-TLS-002": "CRITICAL"}),
            ("ADH-AES128-SHA", {"QRAP-TLS-002": "CRITICAL"}),
            ("TLS_DH_anon_WITH_AES_256_CBC_SHA", {"QRAP-TLS-002": "CRITICAL"}),
            ("DES-CBC-SHA", {"QRAP-TLS-002": "CRITICAL"}),
            ("EDH-RSA-DES-CBC-SHA", {"QRAP-TLS-002": "CRITICAL"}),
            ("RC4-SHA", {"QRAP-TLS-003": "HIGH", "QRAP-TLS-005": "MEDIUM"}),
            ("ECDHE-RSA-RC4-SHA", {"QRAP-TLS-003": "HIGH"}),
            ("DES-CBC3-SHA", {"QRAP-TLS-003": "HIGH", "QRAP-TLS-005": "MEDIUM"}),
            ("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", {"QRAP-TLS-003": "HIGH"}),
            ("IDEA-CBC-SHA", {"QRAP-TLS-003": "HIGH", "QRAP-TLS-005": "MEDIUM"}),
            ("ECDHE-RSA-AES128-SHA", {"QRAP-TLS-004": "LOW"}),
            ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", {"QRAP-TLS-004": "LOW"}),
            ("AES128-SHA", {"QRAP-TLS-004": "LOW", "QRAP-TLS-005": "MEDIUM"}),
            ("AES128-GCM-SHA256", {"QRAP-TLS-005": "MEDIUM"}),
            ("TLS_RSA_WITH_AES_256_GCM_SHA384", {"QRAP-TLS-005": "MEDIUM"}),
            ("ECDH-RSA-AES128-GCM-SHA256", {"QRAP-TLS-005": "MEDIUM"}),
            ("ECDHE-RSA-AES128-SHA256", {}),
            ("DHE-RSA-AES256-GCM-SHA384", {}),
            ("ECDHE-ECDSA-CHACHA20-POLY1305", {}),
            ("TLS_AES_256_GCM_SHA384", {}),
        ],
    )
    def test_findings(self, name: str, expected: dict[str, str]) -> None:
        assert rules_for(suite(name)) == {
            rule: RiskLevel(level) for rule, level in expected.items()
        }

    def test_declared_forward_secrecy_wins(self) -> None:
        assert "QRAP-TLS-005" in rules_for(
            suite("ECDHE-RSA-AES128-GCM-SHA256", forward_secrecy=False)
        )
        assert rules_for(suite("AES128-GCM-SHA256", forward_secrecy=True)) == {}

    def test_short_effective_key_is_broken(self) -> None:
        assert rules_for(suite("ECDHE-RSA-AES128-GCM-SHA256", bits=40)) == {
            "QRAP-TLS-002": RiskLevel.CRITICAL
        }

    def test_evidence_describes_the_suite(self) -> None:
        finding = by_rule(evaluate([suite("DES-CBC3-SHA", bits=112)], CTX))["QRAP-TLS-003"]
        assert finding.evidence["cipher"] == "3DES"
        assert finding.evidence["mac"] == "SHA1"
        assert finding.evidence["bits"] == 112
        assert finding.deadline == date(2023, 12, 31)

    @pytest.mark.parametrize(
        ("name", "kex", "cipher", "mode", "mac"),
        [
            ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE", "AES", "GCM", "AEAD"),
            ("TLS_AES_128_CCM_8_SHA256", None, "AES", "CCM", "AEAD"),
            ("DHE-RSA-AES256-SHA256", "DHE", "AES", "CBC", "SHA256"),
            ("PSK-AES128-CBC-SHA", "PSK", "AES", "CBC", "SHA1"),
            ("TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", "ECDHEPSK", "AES", "CBC", "SHA256"),
            ("CAMELLIA256-SHA", "RSA", "CAMELLIA", "CBC", "SHA1"),
        ],
    )
    def test_parse_cipher_suite(
        self, name: str, kex: str | None, cipher: str, mode: str, mac: str
    ) -> None:
        profile = parse_cipher_suite(name)
        assert (profile.key_exchange, profile.cipher, profile.mode, profile.mac) == (
            kex,
            cipher,
            mode,
            mac,
        )


class TestQuantumKeyEstablishment:
    def test_classical_group_alone(self) -> None:
        findings = by_rule(evaluate([kex("X25519")], CTX))
        pqc = findings["QRAP-PQC-001"]
        assert pqc.risk_level is RiskLevel.HIGH
        assert pqc.category is FindingCategory.MISSING_PQC
        assert pqc.recommended_algorithm == "X25519MLKEM768"
        assert pqc.current_algorithm == "X25519"
        assert pqc.deadline == date(2035, 12, 31)
        assert pqc.evidence["pq_offered_at_location"] is False
        assert "FIPS 203" in pqc.references
        assert "QRAP-HNDL-001" in findings

    def test_classical_fallback_next_to_a_hybrid_group_is_medium(self) -> None:
        findings = evaluate([kex("X25519"), kex("X25519MLKEM768", hybrid=True)], CTX)
        pqc = by_rule(findings)["QRAP-PQC-001"]
        assert pqc.risk_level is RiskLevel.MEDIUM
        assert pqc.evidence["pq_offered_at_location"] is True
        assert all(f.asset_index == 0 for f in findings)

    def test_hybrid_elsewhere_does_not_make_a_fallback(self) -> None:
        findings = evaluate(
            [kex("X25519"), kex("X25519MLKEM768", hybrid=True, location="10.0.0.1:443")], CTX
        )
        assert by_rule(findings)["QRAP-PQC-001"].risk_level is RiskLevel.HIGH

    def test_legacy_draft_is_not_a_pq_option(self) -> None:
        findings = evaluate([kex("X25519"), kex("X25519Kyber768Draft00", hybrid=True)], CTX)
        pqc = [f for f in findings if f.rule_id == "QRAP-PQC-001"]
        assert [f.risk_level for f in pqc] == [RiskLevel.HIGH]

    @pytest.mark.parametrize(
        ("asset", "recommended", "deadline"),
        [
            (kex("secp256r1"), "X25519MLKEM768", date(2035, 12, 31)),
            (kex("secp384r1"), "X25519MLKEM768", date(2035, 12, 31)),
            (kex("secp521r1"), "SecP384r1MLKEM1024", date(2035, 12, 31)),
            (kex("ffdhe2048", family="DH"), "X25519MLKEM768", date(2030, 12, 31)),
            (kex("RSA", family="RSA", protocol="TLSv1.2"), "X25519MLKEM768", date(2030, 12, 31)),
            (kex("curve25519-sha256", protocol="SSH-2.0"), "mlkem768x25519-sha256", None),
            (declared("X25519", Usage.KEY_ESTABLISHMENT), "ML-KEM-768", date(2035, 12, 31)),
            (declared("ECDH-P521", Usage.KEY_ESTABLISHMENT), "ML-KEM-1024", date(2035, 12, 31)),
            (
                declared("X25519", Usage.KEY_ESTABLISHMENT, protocol="TLS 1.3"),
                "X25519MLKEM768",
                None,
            ),
            (declared("RSA-2048", Usage.ENCRYPTION), "ML-KEM-768", date(2030, 12, 31)),
            (declared("RSA-3072", Usage.KEY_ESTABLISHMENT), "ML-KEM-768", date(2035, 12, 31)),
        ],
    )
    def test_recommendation_and_deadline(
        self, asset: CryptoAsset, recommended: str, deadline: date | None
    ) -> None:
        finding = by_rule(evaluate([asset], CTX))["QRAP-PQC-001"]
        assert finding.recommended_algorithm == recommended
        if deadline is not None:
            assert finding.deadline == deadline

    def test_tls12_remediation_asks_for_tls13(self) -> None:
        finding = by_rule(evaluate([kex("secp256r1", protocol="TLSv1.2")], CTX))["QRAP-PQC-001"]
        assert "TLS 1.3" in finding.remediation

    @pytest.mark.parametrize(
        "asset",
        [
            kex("X25519MLKEM768", family="hybrid", hybrid=True),
            kex("SecP384r1MLKEM1024", family="hybrid"),  # the catalog knows it without the flag
            kex("mlkem768x25519-sha256", family="hybrid", protocol="SSH-2.0"),
            kex("sntrup761x25519-sha512@openssh.com", family="hybrid", protocol="SSH-2.0"),
            declared("ML-KEM-768", Usage.KEY_ESTABLISHMENT),
        ],
    )
    def test_post_quantum_key_exchange_is_not_flagged(self, asset: CryptoAsset) -> None:
        rules = rules_for(asset)
        assert "QRAP-PQC-001" not in rules
        assert "QRAP-HNDL-001" not in rules


class TestHarvestNowDecryptLater:
    @pytest.mark.parametrize(
        ("year", "shelf", "migration", "crqc", "level"),
        [
            (2026, 10, 3, 2035, RiskLevel.HIGH),  # 13 > 9
            (2026, 5, 3, 2035, None),  # 8 > 9 is false
            (2026, 6, 3, 2035, None),  # 9 > 9 is false: the inequality is strict
            (2026, 7, 3, 2035, RiskLevel.HIGH),  # 10 > 9
            (2026, 19, 3, 2035, RiskLevel.CRITICAL),  # secret until 2045: 10 years past the CRQC
            (2026, 18, 3, 2035, RiskLevel.HIGH),  # 9 years past
            (2026, 1, 1, 2040, None),
            (2036, 1, 0, 2035, RiskLevel.HIGH),  # the CRQC year has passed
        ],
    )
    def test_moscas_inequality(
        self, year: int, shelf: float, migration: float, crqc: int, level: RiskLevel | None
    ) -> None:
        ctx = RuleContext(
            now=datetime(year, 6, 1, tzinfo=UTC),
            shelf_life_years=shelf,
            migration_years=migration,
            crqc_year=crqc,
        )
        assert rules_for(kex("X25519"), ctx).get("QRAP-HNDL-001") == level

    def test_evidence_holds_the_numbers(self) -> None:
        finding = by_rule(evaluate([kex("X25519")], CTX))["QRAP-HNDL-001"]
        assert finding.category is FindingCategory.HARVEST_NOW_DECRYPT_LATER
        assert finding.evidence | {"algorithm": None} == {
            "algorithm": None,
            "shelf_life_years": 10,
            "migration_years": 3,
            "years_to_crqc": 9,
            "crqc_year": 2035,
            "now_year": 2026,
            "exposure_years": 4,
            "secret_until_year": 2036,
            "years_secret_past_crqc": 1,
            "inequality": "10 + 3 > 9",
            "pq_offered_at_location": False,
            # The survey's median timeline, seen from 2026-01-01: P(CRQC within 13 years).
            "probability_at_risk": 0.4484,
            "threat_model": "median",
            "crqc_survey_edition": "2024",
        }
        assert "10 + 3 > 9" in finding.description
        assert "45%" in finding.description
        assert finding.recommended_algorithm == "X25519MLKEM768"

    def test_judged_apart_from_missing_pqc(self) -> None:
        relaxed = RuleContext(now=NOW, shelf_life_years=1, migration_years=1)
        assert rules_for(kex("X25519"), relaxed) == {"QRAP-PQC-001": RiskLevel.HIGH}

    @pytest.mark.parametrize(
        "asset",
        [
            cert("RSA", 2048),
            declared("ECDSA-P256", Usage.SIGNATURE),
            declared("RSA-2048", Usage.UNKNOWN),  # usage not declared: no invented HNDL
            kex("X25519MLKEM768", hybrid=True),
        ],
    )
    def test_not_for_signatures_or_hybrids(self, asset: CryptoAsset) -> None:
        assert "QRAP-HNDL-001" not in rules_for(asset)


class TestQuantumSignature:
    @pytest.mark.parametrize(
        ("asset", "level", "recommended", "deadline"),
        [
            (cert("RSA", 2048), RiskLevel.MEDIUM, "ML-DSA-65", date(2030, 12, 31)),
            (cert("RSA", 3072), RiskLevel.MEDIUM, "ML-DSA-65", date(2035, 12, 31)),
            (
                cert("ECDSA", 256, curve="secp256r1"),
                RiskLevel.MEDIUM,
                "ML-DSA-65",
                date(2035, 12, 31),
            ),
            (
                cert("ECDSA", 521, curve="secp521r1"),
                RiskLevel.MEDIUM,
                "ML-DSA-87",
                date(2035, 12, 31),
            ),
            (cert("Ed25519", 256), RiskLevel.MEDIUM, "ML-DSA-65", date(2035, 12, 31)),
            (cert("DSA", 2048), RiskLevel.MEDIUM, "ML-DSA-65", date(2030, 12, 31)),
            (cert("RSA", 2048, is_ca=True), RiskLevel.HIGH, "ML-DSA-65", date(2030, 12, 31)),
            (
                cert("RSA", 2048, lifetime_days=1000),
                RiskLevel.HIGH,
                "ML-DSA-65",
                date(2030, 12, 31),
            ),
            (
                cert("RSA", 2048, not_after="2031-06-01T00:00:00Z", lifetime_days=700),
                RiskLevel.HIGH,
                "ML-DSA-65",
                date(2030, 12, 31),
            ),
            (
                cert("RSA", 4096, is_ca=True, self_signed=True, lifetime_days=7300),
                RiskLevel.HIGH,
                "SLH-DSA-SHA2-128s",
                date(2035, 12, 31),
            ),
            (
                cert(
                    "ECDSA",
                    384,
                    curve="secp384r1",
                    is_ca=True,
                    self_signed=True,
                    not_after="2045-01-01T00:00:00Z",
                ),
                RiskLevel.HIGH,
                "SLH-DSA-SHA2-192s",
                date(2035, 12, 31),
            ),
            (declared("ECDSA-P256", Usage.SIGNATURE), RiskLevel.MEDIUM, "ML-DSA-65", None),
            (declared("Ed448", Usage.SIGNATURE), RiskLevel.MEDIUM, "ML-DSA-87", None),
        ],
    )
    def test_fires(
        self, asset: CryptoAsset, level: RiskLevel, recommended: str, deadline: date | None
    ) -> None:
        finding = by_rule(evaluate([asset], CTX))["QRAP-PQC-002"]
        assert finding.risk_level is level
        assert finding.category is FindingCategory.MISSING_PQC
        assert finding.recommended_algorithm == recommended
        assert "FIPS 204" in finding.references
        assert "NIST IR 8547 (ipd)" in finding.references
        if deadline is not None:
            assert finding.deadline == deadline
        assert finding.evidence["ir8547_disallowed_after"] == "2035-12-31"

    def test_slh_dsa_cites_fips_205(self) -> None:
        root = cert("RSA", 4096, is_ca=True, self_signed=True, lifetime_days=7300)
        assert "FIPS 205" in by_rule(evaluate([root], CTX))["QRAP-PQC-002"].references

    def test_curve_from_the_certificate_names_the_algorithm(self) -> None:
        finding = by_rule(evaluate([cert("ECDSA", 256, curve="brainpoolP256r1")], CTX))
        assert finding["QRAP-PQC-002"].current_algorithm == "ECDSA-brainpoolP256r1"

    def test_undeclared_rsa_is_judged_as_a_signature_and_says_so(self) -> None:
        findings = by_rule(evaluate([declared("RSA-2048", Usage.UNKNOWN)], CTX))
        assert set(findings) == {"QRAP-PQC-002"}
        finding = findings["QRAP-PQC-002"]
        assert "not declared" in finding.description
        assert finding.evidence["usage_declared"] is False

    @pytest.mark.parametrize(
        "asset",
        [
            cert("ML-DSA-65", None),
            declared("ML-DSA-87", Usage.SIGNATURE),
            declared("SLH-DSA-SHA2-128s", Usage.SIGNATURE),
            declared("LMS", Usage.SIGNATURE),
            kex("X25519"),
        ],
    )
    def test_does_not_fire(self, asset: CryptoAsset) -> None:
        assert "QRAP-PQC-002" not in rules_for(asset)


class TestLegacyPqDraft:
    def test_kyber_draft_group(self) -> None:
        findings = by_rule(
            evaluate([kex("X25519Kyber768Draft00", family="hybrid", hybrid=True)], CTX)
        )
        assert set(findings) == {"QRAP-PQC-003"}
        finding = findings["QRAP-PQC-003"]
        assert finding.risk_level is RiskLevel.LOW
        assert finding.category is FindingCategory.WEAK_ALGORITHM
        assert finding.recommended_algorithm == "X25519MLKEM768"

    @pytest.mark.parametrize(
        ("algorithm", "successor"), [("Kyber768", "ML-KEM-768"), ("Dilithium3", "ML-DSA-65")]
    )
    def test_declared_round3_algorithms(self, algorithm: str, successor: str) -> None:
        finding = by_rule(evaluate([declared(algorithm, Usage.UNKNOWN)], CTX))["QRAP-PQC-003"]
        assert finding.recommended_algorithm == successor


class TestFingerprints:
    def test_stable_across_runs(self) -> None:
        assets = [cert("RSA", 1024, signature_hash="sha1"), kex("X25519"), suite("RC4-SHA")]
        first = [f.fingerprint for f in evaluate(assets, CTX)]
        again = [f.fingerprint for f in evaluate(list(assets), RuleContext(now=NOW + timedelta(1)))]
        assert first == again
        assert all(re.fullmatch(r"[0-9a-f]{64}", fp) for fp in first)

    def test_distinct_within_a_run(self) -> None:
        findings = evaluate(
            [
                cert("RSA", 1024, signature_hash="sha1"),
                cert("RSA", 1024, signature_hash="sha1", fingerprint_sha256="cd" * 32),
                cert("RSA", 1024, signature_hash="sha1", location="10.0.0.2:443"),
                kex("X25519"),
                kex("X25519", location="10.0.0.2:443"),
                declared("RSA-2048", Usage.UNKNOWN, asset="a"),
                declared("RSA-2048", Usage.UNKNOWN, asset="b"),
                declared("RSA", Usage.UNKNOWN, asset="a", key_size=4096),
            ],
            CTX,
        )
        fingerprints = [f.fingerprint for f in findings]
        assert len(set(fingerprints)) == len(fingerprints) > 10

    def test_no_boundary_collisions(self) -> None:
        left = declared("RSA-2048", Usage.SIGNATURE, asset="a b")
        right = declared("RSA-2048", Usage.SIGNATURE, asset="a")
        assert evaluate([left], CTX)[0].fingerprint != evaluate([right], CTX)[0].fingerprint

    def test_a_repeated_observation_yields_one_finding(self) -> None:
        findings = evaluate([kex("X25519"), suite("RC4-SHA"), kex("X25519")], CTX)
        assert [f.asset_index for f in findings if f.rule_id == "QRAP-PQC-001"] == [0]


class TestEvaluate:
    def test_findings_follow_asset_order(self) -> None:
        findings = evaluate([suite("RC4-SHA"), protocol("SSLv3"), kex("X25519")], CTX)
        indexes = [f.asset_index for f in findings]
        assert indexes == sorted(indexes)
        assert {f.affected_asset for f in findings} == {HOST}

    def test_every_finding_is_complete(self) -> None:
        assets = [
            cert("RSA", 1024, signature_hash="md5", not_after="2025-01-01T00:00:00Z"),
            protocol("TLSv1.1"),
            suite("DES-CBC3-SHA"),
            kex("ffdhe2048", family="DH"),
            declared("MD5", Usage.HASH),
            kex("X25519Kyber768Draft00", hybrid=True),
            cert("ECDSA", 192, curve="prime192v1", not_after="2026-01-10T00:00:00Z"),
            suite("NULL-SHA"),
            suite("ECDHE-RSA-AES128-SHA"),
        ]
        findings = evaluate(assets, CTX)
        # Protocol-specific rule sets (SSH) judge assets of their own kind, not these.
        known_ids = {s.rule_id for s in rule_catalog() if s.rule_id.split("-")[1] in SIX}
        assert {f.rule_id for f in findings} == known_ids
        for finding in findings:
            assert finding.title
            assert finding.description
            assert finding.remediation
            assert finding.references
            assert finding.evidence
            assert finding.deadline is not None, finding.rule_id
            assert finding.to_dict()["category"] == finding.category.value

    def test_rule_ids_are_stable_and_unique(self) -> None:
        ids = [spec.rule_id for spec in rule_catalog()]
        assert len(ids) == len(set(ids))
        assert all(re.fullmatch(r"QRAP-[A-Z]+-\d{3}", rule_id) for rule_id in ids)
        assert [rule_id for rule_id in ids if rule_id.split("-")[1] in SIX] == [
            "QRAP-KEY-001",
            "QRAP-KEY-002",
            "QRAP-ALG-001",
            "QRAP-CERT-001",
            "QRAP-CERT-002",
            "QRAP-CERT-003",
            "QRAP-TLS-001",
            "QRAP-TLS-002",
            "QRAP-TLS-003",
            "QRAP-TLS-004",
            "QRAP-TLS-005",
            "QRAP-PQC-001",
            "QRAP-HNDL-001",
            "QRAP-PQC-002",
            "QRAP-PQC-003",
        ]

    def test_no_assets_no_findings(self) -> None:
        assert evaluate([], CTX) == []
