"""Certificate analyzer: parse PEM/DER uploads and describe each certificate as a CryptoAsset."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from qrap_core.discovery.targets import CertificateTarget
from qrap_core.discovery.types import CryptoAsset, TargetResult
from qrap_core.enums import Usage
from qrap_core.errors import InvalidCertificate

# A CA bundle (/etc/ssl/certs/ca-certificates.crt holds about 150 roots in about 220 KB) fits
# many times over; the limits bound the parsing work one upload can cause. README documents them.
MAX_CERTIFICATES = 1000
MAX_CERTIFICATE_BYTES = 4 * 1024 * 1024

_PEM_BEGIN = b"-----BEGIN "
_PEM_DASHES = b"-----"
_PEM_LABEL = re.compile(rb"[A-Z0-9 ]+")
_CERT_LABELS = frozenset({b"CERTIFICATE", b"X509 CERTIFICATE"})
_ONE_DAY = timedelta(days=1)
# Families of algorithms that cryptography names by OID but has no key class for here.
_OID_FAMILIES = (("ML-DSA", "ML-DSA"), ("SLH-DSA", "SLH-DSA"))


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Parse PEM holding one or more certificates (a chain in order, or a CA bundle) or one DER
    certificate. Text between PEM blocks (a bundle's comments and labels) is ignored.

    Raises InvalidCertificate for empty input, garbage, truncated PEM, PEM blocks that are not
    certificates (a private key, a CSR, ...), more than MAX_CERTIFICATES certificates and more
    than MAX_CERTIFICATE_BYTES bytes.
    """
    if not data.strip():
        raise InvalidCertificate("certificate data is empty")
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise InvalidCertificate(
            f"{len(data):,} bytes is more than the limit of {MAX_CERTIFICATE_BYTES:,} bytes "
            f"({MAX_CERTIFICATE_BYTES // (1024 * 1024)} MiB)"
        )
    if _PEM_BEGIN in data:
        return _load_pem(data)
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise InvalidCertificate("data is neither PEM nor a DER-encoded X.509 certificate") from exc


def _load_pem(data: bytes) -> list[x509.Certificate]:
    begins = data.count(_PEM_BEGIN)
    # Counting first bounds the parsing work an oversized upload can cause.
    if begins > MAX_CERTIFICATES:
        raise InvalidCertificate(
            f"too many PEM blocks: {begins:,} (at most {MAX_CERTIFICATES:,} certificates)"
        )
    blocks = _pem_blocks(data)
    if len(blocks) != begins:
        raise InvalidCertificate(
            f"truncated PEM: {begins} BEGIN line(s) but {len(blocks)} complete block(s)"
        )
    certs: list[x509.Certificate] = []
    for index, (label, block) in enumerate(blocks):
        if b"PRIVATE KEY" in label:
            raise InvalidCertificate(
                f"PEM block {index} is a private key, not a certificate: "
                "never upload private keys, only certificates"
            )
        if label not in _CERT_LABELS:
            raise InvalidCertificate(
                f"PEM block {index} is a {label.decode()!r}, not a certificate"
            )
        try:
            certs.append(x509.load_pem_x509_certificate(block))
        except ValueError as exc:
            raise InvalidCertificate(
                f"PEM block {index} is not a valid certificate: {exc}"
            ) from exc
    return certs


