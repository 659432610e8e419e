"""What a refusal tells the caller: the kind of address and the setting that opens it, never
what a name resolved to on the server (that stays in the server's log)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from structlog.testing import capture_logs

from qrap_core.errors import TargetNotAllowed
from qrap_core.netpolicy import NetworkPolicy, is_public
from qrap_core.webhook.delivery import webhook_policy


def _answers(*addresses: str) -> NetworkPolicy:
    def resolver(_host: str, _port: int) -> Sequence[str]:
        return addresses

    return NetworkPolicy(resolver=resolver)


class TestRefusalMessages:
    @pytest.mark.parametrize(
        ("address", "kind"),
        [
            ("10.20.30.40", "private"),
            ("127.0.0.9", "loopback"),
            ("100.64.3.4", "CGNAT"),
            ("fd12:3456::7", "private"),
            ("::ffff:192.168.7.8", "private"),
        ],
    )
    def test_scan_refusal_names_the_kind_and_the_setting(self, address: str, kind: str) -> None:
        with capture_logs() as logs, pytest.raises(TargetNotAllowed) as info:
            _answers("93.184.216.34", address).resolve("intranet.example", 443)

        message = info.value.message
        assert address not in message
        assert address.removeprefix("::ffff:") not in message
        assert f"'intranet.example' resolves to a {kind} address" in message
        assert "QRAP_SCAN_ALLOW_NETWORKS" in message
        # The operator can still find out which address it was.
        assert any(entry.get("address") == address.removeprefix("::ffff:") for entry in logs)

    @pytest.mark.parametrize(
        "address",
        ["169.254.169.254", "169.254.1.1", "0.0.0.0", "fe80::1"],  # noqa: S104  # refused, not bound
    )
    def test_never_probed_answer_is_not_echoed(self, address: str) -> None:
        with pytest.raises(TargetNotAllowed) as info:
            _answers(address).resolve("metadata.example", 80)

        assert address not in info.value.message
        assert "never probed" in info.value.message
        assert "QRAP_SCAN_ALLOW_NETWORKS" not in info.value.message  # nothing opens it

    def test_an_ip_the_caller_gave_may_be_repeated(self) -> None:
        with pytest.raises(TargetNotAllowed) as info:
            NetworkPolicy().resolve("10.1.2.3", 443)

        assert info.value.message.startswith("10.1.2.3 (private)")

    def test_webhook_refusal_names_the_webhook_setting(self) -> None:
        policy = webhook_policy(allow_private=False)

        with pytest.raises(TargetNotAllowed) as info:
            policy.resolve("localhost", 80)

        message = info.value.message
        assert "127.0.0.1" not in message
        assert "::1" not in message
        assert "QRAP_WEBHOOK_ALLOW_PRIVATE=true allows it" in message

    def test_webhook_refusal_of_cgnat_names_no_setting(self) -> None:
        # QRAP_WEBHOOK_ALLOW_PRIVATE opens loopback and private ranges, not CGNAT.
        policy = webhook_policy(allow_private=True)
        policy._resolver = lambda _h, _p: ["100.64.0.9"]

        with pytest.raises(TargetNotAllowed) as info:
            policy.resolve("carrier.example", 443)

        assert "CGNAT" in info.value.message
        assert "allows it" not in info.value.message


class TestIsPublic:
    @pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "8.8.8.8"])
    def test_public(self, address: str) -> None:
        assert is_public(address)

    @pytest.mark.parametrize(
        "address",
        [
            "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.0.1", "100.64.0.1", "169.254.169.254",
            "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "not-an-ip", "",
        ],
    )  # fmt: skip
    def test_not_public(self, address: str) -> None:
        assert not is_public(address)
