"""Replacements per usage and profile, IR 8547 / CNSA 2.0 / SP 800-131A dates."""

from __future__ import annotations

from datetime import date

import pytest

from qrap_core.crypto import entries, parse_algorithm, policy
from qrap_core.enums import Usage

KEX = Usage.KEY_ESTABLISHMENT
SIG = Usage.SIGNATURE


class TestReplacement:
    @pytest.mark.parametrize(
        ("name", "usage", "protocol", "role", "profile", "target"),
        [
            # RSA by usage: signatures to ML-DSA, key transport to ML-KEM.
            ("RSA-2048", SIG, None, None, "nist", "ML-DSA-65"),
            ("RSA-2048", KEX, None, None, "nist", "ML-KEM-768"),
            ("RSA-15360", SIG, None, None, "nist", "ML-DSA-87"),
            ("RSA-2048", None, None, None, "nist",
             "ML-KEM-768 (key transport) / ML-DSA-65 (signatures)"),
            # Key exchange by protocol.
            ("X25519", None, "TLSv1.3", None, "nist", "X25519MLKEM768"),
            ("ECDH-P521", None, "TLSv1.3", None, "nist", "SecP384r1MLKEM1024"),
            ("curve25519-sha256", None, "SSH-2.0", None, "nist", "mlkem768x25519-sha256"),
            ("ECDH-P256", None, None, None, "nist", "ML-KEM-768"),
            ("P-256", None, None, None, "nist",
             "ML-KEM-768 (key agreement) / ML-DSA-65 (signatures)"),
            # Long-lived signers.
            ("RSA-4096", SIG, None, "root-ca", "nist", "SLH-DSA-SHA2-128s"),
            ("ECDSA-P384", SIG, None, "root-ca", "nist", "SLH-DSA-SHA2-192s"),
            ("ECDSA-P256", SIG, None, "firmware-signing", "nist", "LMS"),
            ("RSA-3072", SIG, None, "code-signing", "cnsa2", "LMS"),
            # CNSA 2.0: category 5 everywhere, no SLH-DSA.
            ("RSA-2048", SIG, None, None, "cnsa2", "ML-DSA-87"),
            ("RSA-2048", SIG, None, "root-ca", "cnsa2", "ML-DSA-87"),
            ("X25519", None, "TLSv1.3", None, "cnsa2", "SecP384r1MLKEM1024"),
            ("curve25519-sha256", None, "SSH", None, "cnsa2", "mlkem1024nistp384-sha384"),
            ("DH-2048", None, None, None, "cnsa2", "ML-KEM-1024"),
            ("ML-KEM-768", None, None, None, "cnsa2", "ML-KEM-1024"),
            ("ML-DSA-65", None, None, None, "cnsa2", "ML-DSA-87"),
            ("X25519MLKEM768", None, None, None, "cnsa2", "SecP384r1MLKEM1024"),
            ("mlkem768x25519-sha256", None, None, None, "cnsa2", "mlkem1024nistp384-sha384"),
            ("AES-128-GCM", None, None, None, "cnsa2", "AES-256-GCM"),
            ("SHA-256", None, None, None, "cnsa2", "SHA-384"),
            # Broken symmetric algorithms and drafts move under any profile.
            ("3DES", None, None, None, "nist", "AES-256-GCM"),
            ("MD5", None, None, None, "nist", "SHA-256"),
            ("SHA-1", None, None, None, "cnsa2", "SHA-384"),
            ("HMAC-MD5", None, None, None, "nist", "HMAC-SHA256"),
            ("Kyber768", None, None, None, "nist", "ML-KEM-768"),
            ("X25519Kyber768Draft00", None, None, None, "nist", "X25519MLKEM768"),
            ("Kyber768", None, None, None, "cnsa2", "ML-KEM-1024"),
        ],
    )  # fmt: skip
    def test_target(
        self,
        name: str,
        usage: Usage | None,
        protocol: str | None,
        role: str | None,
        profile: policy.Profile,
        target: str,
    ) -> None:
        info = parse_algorithm(name)
        assert (
            policy.replacement(info, usage, protocol=protocol, role=role, profile=profile) == target
        )

    @pytest.mark.parametrize(
        "name",
        ["AES-128", "AES-256-GCM", "ChaCha20-Poly1305", "SHA-256", "SHA3-256", "HMAC-SHA1",
         "ML-KEM-768", "ML-DSA-44", "SLH-DSA-SHA2-128s", "X25519MLKEM768", "LMS"],
    )  # fmt: skip
    def test_nothing_to_move_under_nist(self, name: str) -> None:
        assert policy.replacement(parse_algorithm(name)) is None

    @pytest.mark.parametrize(
        "name", ["AES-256", "SHA-384", "ML-KEM-1024", "ML-DSA-87", "LMS", "SecP384r1MLKEM1024"]
    )
    def test_nothing_to_move_under_cnsa2(self, name: str) -> None:
        info = parse_algorithm(name)
        assert policy.cnsa2_approved(info)
        assert policy.replacement(info, profile="cnsa2") is None

    def test_unknown_gets_no_replacement(self) -> None:
        assert policy.replacement(parse_algorithm("GOST R 34.10-2012")) is None

    def test_every_quantum_vulnerable_entry_has_a_replacement_per_usage(self) -> None:
        for info in entries().values():
            described = policy.describe(info)
            if info.quantum_vulnerable:
                assert described["pqc_replacement"], info.canonical
                assert described["cnsa2_replacement"], info.canonical
                assert described["ir8547_disallowed_after"] == "2035-12-31"
            if info.usage is Usage.UNKNOWN and info.quantum_vulnerable:
                assert set(described["pqc_replacement"]) == {"key-establishment", "signature"}


