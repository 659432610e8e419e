"""CycloneDX 1.6 CBOM of everything a run discovered, built with cyclonedx-python-lib.

Each asset becomes one ``cryptographic-asset`` component with the standard crypto properties
(algorithm primitive and security levels, certificate subject/issuer/validity, protocol
version and cipher suites, key sizes) and ``qrap:*`` properties that let QRAP's own importer
restore the asset exactly (the round trip). A certificate's key and signature algorithms are
separate components, as the schema wants references there; they carry ``qrap:auxiliary`` so
that re-importing does not count them as assets of their own.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.crypto import (
    AlgorithmProperties,
    CertificateProperties,
    CryptoAssetType,
    CryptoPrimitive,
    CryptoProperties,
    ProtocolProperties,
    ProtocolPropertiesCipherSuite,
    ProtocolPropertiesType,
    RelatedCryptoMaterialProperties,
    RelatedCryptoMaterialType,
)
from cyclonedx.output.json import JsonV1Dot6

from qrap_core import __version__
from qrap_core.crypto import parse_algorithm
from qrap_core.discovery.cbom import quantum_level
from qrap_core.reports.model import Report, ReportAssessment, ReportAsset, ReportRun

MEDIA_TYPE = "application/vnd.cyclonedx+json; version=1.6"
_PRIMITIVE_BY_USAGE = {
    "signature": CryptoPrimitive.SIGNATURE,
    "key-establishment": CryptoPrimitive.KEY_AGREE,
    "hash": CryptoPrimitive.HASH,
    "encryption": CryptoPrimitive.BLOCK_CIPHER,
}


def render(report: Report) -> str:
    """The CBOM (JSON text) of a report built by ``assessment.report.build``."""
    return "".join(stream(report.assessment, report.run, report.assets))


def stream(
    assessment: ReportAssessment,
    run: ReportRun | None,
    assets: Iterable[ReportAsset],
    batch: int = 500,
) -> Iterator[str]:
    """The CBOM as JSON text chunks, ``batch`` assets at a time: each batch is built and
    serialised by the library, its components written out at once and its dependency entries
    kept in a temporary file until every component is out (CycloneDX lists them last)."""
    root_ref = f"assessment:{assessment.id}"
    head = json.loads(JsonV1Dot6(_head(assessment, run)).output_as_string())
    head.pop("components", None)
    head.pop("dependencies", None)
    yield json.dumps(head)[:-1] + ', "components": ['
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8") as entries,
        tempfile.TemporaryFile("w+", encoding="utf-8") as roots,
    ):
        first = True
        for chunk in _batches(assets, batch):
            bom = Bom()
            for asset in chunk:
                component, helpers = _component(asset)
                bom.components.add(component)
                for helper in helpers:
                    bom.components.add(helper)
                if helpers:
                    bom.register_dependency(component, helpers)
                roots.write(("" if roots.tell() == 0 else ", ") + json.dumps(f"asset:{asset.id}"))
            out = json.loads(JsonV1Dot6(bom).output_as_string())
            for entry in out.get("dependencies", []):
                entries.write(", " + json.dumps(entry))
            text = ", ".join(json.dumps(c) for c in out.get("components", []))
            yield ("" if first else ", ") + text
            first = False
        yield f'], "dependencies": [{{"ref": {json.dumps(root_ref)}, "dependsOn": ['
        yield from _replay(roots)
        yield "]}"
        yield from _replay(entries)
        yield "]}"


def _head(assessment: ReportAssessment, run: ReportRun | None) -> Bom:
    bom = Bom()
    bom.metadata.component = Component(
        type=ComponentType.APPLICATION,
        name=assessment.name,
        bom_ref=BomRef(f"assessment:{assessment.id}"),
        description="the assessed estate (QRAP assessment)",
    )
    bom.metadata.properties.add(Property(name="qrap:version", value=__version__))
    if run is not None and run.completed_at is not None:
        bom.metadata.timestamp = run.completed_at
    return bom


def _batches(items: Iterable[ReportAsset], size: int) -> Iterator[list[ReportAsset]]:
    chunk: list[ReportAsset] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _replay(spool: IO[str], size: int = 1 << 16) -> Iterator[str]:
    spool.seek(0)
    while text := spool.read(size):
        yield text


def _properties(asset: ReportAsset) -> list[Property]:
    props = {
        "qrap:kind": asset.kind,
        "qrap:location": asset.location,
        "qrap:usage": asset.usage,
        "qrap:algorithm": asset.algorithm or "",
        "qrap:family": asset.family or "",
        "qrap:key_size": "" if asset.key_size is None else str(asset.key_size),
        "qrap:protocol": asset.protocol or "",
        "qrap:quantum_risk_score": str(asset.quantum_risk_score),
        "qrap:details": json.dumps(asset.details, sort_keys=True, default=str),
    }
    return [Property(name=k, value=v) for k, v in props.items() if v != ""]


def _component(asset: ReportAsset) -> tuple[Component, list[Component]]:
    ref = f"asset:{asset.id}"
    kind = asset.kind
    helpers: list[Component] = []
    if kind == "certificate":
        crypto, helpers = _certificate(asset, ref)
    elif kind in ("protocol", "cipher_suite"):
        crypto = _protocol(asset)
    elif kind == "key":
        crypto = CryptoProperties(
            asset_type=CryptoAssetType.RELATED_CRYPTO_MATERIAL,
            related_crypto_material_properties=RelatedCryptoMaterialProperties(
                type=RelatedCryptoMaterialType.KEY, size=asset.key_size
            ),
        )
    else:
        crypto = CryptoProperties(
            asset_type=CryptoAssetType.ALGORITHM,
            algorithm_properties=_algorithm_properties(asset),
            oid=_oid(asset),
        )
    component = Component(
        type=ComponentType.CRYPTOGRAPHIC_ASSET,
        name=asset.name,
        bom_ref=BomRef(ref),
        crypto_properties=crypto,
        properties=_properties(asset),
    )
    return component, helpers


def _algorithm_properties(asset: ReportAsset) -> AlgorithmProperties:
    info = parse_algorithm(asset.algorithm or asset.name, asset.key_size)
    details = asset.details
    primitive = _PRIMITIVE_BY_USAGE.get(asset.usage, CryptoPrimitive.UNKNOWN)
    if asset.kind == "key_exchange" and (info.pqc or info.hybrid):
        primitive = CryptoPrimitive.KEM
    size = asset.key_size or info.key_size
    return AlgorithmProperties(
        primitive=primitive,
        parameter_set_identifier=str(size) if size else None,
        curve=details.get("curve") if isinstance(details.get("curve"), str) else None,
        classical_security_level=info.classical_bits,
        nist_quantum_security_level=quantum_level(info) if info.known else None,
    )


def _oid(asset: ReportAsset) -> str | None:
    oid = asset.details.get("oid")
    return oid if isinstance(oid, str) else None


def _certificate(asset: ReportAsset, ref: str) -> tuple[CryptoProperties, list[Component]]:
    details = asset.details
    key_name = asset.algorithm or "unknown"
    if asset.key_size:
        key_name = f"{key_name}-{asset.key_size}"
    aux = [Property(name="qrap:auxiliary", value="true")]
    key = Component(
        type=ComponentType.CRYPTOGRAPHIC_ASSET,
        name=key_name,
        bom_ref=BomRef(f"{ref}:public-key"),
        crypto_properties=CryptoProperties(
            asset_type=CryptoAssetType.ALGORITHM,
            algorithm_properties=_algorithm_properties(
                asset.model_copy(update={"kind": "algorithm", "usage": "signature"})
            ),
        ),
        properties=aux,
    )
    helpers = [key]
    signature_ref = None
    if details.get("signature_algorithm"):
        signature = Component(
            type=ComponentType.CRYPTOGRAPHIC_ASSET,
            name=str(details["signature_algorithm"]),
            bom_ref=BomRef(f"{ref}:signature"),
            crypto_properties=CryptoProperties(
                asset_type=CryptoAssetType.ALGORITHM,
                algorithm_properties=AlgorithmProperties(primitive=CryptoPrimitive.SIGNATURE),
            ),
            properties=aux,
        )
        helpers.append(signature)
        signature_ref = signature.bom_ref
    crypto = CryptoProperties(
        asset_type=CryptoAssetType.CERTIFICATE,
        certificate_properties=CertificateProperties(
            subject_name=details.get("subject") or asset.name,
            issuer_name=details.get("issuer"),
            not_valid_before=_datetime(details.get("not_before")),
            not_valid_after=_datetime(details.get("not_after")),
            signature_algorithm_ref=signature_ref,
            subject_public_key_ref=key.bom_ref,
            certificate_format="X.509",
        ),
    )
    return crypto, helpers


def _protocol(asset: ReportAsset) -> CryptoProperties:
    protocol = asset.protocol or asset.name
    upper = protocol.upper()
    if upper.startswith("SSH"):
        kind, version = ProtocolPropertiesType.SSH, protocol[4:] or None
    elif upper.startswith(("TLS", "SSL")):
        # "TLSv1.2" -> "1.2", "SSLv3" -> "3": the version number CycloneDX expects.
        kind, version = ProtocolPropertiesType.TLS, protocol[3:].lstrip("vV ") or None
    else:
        kind, version = ProtocolPropertiesType.OTHER, None
    suites = []
    if asset.kind == "cipher_suite":
        suites = [ProtocolPropertiesCipherSuite(name=asset.name)]
    return CryptoProperties(
        asset_type=CryptoAssetType.PROTOCOL,
        protocol_properties=ProtocolProperties(type=kind, version=version, cipher_suites=suites),
    )


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
