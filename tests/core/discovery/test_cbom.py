"""CBOM import: CycloneDX 1.6 crypto components in, crypto assets out, problems located."""

from __future__ import annotations

import io
import json
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from pydantic import ValidationError

from qrap_core.assessment import report as json_report
from qrap_core.discovery import cbom
from qrap_core.discovery.cbom_reader import MAX_COMPONENT_WARNINGS, MAX_WARNINGS
from qrap_core.discovery.targets import CbomTarget
from qrap_core.discovery.types import CryptoAsset, TargetResult
from qrap_core.enums import Usage
from qrap_core.finding.models import CryptoAssetRecord
from qrap_core.rules import FindingDraft, RuleContext, evaluate

# Documents of our own making, in the shapes generators write (see cbom_docs/).
DOCS = Path(__file__).parent / "cbom_docs"
GENERATOR_DOCS = sorted(path.name for path in DOCS.glob("*.cdx.json"))
SCHEMAS = {"1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6, "1.7": SchemaVersion.V1_7}
NOW = datetime(2026, 6, 1, tzinfo=UTC)
KEY_ESTABLISHMENT_RULES = {"QRAP-PQC-001", "QRAP-HNDL-001"}
SHORT_KEY_RULES = {"QRAP-KEY-001", "QRAP-KEY-002"}


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


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DOCS / name).read_text())
    return loaded


def imported(name: str) -> TargetResult:
    """The document analysed as an upload: streamed from the file."""

    @contextmanager
    def source(artifact_id: Any) -> Iterator[BinaryIO]:
        with (DOCS / name).open("rb") as stream:
            yield stream

    target = CbomTarget(name=name, artifact_id="2f0c1d55-3c1b-4f55-9a47-2d0f7d3f1a10")
    return cbom.analyze(target, artifacts=source, now=NOW)


def by_location(assets: list[CryptoAsset]) -> dict[str, CryptoAsset]:
    return {a.location: a for a in assets if a.kind != "cipher_suite"}


def findings(assets: list[CryptoAsset]) -> list[FindingDraft]:
    return evaluate(assets, RuleContext(now=NOW))


def rules_at(drafts: list[FindingDraft], location: str) -> set[str]:
    return {d.rule_id for d in drafts if d.affected_asset == location}


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

    def test_dangling_references_are_warnings_not_refusals(self) -> None:
        """The schema does not check references, and published documents hold dangling ones."""
        cert = {
            "type": "cryptographic-asset",
            "name": "leaf",
            "cryptoProperties": {
                "assetType": "certificate",
                "certificateProperties": {"signatureAlgorithmRef": "nowhere"},
            },
        }
        doc = document(cert, dependencies=[{"ref": "ghost", "dependsOn": []}])

        parsed = read(doc)

        assert [w["pointer"] for w in parsed.warnings] == ["/dependencies/0/ref"]
        assert [w["pointer"] for w in parsed.components[0].warnings] == [
            "/components/0/cryptoProperties/certificateProperties/signatureAlgorithmRef"
        ]
        assert parsed.warning_count == 2
        asset = cbom.assets_from(parsed, label="doc")[0]
        assert asset.details["warnings"][0]["message"] == (
            "'nowhere' names no bom-ref in this document"
        )

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


class TestGeneratorDocuments:
    @pytest.mark.parametrize("name", GENERATOR_DOCS)
    def test_documents_are_valid_against_their_cyclonedx_schema(self, name: str) -> None:
        text = (DOCS / name).read_text()
        version = SCHEMAS[json.loads(text)["specVersion"]]

        assert JsonStrictValidator(version).validate_str(text) is None

    @pytest.mark.parametrize("name", GENERATOR_DOCS)
    def test_schema_valid_documents_import(self, name: str) -> None:
        result = imported(name)

        assert result.status == "ok", result.error
        assert result.details["crypto_components"] == len(
            [a for a in result.assets if a.kind != "cipher_suite"]
        )


