"""TLS cipher suites, IANA and OpenSSL spellings, as catalog components."""

from __future__ import annotations

import pytest

from qrap_core.crypto import parse_algorithm, policy
from qrap_core.crypto.suites import (
    CIPHER_FLAWS,
    is_cipher_suite,
    parse_cipher_suite,
    suite_components,
)

# name, key exchange, authentication, cipher, MAC (canonical names; None: no such part)
SUITES: list[tuple[str, str | None, str | None, str | None, str | None]] = [
    ("TLS_AES_128_GCM_SHA256", None, None, "AES-128-GCM", None),
    ("TLS_AES_256_GCM_SHA384", None, None, "AES-256-GCM", None),
    ("TLS_CHACHA20_POLY1305_SHA256", None, None, "ChaCha20-Poly1305", None),
    ("TLS_AES_128_CCM_SHA256", None, None, "AES-128-CCM", None),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDH", "RSA", "AES-128-GCM", None),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDH", "ECDSA", "AES-256-GCM", None),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDH", "ECDSA", "ChaCha20-Poly1305", None),
    ("TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "DH", "RSA", "AES-256-CBC", "HMAC-SHA256"),
    ("TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA", "DH", "DSA", "Camellia-256", "HMAC-SHA1"),
    ("TLS_RSA_WITH_AES_128_CBC_SHA", "RSA", "RSA", "AES-128-CBC", "HMAC-SHA1"),
    ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "RSA", "RSA", "3DES", "HMAC-SHA1"),
    ("TLS_RSA_WITH_RC4_128_MD5", "RSA", "RSA", "RC4", "HMAC-MD5"),
    ("TLS_RSA_WITH_NULL_SHA", "RSA", "RSA", None, "HMAC-SHA1"),
    ("TLS_DH_anon_WITH_AES_128_CBC_SHA", "DH", None, "AES-128-CBC", "HMAC-SHA1"),
    ("TLS_PSK_WITH_AES_128_GCM_SHA256", None, None, "AES-128-GCM", None),
    ("TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", "ECDH", None, "AES-128-CBC", "HMAC-SHA256"),
    ("ECDHE-RSA-AES128-GCM-SHA256", "ECDH", "RSA", "AES-128-GCM", None),
    ("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDH", "ECDSA", "AES-256-GCM", None),
    ("ECDHE-RSA-CHACHA20-POLY1305", "ECDH", "RSA", "ChaCha20-Poly1305", None),
    ("DHE-RSA-AES256-SHA256", "DH", "RSA", "AES-256-CBC", "HMAC-SHA256"),
    ("AES128-SHA", "RSA", "RSA", "AES-128-CBC", "HMAC-SHA1"),
    ("AES256-GCM-SHA384", "RSA", "RSA", "AES-256-GCM", None),
    ("DES-CBC3-SHA", "RSA", "RSA", "3DES", "HMAC-SHA1"),
    ("RC4-SHA", "RSA", "RSA", "RC4", "HMAC-SHA1"),
    ("EDH-RSA-DES-CBC3-SHA", "DH", "RSA", "3DES", "HMAC-SHA1"),
    ("ADH-AES128-SHA", "DH", None, "AES-128-CBC", "HMAC-SHA1"),
    ("PSK-AES128-CBC-SHA", None, None, "AES-128-CBC", "HMAC-SHA1"),
    ("CAMELLIA128-SHA", "RSA", "RSA", "Camellia-128", "HMAC-SHA1"),
]


class TestSuiteComponents:
    @pytest.mark.parametrize(
        ("name", "kex", "auth", "cipher", "mac"), SUITES, ids=[s[0] for s in SUITES]
    )
    def test_components(
        self, name: str, kex: str | None, auth: str | None, cipher: str | None, mac: str | None
    ) -> None:
        parts = suite_components(name)
        assert parts is not None
        got = (
            parts.key_exchange.canonical if parts.key_exchange else None,
            parts.authentication.canonical if parts.authentication else None,
            parts.cipher.canonical if parts.cipher else None,
            parts.mac.canonical if parts.mac else None,
        )
        assert got == (kex, auth, cipher, mac)

    def test_static_rsa_is_key_transport_and_signature(self) -> None:
        parts = suite_components("TLS_RSA_WITH_AES_128_GCM_SHA256")
        assert parts is not None
        assert parts.key_exchange is not None
        assert parts.key_exchange.usage.value == "key-establishment"
        assert parts.authentication is not None
        assert parts.authentication.usage.value == "signature"

    @pytest.mark.parametrize(
        ("name", "bits"),
        [
            ("TLS_AES_256_GCM_SHA384", 256),
            ("AES128-SHA", 128),
            ("DES-CBC3-SHA", 168),
            ("EXP-RC4-MD5", 40),
            ("TLS_RSA_WITH_RC4_128_SHA", 128),
        ],
    )
    def test_cipher_bits(self, name: str, bits: int) -> None:
        assert parse_cipher_suite(name).cipher_bits == bits

    @pytest.mark.parametrize(
        "name", ["TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC", "RSA-2048", "X25519"]
    )
    def test_not_a_readable_suite(self, name: str) -> None:
        assert suite_components(name) is None
        assert not is_cipher_suite(name)

    def test_a_readable_suite(self) -> None:
        assert is_cipher_suite("ECDHE-RSA-AES128-GCM-SHA256")


