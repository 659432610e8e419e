"""Certificate analyzer: parsing, decoding targets, and the assets it reports."""

from __future__ import annotations

import base64
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from qrap_core.discovery.certificate import (
    MAX_CERTIFICATE_BYTES,
    MAX_CERTIFICATES,
    analyze,
    certificate_assets,
    decode_target,
    load_certificates,
)
from qrap_core.discovery.targets import CertificateTarget
from qrap_core.enums import Usage
from qrap_core.errors import InvalidCertificate
from tests import cabundle
from tests.servers import CERTS

NOW = datetime(2027, 1, 1, tzinfo=UTC)
SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DETAIL_KEYS = {
    "subject",
    "issuer",
    "serial_number",
    "not_before",
    "not_after",
    "days_to_expiry",
    "lifetime_days",
    "is_ca",
    "self_signed",
    "signature_algorithm",
    "signature_hash",
    "curve",
    "chain_index",
    "fingerprint_sha256",
    "subject_alt_names",
}


def pem(name: str) -> bytes:
    return (CERTS / name).read_bytes()


def one(name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem(name))


def make_cert(
    subject: x509.Name,
    *,
    issuer: x509.Name | None = None,
    signer: ec.EllipticCurvePrivateKey | None = None,
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer)
        .public_key(key.public_key())
        .serial_number(0xABCDEF)
        .not_valid_before(NOW - timedelta(days=10))
        .not_valid_after(NOW + timedelta(days=20))
        .sign(signer or key, hashes.SHA256())
    )


class TestLoadCertificates:
    def test_single_pem(self) -> None:
        certs = load_certificates(pem("rsa2048.pem"))

        assert [c.subject.rfc4514_string() for c in certs] == [
            "CN=rsa2048.example.test,O=QRAP examples"
        ]

    def test_chain_keeps_its_order(self) -> None:
        certs = load_certificates(pem("chain.pem"))

        assert len(certs) == 2
        assert certs[0].issuer == certs[1].subject

    def test_der(self) -> None:
        der = one("ecdsa-p256.pem").public_bytes(serialization.Encoding.DER)

        assert load_certificates(der) == [one("ecdsa-p256.pem")]

    def test_text_around_pem_blocks_is_ignored(self) -> None:
        data = b"subject=CN = x\nissuer=CN = x\n" + pem("rsa2048.pem") + b"\ntrailing words\n"

        assert len(load_certificates(data)) == 1

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (b"", "empty"),
            (b"  \n\t", "empty"),
            (b"\x00\x01garbage\xff", "neither PEM nor"),
            (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "truncated"),
            (
                b"-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
                "not a valid certificate",
            ),
            (
                b"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
                "'CERTIFICATE REQUEST'",
            ),
        ],
    )
    def test_rejects(self, data: bytes, message: str) -> None:
        with pytest.raises(InvalidCertificate, match=message):
            load_certificates(data)

    @pytest.mark.parametrize("key", ["rsa2048.key", "ecdsa-p256.key"])
    def test_rejects_private_keys_even_beside_a_certificate(self, key: str) -> None:
        for data in (pem(key), pem("rsa2048.pem") + pem(key)):
            with pytest.raises(InvalidCertificate, match="private key"):
                load_certificates(data)

    def test_truncated_chain(self) -> None:
        data = pem("chain.pem")
        cut = data[: data.rindex(b"-----END")]

        with pytest.raises(InvalidCertificate, match="truncated"):
            load_certificates(cut)

    def test_caps_the_number_of_certificates(self) -> None:
        assert MAX_CERTIFICATES >= 1000
        assert len(load_certificates(pem("rsa2048.pem") * MAX_CERTIFICATES)) == MAX_CERTIFICATES
        with pytest.raises(InvalidCertificate, match="too many PEM blocks: 1,001"):
            load_certificates(pem("rsa2048.pem") * (MAX_CERTIFICATES + 1))

    def test_caps_the_size(self) -> None:
        assert MAX_CERTIFICATE_BYTES >= 4 * 1024 * 1024
        padded = pem("rsa2048.pem") + b"#" * MAX_CERTIFICATE_BYTES
        with pytest.raises(InvalidCertificate, match="bytes is more than the limit"):
            load_certificates(padded)

    def test_a_ca_bundle(self) -> None:
        bundle = cabundle.bundle()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)  # serials <= 0
            certs = load_certificates(bundle.pem)
            labelled = load_certificates(bundle.with_labels())

        assert len(certs) == len(labelled) == 150
        assert certs == labelled
        names = [c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value for c in certs]
        assert names == [root.common_name for root in bundle.roots]

    def test_the_systems_bundle_when_there_is_one(self) -> None:
        if not SYSTEM_BUNDLE.is_file():
            pytest.skip(f"no {SYSTEM_BUNDLE} here")
        data = SYSTEM_BUNDLE.read_bytes()
        with warnings.catch_warnings():
            # Debian's bundle holds roots with serial 0 (Go Daddy, Starfield, SECOM).
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            certs = load_certificates(data)
        assert len(certs) == data.count(b"-----BEGIN CERTIFICATE-----")

    @pytest.mark.timeout(20)
    def test_unterminated_blocks_are_refused_in_linear_time(self) -> None:
        # A backtracking regex took about a minute on this input.
        data = (b"-----BEGIN CERTIFICATE-----\n" + b"A" * 4000 + b"\n") * MAX_CERTIFICATES
        started = time.monotonic()
        with pytest.raises(InvalidCertificate, match="truncated PEM: 1000 BEGIN"):
            load_certificates(data)
        assert time.monotonic() - started < 5