class TestDigestSizes:
    """A signature algorithm's parameterSetIdentifier is its digest size, not the key's."""

    @pytest.mark.parametrize(
        ("name", "oid", "parameter", "expected", "digest"),
        [
            ("SHA512withRSA", "1.2.840.113549.1.1.13", "512", "RSA", "SHA-512"),
            ("SHA256-RSA", "1.2.840.113549.1.1.11", "256", "RSA", "SHA-256"),
            ("SHA1-RSA", "1.2.840.113549.1.1.5", "160", "sha1WithRSAEncryption", "SHA-1"),
            ("ECDSA-SHA384", "1.2.840.10045.4.3.3", "384", "ECDSA", "SHA-384"),
            ("SHA256withECDSA", None, "256", "ECDSA", "SHA-256"),
            ("RSA", "1.2.840.113549.1.1.13", "512", "RSA", "SHA-512"),  # the OID says it
        ],
    )
    def test_signature_algorithm_gets_no_key_size(
        self, name: str, oid: str | None, parameter: str, expected: str, digest: str
    ) -> None:
        component = algorithm_with(
            "sig", name, oid, primitive="signature", parameterSetIdentifier=parameter
        )
        assets = cbom.assets_from(read(document(component)), label="doc")

        asset = assets[0]
        assert (asset.algorithm, asset.key_size, asset.usage) == (
            expected,
            None,
            Usage.SIGNATURE,
        )
        assert asset.details["digest"] == digest
        assert asset.details["parameter_set"] == parameter  # kept as declared
        assert not rules_at(findings(assets), "sig") & SHORT_KEY_RULES

    def test_certificates_take_the_key_size_from_their_key(self) -> None:
        result = imported("theia_image.cdx.json")
        assets = by_location(result.assets)
        drafts = findings(result.assets)

        assert (assets["cert-1"].family, assets["cert-1"].key_size) == ("RSA", 2048)
        assert (assets["cert-2"].family, assets["cert-2"].key_size) == ("RSA", 4096)
        assert (assets["cert-3"].family, assets["cert-3"].key_size) == ("EC", 256)
        assert assets["cert-1"].details["signature_algorithm"] == "SHA256-RSA"
        assert not [d for d in drafts if d.rule_id in SHORT_KEY_RULES]
        assert not [d for d in drafts if "512 bits" in d.title or "160 bits" in d.title]

    def test_the_curve_is_not_guessed_from_the_digest(self) -> None:
        asset = by_location(imported("theia_image.cdx.json").assets)["sig-ecdsa-sha384"]

        assert (asset.algorithm, asset.key_size) == ("ECDSA", None)

    def test_a_bare_family_with_a_size_is_still_a_key_size(self) -> None:
        doc = document(algorithm("a", "RSA", primitive="signature", parameterSetIdentifier="512"))
        assets = cbom.assets_from(read(doc), label="doc")

        assert (assets[0].algorithm, assets[0].key_size) == ("RSA-512", 512)
        assert "QRAP-KEY-001" in rules_at(findings(assets), "a")


def algorithm_with(ref: str, name: str, oid: str | None, **properties: Any) -> dict[str, Any]:
    component = algorithm(ref, name, **properties)
    if oid:
        component["cryptoProperties"]["oid"] = oid
    return component