def _pem_blocks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(label, block) of every complete PEM block, in order.

    Each block must end before the next BEGIN line, so every byte is scanned a bounded number
    of times: a backtracking regex over unterminated blocks took a minute on 4 MB.
    """
    starts = [m.start() for m in re.finditer(re.escape(_PEM_BEGIN), data)]
    blocks: list[tuple[bytes, bytes]] = []
    for number, start in enumerate(starts):
        limit = starts[number + 1] if number + 1 < len(starts) else len(data)
        label_start = start + len(_PEM_BEGIN)
        label_end = data.find(_PEM_DASHES, label_start, limit)
        if label_end < 0:
            continue
        label = data[label_start:label_end]
        if not _PEM_LABEL.fullmatch(label):
            continue
        end_line = b"-----END " + label + _PEM_DASHES
        end = data.find(end_line, label_end, limit)
        if end >= 0:
            blocks.append((label, data[start : end + len(end_line)]))
    return blocks


def decode_target(target: CertificateTarget) -> list[x509.Certificate]:
    """Certificates from ``pem`` text or strict base64 ``der_base64``; exactly one must be set."""
    pem, der_text = target.pem, target.der_base64
    if pem is not None and der_text is None:
        return _decode_field("pem", pem.encode("utf-8"), want_pem=True)
    if der_text is None or pem is not None:
        message = (
            "one of 'pem' or 'der_base64' is required"
            if der_text is None
            else "set only one of 'pem' and 'der_base64'"
        )
        raise InvalidCertificate(
            message,
            details=[{"field": f, "message": message} for f in ("pem", "der_base64")],
        )
    # Line-wrapped base64 is common; any other non-alphabet character is an error.
    compact = "".join(der_text.split())
    try:
        der = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _field_error("der_base64", f"not valid base64: {exc}") from exc
    return _decode_field("der_base64", der, want_pem=False)


def _decode_field(field: str, data: bytes, *, want_pem: bool) -> list[x509.Certificate]:
    is_pem = _PEM_BEGIN in data
    if want_pem and not is_pem:
        raise _field_error(field, "no '-----BEGIN CERTIFICATE-----' block found")
    if not want_pem and is_pem:
        raise _field_error(field, "holds PEM text: send it in 'pem' instead")
    try:
        return load_certificates(data)
    except InvalidCertificate as exc:
        raise _field_error(field, exc.message) from exc


def _field_error(field: str, message: str) -> InvalidCertificate:
    return InvalidCertificate(f"{field}: {message}", details=[{"field": field, "message": message}])


def certificate_assets(
    certs: Sequence[x509.Certificate], *, location: str, now: datetime
) -> list[CryptoAsset]:
    """One ``certificate`` asset per certificate, ``chain_index`` keeping the submitted order.

    ``now`` sets ``days_to_expiry`` (floored, negative once expired); a naive ``now`` is UTC.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    assets = []
    for index, cert in enumerate(certs):
        algorithm, family, key_size, curve = _key_info(cert)
        subject = cert.subject.rfc4514_string()
        assets.append(
            CryptoAsset(
                kind="certificate",
                name=subject or "<empty subject>",
                location=location,
                usage=Usage.SIGNATURE,
                algorithm=algorithm,
                family=family,
                key_size=key_size,
                details=_details(cert, index=index, now=now, subject=subject, curve=curve),
            )
        )
    return assets


def _details(
    cert: x509.Certificate, *, index: int, now: datetime, subject: str, curve: str | None
) -> dict[str, Any]:
    not_before = cert.not_valid_before_utc
    not_after = cert.not_valid_after_utc
    return {
        "subject": subject,
        "issuer": cert.issuer.rfc4514_string(),
        "serial_number": format(cert.serial_number, "x"),
        "not_before": not_before.isoformat(),
        "not_after": not_after.isoformat(),
        "days_to_expiry": (not_after - now) // _ONE_DAY,
        "lifetime_days": (not_after - not_before) // _ONE_DAY,
        "is_ca": _is_ca(cert),
        "self_signed": _self_signed(cert),
        "signature_algorithm": _oid_name(cert.signature_algorithm_oid),
        "signature_hash": _signature_hash(cert),
        "curve": curve,
        "chain_index": index,
        "fingerprint_sha256": cert.fingerprint(hashes.SHA256()).hex(),
        "subject_alt_names": _alt_names(cert),
    }


def _key_info(cert: x509.Certificate) -> tuple[str, str | None, int | None, str | None]:
    """(algorithm, family, key size in bits, EC curve name) of the subject public key."""
    try:
        key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError):
        key = None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", "RSA", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ECDSA", "EC", key.curve.key_size, key.curve.name
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", "EdDSA", 256, None
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", "EdDSA", 456, None
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", "DSA", key.key_size, None
    name = _oid_name(cert.public_key_algorithm_oid)
    family = next((fam for prefix, fam in _OID_FAMILIES if name.startswith(prefix)), None)
    return name, family, None, None


def _oid_name(oid: x509.ObjectIdentifier) -> str:
    # cryptography has no public accessor for an OID's registered name.
    name = oid._name
    return oid.dotted_string if name == "Unknown OID" else name


def _signature_hash(cert: x509.Certificate) -> str | None:
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return None
    return algorithm.name.lower() if algorithm is not None else None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        return False


def _alt_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    names: list[str] = list(san.get_values_for_type(x509.DNSName))
    names.extend(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    return names


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # cryptography cannot verify this signature algorithm (SHA-1, MD5, DSA...): the
        # matching names are the best evidence available.
        return True
    return True


def analyze(target: CertificateTarget, *, now: datetime) -> TargetResult:
    """Describe an uploaded certificate or chain; a parse failure is a target error, not a raise."""
    label = target.label()
    try:
        certs = decode_target(target)
    except InvalidCertificate as exc:
        return TargetResult.failed(label, "certificate", exc.message)
    return TargetResult(
        target=label,
        type="certificate",
        status="ok",
        assets=certificate_assets(certs, location=label, now=now),
        details={"certificates": len(certs)},
    )
