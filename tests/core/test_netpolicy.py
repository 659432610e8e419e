"""Network policy: every answer vetted, explicit ranges, the vetted address returned."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from qrap_core.discovery import ssh, tls
from qrap_core.discovery.targets import SshTarget, TlsTarget, parse_target_string
from qrap_core.discovery.types import TargetResult
from qrap_core.errors import ConfigurationError, InvalidTarget, TargetNotAllowed
from qrap_core.netpolicy import NetworkPolicy, ResolutionError, never_probed, system_resolver

NOW = datetime(2027, 1, 1, tzinfo=UTC)
EVERYTHING = ["0.0.0.0/0", "::/0"]
LOOPBACK = ["127.0.0.0/8", "::1/128"]


class StubResolver:
    """Answers every lookup with fixed addresses and remembers what it was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append((host, port))
        return self.answers


def policy(allowed: Sequence[str] = (), *answers: str) -> NetworkPolicy:
    return NetworkPolicy(allowed, resolver=StubResolver(*answers))


class TestResolve:
    def test_public_literal_needs_no_lookup(self) -> None:
        resolver = StubResolver()
        pol = NetworkPolicy(resolver=resolver)

        assert pol.resolve("93.184.216.34", 443) == "93.184.216.34"
        assert pol.resolve("2606:4700::1111", 443) == "2606:4700::1111"
        assert resolver.calls == []

    def test_name_is_resolved_once_and_the_first_answer_dialled(self) -> None:
        resolver = StubResolver("93.184.216.34", "2606:4700::1111")
        pol = NetworkPolicy(resolver=resolver)

        assert pol.resolve("example.com", 8443) == "93.184.216.34"
        assert resolver.calls == [("example.com", 8443)]

    @pytest.mark.parametrize("private", ["10.0.0.5", "192.168.1.1", "127.0.0.1", "fd12::1"])
    def test_one_private_answer_among_public_ones_rejects_the_name(self, private: str) -> None:
        pol = policy((), "93.184.216.34", private)

        with pytest.raises(TargetNotAllowed) as info:
            pol.resolve("rebind.example", 443)

        assert "rebind.example" in info.value.message
        # The caller learns the kind of address, never the address (the server log has it).
        assert private not in info.value.message
        assert "QRAP_SCAN_ALLOW_NETWORKS" in info.value.message

    @pytest.mark.parametrize(
        "address",
        [
            "169.254.169.254",  # AWS, GCP, Azure metadata
            "fd00:ec2::254",  # AWS metadata over IPv6
            "169.254.0.1",
            "fe80::1",
            "::ffff:169.254.169.254",
        ],
    )
    def test_metadata_and_link_local_are_never_allowed(self, address: str) -> None:
        pol = policy([*EVERYTHING, "169.254.0.0/16", "fd00::/8"], address)

        with pytest.raises(TargetNotAllowed, match="never probed"):
            pol.resolve(address, 80)
        with pytest.raises(TargetNotAllowed, match="never probed"):
            pol.resolve("metadata.internal", 80)

    @pytest.mark.parametrize(
        "address",
        [
            "0.0.0.0",  # noqa: S104 - an address under test, not a bind
            "::",
            "0.1.2.3",
            "224.0.0.1",
            "ff02::1",
            "255.255.255.255",
            "240.0.0.1",
            "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
            "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
            "2002:7f00:1::1",  # 6to4 of 127.0.0.1
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
            "::7f00:1",  # IPv4-compatible 127.0.0.1
        ],
    )
    def test_special_ranges_are_never_allowed(self, address: str) -> None:
        with pytest.raises(TargetNotAllowed, match="never probed"):
            policy(EVERYTHING).resolve(address, 443)

    @pytest.mark.parametrize(
        "address",
        ["127.0.0.1", "127.255.255.254", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"],
    )
    def test_loopback_spellings_are_rejected_by_default(self, address: str) -> None:
        with pytest.raises(TargetNotAllowed, match="loopback"):
            policy().resolve(address, 443)

    @pytest.mark.parametrize(
        ("address", "dialled"),
        [
            ("127.0.0.1", "127.0.0.1"),
            ("::1", "::1"),
            ("0:0:0:0:0:0:0:1", "::1"),
            ("::ffff:127.0.0.1", "127.0.0.1"),  # unwrapped, so the IPv4 address is dialled
        ],
    )
    def test_allowed_loopback_passes(self, address: str, dialled: str) -> None:
        assert policy(LOOPBACK).resolve(address, 8443) == dialled

    @pytest.mark.parametrize("spelling", ["127.1", "2130706433", "0177.0.0.1", "0x7f.1"])
    def test_inet_aton_spellings_are_not_hosts(self, spelling: str) -> None:
        resolver = StubResolver("127.0.0.1")

        with pytest.raises(InvalidTarget):
            NetworkPolicy(EVERYTHING, resolver=resolver).resolve(spelling, 443)
        assert resolver.calls == []

    def test_hex_name_that_resolves_to_loopback_is_caught_after_lookup(self) -> None:
        with pytest.raises(TargetNotAllowed, match="loopback"):
            policy((), "127.0.0.1").resolve("0x7f000001", 443)

    def test_mapped_answer_is_unwrapped_before_vetting(self) -> None:
        with pytest.raises(TargetNotAllowed, match="private"):
            policy((), "::ffff:10.1.2.3").resolve("mapped.example", 443)
        assert policy(["10.0.0.0/8"], "::ffff:10.1.2.3").resolve("mapped.example", 443) == (
            "10.1.2.3"
        )

    @pytest.mark.parametrize(
        ("address", "reason"),
        [
            ("10.0.0.1", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.0.1", "private"),
            ("fc00::1", "private"),
            ("100.64.0.1", "CGNAT"),
            ("100.127.255.254", "CGNAT"),
            ("192.0.2.10", "special-purpose"),
        ],
    )
    def test_restricted_ranges_need_an_allowed_network(self, address: str, reason: str) -> None:
        with pytest.raises(TargetNotAllowed, match=reason):
            policy(LOOPBACK).resolve(address, 443)
        assert policy([address + ("/128" if ":" in address else "/32")]).resolve(address, 443) == (
            address
        )

    @pytest.mark.parametrize(
        "address", ["172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1", "8.8.8.8"]
    )
    def test_neighbours_of_restricted_ranges_are_public(self, address: str) -> None:
        assert policy().resolve(address, 443) == address

    @pytest.mark.parametrize("port", [0, -1, 65536, 100_000])
    def test_port_out_of_range(self, port: int) -> None:
        with pytest.raises(InvalidTarget, match="port"):
            policy(EVERYTHING).resolve("93.184.216.34", port)

    @pytest.mark.parametrize("port", [1, 65535])
    def test_port_bounds(self, port: int) -> None:
        assert policy().resolve("93.184.216.34", port) == "93.184.216.34"

    def test_no_answers_is_a_resolution_error(self) -> None:
        with pytest.raises(ResolutionError):
            policy(EVERYTHING).resolve("empty.example", 443)

    def test_resolver_failure_propagates(self) -> None:
        def failing(host: str, port: int) -> Sequence[str]:
            raise ResolutionError(f"cannot resolve {host!r}")

        with pytest.raises(ResolutionError, match=r"nxdomain\.example"):
            NetworkPolicy(resolver=failing).resolve("nxdomain.example", 443)

    def test_scoped_ipv6_is_rejected(self) -> None:
        with pytest.raises(TargetNotAllowed):
            policy(EVERYTHING).resolve("fe80::1%eth0", 443)

    def test_garbage_host_is_invalid(self) -> None:
        with pytest.raises(InvalidTarget):
            policy().resolve("not a host", 443)


class TestCheckIp:
    def test_returns_the_unwrapped_address(self) -> None:
        assert policy(LOOPBACK).check_ip("::ffff:127.0.0.2") == "127.0.0.2"

    def test_rejects_private_without_allowance(self) -> None:
        with pytest.raises(TargetNotAllowed):
            policy().check_ip("10.0.0.1")

    def test_rejects_non_addresses(self) -> None:
        with pytest.raises(TargetNotAllowed):
            policy().check_ip("example.com")


class TestConstruction:
    def test_invalid_network_is_a_configuration_error(self) -> None:
        with pytest.raises(ConfigurationError, match=r"10\.0\.0\.0/33"):
            NetworkPolicy(["10.0.0.0/33"])

    def test_host_bits_are_tolerated(self) -> None:
        assert [str(n) for n in NetworkPolicy(["127.0.0.1/8"]).allowed_networks] == ["127.0.0.0/8"]


class TestSystemResolver:
    def fake_getaddrinfo(
        self, calls: list[tuple[Any, ...]], answers: list[str]
    ) -> Callable[..., list[tuple[Any, ...]]]:
        def getaddrinfo(*args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
            calls.append((args, kwargs))
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, 443, 0, 0) if ":" in a else (a, 443),
                )
                for a in answers
            ]

        return getaddrinfo

    def test_one_call_all_families_deduplicated(self, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[tuple[Any, ...]] = []
        answers = ["93.184.216.34", "2606:2800::1", "93.184.216.34"]
        monkeypatch.setattr(socket, "getaddrinfo", self.fake_getaddrinfo(calls, answers))

        assert system_resolver("example.com", 443) == ["93.184.216.34", "2606:2800::1"]
        assert len(calls) == 1
        args, kwargs = calls[0]
        assert args == ("example.com", 443)
        assert kwargs == {"type": socket.SOCK_STREAM}

    def test_lookup_failure_is_a_resolution_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def fail(*args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        monkeypatch.setattr(socket, "getaddrinfo", fail)

        with pytest.raises(ResolutionError, match=r"nxdomain\.example"):
            system_resolver("nxdomain.example", 443)


class TestRefusedAtSubmission:
    """Addresses closed whatever the configuration are refused before anything is stored."""

    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            ("169.254.169.254:80", "cloud metadata"),
            ("https://169.254.169.254", "cloud metadata"),
            ("[fe80::1]:443", "link-local"),
            ("ssh://169.254.10.1:22", "link-local"),
            ("[::ffff:169.254.169.254]:443", "cloud metadata"),
            ("224.0.0.1", "multicast"),
        ],
    )
    def test_literal_never_probed(self, raw: str, reason: str) -> None:
        with pytest.raises(InvalidTarget) as info:
            parse_target_string(raw)

        assert reason in info.value.message

    @pytest.mark.parametrize("raw", ["127.0.0.1:443", "10.1.2.3", "[::1]:8443", "example.com"])
    def test_configurable_ranges_wait_for_the_run(self, raw: str) -> None:
        assert parse_target_string(raw).host

    def test_typed_targets_too(self) -> None:
        with pytest.raises(ValidationError, match="never probed"):
            TlsTarget(host="169.254.169.254")
        with pytest.raises(ValidationError, match="never probed"):
            SshTarget(host="fe80::1")

    def test_never_probed(self) -> None:
        assert never_probed("169.254.169.254") == "cloud metadata"
        assert never_probed("::1") is None
        assert never_probed("8.8.8.8") is None
        assert never_probed("example.com") is None