class TestNamesAndReferences:
    def test_unnamed_certificates_and_keys_import(self) -> None:
        assets = by_location(imported("theia_image.cdx.json").assets)

        assert assets["cert-1"].name == "O=Example Org, C=DE"  # the subject stands in
        assert assets["cert-1"].details["unnamed"] is True
        assert assets["cert-4"].name == "unnamed certificate cert-4"
        assert assets["pub-1"].name == "unnamed related-crypto-material pub-1"
        assert (assets["pub-1"].algorithm, assets["pub-1"].key_size) == ("RSA-2048", 2048)

    def test_unnamed_component_without_a_ref_gets_a_place_of_its_own(self) -> None:
        unnamed = algorithm("x", "", primitive="hash")
        del unnamed["bom-ref"]

        asset = cbom.assets_from(read(document(unnamed, unnamed)), label="doc")[1]

        assert (asset.name, asset.location) == (
            "unnamed algorithm /components/1",
            "doc/components/1",
        )

    def test_a_name_must_still_be_a_string(self) -> None:
        numbered = algorithm("a", "x")
        numbered["name"] = 5

        assert pointers(document(numbered)) == ["/components/0/name"]

    def test_dangling_references_are_warned_on_the_asset(self) -> None:
        result = imported("library_fixture_v1_6.cdx.json")
        assets = by_location(result.assets)

        certificate = next(a for a in result.assets if a.kind == "certificate")
        assert [w["pointer"].rsplit("/", 1)[-1] for w in certificate.details["warnings"]] == [
            "signatureAlgorithmRef",
            "subjectPublicKeyRef",
        ]
        protocol = assets["9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"]
        assert len(protocol.details["warnings"]) == 2  # cryptoRefArray, cipher suite algorithm
        assert result.details["warning_count"] == 5
        assert (certificate.algorithm, certificate.key_size) == (None, None)

    def test_dangling_dependencies_are_warned_on_the_document(self) -> None:
        result = imported("theia_image.cdx.json")

        assert [w["pointer"] for w in result.details["warnings"]] == [
            "/dependencies/0/dependsOn/4",
            "/dependencies/3/ref",
        ]
        key = by_location(result.assets)["pub-5"]
        assert [w["pointer"] for w in key.details["warnings"]] == ["/dependencies/2/dependsOn/1"]

    def test_warnings_are_bounded(self) -> None:
        cert = {
            "type": "cryptographic-asset",
            "name": "leaf",
            "bom-ref": "leaf",
            "cryptoProperties": {"assetType": "certificate"},
        }
        ghosts = [{"ref": f"ghost-{n}", "dependsOn": []} for n in range(500)]
        own = [{"ref": "leaf", "dependsOn": [f"gone-{n}" for n in range(50)]}]

        parsed = read(document(cert, dependencies=ghosts + own))

        assert parsed.warning_count == 550
        assert len(parsed.warnings) == MAX_WARNINGS
        assert len(parsed.components[0].warnings) == MAX_COMPONENT_WARNINGS


class TestVersions:
    def test_cyclonedx_1_7_with_algorithm_family_and_related_assets(self) -> None:
        result = imported("bom_examples_v1_7.cdx.json")
        assets = by_location(result.assets)

        assert result.details["spec_version"] == "1.7"
        mlkem = assets["ml-kem"]  # no name: algorithmFamily and the parameter set say it
        assert (mlkem.kind, mlkem.algorithm, mlkem.name) == (
            "key_exchange",
            "ML-KEM-768",
            "ML-KEM-768",
        )
        assert assets["ecdsa-p256"].algorithm == "ECDSA-P256"  # ellipticCurve "nist/P-256"
        assert (assets["sha512-rsa"].algorithm, assets["sha512-rsa"].key_size) == ("RSA", None)
        key = assets["key-rsa"]
        assert (key.algorithm, key.key_size, key.usage) == (
            "RSA-3072",
            3072,
            Usage.KEY_ESTABLISHMENT,
        )
        assert key.details["algorithm_via"] == "relatedCryptographicAssets"
        cert = assets["cert-svc"]
        assert (cert.family, cert.key_size) == ("EC", 256)
        assert cert.details["signature_algorithm"] == "SHA512withRSA"

    def test_inline_1_7_document_is_accepted(self) -> None:
        target = CbomTarget(document=load("bom_examples_v1_7.cdx.json"))

        assert cbom.analyze(target, artifacts=None).status == "ok"

    def test_1_5_sbom_without_crypto_imports_with_no_assets(self) -> None:
        result = imported("sbom_v1_5.cdx.json")

        assert (result.status, result.assets) == ("ok", [])
        assert result.details["other_components"] == 3
        assert "lists no cryptographic assets" in result.details["note"]

    @pytest.mark.parametrize("version", ["1.4", "2.0"])
    def test_other_versions_are_refused(self, version: str) -> None:
        assert pointers(document(specVersion=version)) == ["/specVersion"]


