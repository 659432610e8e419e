"""CBOM import: CycloneDX 1.6 crypto components in, crypto assets out, problems located."""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import pytest
from pydantic import ValidationError

from qrap_core.assessment.targets import CbomTarget
from qrap_core.discovery import cbom
from qrap_core.enums import Usage


def document(*components: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": list(components)} | extra


def algorithm(ref: str, name: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "cryptographic-asset",
        "name": name,
        "bom-ref": ref,
        "cryptoProperties": {"assetType": "algorithm", "algorithmProperties": properties},
    }


def read(doc: dict[str, Any]) -> cbom.ParsedCbom:
    return cbom.read_cbom(io.BytesIO(json.dumps(doc).encode()))


def pointers(doc: dict[str, Any] | bytes) -> list[str]:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    with pytest.raises(cbom.InvalidCbom) as info:
        cbom.read_cbom(io.BytesIO(data))
    return [d["pointer"] for d in info.value.details]


class TestValidation:
    def test_wrong_format_and_version(self) -> None:
        assert pointers({"bomFormat": "SPDX", "specVersion": "1.4"}) == [
            "/bomFormat",
            "/specVersion",
        ]

    def test_missing_format(self) -> None:
        assert pointers({"specVersion": "1.6"}) == ["/bomFormat"]

    def test_bad_asset_type_is_located(self) -> None:
        bad = algorithm("a", "RSA")
        bad["cryptoProperties"]["assetType"] = "spell"
        doc = document({"type": "library", "name": "x"}, bad)

        assert pointers(doc) == ["/components/1/cryptoProperties/assetType"]

    def test_bad_levels_and_primitive(self) -> None:
        doc = document(algorithm("a", "AES", primitive="magic", nistQuantumSecurityLevel=9))

        assert pointers(doc) == [
            "/components/0/cryptoProperties/algorithmProperties/primitive",
            "/components/0/cryptoProperties/algorithmProperties/nistQuantumSecurityLevel",
        ]

    def test_dangling_references(self) -> None:
        cert = {
            "type": "cryptographic-asset",
            "name": "leaf",
            "cryptoProperties": {
                "assetType": "certificate",
                "certificateProperties": {"signatureAlgorithmRef": "nowhere"},
            },
        }
        doc = document(cert, dependencies=[{"ref": "ghost", "dependsOn": []}])

        assert pointers(doc) == [
            "/dependencies/0/ref",
            "/components/0/cryptoProperties/certificateProperties/signatureAlgorithmRef",
        ]

    def test_pointers_count_every_component(self) -> None:
        bad = algorithm("b", "AES")
        bad["cryptoProperties"]["assetType"] = "spell"
        doc = document({"type": "cryptographic-asset"}, {"name": "no type"}, bad)

        assert pointers(doc) == [
            "/components/0/name",
            "/components/1/type",
            "/components/2/cryptoProperties/assetType",
        ]

    def test_nested_components(self) -> None:
        inner_bad = algorithm("inner-bad", "AES", primitive="spell")
        outer = {"type": "library", "name": "tls-lib", "components": [algorithm("x", "RSA")]}
        assert pointers(document(outer | {"components": [inner_bad]})) == [
            "/components/0/components/0/cryptoProperties/algorithmProperties/primitive"
        ]

        parsed = read(document(outer))

        assert [c.pointer for c in parsed.components] == ["/components/0/components/0"]
        assert parsed.other_components == 1

    def test_duplicate_bom_ref(self) -> None:
        doc = document(algorithm("a", "RSA"), algorithm("a", "AES"))

        assert pointers(doc) == ["/components/1/bom-ref"]

    def test_not_json(self) -> None:
        assert pointers(b'{"bomFormat": "CycloneDX", "components": [') == ["/"]

    def test_message_names_the_place(self) -> None:
        with pytest.raises(cbom.InvalidCbom) as info:
            read(document({"type": "cryptographic-asset", "name": "x"}))

        assert "/components/0/cryptoProperties" in info.value.message

    def test_inline_target_is_checked_at_submission(self) -> None:
        with pytest.raises(ValidationError) as info:
            CbomTarget(document={"bomFormat": "CycloneDX", "specVersion": "1.2"})

        assert "/specVersion" in str(info.value)

    def test_target_needs_one_source(self) -> None:
        with pytest.raises(ValidationError):
            CbomTarget()


class TestAssets:
    def test_every_asset_type(self) -> None:
        doc = document(
            {"type": "application", "name": "app", "bom-ref": "app"},
            algorithm("alg:rsa", "RSA", primitive="signature", parameterSetIdentifier="2048"),
            algorithm("alg:sha256rsa", "sha256WithRSAEncryption", primitive="signature"),
            {
                "type": "cryptographic-asset",
                "name": "rsa-key",
                "bom-ref": "key:rsa",
                "cryptoProperties": {
                    "assetType": "related-crypto-material",
                    "relatedCryptoMaterialProperties": {
                        "type": "public-key",
                        "algorithmRef": "alg:rsa",
                        "size": 2048,
                    },
                },
            },
            {
                "type": "cryptographic-asset",
                "name": "www.example.com",
                "bom-ref": "cert:www",
                "cryptoProperties": {
                    "assetType": "certificate",
                    "certificateProperties": {
                        "subjectName": "CN=www.example.com",
                        "issuerName": "CN=Example CA",
                        "notValidBefore": "2026-01-01T00:00:00Z",
                        "notValidAfter": "2027-01-01T00:00:00Z",
                        "signatureAlgorithmRef": "alg:sha256rsa",
                        "subjectPublicKeyRef": "key:rsa",
                    },
                },
            },
            {
                "type": "cryptographic-asset",
                "name": "TLS",
                "bom-ref": "proto:tls",
                "cryptoProperties": {
                    "assetType": "protocol",
                    "protocolProperties": {
                        "type": "tls",
                        "version": "1.2",
                        "cipherSuites": [{"name": "TLS_RSA_WITH_3DES_EDE_CBC_SHA"}],
                    },
                },
            },
            dependencies=[{"ref": "app", "dependsOn": ["cert:www", "proto:tls"]}],
        )

        parsed = read(doc)
        assets = {a.location: a for a in cbom.assets_from(parsed, label="doc")}

        assert parsed.other_components == 1
        assert assets["alg:rsa"].algorithm == "RSA-2048"
        assert assets["alg:rsa"].usage is Usage.SIGNATURE
        key = assets["key:rsa"]
        assert (key.kind, key.key_size, key.algorithm) == ("key", 2048, "RSA-2048")
        cert = assets["cert:www"]
        assert (cert.kind, cert.family, cert.key_size) == ("certificate", "RSA", 2048)
        assert cert.details["signature_algorithm"] == "sha256WithRSAEncryption"
        assert cert.details["lifetime_days"] == 365
        protocol = [a for a in cbom.assets_from(parsed, label="doc") if a.location == "proto:tls"]
        assert [(a.kind, a.name) for a in protocol] == [
            ("protocol", "TLSv1.2"),
            ("cipher_suite", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
        ]
        assert parsed.dependencies["app"] == {
            "dependsOn": ["cert:www", "proto:tls"],
            "provides": [],
        }

    def test_missing_levels_are_enriched_and_marked(self) -> None:
        doc = document(
            algorithm("a", "ML-KEM", primitive="kem", parameterSetIdentifier="768"),
            algorithm("b", "ECDSA", primitive="signature", curve="secp384r1"),
            algorithm("c", "AES-256-GCM", primitive="ae", classicalSecurityLevel=256),
        )

        assets = {a.location: a for a in cbom.assets_from(read(doc), label="doc")}

        mlkem = assets["a"]
        assert mlkem.algorithm == "ML-KEM-768"
        assert mlkem.kind == "key_exchange"
        assert mlkem.details["classical_security_level"] == 192
        assert mlkem.details["nist_quantum_security_level"] == 3
        assert set(mlkem.details["enriched"]) == {
            "classicalSecurityLevel",
            "nistQuantumSecurityLevel",
        }
        ecdsa = assets["b"]
        assert (ecdsa.algorithm, ecdsa.key_size) == ("ECDSA-P384", 384)
        assert ecdsa.details["nist_quantum_security_level"] == 0
        assert "parameterSetIdentifier" in ecdsa.details["enriched"]
        aes = assets["c"]
        assert "classicalSecurityLevel" not in aes.details["enriched"]  # declared, kept
        assert aes.details["nist_quantum_security_level"] == 5

    def test_unknown_algorithm_is_kept_not_guessed(self) -> None:
        asset = cbom.assets_from(read(document(algorithm("x", "FooCipher"))), label="doc")[0]

        assert asset.algorithm == "FooCipher"
        assert asset.details["known"] is False
        assert asset.details["enriched"] == []


class TestTarget:
    def test_inline_document(self) -> None:
        result = cbom.analyze(
            CbomTarget(name="inline", document=document(algorithm("a", "RSA"))), artifacts=None
        )

        assert result.status == "ok"
        assert result.details["crypto_components"] == 1

    def test_uploaded_document_is_read_from_the_source(self) -> None:
        opened: list[str] = []

        @contextmanager
        def source(artifact_id: Any) -> Iterator[BinaryIO]:
            opened.append(str(artifact_id))
            yield io.BytesIO(json.dumps(document(algorithm("a", "RSA"))).encode())

        target = CbomTarget(artifact_id="2f0c1d55-3c1b-4f55-9a47-2d0f7d3f1a10")
        result = cbom.analyze(target, artifacts=source)

        assert result.status == "ok"
        assert opened == ["2f0c1d55-3c1b-4f55-9a47-2d0f7d3f1a10"]

    def test_uploaded_document_without_a_source_is_a_target_error(self) -> None:
        target = CbomTarget(artifact_id="2f0c1d55-3c1b-4f55-9a47-2d0f7d3f1a10")

        result = cbom.analyze(target, artifacts=None)

        assert result.status == "error"
        assert result.assets == []


class TestLargeDocuments:
    def test_100k_components_stream(self) -> None:
        """Memory follows the crypto components, not the document: bulk elsewhere costs none."""
        lean = self.measure(filler=0)
        bulky = self.measure(filler=2000)

        assert lean["components"] == bulky["components"] == 50_000
        assert bulky["other"] == 50_000
        # ~100 MB more JSON to read, and (almost) no more memory held while reading it.
        assert bulky["size"] > lean["size"] + 90_000_000
        assert bulky["peak"] < lean["peak"] * 1.2 + 1_000_000, (lean, bulky)
        assert bulky["peak"] < bulky["size"] / 2

    @staticmethod
    def measure(filler: int) -> dict[str, int]:
        count = 100_000
        names = ("RSA", "AES-128-GCM", "ML-KEM-768", "SHA-256")
        out = io.BytesIO()
        out.write(b'{"bomFormat":"CycloneDX","specVersion":"1.6","components":[')
        for i in range(count):
            if i:
                out.write(b",")
            if i % 2:
                item: dict[str, Any] = {"type": "library", "name": f"lib{i}"}
                if filler:
                    item["description"] = "x" * filler
            else:
                item = algorithm(f"c{i}", names[(i // 2) % 4])
            out.write(json.dumps(item).encode())
        out.write(b"]}")
        size = out.tell()
        out.seek(0)
        tracemalloc.start()
        parsed = cbom.read_cbom(out)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {
            "components": len(parsed.components),
            "other": parsed.other_components,
            "size": size,
            "peak": peak,
        }