class ConnectSpy:
    """Stands in for asyncio.open_connection: records every dial and never leaves the host."""

    def __init__(self) -> None:
        self.dialled: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int, **_kwargs: Any) -> Any:
        self.dialled.append((host, port))
        raise ConnectionRefusedError(111, "refused by the test spy")


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> ConnectSpy:
    connect_spy = ConnectSpy()
    monkeypatch.setattr(asyncio, "open_connection", connect_spy)
    return connect_spy


def probe_both(host: str, policy: NetworkPolicy) -> list[TargetResult]:
    # model_construct skips the submission check: the probe must refuse on its own too.
    tls_target = TlsTarget.model_construct(host=host, port=443, sni=None)
    ssh_target = SshTarget.model_construct(host=host, port=22)
    tls_result = tls.probe(tls_target, policy=policy, timeout=1, now=NOW)
    ssh_result = ssh.probe(ssh_target, policy=policy, timeout=1)
    return [tls_result, ssh_result]


class TestProbesDialOnlyVettedAddresses:
    """T14 (docs/reliability.md) for the TLS and SSH probes: refused before connect, one lookup."""

    @pytest.mark.parametrize(
        "host",
        [
            "127.0.0.1",
            "::1",
            "::ffff:127.0.0.1",
            "10.0.0.1",
            "100.64.0.1",
            "0.1.2.3",
            "64:ff9b::7f00:1",
            "fd00::1",
        ],
    )
    def test_closed_literals_make_no_connection(self, spy: ConnectSpy, host: str) -> None:
        results = probe_both(host, NetworkPolicy())

        assert [r.status for r in results] == ["error", "error"]
        assert all("never probed" in (r.error or "") or "outside" in (r.error or "")
                   for r in results)  # fmt: skip
        assert spy.dialled == []

    @pytest.mark.parametrize("answers", [["127.0.0.1"], ["93.184.216.34", "169.254.169.254"]])
    def test_names_resolving_inside_closed_ranges(
        self, spy: ConnectSpy, answers: list[str]
    ) -> None:
        resolver = StubResolver(*answers)

        results = probe_both("internal.example", NetworkPolicy(resolver=resolver))

        assert [r.status for r in results] == ["error", "error"]
        assert spy.dialled == []
        assert len(resolver.calls) == 2  # one per probe

    def test_one_resolution_and_the_vetted_address_dialled(self, spy: ConnectSpy) -> None:
        # A rebinding resolver: public first, loopback afterwards. The probe asks once.
        answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])
        calls: list[str] = []

        def rebinding(host: str, port: int) -> list[str]:
            calls.append(host)
            return next(answers)

        result = tls.probe(
            TlsTarget(host="rebind.example", port=443),
            policy=NetworkPolicy(resolver=rebinding),
            timeout=1,
            now=NOW,
        )

        assert calls == ["rebind.example"]
        assert spy.dialled == [("93.184.216.34", 443)]  # the spy refused: nothing left the host
        assert result.status == "error"
