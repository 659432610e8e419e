"""The TLS probe against real servers on 127.0.0.1 (system OpenSSL, bundled OpenSSL, Python ssl)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest

from qrap_core.assessment.targets import TlsTarget
from qrap_core.discovery import tls
from qrap_core.discovery.types import CryptoAsset, TargetResult
from qrap_core.enums import Usage
from qrap_core.netpolicy import NetworkPolicy
from tests.servers import plain_tcp_server

pytestmark = pytest.mark.network

NOW = datetime(2027, 1, 1, tzinfo=UTC)
LOOPBACK = NetworkPolicy(["127.0.0.0/8"])


def run(
    port: int,
    *,
    host: str = "127.0.0.1",
    sni: str | None = None,
    policy: NetworkPolicy = LOOPBACK,
    timeout: float = 3.0,
) -> TargetResult:
    return tls.probe(
        TlsTarget(host=host, port=port, sni=sni), policy=policy, timeout=timeout, now=NOW
    )


def of_kind(result: TargetResult, kind: str) -> list[CryptoAsset]:
    return [a for a in result.assets if a.kind == kind]


def only(assets: Sequence[CryptoAsset]) -> CryptoAsset:
    assert len(assets) == 1, assets
    return assets[0]


def sslv3_expected() -> str:
    return "rejected" if tls._pyopenssl_speaks("SSLv3") or ssl.HAS_SSLv3 else "not_tested"


@pytest.fixture
def closed_port() -> Iterator[int]:
    # Bound but not listening: connecting is refused, and no other test can take the port.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


class TestModernServer:
    def test_reports_negotiated_tls13_and_accepted_versions(self, rsa2048_server: int) -> None:
        result = run(rsa2048_server)

        assert result.status == "ok", result.error
        assert result.target == f"127.0.0.1:{rsa2048_server}"
        assert result.type == "tls"
        assert result.details["address"] == "127.0.0.1"
        assert result.details["sni"] is None
        assert result.details["negotiated_version"] == "TLSv1.3"
        assert result.details["versions"] == {
            "SSLv3": sslv3_expected(),
            "TLSv1.0": "rejected",
            "TLSv1.1": "rejected",
            "TLSv1.2": "accepted",
            "TLSv1.3": "accepted",
        }
        protocols = {a.name: a.details["negotiated"] for a in of_kind(result, "protocol")}
        assert protocols == {"TLSv1.2": False, "TLSv1.3": True}
        assert all(a.location == result.target for a in result.assets)

    def test_negotiated_cipher_comes_first(self, rsa2048_server: int) -> None:
        result = run(rsa2048_server)

        first = of_kind(result, "cipher_suite")[0]
        assert first.name == result.details["cipher"]
        assert first.protocol == "TLSv1.3"
        assert first.usage is Usage.ENCRYPTION
        assert first.details["forward_secrecy"] is True
        assert first.details["bits"] in (128, 256)
        assert set(first.details) == {"bits", "forward_secrecy"}

    def test_classical_key_exchange(self, rsa2048_server: int) -> None:
        kex = only(of_kind(run(rsa2048_server), "key_exchange"))

        assert kex.algorithm == "X25519"
        assert kex.family == "ECDH"
        assert kex.key_size == 256
        assert kex.usage is Usage.KEY_ESTABLISHMENT
        assert kex.details == {"group": "x25519", "hybrid_pqc": False, "pqc": False}

    def test_rsa_certificate(self, rsa2048_server: int) -> None:
        cert = only(of_kind(run(rsa2048_server), "certificate"))

        assert (cert.algorithm, cert.family, cert.key_size) == ("RSA", "RSA", 2048)
        assert cert.name == "CN=rsa2048.example.test,O=QRAP examples"
        assert cert.details["chain_index"] == 0

    def test_ecdsa_certificate(self, ecdsa_server: int) -> None:
        cert = only(of_kind(run(ecdsa_server), "certificate"))

        assert (cert.algorithm, cert.family, cert.key_size) == ("ECDSA", "EC", 256)
        assert cert.details["curve"] == "secp256r1"


class TestWeakServers:
    def test_rsa1024_certificate_is_reported_not_refused(self, rsa1024_server: int) -> None:
        result = run(rsa1024_server)

        assert result.status == "ok", result.error
        assert only(of_kind(result, "certificate")).key_size == 1024

    def test_expired_certificate_is_reported_not_refused(self, expired_server: int) -> None:
        result = run(expired_server)

        assert result.status == "ok", result.error
        cert = only(of_kind(result, "certificate"))
        assert cert.details["days_to_expiry"] < 0

    def test_legacy_only_server_shows_deprecated_versions(self, legacy_server: int) -> None:
        result = run(legacy_server)

        assert result.status == "ok", result.error
        versions = result.details["versions"]
        assert versions["TLSv1.0"] == versions["TLSv1.1"] == "accepted"
        assert versions["TLSv1.2"] == versions["TLSv1.3"] == "rejected"
        assert result.details["negotiated_version"] == "TLSv1.1"
        protocols = {a.name: a.details["negotiated"] for a in of_kind(result, "protocol")}
        assert protocols == {"TLSv1.0": False, "TLSv1.1": True}
        assert {a.protocol for a in of_kind(result, "cipher_suite")} <= {"TLSv1.0", "TLSv1.1"}
        assert only(of_kind(result, "key_exchange")).protocol == "TLSv1.1"

    def test_static_rsa_key_transport(self, static_rsa_server: int) -> None:
        result = run(static_rsa_server)

        assert result.status == "ok", result.error
        cipher = of_kind(result, "cipher_suite")[0]
        assert cipher.name == "AES128-SHA"
        assert cipher.details == {"bits": 128, "forward_secrecy": False}
        kex = only(of_kind(result, "key_exchange"))
        assert (kex.algorithm, kex.family, kex.key_size) == ("RSA", "RSA", 2048)
        assert kex.details == {"group": None, "hybrid_pqc": False, "pqc": False}


class TestLegacyFallback:
    def test_stdlib_ssl_probes_versions_pyopenssl_cannot(
        self, legacy_server: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(tls, "_pyopenssl_speaks", lambda version: version == "TLSv1.3")

        result = run(legacy_server)

        assert result.status == "ok", result.error
        assert result.details["versions"]["TLSv1.0"] == "accepted"
        assert result.details["versions"]["TLSv1.1"] == "accepted"
        assert result.details["negotiated_version"] == "TLSv1.1"
        # Python 3.11's ssl shows the leaf only, which is still the certificate.
        assert only(of_kind(result, "certificate")).key_size == 2048

    def test_version_no_library_speaks_is_not_tested(
        self, legacy_server: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sslv3 = sslv3_expected()
        monkeypatch.setattr(tls, "_pyopenssl_speaks", lambda version: version != "TLSv1.0")
        monkeypatch.setattr(tls, "_stdlib_speaks", lambda version: version != "TLSv1.0")

        result = run(legacy_server)

        assert result.details["versions"]["TLSv1.0"] == "not_tested"
        # Asked to try SSLv3, a bundled OpenSSL built without it refuses the setting itself.
        assert result.details["versions"]["SSLv3"] == sslv3
        assert "TLSv1.0" not in {a.name for a in of_kind(result, "protocol")}

    def test_bundled_openssl_speaks_tls10_and_tls11(self) -> None:
        assert tls._pyopenssl_speaks("TLSv1.0")
        assert tls._pyopenssl_speaks("TLSv1.1")


class TestHybridGroup:
    def test_reports_x25519mlkem768(self, hybrid_server: int) -> None:
        result = run(hybrid_server, sni="localhost")

        assert result.status == "ok", result.error
        assert result.details["group"] == "X25519MLKEM768"
        kex = only(of_kind(result, "key_exchange"))
        assert (kex.algorithm, kex.family, kex.protocol) == ("X25519MLKEM768", "hybrid", "TLSv1.3")
        assert kex.details == {"group": "X25519MLKEM768", "hybrid_pqc": True, "pqc": True}


class TestDemoServer:
    def test_python_ssl_server(self, demo_server: int) -> None:
        result = run(demo_server)

        assert result.status == "ok", result.error
        assert result.details["negotiated_version"] == "TLSv1.3"
        cert = only(of_kind(result, "certificate"))
        assert cert.details["subject_alt_names"] == ["localhost", "localhost", "127.0.0.1"]

    def test_survives_aborted_handshakes(self, demo_server: int) -> None:
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", demo_server), timeout=2) as sock:
                sock.sendall(b"\x16\x03\x01\x00\x05junk")

        assert run(demo_server).status == "ok"


class TestChainAndSni:
    def test_chain_in_server_order(self, chain_server: int) -> None:
        certs = of_kind(run(chain_server), "certificate")

        assert [c.details["chain_index"] for c in certs] == [0, 1]
        assert [c.details["is_ca"] for c in certs] == [False, True]
        assert certs[0].details["issuer"] == certs[1].details["subject"]

    def test_sni_selects_the_certificate(self, sni_server: int) -> None:
        with_sni = run(sni_server, sni="localhost")
        without = run(sni_server)

        assert with_sni.details["sni"] == "localhost"
        assert only(of_kind(with_sni, "certificate")).algorithm == "ECDSA"
        assert only(of_kind(without, "certificate")).algorithm == "RSA"

    def test_dials_the_vetted_address_with_the_name_as_sni(self, sni_server: int) -> None:
        lookups: list[str] = []

        def resolver(host: str, port: int) -> list[str]:
            lookups.append(host)
            return ["127.0.0.1"]

        policy = NetworkPolicy(["127.0.0.0/8"], resolver=resolver)
        result = run(sni_server, host="localhost", policy=policy)

        assert lookups == ["localhost"]
        assert result.details["address"] == "127.0.0.1"
        assert result.details["sni"] == "localhost"
        assert only(of_kind(result, "certificate")).algorithm == "ECDSA"


class TestFailures:
    def test_closed_port(self, closed_port: int) -> None:
        result = run(closed_port)

        assert result.status == "error"
        assert result.assets == []
        assert result.error is not None
        assert "cannot connect" in result.error
        assert "\n" not in result.error

    def test_policy_rejection_makes_no_connection(self) -> None:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            listener.setblocking(False)

            result = run(listener.getsockname()[1], policy=NetworkPolicy())

            assert result.status == "error"
            assert result.assets == []
            assert result.error is not None
            assert "loopback" in result.error
            with pytest.raises(BlockingIOError):
                listener.accept()

    def test_server_that_never_answers_times_out(self) -> None:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)  # the kernel completes TCP; nobody ever reads

            result = run(listener.getsockname()[1], timeout=0.3)

        assert result.status == "error"
        assert result.error is not None
        assert "timed out" in result.error
        assert result.assets == []

    def test_port_that_does_not_speak_tls(self) -> None:
        with plain_tcp_server(b"HTTP/1.0 400 Bad Request\r\n\r\n") as port:
            result = run(port)

        assert result.status == "error"
        assert result.error is not None
        assert result.error.startswith("TLS handshake failed on every version")
        assert result.assets == []

    def test_invalid_sni_is_an_error(self, rsa2048_server: int) -> None:
        result = run(rsa2048_server, sni="bad name!")

        assert result.status == "error"
        assert result.assets == []
