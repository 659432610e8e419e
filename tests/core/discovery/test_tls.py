"""The TLS probe against real servers on 127.0.0.1: Debian's OpenSSL 3.0 ``s_server`` (classical
groups only), pyOpenSSL on the OpenSSL bundled with ``cryptography`` (hybrid X25519MLKEM768),
and Python's ``ssl``."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from qrap_core.discovery import tls
from qrap_core.discovery.targets import TlsTarget
from qrap_core.discovery.types import CryptoAsset, TargetResult
from qrap_core.enums import FindingCategory, RiskLevel, Usage
from qrap_core.netpolicy import NetworkPolicy
from qrap_core.rules.engine import RuleContext, evaluate
from tests.servers import plain_tcp_server

pytestmark = pytest.mark.network

T = TypeVar("T")
NOW = datetime(2027, 1, 1, tzinfo=UTC)
LOOPBACK = NetworkPolicy(["127.0.0.0/8"])
PQ_GROUPS = (
    "X25519MLKEM768",
    "SecP256r1MLKEM768",
    "SecP384r1MLKEM1024",
    "MLKEM512",
    "MLKEM768",
    "MLKEM1024",
    "X25519Kyber768Draft00",
)


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


def only(items: Sequence[T]) -> T:
    assert len(items) == 1, items
    return items[0]


def negotiated_kex(result: TargetResult) -> CryptoAsset:
    return only([a for a in of_kind(result, "key_exchange") if a.details["negotiated"]])


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
        # Raw hellos test every version, SSLv3 included, whatever our OpenSSL can speak.
        assert result.details["versions"] == {
            "SSLv3": "rejected",
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
        assert first.details["aead"] is True
        assert first.details["negotiated"] is True
        assert first.details["bits"] in (128, 256)

    def test_enumerates_suites_per_version(self, rsa2048_server: int) -> None:
        suites = run(rsa2048_server).details["cipher_suites"]

        # OpenSSL 3.0's TLS 1.3 defaults, in any order.
        assert set(suites["TLSv1.3"]) == {
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_GCM_SHA256",
        }
        tls12 = set(suites["TLSv1.2"])
        assert "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" in tls12
        assert "TLS_RSA_WITH_AES_128_CBC_SHA" in tls12  # OpenSSL 3.0 still offers it
        # An RSA certificate cannot serve ECDSA suites; the default level excludes 3DES.
        assert not any("ECDSA" in s or "3DES" in s for s in tls12)

    def test_suite_classification(self, rsa2048_server: int) -> None:
        by_name = {a.name: a for a in of_kind(run(rsa2048_server), "cipher_suite")}

        cbc = by_name["TLS_RSA_WITH_AES_128_CBC_SHA"].details
        assert (cbc["forward_secrecy"], cbc["aead"]) == (False, False)
        assert cbc["weaknesses"] == ["cbc-sha1"]
        gcm = by_name["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"].details
        assert (gcm["forward_secrecy"], gcm["aead"], gcm["weaknesses"]) == (True, True, [])

    def test_classical_key_exchange_and_verdict(self, rsa2048_server: int) -> None:
        result = run(rsa2048_server)

        kex = negotiated_kex(result)
        assert (kex.algorithm, kex.family, kex.key_size) == ("X25519", "ECDH", 256)
        assert kex.usage is Usage.KEY_ESTABLISHMENT
        assert kex.details == {
            "group": "x25519",
            "hybrid_pqc": False,
            "pqc": False,
            "negotiated": True,
            "endpoint_verdict": "classical-only",
            "endpoint_representative": True,  # every client lands on classical
            "fallback": False,
        }
        # Its TLS 1.2 DHE suites use OpenSSL's automatic 2048-bit group.
        dh = only([a for a in of_kind(result, "key_exchange") if a is not kex])
        assert (dh.algorithm, dh.key_size, dh.protocol) == ("DH", 2048, "TLSv1.2")
        assert dh.details["endpoint_representative"] is False
        groups = result.details["groups"]
        assert all(groups[g] == "rejected" for g in PQ_GROUPS)
        for classical in ("x25519", "secp256r1", "secp384r1", "secp521r1", "x448", "ffdhe2048"):
            assert groups[classical] == "accepted"
        verdict = result.details["key_exchange"]
        assert verdict["verdict"] == "classical-only"
        assert verdict["pq_groups"] == []
        assert verdict["not_tested_groups"] == []

    def test_rsa_certificate(self, rsa2048_server: int) -> None:
        cert = only(of_kind(run(rsa2048_server), "certificate"))

        assert (cert.algorithm, cert.family, cert.key_size) == ("RSA", "RSA", 2048)
        assert cert.name == "CN=rsa2048.example.test,O=QRAP examples"
        assert cert.details["chain_index"] == 0

    def test_ecdsa_certificate(self, ecdsa_server: int) -> None:
        result = run(ecdsa_server)
        cert = only(of_kind(result, "certificate"))

        assert (cert.algorithm, cert.family, cert.key_size) == ("ECDSA", "EC", 256)
        assert cert.details["curve"] == "secp256r1"
        assert any("ECDSA" in s for s in result.details["cipher_suites"]["TLSv1.2"])

    def test_ed25519_certificate(self, ed25519_server: int) -> None:
        cert = only(of_kind(run(ed25519_server), "certificate"))

        assert (cert.algorithm, cert.family) == ("Ed25519", "EdDSA")
        assert cert.details["subject"] == "CN=localhost"

    def test_one_group_server(self, x25519_only_server: int) -> None:
        result = run(x25519_only_server)

        groups = result.details["groups"]
        assert [g for g, s in groups.items() if s == "accepted"] == ["x25519"]
        assert all(s == "rejected" for g, s in groups.items() if g != "x25519")
        assert result.details["versions"]["TLSv1.2"] == "rejected"


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
        assert versions["TLSv1.2"] == versions["TLSv1.3"] == versions["SSLv3"] == "rejected"
        assert result.details["negotiated_version"] == "TLSv1.1"
        protocols = {a.name: a.details["negotiated"] for a in of_kind(result, "protocol")}
        assert protocols == {"TLSv1.0": False, "TLSv1.1": True}
        assert {a.protocol for a in of_kind(result, "cipher_suite")} <= {"TLSv1.0", "TLSv1.1"}
        assert negotiated_kex(result).protocol == "TLSv1.1"
        # The bundled OpenSSL refuses TLS 1.1, so the chain came from the raw handshake.
        assert only(of_kind(result, "certificate")).key_size == 2048

    def test_legacy_server_groups_and_dh_size(self, legacy_server: int) -> None:
        result = run(legacy_server)

        groups = result.details["groups"]
        # No TLS 1.3, so no PQ group is possible: refused, not "not tested".
        assert all(groups[g] == "rejected" for g in PQ_GROUPS)
        assert groups["x25519"] == "accepted"  # via a TLS 1.1 ECDHE hello naming only it
        assert groups["ffdhe2048"] == "not_tested"
        assert result.details["key_exchange"]["verdict"] == "classical-only"
        dhe = [a for a in of_kind(result, "cipher_suite") if "_DHE_" in a.name]
        assert dhe
        assert all(a.details["dh_bits"] == 2048 for a in dhe)
        assert all(a.details["forward_secrecy"] for a in dhe)

    def test_static_rsa_key_transport(self, static_rsa_server: int) -> None:
        result = run(static_rsa_server)

        assert result.status == "ok", result.error
        cipher = of_kind(result, "cipher_suite")[0]
        assert cipher.name == "TLS_RSA_WITH_AES_128_CBC_SHA"
        assert cipher.details["bits"] == 128
        assert cipher.details["forward_secrecy"] is False
        kex = negotiated_kex(result)
        assert (kex.algorithm, kex.family, kex.key_size) == ("RSA", "RSA", 2048)
        assert kex.details["group"] is None


class TestVersionRefusals:
    def test_internal_error_is_a_refusal(self, system_default_server: int) -> None:
        # OpenSSL 3 answers TLS 1.0 and 1.1 hellos with internal_error at its default level.
        result = run(system_default_server)

        assert result.details["versions"] == {
            "SSLv3": "rejected",
            "TLSv1.0": "rejected",
            "TLSv1.1": "rejected",
            "TLSv1.2": "accepted",
            "TLSv1.3": "accepted",
        }
        assert not any(n.startswith("version") for n in result.details.get("notes", {}))

    def test_warning_alert_is_not_a_refusal(self, sni_server: int) -> None:
        # An unknown name gets a warning unrecognized_name before the ServerHello (RFC 6066).
        result = run(sni_server, sni="other.example")

        versions = result.details["versions"]
        assert versions["TLSv1.2"] == versions["TLSv1.3"] == "accepted"
        assert versions["TLSv1.0"] == versions["TLSv1.1"] == "rejected"
        assert only(of_kind(result, "certificate")).algorithm == "RSA"


class TestDheGroups:
    def test_weak_dhe_group_beside_ecdhe_gets_a_weak_key_finding(self, dhe1024_server: int) -> None:
        result = run(dhe1024_server)

        assert negotiated_kex(result).algorithm == "X25519"
        dh = only([a for a in of_kind(result, "key_exchange") if a.family == "DH"])
        assert (dh.algorithm, dh.key_size, dh.protocol) == ("DH", 1024, "TLSv1.2")
        assert dh.details["cipher_suites"] == ["TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"]
        assert dh.details["negotiated"] is False
        findings = evaluate(result.assets, RuleContext(now=NOW))
        weak = only([f for f in findings if f.rule_id == "QRAP-KEY-001"])
        assert (weak.current_algorithm, weak.risk_level) == ("DH", RiskLevel.HIGH)
        assert weak.evidence["key_size"] == 1024
        # The endpoint's quantum exposure is judged once, on what a client negotiates.
        assert [f.current_algorithm for f in findings if f.rule_id == "QRAP-PQC-001"] == ["X25519"]

    def test_negotiated_weak_dhe_carries_its_size(self, dhe1024_only_server: int) -> None:
        result = run(dhe1024_only_server)

        kex = only(of_kind(result, "key_exchange"))
        assert (kex.algorithm, kex.key_size, kex.details["negotiated"]) == ("DH", 1024, True)
        rules = {f.rule_id for f in evaluate(result.assets, RuleContext(now=NOW))}
        assert {"QRAP-KEY-001", "QRAP-PQC-001", "QRAP-HNDL-001"} <= rules

    def test_2048_bit_dhe_is_no_weak_key(self, dhe2048_server: int) -> None:
        result = run(dhe2048_server)

        kex = only(of_kind(result, "key_exchange"))
        assert (kex.algorithm, kex.key_size, kex.details["negotiated"]) == ("DH", 2048, True)
        suite = only(of_kind(result, "cipher_suite"))
        assert suite.details["dh_bits"] == 2048
        findings = evaluate(result.assets, RuleContext(now=NOW))
        assert not [f for f in findings if f.category is FindingCategory.SHORT_KEY_LENGTH]


class TestHybridGroup:
    def test_reports_x25519mlkem768(self, hybrid_server: int) -> None:
        result = run(hybrid_server, sni="localhost")

        assert result.status == "ok", result.error
        assert result.details["group"] == "X25519MLKEM768"
        kex = negotiated_kex(result)
        assert (kex.algorithm, kex.family, kex.protocol) == ("X25519MLKEM768", "hybrid", "TLSv1.3")
        assert kex.details["hybrid_pqc"] is True
        assert kex.details["pqc"] is True

    def test_each_group_probed_alone(self, hybrid_server: int) -> None:
        result = run(hybrid_server, sni="localhost")

        groups = result.details["groups"]
        assert groups["X25519MLKEM768"] == "accepted"
        assert groups["X25519Kyber768Draft00"] == "rejected"
        assert groups["x25519"] == "accepted"
        verdict = result.details["key_exchange"]
        assert verdict["verdict"] == "hybrid-pq"
        assert verdict["classical_fallback"] is True
        assert "X25519MLKEM768" in verdict["pq_groups"]

    def test_classical_fallback_is_an_asset(self, hybrid_server: int) -> None:
        result = run(hybrid_server, sni="localhost")

        fallback = [a for a in of_kind(result, "key_exchange") if a.details.get("fallback")]
        assert [a.algorithm for a in fallback] == ["X25519"]
        assert fallback[0].details["negotiated"] is False

    def test_one_legacy_client_fallback_finding_and_no_hndl(self, hybrid_server: int) -> None:
        result = run(hybrid_server, sni="localhost")
        findings = evaluate(result.assets, RuleContext(now=NOW))

        quantum = [f for f in findings if f.rule_id in ("QRAP-PQC-001", "QRAP-HNDL-001")]
        fallback = only(quantum)
        assert (fallback.rule_id, fallback.risk_level) == ("QRAP-PQC-001", RiskLevel.MEDIUM)
        assert fallback.title.startswith("Legacy-client fallback")
        assert fallback.evidence["legacy_client_fallback"] is True
        assert fallback.evidence["endpoint_verdict"] == "hybrid-pq"
        assert not [f for f in findings if f.category is FindingCategory.HARVEST_NOW_DECRYPT_LATER]

    def test_classical_only_endpoint_keeps_its_high_hndl(self, rsa2048_server: int) -> None:
        findings = evaluate(run(rsa2048_server).assets, RuleContext(now=NOW))

        hndl = only([f for f in findings if f.rule_id == "QRAP-HNDL-001"])
        assert (hndl.current_algorithm, hndl.risk_level) == ("X25519", RiskLevel.HIGH)
        pqc = only([f for f in findings if f.rule_id == "QRAP-PQC-001"])
        assert pqc.risk_level is RiskLevel.HIGH

    def test_system_openssl_negotiates_classical_with_it(self, hybrid_server: int) -> None:
        # The raw hello tells the same story as the library: the server names the group.
        result = run(hybrid_server, sni="localhost")
        assert result.details["versions"]["TLSv1.3"] == "accepted"
        assert set(result.details["cipher_suites"]["TLSv1.3"]) >= {"TLS_AES_256_GCM_SHA384"}


class TestVerdict:
    def statuses(self, **accepted: tls.Status) -> dict[str, tls.Status]:
        groups: dict[str, tls.Status] = dict.fromkeys(PQ_GROUPS, "rejected")
        groups.update({"curveSM2MLKEM768": "rejected", "x25519": "rejected"})
        groups.update(accepted)
        return groups

    def test_pq_only(self) -> None:
        verdict = tls.key_exchange_verdict(
            self.statuses(MLKEM768="accepted"), {"TLSv1.3": "accepted"}
        )
        assert verdict["verdict"] == "pq-only"

    def test_hybrid_without_fallback(self) -> None:
        verdict = tls.key_exchange_verdict(
            self.statuses(X25519MLKEM768="accepted"), {"TLSv1.3": "accepted"}
        )
        assert (verdict["verdict"], verdict["classical_fallback"]) == ("hybrid-pq", False)

    def test_tls12_is_a_classical_fallback(self) -> None:
        verdict = tls.key_exchange_verdict(
            self.statuses(X25519MLKEM768="accepted"),
            {"TLSv1.2": "accepted", "TLSv1.3": "accepted"},
        )
        assert (verdict["verdict"], verdict["classical_fallback"]) == ("hybrid-pq", True)

    def test_legacy_draft(self) -> None:
        verdict = tls.key_exchange_verdict(
            self.statuses(X25519Kyber768Draft00="accepted", x25519="accepted"),
            {"TLSv1.3": "accepted"},
        )
        assert verdict["verdict"] == "legacy-pq-draft"

    def test_untested_pq_group_is_never_classical_only(self) -> None:
        verdict = tls.key_exchange_verdict(
            self.statuses(MLKEM1024="not_tested", x25519="accepted"), {"TLSv1.3": "accepted"}
        )
        assert verdict["verdict"] == "not-tested"
        assert "MLKEM1024" in verdict["not_tested_groups"]


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
        # Raw hellos carry the name too: the ECDSA identity answers them.
        assert any("ECDSA" in s for s in result.details["cipher_suites"]["TLSv1.2"])


class TestConcurrency:
    def test_many_endpoints_share_one_loop(self, rsa2048_server: int, ecdsa_server: int) -> None:
        targets = [TlsTarget(host="127.0.0.1", port=p) for p in (rsa2048_server, ecdsa_server)]

        async def scan() -> list[TargetResult]:
            limit = asyncio.Semaphore(16)
            return await asyncio.gather(
                *(
                    tls.probe_async(t, policy=LOOPBACK, timeout=3, now=NOW, limit=limit)
                    for t in targets * 10
                )
            )

        started = time.monotonic()
        results = asyncio.run(scan())

        assert [r.status for r in results] == ["ok"] * 20
        assert len({r.target for r in results}) == 2
        assert time.monotonic() - started < 30


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

    def test_metadata_address_is_never_dialled(self) -> None:
        policy = NetworkPolicy(["0.0.0.0/0"], resolver=lambda host, port: ["169.254.169.254"])

        result = run(443, host="metadata.example", policy=policy)

        assert result.status == "error"
        assert result.error is not None
        assert "metadata" in result.error

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
