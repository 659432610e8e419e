"""Real TLS servers on 127.0.0.1, one per module, for the TLS probe tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from qrap_cli.demo_server import serve_tls
from tests.servers import (
    CERTS,
    DH1024_PARAMS,
    cert_pair,
    make_identity,
    openssl_server,
    pyopenssl_server,
)

MODERN_ONLY = ["-no_ssl3", "-no_tls1", "-no_tls1_1"]
LEGACY_ONLY = ["-no_tls1_2", "-no_tls1_3", "-cipher", "DEFAULT@SECLEVEL=0"]


@pytest.fixture(scope="module")
def rsa2048_server() -> Iterator[int]:
    with openssl_server(*cert_pair("rsa2048"), MODERN_ONLY) as port:
        yield port


@pytest.fixture(scope="module")
def ecdsa_server() -> Iterator[int]:
    with openssl_server(*cert_pair("ecdsa-p256"), MODERN_ONLY) as port:
        yield port


@pytest.fixture(scope="module")
def rsa1024_server() -> Iterator[int]:
    # The system OpenSSL refuses to serve a 1024-bit key above security level 0.
    with openssl_server(*cert_pair("rsa1024"), ["-cipher", "DEFAULT@SECLEVEL=0"]) as port:
        yield port


@pytest.fixture(scope="module")
def expired_server() -> Iterator[int]:
    with openssl_server(*cert_pair("expired-rsa2048"), MODERN_ONLY) as port:
        yield port


@pytest.fixture(scope="module")
def legacy_server() -> Iterator[int]:
    """Speaks TLS 1.0 and 1.1 only."""
    with openssl_server(*cert_pair("rsa2048"), LEGACY_ONLY) as port:
        yield port


@pytest.fixture(scope="module")
def static_rsa_server() -> Iterator[int]:
    """TLS 1.2 with RSA key transport only: no forward secrecy, no group."""
    with openssl_server(*cert_pair("rsa2048"), ["-no_tls1_3", "-cipher", "AES128-SHA"]) as port:
        yield port


@pytest.fixture(scope="module")
def sni_server() -> Iterator[int]:
    """Presents the ECDSA certificate to clients that send SNI ``localhost``, RSA otherwise."""
    cert2, key2 = cert_pair("ecdsa-p256")
    extra = ["-servername", "localhost", "-cert2", str(cert2), "-key2", str(key2)]
    with openssl_server(*cert_pair("rsa2048"), extra) as port:
        yield port


@pytest.fixture(scope="module")
def chain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    leaf, intermediate = _split_pem(CERTS / "chain.pem")
    folder = tmp_path_factory.mktemp("chain")
    (folder / "leaf.pem").write_bytes(leaf)
    (folder / "intermediate.pem").write_bytes(intermediate)
    extra = ["-cert_chain", str(folder / "intermediate.pem")]
    with openssl_server(folder / "leaf.pem", CERTS / "chain-leaf.key", extra) as port:
        yield port


@pytest.fixture(scope="module")
def ed25519_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """An Ed25519 certificate, made here: the examples ship no Ed25519 key."""
    cert, key = make_identity(tmp_path_factory.mktemp("ed25519"), Ed25519PrivateKey.generate())
    with openssl_server(cert, key, MODERN_ONLY) as port:
        yield port


@pytest.fixture(scope="module")
def x25519_only_server() -> Iterator[int]:
    """TLS 1.3 only, one key-exchange group: the group probe must find exactly that one."""
    extra = ["-no_tls1_2", "-groups", "X25519"]
    with openssl_server(*cert_pair("ecdsa-p256"), MODERN_ONLY + extra) as port:
        yield port


@pytest.fixture(scope="module")
def hybrid_server() -> Iterator[int]:
    """pyOpenSSL on its bundled OpenSSL, which prefers X25519MLKEM768 in TLS 1.3."""
    with pyopenssl_server(*cert_pair("tls-server")) as port:
        yield port


@pytest.fixture(scope="module")
def system_default_server() -> Iterator[int]:
    """No version options: the system OpenSSL answers TLS 1.0 and 1.1 with internal_error."""
    with openssl_server(*cert_pair("rsa2048")) as port:
        yield port


@pytest.fixture(scope="module")
def dh1024_params(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dh") / "dh1024.pem"
    path.write_bytes(DH1024_PARAMS)
    return path


@pytest.fixture(scope="module")
def dhe1024_server(dh1024_params: Path) -> Iterator[int]:
    """TLS 1.2 with an ECDHE and a DHE suite, the DHE one on a 1024-bit group."""
    suites = "ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"
    extra = ["-no_tls1_3", "-dhparam", str(dh1024_params), "-cipher", suites]
    with openssl_server(*cert_pair("rsa2048"), extra) as port:
        yield port


@pytest.fixture(scope="module")
def dhe1024_only_server(dh1024_params: Path) -> Iterator[int]:
    """TLS 1.2 with one DHE suite on a 1024-bit group: every client negotiates it."""
    suites = "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"
    extra = ["-no_tls1_3", "-dhparam", str(dh1024_params), "-cipher", suites]
    with openssl_server(*cert_pair("rsa2048"), extra) as port:
        yield port


@pytest.fixture(scope="module")
def dhe2048_server() -> Iterator[int]:
    """TLS 1.2 with one DHE suite on OpenSSL's automatic group (2048 bits for RSA-2048)."""
    extra = ["-no_tls1_3", "-cipher", "DHE-RSA-AES128-GCM-SHA256"]
    with openssl_server(*cert_pair("rsa2048"), extra) as port:
        yield port


@pytest.fixture(scope="module")
def demo_server() -> Iterator[int]:
    with serve_tls(*cert_pair("tls-server")) as port:
        yield port


def _split_pem(path: Path) -> list[bytes]:
    end = b"-----END CERTIFICATE-----\n"
    return [block + end for block in path.read_bytes().split(end) if block.strip()]