class TestDates:
    @pytest.mark.parametrize(
        ("name", "deprecated", "disallowed"),
        [
            ("RSA-2048", date(2030, 12, 31), date(2035, 12, 31)),
            ("DH-2048", date(2030, 12, 31), date(2035, 12, 31)),
            ("RSA-3072", None, date(2035, 12, 31)),
            ("ECDSA-P256", None, date(2035, 12, 31)),  # P-256 is not deprecated in 2030
            ("Ed25519", None, date(2035, 12, 31)),
            ("AES-128", None, None),
            ("ML-KEM-768", None, None),
        ],
    )
    def test_ir8547(self, name: str, deprecated: date | None, disallowed: date | None) -> None:
        assert policy.ir8547_dates(parse_algorithm(name)) == {
            "deprecated_after": deprecated,
            "disallowed_after": disallowed,
        }

    @pytest.mark.parametrize(
        ("name", "role", "expected"),
        [
            ("ECDSA-P384", "firmware-signing", date(2030, 12, 31)),
            ("RSA-3072", "code-signing", date(2030, 12, 31)),
            ("X25519", "vpn", date(2030, 12, 31)),
            ("X25519", "tls-server", date(2033, 12, 31)),
            ("RSA-3072", None, date(2033, 12, 31)),
            ("AES-128", None, date(2033, 12, 31)),
            ("ML-KEM-1024", "tls-server", None),
            ("AES-256-GCM", None, None),
        ],
    )
    def test_cnsa2(self, name: str, role: str | None, expected: date | None) -> None:
        assert policy.cnsa2_deadline(parse_algorithm(name), role) == expected

    def test_cnsa2_profile_takes_the_earlier_date(self) -> None:
        info = parse_algorithm("RSA-2048")
        assert policy.deadline(info) == date(2030, 12, 31)
        assert policy.deadline(parse_algorithm("RSA-3072")) == date(2035, 12, 31)
        assert policy.deadline(
            parse_algorithm("RSA-3072"), profile="cnsa2", role="tls-server"
        ) == date(2033, 12, 31)

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("DES", date(2013, 12, 31)),
            ("RC4", date(2013, 12, 31)),
            ("MD5", date(2013, 12, 31)),
            ("HMAC-MD5", date(2013, 12, 31)),
            ("RSA-1024", date(2013, 12, 31)),
            ("sha1WithRSAEncryption", date(2013, 12, 31)),
            ("3DES", date(2023, 12, 31)),
            ("Blowfish", date(2023, 12, 31)),
            ("SHA-1", date(2030, 12, 31)),
            ("RSA-2048", None),
            ("AES-128", None),
            ("SHA-256", None),
        ],
    )
    def test_classical(self, name: str, expected: date | None) -> None:
        assert policy.classical_deadline(parse_algorithm(name)) == expected
