"""The SSH probe against Debian's OpenSSH ``sshd`` on 127.0.0.1 (default and classical kex)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qrap_core.discovery import ssh
from qrap_core.discovery.targets import SshTarget, parse_target_string
from qrap_core.discovery.types import TargetResult
from qrap_core.enums import Usage
from qrap_core.netpolicy import NetworkPolicy
from qrap_core.rules.engine import FindingDraft, RuleContext, evaluate
from tests.servers import (
    CLASSICAL_KEX,
    SSH_KEYGEN,
    SSHD,
    plain_tcp_server,
    ssh_keygen_list,
    sshd_server,
)

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(shutil.which(SSHD) is None, reason="openssh-server is not installed"),
]
LOOPBACK = NetworkPolicy(["127.0.0.0/8"])


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sshd")


@pytest.fixture(scope="module")
def default_sshd(keys: Path) -> Iterator[int]:
    with sshd_server(keys) as port:
        yield port


@pytest.fixture(scope="module")
def classical_sshd(keys: Path) -> Iterator[int]:
    with sshd_server(keys, CLASSICAL_KEX) as port:
        yield port


@pytest.fixture(scope="module")
def sized_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Host keys of stated sizes, made before sshd_server would make default ones."""
    folder = tmp_path_factory.mktemp("sshd-sized")
    for kind, bits in (("rsa", "3072"), ("ecdsa", "384"), ("ed25519", None)):
        size = ["-b", bits] if bits else []
        key = str(folder / f"ssh_host_{kind}_key")
        subprocess.run(
            [SSH_KEYGEN, "-q", "-t", kind, *size, "-N", "", "-f", key],
            check=True,
            stdin=subprocess.DEVNULL,
        )
    return folder


@pytest.fixture(scope="module")
def sized_sshd(sized_keys: Path) -> Iterator[int]:
    with sshd_server(sized_keys) as port:
        yield port


@pytest.fixture(scope="module")
def pq_only_sshd(keys: Path) -> Iterator[int]:
    """sntrup761x25519 alone: no classical fallback, and no key exchange paramiko can run."""
    with sshd_server(keys, "sntrup761x25519-sha512@openssh.com") as port:
        yield port


def run(
    port: int, policy: NetworkPolicy = LOOPBACK, timeout: float = 3.0, host: str = "127.0.0.1"
) -> TargetResult:
    return ssh.probe(SshTarget(host=host, port=port), policy=policy, timeout=timeout)


def rules(result: TargetResult) -> list[FindingDraft]:
    return evaluate(result.assets, RuleContext(now=datetime(2027, 1, 1, tzinfo=UTC)))


class TestDefaultSshd:
    def test_banner_and_algorithms(self, default_sshd: int) -> None:
        result = run(default_sshd)

        assert result.status == "ok", result.error
        assert result.type == "ssh"
        assert result.target == f"127.0.0.1:{default_sshd}"
        assert result.details["banner"].startswith("SSH-2.0-OpenSSH_")
        assert result.details["protocol_version"] == "2.0"
        assert "ssh-ed25519" in result.details["host_key_algorithms"]
        assert "chacha20-poly1305@openssh.com" in result.details["ciphers"]
        assert "hmac-sha2-256" in result.details["macs"]

    def test_default_kex_is_hybrid_pq_with_classical_fallback(self, default_sshd: int) -> None:
        result = run(default_sshd)

        verdict = result.details["key_exchange"]
        assert verdict["verdict"] == "hybrid-pq"
        assert verdict["classical_fallback"] is True
        # Debian 12's OpenSSH 9.2 offers sntrup761x25519; 9.9+ adds mlkem768x25519.
        assert any(k.startswith(("sntrup761x25519", "mlkem768x25519")) for k in verdict["pq_kex"])
        assert "curve25519-sha256" in verdict["classical_kex"]

    def test_kex_assets(self, default_sshd: int) -> None:
        kex = [a for a in run(default_sshd).assets if a.kind == "key_exchange"]

        hybrid = [a for a in kex if a.details["pqc"]]
        assert hybrid
        assert all(a.family == "hybrid" and a.details["hybrid_pqc"] for a in hybrid)
        fallback = [a for a in kex if a.details["fallback"]]
        assert fallback[0].algorithm == "curve25519-sha256"
        assert all(a.usage is Usage.KEY_ESTABLISHMENT and a.protocol == "SSH-2.0" for a in kex)

    def test_host_keys_are_signature_assets(self, default_sshd: int) -> None:
        host_keys = [a for a in run(default_sshd).assets if a.details.get("ssh_role") == "host_key"]

        names = {a.name for a in host_keys}
        assert {"Ed25519", "ECDSA-P256", "RSA"} <= names
        rsa = next(a for a in host_keys if a.name == "RSA")
        assert set(rsa.details["signature_algorithms"]) >= {"rsa-sha2-512", "rsa-sha2-256"}
        assert all(a.usage is Usage.SIGNATURE for a in host_keys)