class TestDecodeTarget:
    def test_pem(self) -> None:
        target = CertificateTarget(pem=pem("chain.pem").decode())

        assert len(decode_target(target)) == 2

    def test_der_base64_with_line_breaks(self) -> None:
        der = one("rsa2048.pem").public_bytes(serialization.Encoding.DER)
        encoded = base64.encodebytes(der).decode()  # wrapped at 76 characters

        assert decode_target(CertificateTarget(der_base64=encoded)) == [one("rsa2048.pem")]

    def test_neither_field(self) -> None:
        with pytest.raises(InvalidCertificate, match="'pem' or 'der_base64'") as info:
            decode_target(CertificateTarget())

        assert {d["field"] for d in info.value.details} == {"pem", "der_base64"}

    def test_both_fields(self) -> None:
        target = CertificateTarget(pem=pem("rsa2048.pem").decode(), der_base64="AAAA")

        with pytest.raises(InvalidCertificate, match="only one"):
            decode_target(target)

    @pytest.mark.parametrize("value", ["not*base64", "AAA", "Zm9v!"])
    def test_invalid_base64(self, value: str) -> None:
        with pytest.raises(InvalidCertificate, match="der_base64") as info:
            decode_target(CertificateTarget(der_base64=value))

        assert info.value.details == [
            {"field": "der_base64", "message": info.value.details[0]["message"]}
        ]

    def test_pem_sent_as_der_base64(self) -> None:
        encoded = base64.b64encode(pem("rsa2048.pem")).decode()

        with pytest.raises(InvalidCertificate, match="der_base64: holds PEM"):
            decode_target(CertificateTarget(der_base64=encoded))

    def test_der_base64_that_is_not_a_certificate(self) -> None:
        with pytest.raises(InvalidCertificate, match="der_base64: data is neither"):
            decode_target(CertificateTarget(der_base64=base64.b64encode(b"hello").decode()))

    def test_pem_field_without_pem(self) -> None:
        with pytest.raises(InvalidCertificate, match="pem: no"):
            decode_target(CertificateTarget(pem="MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"))

    def test_private_key_in_pem_field(self) -> None:
        with pytest.raises(InvalidCertificate, match=r"pem: .*private key"):
            decode_target(CertificateTarget(pem=pem("rsa2048.key").decode()))

    def test_over_the_limit_names_the_field(self) -> None:
        target = CertificateTarget(pem=cabundle.over_limit(MAX_CERTIFICATES + 1).decode())
        with pytest.raises(InvalidCertificate, match="pem: too many PEM blocks") as info:
            decode_target(target)
        assert [d["field"] for d in info.value.details] == ["pem"]