class TestSuiteWeaknesses:
    @pytest.mark.parametrize(
        ("name", "weaknesses"),
        [
            ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", ()),
            ("TLS_AES_256_GCM_SHA384", ()),
            ("TLS_RSA_WITH_NULL_SHA", ("null-cipher",)),
            ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", ("export", "rc4", "md5-mac")),
            ("TLS_DH_anon_WITH_AES_128_CBC_SHA", ("anonymous", "cbc-sha1")),
            ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", ("3des", "cbc-sha1")),
            ("TLS_RSA_WITH_DES_CBC_SHA", ("des", "cbc-sha1")),
            ("TLS_RSA_WITH_IDEA_CBC_SHA", ("64-bit-block", "cbc-sha1")),
            ("TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", ("export", "64-bit-block", "md5-mac")),
            ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", ()),
            ("DES-CBC3-SHA", ("3des", "cbc-sha1")),
            ("ADH-AES128-SHA", ("anonymous", "cbc-sha1")),
        ],
    )
    def test_weaknesses(self, name: str, weaknesses: tuple[str, ...]) -> None:
        assert parse_cipher_suite(name).weaknesses == weaknesses

    @pytest.mark.parametrize(
        ("name", "weak"),
        [
            ("TLS_RSA_WITH_NULL_SHA", True),
            ("TLS_RSA_WITH_RC4_128_SHA", True),
            ("TLS_DH_anon_WITH_AES_128_GCM_SHA256", True),
            ("TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA", True),
            ("TLS_RSA_WITH_AES_128_CBC_SHA", False),
            ("TLS_CHACHA20_POLY1305_SHA256", False),
        ],
    )
    def test_weak(self, name: str, weak: bool) -> None:
        assert parse_cipher_suite(name).weak is weak

    @pytest.mark.parametrize(
        ("name", "broken"),
        [("TLS_RSA_WITH_NULL_SHA", True), ("TLS_RSA_WITH_DES_CBC_SHA", True),
         ("TLS_RSA_WITH_RC4_128_SHA", False), ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", False)],
    )  # fmt: skip
    def test_cipher_flaw(self, name: str, broken: bool) -> None:
        flaw = parse_cipher_suite(name).cipher_flaw
        assert flaw is not None
        assert flaw.broken is broken

    @pytest.mark.parametrize(
        ("name", "forward_secrecy", "aead"),
        [
            ("TLS_AES_128_GCM_SHA256", True, True),
            ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", True, True),
            ("TLS_DHE_RSA_WITH_AES_128_CBC_SHA", True, False),
            ("TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", True, False),
            # RFC 6655 writes DHE_PSK as "PSK_DHE" in its CCM_8 suites.
            ("TLS_PSK_DHE_WITH_AES_128_CCM_8", True, True),
            # Anonymous DH is ephemeral: forward-secret, though nobody vouches for the server.
            ("TLS_DH_anon_WITH_AES_128_CBC_SHA", True, False),
            ("TLS_RSA_WITH_AES_128_GCM_SHA256", False, True),
            ("TLS_ECDH_RSA_WITH_AES_128_CBC_SHA", False, False),
            ("TLS_PSK_WITH_AES_128_CCM", False, True),
            ("ECDHE-RSA-CHACHA20-POLY1305", True, True),
        ],
    )
    def test_forward_secrecy_and_aead(self, name: str, forward_secrecy: bool, aead: bool) -> None:
        profile = parse_cipher_suite(name)
        assert (profile.forward_secrecy, profile.aead) == (forward_secrecy, aead)

    @pytest.mark.parametrize(
        ("name", "bits"),
        [
            ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", 112),
            ("TLS_RSA_WITH_NULL_SHA256", 0),
            ("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", 40),
            ("TLS_RSA_WITH_DES_CBC_SHA", 56),
            ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 256),
            ("TLS_CHACHA20_POLY1305_SHA256", 256),
            ("0xC0FF", None),
        ],
    )
    def test_effective_bits(self, name: str, bits: int | None) -> None:
        assert parse_cipher_suite(name).effective_bits == bits

    @pytest.mark.parametrize("cipher", sorted(set(CIPHER_FLAWS) - {"NULL"}))
    def test_every_flawed_cipher_is_a_retired_catalog_family(self, cipher: str) -> None:
        info = parse_algorithm(cipher)
        assert info.family == cipher
        assert info.deprecated
        assert policy.retired_after(cipher) == policy.classical_deadline(info)
