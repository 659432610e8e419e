"""Declared inventories become one algorithm asset per item, described by the catalog."""

from __future__ import annotations

from typing import Any

import pytest

from qrap_core.discovery.inventory import analyze, parse_usage
from qrap_core.discovery.targets import InventoryTarget
from qrap_core.enums import Usage


def _target(*items: dict[str, Any], name: str | None = None) -> InventoryTarget:
    return InventoryTarget(name=name, assets=list(items))


class TestAnalyze:
    def test_one_asset_per_item_in_order(self) -> None:
        result = analyze(
            _target(
                {"asset": "api-gateway", "algorithm": "RSA-2048"},
                {"asset": "vpn", "algorithm": "X25519"},
                {"asset": "db", "algorithm": "AES-256-GCM"},
                name="prod",
            )
        )
        assert (result.target, result.type, result.status, result.error) == (
            "prod",
            "inventory",
            "ok",
            None,
        )
        assert [a.name for a in result.assets] == ["api-gateway", "vpn", "db"]
        assert all(a.kind == "algorithm" and a.location == a.name for a in result.assets)
        assert result.details == {"declared_items": 3, "unknown_algorithms": []}

    def test_label_defaults_to_inventory(self) -> None:
        assert analyze(_target({"asset": "a", "algorithm": "RSA"})).target == "inventory"

    def test_known_algorithm_is_canonicalised(self) -> None:
        (asset,) = analyze(_target({"asset": "web", "algorithm": "secp384r1"})).assets
        assert (asset.algorithm, asset.family, asset.key_size) == ("P-384", "EC", 384)
        assert asset.details["declared_algorithm"] == "secp384r1"
        assert asset.details["known"] is True

    def test_unknown_algorithm_is_kept_as_declared(self) -> None:
        result = analyze(_target({"asset": "hsm", "algorithm": "GOST R 34.10"}))
        (asset,) = result.assets
        assert asset.algorithm == "GOST R 34.10"
        assert asset.family is None
        assert asset.usage is Usage.UNKNOWN
        assert asset.details["known"] is False
        assert result.details["unknown_algorithms"] == ["GOST R 34.10"]

    def test_key_size_completes_a_bare_family(self) -> None:
        (asset,) = analyze(_target({"asset": "ssh", "algorithm": "RSA", "key_size": 4096})).assets
        assert (asset.algorithm, asset.key_size) == ("RSA-4096", 4096)
        assert asset.details["classical_bits"] == 128

    def test_declared_key_size_wins_over_the_name(self) -> None:
        (asset,) = analyze(
            _target({"asset": "old", "algorithm": "RSA-2048", "key_size": 1024})
        ).assets
        assert (asset.algorithm, asset.key_size) == ("RSA-1024", 1024)
        assert asset.details["key_size_conflict"] == {
            "declared_key_size": 1024,
            "name_key_size": 2048,
        }

    def test_declared_key_size_resizes_a_curve_by_usage(self) -> None:
        (asset,) = analyze(
            _target({"asset": "sig", "algorithm": "secp384r1", "key_size": 256, "usage": "signing"})
        ).assets
        assert (asset.algorithm, asset.key_size) == ("ECDSA-P256", 256)

    def test_usage_from_the_catalog_when_none_declared(self) -> None:
        assets = analyze(
            _target(
                {"asset": "a", "algorithm": "X25519"},
                {"asset": "b", "algorithm": "Ed25519"},
                {"asset": "c", "algorithm": "RSA-2048"},
                {"asset": "d", "algorithm": "SHA-256"},
            )
        ).assets
        assert [a.usage for a in assets] == [
            Usage.KEY_ESTABLISHMENT,
            Usage.SIGNATURE,
            Usage.UNKNOWN,
            Usage.HASH,
        ]
        assert all(a.details["usage_declared"] is False for a in assets)
        assert all("declared_usage" not in a.details for a in assets)

    def test_declared_usage_wins_and_is_kept_raw(self) -> None:
        (asset,) = analyze(
            _target({"asset": "tls", "algorithm": "RSA-2048", "usage": "Key Transport"})
        ).assets
        assert asset.usage is Usage.KEY_ESTABLISHMENT
        assert asset.details["declared_usage"] == "Key Transport"

    def test_unreadable_usage_is_unknown_with_the_raw_text(self) -> None:
        (asset,) = analyze(
            _target({"asset": "x", "algorithm": "ECDSA-P256", "usage": "blockchain"})
        ).assets
        assert asset.usage is Usage.UNKNOWN
        assert asset.details["declared_usage"] == "blockchain"

    def test_details_carry_the_declaration(self) -> None:
        (asset,) = analyze(
            _target(
                {
                    "asset": "edge",
                    "algorithm": "X25519MLKEM768",
                    "protocol": "TLS 1.3",
                    "urgency": "HIGH",
                    "notes": "CDN",
                }
            )
        ).assets
        assert asset.protocol == "TLS 1.3"
        assert asset.details == {
            "declared": True,
            "declared_algorithm": "X25519MLKEM768",
            "known": True,
            "urgency": "HIGH",
            "notes": "CDN",
            "hybrid_pqc": True,
            "pqc": False,
            "quantum_vulnerable": False,
            "classical_bits": 192,
            "usage_declared": False,
        }

    def test_pure_pqc_is_marked_pqc(self) -> None:
        (asset,) = analyze(_target({"asset": "kms", "algorithm": "ML-KEM-1024"})).assets
        assert (asset.details["pqc"], asset.details["hybrid_pqc"]) == (True, False)


class TestParseUsage:
    @pytest.mark.parametrize(
        ("text", "usage"),
        [
            ("key-establishment", Usage.KEY_ESTABLISHMENT),
            ("key_exchange", Usage.KEY_ESTABLISHMENT),
            ("Key Exchange", Usage.KEY_ESTABLISHMENT),
            ("kex", Usage.KEY_ESTABLISHMENT),
            ("key-transport", Usage.KEY_ESTABLISHMENT),
            ("KEM", Usage.KEY_ESTABLISHMENT),
            ("key agreement", Usage.KEY_ESTABLISHMENT),
            ("encryption", Usage.ENCRYPTION),
            ("data-at-rest", Usage.ENCRYPTION),
            ("signature", Usage.SIGNATURE),
            ("signing", Usage.SIGNATURE),
            ("authentication", Usage.SIGNATURE),
            ("code signing", Usage.SIGNATURE),
            ("hash", Usage.HASH),
            ("digest", Usage.HASH),
            ("protocol", Usage.PROTOCOL),
            ("telepathy", Usage.UNKNOWN),
        ],
    )
    def test_spellings(self, text: str, usage: Usage) -> None:
        assert parse_usage(text) is usage

    @pytest.mark.parametrize("text", [None, "", "   "])
    def test_nothing_declared(self, text: str | None) -> None:
        assert parse_usage(text) is None