class TestSpellings:
    @pytest.mark.parametrize(
        ("location", "algorithm", "usage"),
        [
            ("0d5d4a2e-6a1c-4b0e-8f57-1b9e0a1c2d05", "RSA", Usage.KEY_ESTABLISHMENT),
            ("0d5d4a2e-6a1c-4b0e-8f57-1b9e0a1c2d06", "DES", Usage.ENCRYPTION),
            ("0d5d4a2e-6a1c-4b0e-8f57-1b9e0a1c2d07", "3DES", Usage.ENCRYPTION),
            ("0d5d4a2e-6a1c-4b0e-8f57-1b9e0a1c2d08", "AES-128-CBC", Usage.ENCRYPTION),
            ("0d5d4a2e-6a1c-4b0e-8f57-1b9e0a1c2d0a", "PBKDF2-HMAC-SHA1", Usage.HASH),
            ("0d5d4a2e-6a1c-4b0e-8f57-1b9e0a1c2d0b", "HMAC-SHA2", Usage.HASH),
            ("0d5d4a2e-6a1c-4b0e-8f57-1b9e0a1c2d02", "ECDSA", Usage.SIGNATURE),
        ],
    )
    def test_generator_spellings_are_recognised(
        self, location: str, algorithm: str, usage: Usage
    ) -> None:
        asset = by_location(imported("cbomkit_java.cdx.json").assets)[location]

        assert (asset.algorithm, asset.usage, asset.details["known"]) == (algorithm, usage, True)
        assert "unrecognised" not in asset.details

    def test_broken_ciphers_under_java_names_are_found(self) -> None:
        drafts = findings(imported("cbomkit_java.cdx.json").assets)

        assert {d.current_algorithm for d in drafts if d.rule_id == "QRAP-ALG-001"} == {
            "DES",
            "3DES",
        }

    def test_unrecognised_algorithms_are_listed_not_dropped(self) -> None:
        result = imported("cbomkit_java.cdx.json")
        asset = by_location(result.assets)["0d5d4a2e-6a1c-4b0e-8f57-1b9e0a1c2d0c"]

        assert (asset.algorithm, asset.details["unrecognised"]) == ("Frobnicate-Cipher", True)
        assert result.details["unrecognised_algorithms"] == ["Frobnicate-Cipher"]
        assert result.details["unrecognised_assets"] == 1

    def test_the_json_report_lists_unrecognised_assets(self) -> None:
        result = imported("cbomkit_java.cdx.json")
        records = [
            CryptoAssetRecord(
                id=uuid.uuid4(),
                kind=a.kind,
                name=a.name,
                location=a.location,
                algorithm=a.algorithm,
                details=a.details,
            )
            for a in result.assets
        ]

        listed = json_report.unrecognised_algorithms(records)

        assert [(e["algorithm"], e["kind"]) for e in listed] == [("Frobnicate-Cipher", "algorithm")]


class TestDependencies:
    def test_keys_linked_only_through_dependencies_get_their_algorithm(self) -> None:
        assets = by_location(imported("cbomkit_java.cdx.json").assets)

        public = assets["0d5d4a2e-6a1c-4b0e-8f57-1b9e0a1c2d04"]
        assert (public.algorithm, public.family, public.key_size) == ("RSA-2048", "RSA", 2048)
        assert public.details["enriched"] == ["size"]  # stated by the algorithm, not the key
        assert public.details["algorithm_via"] == "dependencies"
        secret = assets["0d5d4a2e-6a1c-4b0e-8f57-1b9e0a1c2d09"]
        assert (secret.algorithm, secret.key_size, secret.details["enriched"]) == (
            "AES-128-CBC",
            128,
            [],
        )

    def test_an_algorithm_that_depends_on_the_key_is_found_too(self) -> None:
        doc = document(
            key_material("k"),
            algorithm("a", "RSA", primitive="pke", parameterSetIdentifier="3072"),
            dependencies=[{"ref": "a", "dependsOn": ["k"]}],
        )

        key = by_location(cbom.assets_from(read(doc), label="doc"))["k"]

        assert (key.algorithm, key.key_size) == ("RSA-3072", 3072)
        assert key.details["algorithm_via"] == "dependencies (reverse)"

    def test_the_public_key_algorithm_wins_among_several(self) -> None:
        doc = document(
            key_material("k"),
            algorithm("h", "SHA-256", primitive="hash"),
            algorithm("s", "SHA256withRSA", primitive="signature", parameterSetIdentifier="256"),
            algorithm("r", "RSA-4096", primitive="signature"),
            dependencies=[{"ref": "k", "dependsOn": ["h", "s", "r"]}],
        )

        key = by_location(cbom.assets_from(read(doc), label="doc"))["k"]

        assert (key.algorithm, key.key_size, key.usage) == ("RSA-4096", 4096, Usage.SIGNATURE)