class TestClassicalSshd:
    def test_classical_only(self, classical_sshd: int) -> None:
        result = run(classical_sshd)

        assert result.status == "ok", result.error
        kex = [k for k in result.details["kex_algorithms"] if not k.startswith("kex-strict")]
        assert kex == CLASSICAL_KEX.split(",")
        verdict = result.details["key_exchange"]
        assert verdict == {
            "verdict": "classical-only",
            "classical_fallback": None,
            "pq_kex": [],
            "classical_kex": CLASSICAL_KEX.split(","),
        }
        # The client's order decides (RFC 4253 §7.1): each classical method is a landing.
        kex_assets = [a for a in result.assets if a.kind == "key_exchange"]
        assert [a.algorithm for a in kex_assets] == CLASSICAL_KEX.split(",")
        assert [a.details["endpoint_representative"] for a in kex_assets] == [True, False, False]
        assert not any(a.details["fallback"] for a in kex_assets)
        assert {a.details["endpoint_verdict"] for a in kex_assets} == {"classical-only"}

    def test_one_high_hndl_for_the_endpoint(self, classical_sshd: int) -> None:
        drafts = rules(run(classical_sshd))

        quantum = [(d.rule_id, d.risk_level.value, d.current_algorithm) for d in drafts]
        assert [q for q in quantum if q[0] in ("QRAP-PQC-001", "QRAP-HNDL-001")] == [
            ("QRAP-PQC-001", "HIGH", "curve25519-sha256"),
            ("QRAP-HNDL-001", "HIGH", "curve25519-sha256"),
        ]


class TestHostKeys:
    def test_sizes_come_from_a_key_exchange(self, sized_sshd: int, sized_keys: Path) -> None:
        result = run(sized_sshd)

        host_keys = {a.name: a for a in result.assets if a.details.get("ssh_role") == "host_key"}
        assert set(host_keys) == {"RSA", "ECDSA-P384", "Ed25519"}
        for name, kind in (("RSA", "rsa"), ("ECDSA-P384", "ecdsa"), ("Ed25519", "ed25519")):
            bits, fingerprint = ssh_keygen_list(sized_keys / f"ssh_host_{kind}_key.pub")
            asset = host_keys[name]
            assert (asset.key_size, asset.details["fingerprint"]) == (bits, fingerprint), name
            assert asset.details["key_size_source"] == "key exchange"
        assert host_keys["RSA"].key_size == 3072
        assert host_keys["RSA"].details["key_type"] == "ssh-rsa"
        measured = result.details["host_keys"]
        assert measured["ECDSA-P384"]["signature_algorithm"] == "ecdsa-sha2-nistp384"
        assert measured["RSA"]["signature_algorithm"] == "rsa-sha2-512"

    def test_key_exchange_dials_the_vetted_address(self, sized_sshd: int) -> None:
        lookups: list[str] = []

        def resolver(host: str, port: int) -> list[str]:
            lookups.append(host)
            return ["127.0.0.1"]

        policy = NetworkPolicy(["127.0.0.0/8"], resolver=resolver)
        result = run(sized_sshd, policy=policy, host="sshd.invalid")

        assert result.status == "ok", result.error
        assert lookups == ["sshd.invalid"]  # resolved once; no name reaches paramiko
        assert all(k.get("bits") for k in result.details["host_keys"].values())

    def test_host_key_not_measured_is_said_so(self, pq_only_sshd: int) -> None:
        result = run(pq_only_sshd)

        assert result.status == "ok", result.error
        verdict = result.details["key_exchange"]
        assert (verdict["verdict"], verdict["classical_fallback"]) == ("hybrid-pq", False)
        rsa = next(a for a in result.assets if a.name == "RSA")
        assert rsa.key_size is None
        assert rsa.details["key_size_source"] == "name"
        assert "key exchange failed" in rsa.details["key_error"]
        drafts = rules(result)
        assert not [d for d in drafts if d.rule_id in ("QRAP-PQC-001", "QRAP-HNDL-001")]


