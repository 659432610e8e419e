"""TLS probe: real handshakes against a vetted address, reported as crypto assets.

One handshake with the client's defaults gives the negotiated version, cipher, group and
certificate chain. Then one handshake per protocol version, pinned to that version with every
cipher offered (``@SECLEVEL=0``), tells which versions the server accepts. pyOpenSSL (its
bundled OpenSSL) drives both; for a version it cannot speak, Python's ``ssl`` (the system
OpenSSL) is the fallback, and a version neither can speak is "not_tested", never "rejected".
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import selectors
import socket
import ssl
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from OpenSSL import SSL

from qrap_core.assessment.targets import TlsTarget, is_hostname
from qrap_core.discovery.certificate import certificate_assets
from qrap_core.discovery.types import CryptoAsset, TargetResult
from qrap_core.enums import Usage
from qrap_core.errors import InvalidTarget, TargetNotAllowed
from qrap_core.netpolicy import NetworkPolicy, ResolutionError

VersionStatus = Literal["accepted", "rejected", "not_tested"]
VERSIONS = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_PYOPENSSL_VERSIONS = {
    "SSLv3": SSL.SSL3_VERSION,
    "TLSv1.0": SSL.TLS1_VERSION,
    "TLSv1.1": SSL.TLS1_1_VERSION,
    "TLSv1.2": SSL.TLS1_2_VERSION,
    "TLSv1.3": SSL.TLS1_3_VERSION,
}
_STDLIB_VERSIONS = {
    "SSLv3": (ssl.HAS_SSLv3, ssl.TLSVersion.SSLv3),
    "TLSv1.0": (ssl.HAS_TLSv1, ssl.TLSVersion.TLSv1),
    "TLSv1.1": (ssl.HAS_TLSv1_1, ssl.TLSVersion.TLSv1_1),
    "TLSv1.2": (ssl.HAS_TLSv1_2, ssl.TLSVersion.TLSv1_2),
    "TLSv1.3": (ssl.HAS_TLSv1_3, ssl.TLSVersion.TLSv1_3),
}
# Every cipher, even NULL and export ones, so that "rejected" means the version, not our offer.
_EVERY_CIPHER = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"
_FS_PREFIXES = ("ECDHE-", "DHE-", "EDH-", "ADH-", "AECDH-", "TLS_ECDHE_", "TLS_DHE_")
_DH_PREFIXES = ("DHE-", "EDH-", "ADH-", "TLS_DHE_")
_ECDH_PREFIXES = ("ECDHE-", "AECDH-", "TLS_ECDHE_")


# Key: the name in lower case, as OpenSSL spellings vary ("x25519", "prime256v1", "P-256").
_GROUPS: dict[str, tuple[str, str, int | None]] = {
    "x25519": ("X25519", "ECDH", 256),
    "x448": ("X448", "ECDH", 448),
    **dict.fromkeys(("secp256r1", "prime256v1", "p-256"), ("secp256r1", "ECDH", 256)),
    **dict.fromkeys(("secp384r1", "p-384"), ("secp384r1", "ECDH", 384)),
    **dict.fromkeys(("secp521r1", "p-521"), ("secp521r1", "ECDH", 521)),
    **dict.fromkeys(("secp224r1", "p-224"), ("secp224r1", "ECDH", 224)),
    **dict.fromkeys(("brainpoolp256r1", "brainpoolp256r1tls13"), ("brainpoolP256r1", "ECDH", 256)),
    **dict.fromkeys(("brainpoolp384r1", "brainpoolp384r1tls13"), ("brainpoolP384r1", "ECDH", 384)),
    **dict.fromkeys(("brainpoolp512r1", "brainpoolp512r1tls13"), ("brainpoolP512r1", "ECDH", 512)),
    **{f"ffdhe{n}": (f"ffdhe{n}", "DH", n) for n in (2048, 3072, 4096, 6144, 8192)},
    "x25519mlkem768": ("X25519MLKEM768", "hybrid", None),
    "secp256r1mlkem768": ("SecP256r1MLKEM768", "hybrid", None),
    "secp384r1mlkem1024": ("SecP384r1MLKEM1024", "hybrid", None),
    "curvesm2mlkem768": ("curveSM2MLKEM768", "hybrid", None),
    "x25519kyber768draft00": ("X25519Kyber768Draft00", "hybrid", None),
    **{f"mlkem{n}": (f"MLKEM{n}", "ML-KEM", None) for n in (512, 768, 1024)},
}


class _UnreachableError(Exception):
    """No TLS conversation happened: TCP failed or the server never answered in time."""


class _NotTestableError(Exception):
    """This client library cannot speak the version at all."""


class _RejectedError(Exception):
    """The server answered and the handshake failed (alert, reset, EOF, not TLS)."""


@dataclass(frozen=True, slots=True)
class _Handshake:
    version: str
    cipher: str
    bits: int | None
    group: str | None
    chain: list[x509.Certificate] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Endpoint:
    address: str
    port: int
    sni: str | None
    timeout: float


def probe(
    target: TlsTarget, *, policy: NetworkPolicy, timeout: float = 5.0, now: datetime
) -> TargetResult:
    """Handshake with ``target`` and describe what it negotiates and accepts.

    Resolves once through ``policy`` and dials only that address. ``timeout`` bounds each
    connect and each handshake. Any failure to get one TLS handshake (policy, DNS, TCP,
    every version refused) is a TargetResult with status "error" and no assets.
    """
    label = target.label()
    sni = target.sni or (None if _is_ip(target.host) else target.host)
    if sni is not None and not is_hostname(sni):
        return TargetResult.failed(label, "tls", f"SNI {sni!r} is not a host name")
    try:
        address = policy.resolve(target.host, target.port)
    except (TargetNotAllowed, InvalidTarget) as exc:
        return TargetResult.failed(label, "tls", exc.message)
    except ResolutionError as exc:
        return TargetResult.failed(label, "tls", str(exc))
    endpoint = _Endpoint(address, target.port, sni, timeout)

    default_error = None
    try:
        default: _Handshake | None = _pyopenssl_handshake(endpoint, None)
    except _UnreachableError as exc:
        return TargetResult.failed(label, "tls", f"cannot connect to {label} ({address}): {exc}")
    except _RejectedError as exc:
        default, default_error = None, str(exc)

    versions: dict[str, VersionStatus] = {}
    accepted: dict[str, _Handshake] = {}
    for name in VERSIONS:
        versions[name], handshake = _probe_version(endpoint, name)
        if handshake is not None:
            accepted[name] = handshake
    # The default handshake may use a legacy-free client profile that the server refuses;
    # then the newest version it accepted stands in for "negotiated".
    negotiated = default or next((accepted[v] for v in reversed(VERSIONS) if v in accepted), None)
    if negotiated is None:
        return TargetResult.failed(
            label, "tls", f"TLS handshake failed on every version: {default_error}"
        )
    versions[negotiated.version] = "accepted"
    accepted.setdefault(negotiated.version, negotiated)

    assets = _assets(negotiated, accepted, location=label)
    assets.extend(certificate_assets(negotiated.chain, location=label, now=now))
    return TargetResult(
        target=label,
        type="tls",
        status="ok",
        assets=assets,
        details={
            "address": address,
            "sni": sni,
            "negotiated_version": negotiated.version,
            "cipher": negotiated.cipher,
            "group": negotiated.group,
            "versions": versions,
        },
    )


def _probe_version(endpoint: _Endpoint, name: str) -> tuple[VersionStatus, _Handshake | None]:
    attempt: Callable[[], _Handshake]
    if _pyopenssl_speaks(name):
        attempt = functools.partial(_pyopenssl_handshake, endpoint, name)
    elif _stdlib_speaks(name):
        attempt = functools.partial(_stdlib_handshake, endpoint, name)
    else:
        return "not_tested", None
    try:
        return "accepted", attempt()
    except _RejectedError:
        return "rejected", None
    except _NotTestableError:
        return "not_tested", None
    except _UnreachableError:
        # A refused connection or a silent server proves nothing about the version.
        return "not_tested", None


def _assets(
    negotiated: _Handshake, accepted: dict[str, _Handshake], *, location: str
) -> list[CryptoAsset]:
    assets = [
        CryptoAsset(
            kind="protocol",
            name=version,
            location=location,
            usage=Usage.PROTOCOL,
            algorithm=version,
            protocol=version,
            details={"negotiated": version == negotiated.version},
        )
        for version in VERSIONS
        if version in accepted
    ]
    # The negotiated cipher first, then one per other cipher an accepted version chose, so
    # RC4, 3DES or CBC suites that only old versions reach stay visible.
    seen: set[str] = set()
    for handshake in (negotiated, *(accepted[v] for v in reversed(VERSIONS) if v in accepted)):
        if handshake.cipher in seen:
            continue
        seen.add(handshake.cipher)
        assets.append(
            CryptoAsset(
                kind="cipher_suite",
                name=handshake.cipher,
                location=location,
                usage=Usage.ENCRYPTION,
                algorithm=handshake.cipher,
                protocol=handshake.version,
                details={
                    "bits": handshake.bits,
                    "forward_secrecy": _forward_secrecy(handshake),
                },
            )
        )
    assets.append(_key_exchange(negotiated, location=location))
    return assets


def _key_exchange(handshake: _Handshake, *, location: str) -> CryptoAsset:
    if handshake.group is not None:
        algorithm, family, key_size = describe_group(handshake.group)
    elif handshake.cipher.startswith(_DH_PREFIXES):
        algorithm, family, key_size = "DH", "DH", None
    elif handshake.cipher.startswith(_ECDH_PREFIXES):
        algorithm, family, key_size = "ECDH", "ECDH", None
    else:
        # No ephemeral exchange: the client encrypts the secret to the certificate's RSA key.
        leaf_key = handshake.chain[0].public_key() if handshake.chain else None
        size = leaf_key.key_size if isinstance(leaf_key, rsa.RSAPublicKey) else None
        algorithm, family, key_size = "RSA", "RSA", size
    return CryptoAsset(
        kind="key_exchange",
        name=algorithm,
        location=location,
        usage=Usage.KEY_ESTABLISHMENT,
        algorithm=algorithm,
        family=family,
        key_size=key_size,
        protocol=handshake.version,
        details={
            "group": handshake.group,
            "hybrid_pqc": family == "hybrid",
            # True whenever an ML-KEM share protects the secret, hybrid or alone.
            "pqc": family in ("hybrid", "ML-KEM"),
        },
    )


def describe_group(reported: str) -> tuple[str, str, int | None]:
    """(algorithm, family, key size) for a group name as OpenSSL reports it."""
    known = _GROUPS.get(reported.lower())
    if known is not None:
        return known
    upper = reported.upper()
    if "MLKEM" in upper or "KYBER" in upper:
        return reported, ("ML-KEM" if upper.startswith("MLKEM") else "hybrid"), None
    return reported, ("DH" if upper.startswith("FFDHE") else "ECDH"), None


def _forward_secrecy(handshake: _Handshake) -> bool:
    return handshake.version == "TLSv1.3" or handshake.cipher.startswith(_FS_PREFIXES)


# --- pyOpenSSL (bundled OpenSSL) -------------------------------------------------------


def _pyopenssl_handshake(endpoint: _Endpoint, version: str | None) -> _Handshake:
    """Handshake with client defaults (``version`` None) or pinned to one version."""
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    if version is not None:
        try:
            context.set_min_proto_version(_PYOPENSSL_VERSIONS[version])
            context.set_max_proto_version(_PYOPENSSL_VERSIONS[version])
            context.set_cipher_list(_EVERY_CIPHER.encode())
        except SSL.Error as exc:
            # OpenSSL builds without SSLv3 refuse the setting itself.
            raise _NotTestableError(version) from exc
    sock = _connect(endpoint)
    try:
        sock.setblocking(False)
        conn = SSL.Connection(context, sock)
        conn.set_connect_state()
        if endpoint.sni is not None:
            conn.set_tlsext_host_name(endpoint.sni.encode("idna"))
        try:
            _drive_handshake(conn, sock, time.monotonic() + endpoint.timeout)
        except SSL.Error as exc:
            raise _RejectedError(_ssl_message(exc)) from exc
        except TimeoutError as exc:
            raise _UnreachableError("TLS handshake timed out") from exc
        except OSError as exc:
            raise _RejectedError(exc.strerror or str(exc)) from exc
        chain = _parse_chain(c.to_cryptography for c in conn.get_peer_cert_chain() or [])
        handshake = _Handshake(
            version=_normalize_version(conn.get_protocol_version_name()),
            cipher=conn.get_cipher_name() or "unknown",
            bits=conn.get_cipher_bits(),
            group=conn.get_group_name(),
            chain=chain,
        )
        with contextlib.suppress(SSL.Error, OSError):
            conn.shutdown()  # a close_notify keeps server logs quiet; no need to wait
        return handshake
    finally:
        sock.close()


def _drive_handshake(conn: SSL.Connection, sock: socket.socket, deadline: float) -> None:
    with selectors.DefaultSelector() as selector:
        while True:
            try:
                conn.do_handshake()
                return
            except SSL.WantReadError:
                events = selectors.EVENT_READ
            except SSL.WantWriteError:
                events = selectors.EVENT_WRITE
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            selector.register(sock, events)
            ready = selector.select(remaining)
            selector.unregister(sock)
            if not ready:
                raise TimeoutError


@functools.cache
def _pyopenssl_speaks(version: str) -> bool:
    """Whether the bundled OpenSSL completes a handshake at ``version`` with itself, in memory.

    Builds may compile out SSLv3 or refuse TLS 1.0/1.1 outright; asking the library is the
    only way to tell "cannot test" from "server rejected".
    """
    number = _PYOPENSSL_VERSIONS[version]
    cert, key = _self_test_identity()
    try:
        server_ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
        # pyOpenSSL takes cryptography objects; the obsolete types-pyOpenSSL 24.1 stubs say not.
        server_ctx.use_certificate(cast(Any, cert))
        server_ctx.use_privatekey(cast(Any, key))
        client_ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        for ctx in (server_ctx, client_ctx):
            ctx.set_min_proto_version(number)
            ctx.set_max_proto_version(number)
            ctx.set_cipher_list(_EVERY_CIPHER.encode())
        server = SSL.Connection(server_ctx, None)
        server.set_accept_state()
        client = SSL.Connection(client_ctx, None)
        client.set_connect_state()
        for _round in range(8):
            for a, b in ((client, server), (server, client)):
                with contextlib.suppress(SSL.WantReadError):
                    a.do_handshake()
                with contextlib.suppress(SSL.WantReadError):
                    b.bio_write(a.bio_read(1 << 16))
        return client.get_protocol_version_name() == server.get_protocol_version_name() and (
            _normalize_version(client.get_protocol_version_name()) == version
        )
    except SSL.Error:
        return False


@functools.cache
def _self_test_identity() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    # RSA works with every version's cipher suites; EC suites do not exist in SSLv3.
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "qrap-self-test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _ssl_message(exc: SSL.Error) -> str:
    if isinstance(exc, SSL.SysCallError):
        return "connection closed during the handshake"
    queue = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
    reasons = [str(err[2]) for err in queue if isinstance(err, tuple) and len(err) > 2]
    return "; ".join(reasons) or "TLS handshake failed"


# --- Python ssl (system OpenSSL), only for versions pyOpenSSL cannot speak ----------------


def _stdlib_speaks(version: str) -> bool:
    return _STDLIB_VERSIONS[version][0]


def _stdlib_handshake(endpoint: _Endpoint, version: str) -> _Handshake:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        # Pinning a deprecated version is the point of this probe.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = _STDLIB_VERSIONS[version][1]
        context.maximum_version = _STDLIB_VERSIONS[version][1]
    with contextlib.suppress(ssl.SSLError):
        context.set_ciphers(_EVERY_CIPHER)
    sock = _connect(endpoint)
    try:
        try:
            tls = context.wrap_socket(sock, server_hostname=endpoint.sni)
        except TimeoutError as exc:
            raise _UnreachableError("TLS handshake timed out") from exc
        except OSError as exc:
            raise _RejectedError(str(exc)) from exc
        with tls:
            name, _proto, bits = tls.cipher() or ("unknown", "", None)
            der = tls.getpeercert(binary_form=True)
            # Python 3.11 exposes only the leaf, not the chain.
            chain = _parse_chain(
                [functools.partial(x509.load_der_x509_certificate, der)] if der else []
            )
            return _Handshake(
                version=_normalize_version(tls.version() or version),
                cipher=name,
                bits=bits,
                group=None,
                chain=chain,
            )
    finally:
        sock.close()


# --- shared ----------------------------------------------------------------------------


def _connect(endpoint: _Endpoint) -> socket.socket:
    family = socket.AF_INET6 if ":" in endpoint.address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(endpoint.timeout)
    try:
        sock.connect((endpoint.address, endpoint.port))
    except TimeoutError as exc:
        sock.close()
        raise _UnreachableError("connection timed out") from exc
    except OSError as exc:
        sock.close()
        raise _UnreachableError(exc.strerror or str(exc)) from exc
    return sock


def _parse_chain(loaders: Iterable[Callable[[], x509.Certificate]]) -> list[x509.Certificate]:
    """Parse what the server sent, skipping certificates cryptography cannot read.

    OpenSSL accepts encodings that cryptography rejects (negative serials, bad times); one
    odd certificate must not cost the whole probe.
    """
    chain = []
    for load in loaders:
        with contextlib.suppress(ValueError):
            chain.append(load())
    return chain


def _normalize_version(name: str) -> str:
    return "TLSv1.0" if name == "TLSv1" else name


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
