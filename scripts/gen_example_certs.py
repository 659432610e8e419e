"""Generate the example certificates and keys in qrap_core/examples/certs/.

Run once from the repository root (``.venv/bin/python scripts/gen_example_certs.py``) and
commit the output. File names are fixed; keys and serials are fresh on every run. The keys
are public test material for the demo server and the TLS tests: never use them elsewhere.
"""

from __future__ import annotations

import ipaddress
import sys
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import crypto

OUT = Path(__file__).resolve().parents[1] / "qrap_core" / "examples" / "certs"
NOW = datetime.now(UTC).replace(microsecond=0)
TEN_YEARS = timedelta(days=3650)
KEY_BANNER = (
    b"# QRAP example key: published test material for the demo server and tests.\n"
    b"# Never use it to protect anything.\n"
)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "QRAP examples"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _sign_hash(key: CertificateIssuerPrivateKeyTypes) -> hashes.SHA256 | None:
    # EdDSA and ML-DSA sign the message itself; cryptography wants no hash for them.
    if isinstance(key, ed25519.Ed25519PrivateKey | mldsa.MLDSA65PrivateKey):
        return None
    return hashes.SHA256()


def _cert(
    common_name: str,
    key: CertificateIssuerPrivateKeyTypes,
    *,
    issuer: tuple[x509.Certificate, CertificateIssuerPrivateKeyTypes] | None = None,
    ca: bool = False,
    not_before: datetime = NOW - timedelta(days=1),
    not_after: datetime = NOW + TEN_YEARS,
) -> x509.Certificate:
    subject = _name(common_name)
    issuer_name, issuer_key = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(common_name),
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(issuer_key, _sign_hash(issuer_key))


def _sha1_resign(cert: x509.Certificate, key: rsa.RSAPrivateKey) -> x509.Certificate:
    # cryptography refuses SHA-1 signatures; pyOpenSSL's deprecated X509.sign still makes them.
    legacy = crypto.X509.from_cryptography(cert)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        legacy.sign(crypto.PKey.from_cryptography_key(key), "sha1")
    return legacy.to_cryptography()


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: CertificateIssuerPrivateKeyTypes) -> bytes:
    return KEY_BANNER + key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {}

    def server(
        name: str,
        key: CertificateIssuerPrivateKeyTypes,
        not_before: datetime = NOW - timedelta(days=1),
        not_after: datetime = NOW + TEN_YEARS,
    ) -> None:
        cert = _cert(f"{name}.example.test", key, not_before=not_before, not_after=not_after)
        files[f"{name}.pem"] = _pem(cert)
        files[f"{name}.key"] = _key_pem(key)

    # The weak key is the point of this example.
    server("rsa1024", rsa.generate_private_key(65537, 1024))  # noqa: S505
    server("rsa2048", rsa.generate_private_key(65537, 2048))
    server("ecdsa-p256", ec.generate_private_key(ec.SECP256R1()))
    server(
        "expired-rsa2048",
        rsa.generate_private_key(65537, 2048),
        not_before=NOW - timedelta(days=400),
        not_after=NOW - timedelta(days=35),
    )
    files["ed25519.pem"] = _pem(_cert("ed25519.example.test", ed25519.Ed25519PrivateKey.generate()))
    files["mldsa65.pem"] = _pem(_cert("mldsa65.example.test", mldsa.MLDSA65PrivateKey.generate()))

    sha1_key = rsa.generate_private_key(65537, 2048)
    files["sha1-rsa2048.pem"] = _pem(
        _sha1_resign(_cert("sha1-rsa2048.example.test", sha1_key), sha1_key)
    )

    root_key = ec.generate_private_key(ec.SECP384R1())
    root = _cert("QRAP Example Root CA", root_key, ca=True)
    inter_key = ec.generate_private_key(ec.SECP384R1())
    inter = _cert("QRAP Example Intermediate CA", inter_key, issuer=(root, root_key), ca=True)
    leaf_key = rsa.generate_private_key(65537, 2048)
    leaf = _cert("chain-leaf.example.test", leaf_key, issuer=(inter, inter_key))
    # Leaf first, as a TLS server sends it; the root stays out, as it should.
    files["chain.pem"] = _pem(leaf) + _pem(inter)
    files["chain-leaf.key"] = _key_pem(leaf_key)

    tls_key = ec.generate_private_key(ec.SECP256R1())
    files["tls-server.pem"] = _pem(_cert("localhost", tls_key))
    files["tls-server.key"] = _key_pem(tls_key)

    for name, content in sorted(files.items()):
        (OUT / name).write_bytes(content)
        sys.stderr.write(f"wrote {OUT / name}\n")


if __name__ == "__main__":
    main()