class TestParsing:
    def test_ssh_url_target(self) -> None:
        assert parse_target_string("ssh://example.com") == SshTarget(host="example.com", port=22)
        assert parse_target_string("ssh://[::1]:2222") == SshTarget(host="::1", port=2222)

    def test_kexinit_parsing(self) -> None:
        kex = b"mlkem768x25519-sha256,curve25519-sha256"
        lists = [kex, b"ssh-ed25519", b"aes128-ctr", b"aes128-ctr", b"hmac-sha2-256"]
        lists += [b"hmac-sha2-256", b"none", b"none", b"", b""]
        payload = bytes([20]) + bytes(16)
        payload += b"".join(struct.pack("!I", len(x)) + x for x in lists) + b"\x00" + bytes(4)

        kexinit = ssh.parse_kexinit(payload)

        assert kexinit.kex == ["mlkem768x25519-sha256", "curve25519-sha256"]
        assert ssh.classify_kex("mlkem768x25519-sha256") == "hybrid-pq"
        assert ssh.classify_kex("sntrup761x25519-sha512@openssh.com") == "hybrid-pq"
        assert ssh.classify_kex("curve25519-sha256") == "classical"

    def test_truncated_kexinit(self) -> None:
        with pytest.raises(ssh.SshProtocolError):
            ssh.parse_kexinit(bytes([20]) + bytes(16) + struct.pack("!I", 50) + b"short")


class TestFailures:
    def test_not_ssh(self) -> None:
        with plain_tcp_server(b"HTTP/1.0 400 Bad Request\r\n\r\n") as port:
            result = run(port)

        assert result.status == "error"
        assert result.assets == []
        assert result.error is not None
        assert "does not speak SSH" in result.error

    def test_policy_refuses_loopback_by_default(self, default_sshd: int) -> None:
        result = run(default_sshd, policy=NetworkPolicy())

        assert result.status == "error"
        assert result.error is not None
        assert "loopback" in result.error


class TestSshRules:
    """What an old server's KEXINIT yields once the rules have run."""

    def findings(self, banner: str, kexinit: ssh.KexInit) -> dict[str, set[str]]:
        result = ssh.describe("old.example:22", "192.0.2.1", banner, kexinit)
        drafts = evaluate(result.assets, RuleContext(now=datetime(2027, 1, 1, tzinfo=UTC)))
        by_rule: dict[str, set[str]] = {}
        for draft in drafts:
            by_rule.setdefault(draft.rule_id, set()).add(draft.current_algorithm or "")
        return by_rule

    def test_legacy_server(self) -> None:
        kexinit = ssh.KexInit(
            kex=["diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"],
            host_key=["ssh-rsa", "ssh-dss"],
            ciphers_c2s=["aes128-cbc", "3des-cbc", "none"],
            ciphers_s2c=["aes128-cbc", "3des-cbc", "none"],
            macs_c2s=["hmac-md5", "hmac-sha1", "hmac-sha2-256"],
            macs_s2c=["hmac-md5", "hmac-sha1", "hmac-sha2-256"],
            compression=["none"],
        )

        found = self.findings("SSH-1.99-OpenSSH_3.9p1", kexinit)

        assert found["QRAP-SSH-001"] == {"SSH-1.99"}
        assert found["QRAP-SSH-002"] == {"aes128-cbc", "none"}
        assert found["QRAP-ALG-001"] >= {"3DES"}  # the classical rule keeps 3DES
        assert found["QRAP-SSH-003"] == {"hmac-md5", "hmac-sha1"}
        assert found["QRAP-SSH-004"] == {"ssh-rsa", "ssh-dss"}
        assert found["QRAP-SSH-005"] == {
            "diffie-hellman-group14-sha1",
            "diffie-hellman-group1-sha1",
        }
        assert "QRAP-KEY-001" in found  # group1 is 1024-bit DH
        assert "QRAP-PQC-001" in found  # and none of it is post-quantum

    def test_modern_default_sshd(self, default_sshd: int) -> None:
        result = run(default_sshd)
        drafts = evaluate(result.assets, RuleContext(now=datetime(2027, 1, 1, tzinfo=UTC)))
        rules = {d.rule_id for d in drafts}

        # OpenSSH 9.2 still offers SHA-1 and 64-bit-tag MACs; nothing else SSH-specific.
        assert {r for r in rules if r.startswith("QRAP-SSH")} == {"QRAP-SSH-003"}
        fallback = [d for d in drafts if d.rule_id == "QRAP-PQC-001"]
        assert [d.risk_level.value for d in fallback] == ["MEDIUM"]  # PQ offered alongside
        assert fallback[0].current_algorithm == "curve25519-sha256"
        assert fallback[0].title.startswith("Legacy-client fallback")
        # Current clients negotiate the hybrid: no harvest-now-decrypt-later finding.
        assert "QRAP-HNDL-001" not in rules
