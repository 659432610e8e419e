"""analyze_all: every target type through one call, probes on one event loop, order kept."""

from __future__ import annotations

import dataclasses
import socket
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from qrap_core.discovery.registry import DiscoveryContext, analyze_all
from qrap_core.discovery.targets import (
    CbomTarget,
    CertificateTarget,
    InventoryItem,
    InventoryTarget,
    SshTarget,
    Target,
    TlsTarget,
)
from qrap_core.discovery.types import TargetResult
from qrap_core.netpolicy import NetworkPolicy
from tests.servers import CERTS

pytestmark = pytest.mark.network
NOW = datetime(2027, 1, 1, tzinfo=UTC)
CBOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "components": [
        {
            "type": "cryptographic-asset",
            "name": "RSA-2048",
            "cryptoProperties": {"assetType": "algorithm"},
        }
    ],
}


def context(**overrides: Any) -> DiscoveryContext:
    base = DiscoveryContext(policy=NetworkPolicy(["127.0.0.0/8"]), timeout=3.0, now=NOW)
    return dataclasses.replace(base, **overrides)


class TestAnalyzeAll:
    def test_every_type_in_order_on_the_callers_thread(
        self, rsa2048_server: int, hybrid_server: int
    ) -> None:
        targets: list[Target] = [
            TlsTarget(host="127.0.0.1", port=rsa2048_server),
            CertificateTarget(name="chain", pem=(CERTS / "chain.pem").read_text()),
            TlsTarget(host="127.0.0.1", port=hybrid_server, sni="localhost"),
            InventoryTarget(assets=[InventoryItem(asset="db", algorithm="AES-256-GCM")]),
            CbomTarget(name="inline", document=CBOM),
        ]
        seen: list[tuple[int, str]] = []
        caller = threading.get_ident()

        def on_result(index: int, result: TargetResult) -> None:
            assert threading.get_ident() == caller
            seen.append((index, result.type))

        results = analyze_all(targets, context(), on_result)

        assert [r.type for r in results] == ["tls", "certificate", "tls", "inventory", "cbom"]
        assert [r.status for r in results] == ["ok"] * 5
        assert sorted(seen) == [(0, "tls"), (1, "certificate"), (2, "tls"), (3, "inventory"),
                                (4, "cbom")]  # fmt: skip
        assert results[2].details["key_exchange"]["verdict"] == "hybrid-pq"

    def test_whole_target_deadline(self) -> None:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(64)  # accepts TCP, never answers
            port = listener.getsockname()[1]

            results = analyze_all(
                [TlsTarget(host="127.0.0.1", port=port), SshTarget(host="127.0.0.1", port=port)],
                context(timeout=5.0, target_timeout=0.3),
            )

        assert [r.status for r in results] == ["error", "error"]
        assert all("did not finish within 0.3 s" in (r.error or "") for r in results)

    def test_a_failing_callback_stops_the_probes(self, rsa2048_server: int) -> None:
        targets: list[Target] = [TlsTarget(host="127.0.0.1", port=rsa2048_server)] * 20

        class Cancelled(Exception):
            pass

        def on_result(index: int, result: TargetResult) -> None:
            raise Cancelled

        with pytest.raises(Cancelled):
            analyze_all(targets, context(concurrency=4), on_result)
        assert not any(t.name == "qrap-probes" for t in threading.enumerate())