def key_material(ref: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "cryptographic-asset",
        "name": "",
        "bom-ref": ref,
        "cryptoProperties": {
            "assetType": "related-crypto-material",
            "relatedCryptoMaterialProperties": {"type": "public-key", **properties},
        },
    }


class TestContradictions:
    @pytest.mark.parametrize(
        ("name", "properties", "expected", "fields"),
        [
            ("ECDSA", {"primitive": "pke", "curve": "secp256r1"}, "ECDSA-P256", ["primitive"]),
            (
                "ECDSA",
                {"primitive": "pke", "cryptoFunctions": ["encapsulate", "decapsulate"]},
                "ECDSA",
                ["primitive", "cryptoFunctions"],
            ),
            ("Ed25519", {"cryptoFunctions": ["encapsulate"]}, "Ed25519", ["cryptoFunctions"]),
            (
                "SHA256withRSA",
                {"primitive": "pke", "cryptoFunctions": ["encapsulate"]},
                "RSA",
                ["primitive", "cryptoFunctions"],
            ),
            ("ML-DSA-65", {"primitive": "key-agree"}, "ML-DSA-65", ["primitive"]),
        ],
    )
    def test_a_signature_scheme_stays_a_signature_scheme(
        self, name: str, properties: dict[str, Any], expected: str, fields: list[str]
    ) -> None:
        assets = cbom.assets_from(read(document(algorithm("a", name, **properties))), label="doc")

        asset = assets[0]
        assert (asset.kind, asset.algorithm, asset.usage) == (
            "algorithm",
            expected,
            Usage.SIGNATURE,
        )
        assert [c["field"] for c in asset.details["contradictions"]] == fields
        assert all(c["decided_by"] == "catalog" for c in asset.details["contradictions"])
        assert not rules_at(findings(assets), "a") & KEY_ESTABLISHMENT_RULES

    def test_keys_of_contradicted_algorithms_are_not_key_establishment(self) -> None:
        result = imported("theia_image.cdx.json")
        assets = by_location(result.assets)
        drafts = findings(result.assets)

        for location in ("alg-ecdsa-p256", "pub-3", "cert-3", "alg-ed25519", "pub-5"):
            assert assets[location].usage is Usage.SIGNATURE, location
            assert not rules_at(drafts, location) & KEY_ESTABLISHMENT_RULES, location
        assert assets["pub-3"].details["contradictions"][0]["declared"] == "pke"
        assert result.details["contradicted_assets"] == 5

    def test_the_catalog_wins_the_other_way_too(self) -> None:
        doc = document(algorithm("x", "X25519", primitive="signature"))

        asset = cbom.assets_from(read(doc), label="doc")[0]

        assert asset.usage is Usage.KEY_ESTABLISHMENT
        assert asset.details["contradictions"][0]["field"] == "primitive"

    def test_a_primitive_where_the_catalog_is_open_is_no_contradiction(self) -> None:
        doc = document(algorithm("r", "RSA", primitive="pke", parameterSetIdentifier="2048"))

        asset = cbom.assets_from(read(doc), label="doc")[0]

        assert (asset.algorithm, asset.usage) == ("RSA-2048", Usage.KEY_ESTABLISHMENT)
        assert "contradictions" not in asset.details
        assert {"QRAP-PQC-001", "QRAP-HNDL-001"} <= rules_at(findings([asset]), "r")

    def test_a_declared_kem_primitive_keeps_its_kind(self) -> None:
        doc = document(algorithm("k", "ML-KEM-768", primitive="kem"))

        assert cbom.assets_from(read(doc), label="doc")[0].kind == "key_exchange"


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
