"""A realistic CA bundle for tests, shaped like /etc/ssl/certs/ca-certificates.crt.

About 150 self-signed roots mixing RSA-2048/4096 and ECDSA P-256/P-384, some with SHA-1
self-signatures, some expired years ago, one expiring within days, one with a negative serial
number (as EC-ACC had in Mozilla's bundle) and one with serial 0 (as nine roots of Debian's
bundle have, Go Daddy's and Starfield's among them): cryptography warns on both. A few keys are
shared by many roots so that building the bundle takes a few seconds. cryptography no longer
signs with SHA-1 or writes non-positive serials, so those roots are re-signed by hand.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# Fixed at import, so generated validity dates and the rules' clock agree within one session.
GENERATED_AT = datetime.now(UTC).replace(microsecond=0)
_YEAR = timedelta(days=365)
# EC-ACC's serial, -11D4C2142BDE21EB579D53FB0C223BFF, in two's complement.
NEGATIVE_SERIAL = bytes.fromhex("EE2B3DEBD421DE14A862AC04F3DDC401")
_SHA1_WITH_RSA = bytes.fromhex("300d06092a864886f70d0101050500")
_ECDSA_WITH_SHA1 = bytes.fromhex("300906072a8648ce3d0401")
# Key kinds in the proportions of a real bundle: RSA first, then ECDSA.
_KINDS = ("rsa2048", "rsa2048", "rsa4096", "rsa2048", "p256", "rsa4096", "p384", "rsa2048")


@dataclass(frozen=True)
class Root:
    """One root as the bundle holds it, with what the test knows about it."""

    common_name: str
    pem: bytes
    key_kind: str
    sha1: bool
    expired: bool
    expiring: bool
    nonpositive_serial: bool

    @property
    def subject(self) -> str:
        return f"CN={self.common_name},O=QRAP Test Trust Services,C=XX"


@dataclass(frozen=True)
class Bundle:
    roots: tuple[Root, ...]

    @property
    def pem(self) -> bytes:
        return b"".join(root.pem for root in self.roots)

    def with_labels(self) -> bytes:
        """The certifi / Mozilla layout: comment lines and a title before every block."""
        parts = []
        for root in self.roots:
            title = root.common_name.encode()
            parts.append(
                b"\n# Issuer: CN=" + title + b"\n# Label: \"" + title + b"\"\n"
                + title + b"\n" + b"=" * len(title) + b"\n" + root.pem
            )  # fmt: skip
        return b"".join(parts)


@functools.cache
def _keys(kind: str) -> tuple[PrivateKey, ...]:
    if kind == "rsa2048":
        return tuple(rsa.generate_private_key(65537, 2048) for _ in range(3))
    if kind == "rsa4096":
        return tuple(rsa.generate_private_key(65537, 4096) for _ in range(2))
    curve: ec.EllipticCurve = ec.SECP256R1() if kind == "p256" else ec.SECP384R1()
    return tuple(ec.generate_private_key(curve) for _ in range(2))


def key(kind: str, number: int = 0) -> PrivateKey:
    """A cached key of ``kind`` (rsa2048, rsa4096, p256, p384): generating is the slow part."""
    pool = _keys(kind)
    return pool[number % len(pool)]


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "XX"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "QRAP Test Trust Services"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def build_certificate(
    subject: str,
    subject_key: PrivateKey,
    *,
    issuer: str | None = None,
    issuer_key: PrivateKey | None = None,
    not_before: datetime,
    not_after: datetime,
    ca: bool = True,
    sha1: bool = False,
    serial: bytes | None = None,
) -> bytes:
    """PEM of one certificate; ``sha1`` and ``serial`` (raw INTEGER content) re-sign it by hand."""
    signer = issuer_key or subject_key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer or subject))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
    cert = builder.sign(signer, hashes.SHA256())
    if not sha1 and serial is None:
        return cert.public_bytes(serialization.Encoding.PEM)
    return _pem(_resign(cert.tbs_certificate_bytes, signer, sha1=sha1, serial=serial))


def _resign(tbs: bytes, signer: PrivateKey, *, sha1: bool, serial: bytes | None) -> bytes:
    """DER of a certificate with ``tbs`` edited (serial, signature algorithm) and signed again."""
    fields = _children(tbs)  # [0] version, serial, signature algorithm, issuer, ...
    if serial is not None:
        fields[1] = _tlv(0x02, serial)
    # Real bundles hold SHA-1 self-signed roots; the tests need them as they are.
    digest: hashes.HashAlgorithm = hashes.SHA1() if sha1 else hashes.SHA256()  # noqa: S303
    if sha1:
        fields[2] = _SHA1_WITH_RSA if isinstance(signer, rsa.RSAPrivateKey) else _ECDSA_WITH_SHA1
    new_tbs = _tlv(0x30, b"".join(fields))
    if isinstance(signer, rsa.RSAPrivateKey):
        signature = signer.sign(new_tbs, padding.PKCS1v15(), digest)
    else:
        signature = signer.sign(new_tbs, ec.ECDSA(digest))
    return _tlv(0x30, new_tbs + fields[2] + _tlv(0x03, b"\x00" + signature))


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _children(der: bytes) -> list[bytes]:
    """The encoded elements inside one DER SEQUENCE (single-byte tags, definite lengths)."""
    offset = _content_start(der, 0)
    children = []
    while offset < len(der):
        start = offset
        content = _content_start(der, offset)
        length = _length(der, offset)
        offset = content + length
        children.append(der[start:offset])
    return children


def _content_start(der: bytes, offset: int) -> int:
    first = der[offset + 1]
    return offset + 2 + (first & 0x7F if first & 0x80 else 0)


def _length(der: bytes, offset: int) -> int:
    first = der[offset + 1]
    if not first & 0x80:
        return first
    return int.from_bytes(der[offset + 2 : offset + 2 + (first & 0x7F)], "big")


def _pem(der: bytes) -> bytes:
    body = base64.b64encode(der)
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(lines) + b"\n-----END CERTIFICATE-----\n"


@functools.cache
def bundle(count: int = 150) -> Bundle:
    """``count`` roots; every 10th (from the 4th) expired 1-9 years ago, every 7th (from the
    2nd) self-signed with SHA-1, the 12th expiring in ten days, the 8th with a negative serial
    and the 20th with serial 0."""
    roots = []
    for index in range(count):
        kind = _KINDS[index % len(_KINDS)]
        expired = index % 10 == 3
        expiring = index == 11
        sha1 = index % 7 == 1
        serial = {7: NEGATIVE_SERIAL, 19: b"\x00"}.get(index)
        if expired:
            not_after = GENERATED_AT - (1 + index % 9) * _YEAR
            not_before = not_after - (15 + index % 10) * _YEAR
        elif expiring:
            not_after = GENERATED_AT + timedelta(days=10)
            not_before = not_after - 20 * _YEAR
        else:
            not_before = GENERATED_AT - (1 + index % 15) * _YEAR
            not_after = GENERATED_AT + (3 + index % 22) * _YEAR
        name = f"QRAP Test Root CA {index:03d}"
        pem = build_certificate(
            name, key(kind, index), not_before=not_before, not_after=not_after, sha1=sha1,
            serial=serial,
        )  # fmt: skip
        roots.append(Root(name, pem, kind, sha1, expired, expiring, serial is not None))
    return Bundle(tuple(roots))


@functools.cache
def sha1_intermediate_chain() -> bytes:
    """leaf, intermediate, root: the intermediate is signed by the root with SHA-1."""
    now = GENERATED_AT
    root_key, intermediate_key, leaf_key = key("rsa2048", 1), key("p384", 1), key("p256", 1)
    root = build_certificate(
        "QRAP Chain Root", root_key, not_before=now - 5 * _YEAR, not_after=now + 15 * _YEAR
    )
    intermediate = build_certificate(
        "QRAP SHA-1 Intermediate", intermediate_key, issuer="QRAP Chain Root",
        issuer_key=root_key, not_before=now - 2 * _YEAR, not_after=now + 5 * _YEAR, sha1=True,
    )  # fmt: skip
    leaf = build_certificate(
        "leaf.example.test", leaf_key, issuer="QRAP SHA-1 Intermediate",
        issuer_key=intermediate_key, not_before=now - timedelta(days=30),
        not_after=now + timedelta(days=200), ca=False,
    )  # fmt: skip
    return leaf + intermediate + root


def over_limit(count: int) -> bytes:
    """``count`` copies of one small root: the analyzer refuses by counting, before parsing."""
    root = next(r for r in bundle().roots if r.key_kind == "p256" and not r.sha1)
    return root.pem * count