class TestCertificateAssets:
    @pytest.mark.parametrize(
        ("name", "algorithm", "family", "key_size", "curve", "signature", "hash_name"),
        [
            ("rsa1024.pem", "RSA", "RSA", 1024, None, "sha256WithRSAEncryption", "sha256"),
            ("rsa2048.pem", "RSA", "RSA", 2048, None, "sha256WithRSAEncryption", "sha256"),
            ("ecdsa-p256.pem", "ECDSA", "EC", 256, "secp256r1", "ecdsa-with-SHA256", "sha256"),
            ("ed25519.pem", "Ed25519", "EdDSA", 256, None, "ed25519", None),
            ("sha1-rsa2048.pem", "RSA", "RSA", 2048, None, "sha1WithRSAEncryption", "sha1"),
            ("mldsa65.pem", "ML-DSA-65", "ML-DSA", None, None, "ML-DSA-65", None),
        ],
    )
    def test_key_and_signature(
        self,
        name: str,
        algorithm: str,
        family: str,
        key_size: int | None,
        curve: str | None,
        signature: str,
        hash_name: str | None,
    ) -> None:
        [asset] = certificate_assets([one(name)], location="uploaded", now=NOW)

        assert asset.kind == "certificate"
        assert asset.usage is Usage.SIGNATURE
        assert asset.location == "uploaded"
        assert (asset.algorithm, asset.family, asset.key_size) == (algorithm, family, key_size)
        assert asset.details["curve"] == curve
        assert asset.details["signature_algorithm"] == signature
        assert asset.details["signature_hash"] == hash_name
        assert set(asset.details) == DETAIL_KEYS

    def test_details_of_a_self_signed_leaf(self) -> None:
        cert = one("rsa2048.pem")

        [asset] = certificate_assets([cert], location="x", now=NOW)

        details = asset.details
        assert asset.name == details["subject"] == "CN=rsa2048.example.test,O=QRAP examples"
        assert details["issuer"] == details["subject"]
        assert details["serial_number"] == format(cert.serial_number, "x")
        assert details["not_before"] == cert.not_valid_before_utc.isoformat()
        assert details["not_after"] == cert.not_valid_after_utc.isoformat()
        assert details["is_ca"] is False
        assert details["self_signed"] is True
        assert details["chain_index"] == 0
        assert details["fingerprint_sha256"] == cert.fingerprint(hashes.SHA256()).hex()
        assert details["subject_alt_names"] == ["rsa2048.example.test", "localhost", "127.0.0.1"]
        assert details["lifetime_days"] == 3651

    def test_days_to_expiry_counts_from_now(self) -> None:
        cert = one("rsa2048.pem")
        not_after = cert.not_valid_after_utc

        def days(now: datetime) -> int:
            [asset] = certificate_assets([cert], location="x", now=now)
            return int(asset.details["days_to_expiry"])

        assert days(not_after - timedelta(days=30, hours=1)) == 30
        assert days(not_after - timedelta(hours=1)) == 0
        assert days(not_after + timedelta(hours=1)) == -1
        assert days(not_after + timedelta(days=10)) == -10
        # A naive "now" is read as UTC.
        assert days((not_after - timedelta(days=5)).replace(tzinfo=None)) == 5

    def test_expired_example(self) -> None:
        [asset] = certificate_assets(
            [one("expired-rsa2048.pem")], location="x", now=datetime.now(UTC)
        )

        assert asset.details["days_to_expiry"] < 0

    def test_chain_order_and_ca_flags(self) -> None:
        certs = load_certificates(pem("chain.pem"))

        leaf, intermediate = certificate_assets(certs, location="chain", now=NOW)

        assert (leaf.details["chain_index"], intermediate.details["chain_index"]) == (0, 1)
        assert (leaf.details["is_ca"], intermediate.details["is_ca"]) == (False, True)
        assert leaf.details["self_signed"] is intermediate.details["self_signed"] is False
        assert leaf.details["issuer"] == intermediate.details["subject"]
        assert (intermediate.algorithm, intermediate.key_size) == ("ECDSA", 384)

    def test_same_names_but_a_foreign_signature_is_not_self_signed(self) -> None:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "forged")])
        cert = make_cert(name, signer=ec.generate_private_key(ec.SECP256R1()))

        [asset] = certificate_assets([cert], location="x", now=NOW)

        assert asset.details["self_signed"] is False

    def test_empty_subject_and_no_extensions(self) -> None:
        cert = make_cert(x509.Name([]))

        [asset] = certificate_assets([cert], location="x", now=NOW)

        assert asset.name == "<empty subject>"
        assert asset.details["subject"] == ""
        assert asset.details["is_ca"] is False
        assert asset.details["subject_alt_names"] == []
        assert asset.details["serial_number"] == "abcdef"
        assert asset.details["self_signed"] is True

    def test_dsa(self) -> None:
        key = dsa.generate_private_key(2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dsa")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(1)
            .not_valid_before(NOW)
            .not_valid_after(NOW + timedelta(days=1))
            .sign(key, hashes.SHA256())
        )

        [asset] = certificate_assets([cert], location="x", now=NOW)

        assert (asset.algorithm, asset.family, asset.key_size) == ("DSA", "DSA", 2048)
        assert asset.details["signature_algorithm"] == "dsa-with-sha256"


class TestAnalyze:
    def test_ok(self) -> None:
        target = CertificateTarget(name="edge chain", pem=pem("chain.pem").decode())

        result = analyze(target, now=NOW)

        assert (result.target, result.type, result.status) == ("edge chain", "certificate", "ok")
        assert [a.location for a in result.assets] == ["edge chain", "edge chain"]
        assert result.error is None

    def test_default_label(self) -> None:
        result = analyze(CertificateTarget(pem=pem("rsa2048.pem").decode()), now=NOW)

        assert result.target == "certificate"
        assert result.assets[0].location == "certificate"

    def test_parse_failure_is_a_target_error(self) -> None:
        result = analyze(CertificateTarget(name="bad", pem="-----BEGIN CERTIFICATE-----"), now=NOW)

        assert (result.target, result.type, result.status) == ("bad", "certificate", "error")
        assert result.assets == []
        assert result.error is not None
        assert "truncated" in result.error
