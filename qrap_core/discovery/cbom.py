"""CBOM import: CycloneDX 1.6 ``cryptographic-asset`` components as crypto assets.

The document is read as a stream of JSON events (ijson): each top-level component is built,
checked and reduced to a small record before the next is read, so memory follows the number
of crypto components, not the document's size. References between components
(``signatureAlgorithmRef``, ``subjectPublicKeyRef``, ``algorithmRef``, ``dependencies``) are
resolved after the pass. A document that breaks the rules QRAP relies on is refused with the
JSON pointer of the first problems (``/components/12/cryptoProperties/assetType``).

Generators often leave key sizes and security levels out; they are filled from the catalog
and listed in the asset's ``enriched`` detail, so nobody mistakes them for declared values.
Documents QRAP itself exported carry ``qrap:*`` properties that restore each asset exactly.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

import ijson

from qrap_core.assessment.targets import CbomTarget
from qrap_core.crypto import AlgorithmInfo, parse_algorithm
from qrap_core.discovery.types import AssetKind, CryptoAsset, TargetResult
from qrap_core.enums import Usage
from qrap_core.errors import InvalidInput

ArtifactSource = Callable[[Any], AbstractContextManager[BinaryIO]]
"""Opens an uploaded document (by artifact id) as a binary stream."""

MAX_COMPONENTS = 1_000_000
MAX_PROBLEMS = 20
SPEC_VERSIONS = ("1.6",)
ASSET_TYPES = ("algorithm", "certificate", "protocol", "related-crypto-material")
PRIMITIVES = (
    "drbg", "mac", "block-cipher", "stream-cipher", "signature", "hash", "pke", "xof", "kdf",
    "key-agree", "kem", "ae", "combiner", "other", "unknown",
)  # fmt: skip
PROTOCOL_TYPES = ("tls", "ssh", "ipsec", "ike", "sstp", "wpa", "other", "unknown")
_USAGE_BY_PRIMITIVE = {
    "signature": Usage.SIGNATURE,
    "kem": Usage.KEY_ESTABLISHMENT,
    "key-agree": Usage.KEY_ESTABLISHMENT,
    "pke": Usage.KEY_ESTABLISHMENT,
    "block-cipher": Usage.ENCRYPTION,
    "stream-cipher": Usage.ENCRYPTION,
    "ae": Usage.ENCRYPTION,
    "hash": Usage.HASH,
    "mac": Usage.HASH,
    "xof": Usage.HASH,
}
_KINDS: tuple[AssetKind, ...] = (
    "certificate", "protocol", "cipher_suite", "key_exchange", "algorithm", "key",
)  # fmt: skip
# NIST PQC security categories by the classical strength they match (FIPS 203/204 §1).
_CATEGORY_BY_BITS = {128: 1, 192: 3, 256: 5}
_HASH_CATEGORY = {"SHA-256": 2, "SHA3-256": 2, "SHA-384": 4, "SHA3-384": 4, "SHA-512": 5}


class InvalidCbom(InvalidInput):
    """The document is not a CBOM QRAP can read; ``details`` holds JSON pointers."""


@dataclass(slots=True)
class _Component:
    pointer: str  # "/components/3" or "/components/3/components/0"
    name: str
    bom_ref: str | None
    crypto: dict[str, Any]
    properties: dict[str, str]


@dataclass(slots=True)
class ParsedCbom:
    """The crypto components of one document, with what the pass learned about the rest."""

    spec_version: str
    serial_number: str | None
    components: list[_Component] = field(default_factory=list)
    other_components: int = 0
    dependencies: dict[str, dict[str, list[str]]] = field(default_factory=dict)


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, pointer: str, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append({"field": pointer, "pointer": pointer, "message": message})

    def raise_if_any(self) -> None:
        if self.items:
            first = self.items[0]
            more = f" (and {len(self.items) - 1} more)" if len(self.items) > 1 else ""
            raise InvalidCbom(
                f"invalid CBOM at {first['pointer']}: {first['message']}{more}",
                details=self.items,
            )


def read_cbom(stream: BinaryIO) -> ParsedCbom:
    """Parse and check a CycloneDX 1.6 JSON document from ``stream`` in one streaming pass.

    Raises InvalidCbom naming where the document is wrong.
    """
    problems = _Problems()
    parsed = ParsedCbom(spec_version="", serial_number=None)
    refs: dict[str, str] = {}
    seen_format = False
    top_level = 0
    try:
        events = ijson.parse(stream, use_float=True)
        first = next(events, None)
        if first is None or first[1] != "start_map":
            raise InvalidCbom(
                "invalid CBOM at /: the document must be a JSON object",
                details=[{"field": "/", "pointer": "/", "message": "not a JSON object"}],
            )
        for prefix, event, value in events:
            if prefix == "bomFormat":
                seen_format = True
                if value != "CycloneDX":
                    problems.add("/bomFormat", f"must be 'CycloneDX', not {value!r}")
            elif prefix == "specVersion":
                parsed.spec_version = str(value)
                if value not in SPEC_VERSIONS:
                    problems.add("/specVersion", f"must be 1.6, not {value!r}")
            elif prefix == "serialNumber" and event == "string":
                parsed.serial_number = value
            elif prefix == "metadata.component.bom-ref" and event == "string":
                refs.setdefault(value, "/metadata/component")
            elif prefix in ("components", "dependencies") and event not in (
                "start_array",
                "end_array",
            ):
                problems.add(f"/{prefix}", "must be an array")
            elif prefix == "components.item":
                if top_level >= MAX_COMPONENTS:
                    problems.add("/components", f"more than {MAX_COMPONENTS} components")
                    break
                component = _build(event, value, events, prefix)
                _component(component, f"/components/{top_level}", parsed, refs, problems)
                top_level += 1
            elif prefix == "dependencies.item":
                index = len(parsed.dependencies)
                _dependency(_build(event, value, events, prefix), index, parsed, problems)
            elif prefix == "services.item.bom-ref" and event == "string":
                refs.setdefault(value, "/services")
    except ijson.JSONError as exc:
        raise InvalidCbom(
            f"invalid CBOM at /: not valid JSON ({exc})",
            details=[{"field": "/", "pointer": "/", "message": f"not valid JSON: {exc}"}],
        ) from exc
    if not seen_format:
        problems.add("/bomFormat", "is required")
    if not parsed.spec_version:
        problems.add("/specVersion", "is required")
    _check_references(parsed, refs, problems)
    problems.raise_if_any()
    return parsed


def _build(event: str, value: Any, events: Iterator[tuple[str, str, Any]], prefix: str) -> Any:
    """Build one array item from the event stream (ijson's ObjectBuilder, one item at a time)."""
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    if event not in ("start_map", "start_array"):
        return builder.value
    depth = 1
    for item_prefix, item_event, item_value in events:
        builder.event(item_event, item_value)
        if item_event in ("start_map", "start_array"):
            depth += 1
        elif item_event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0 and item_prefix == prefix:
                break
    return builder.value


def _component(
    data: Any, where: str, parsed: ParsedCbom, refs: dict[str, str], problems: _Problems
) -> None:
    """Check one component (and the components nested in it) and keep it if it is crypto."""
    if not isinstance(data, dict):
        problems.add(where, "must be an object")
        return
    nested = data.get("components")
    if nested is not None:
        if not isinstance(nested, list):
            problems.add(f"{where}/components", "must be an array")
        else:
            for number, child in enumerate(nested):
                _component(child, f"{where}/components/{number}", parsed, refs, problems)
    bom_ref = data.get("bom-ref")
    if bom_ref is not None:
        if not isinstance(bom_ref, str) or not bom_ref:
            problems.add(f"{where}/bom-ref", "must be a non-empty string")
            bom_ref = None
        elif bom_ref in refs and refs[bom_ref] != where:
            problems.add(f"{where}/bom-ref", f"{bom_ref!r} is already used at {refs[bom_ref]}")
        else:
            refs[bom_ref] = where
    kind = data.get("type")
    if not isinstance(kind, str):
        problems.add(f"{where}/type", "is required (a string)")
        return
    if kind != "cryptographic-asset":
        parsed.other_components += 1
        return
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(f"{where}/name", "is required (a non-empty string)")
        return
    crypto = data.get("cryptoProperties")
    if not isinstance(crypto, dict):
        problems.add(f"{where}/cryptoProperties", "is required for a cryptographic-asset")
        return
    _check_crypto(crypto, f"{where}/cryptoProperties", problems)
    properties = {}
    for number, prop in enumerate(data.get("properties") or []):
        if isinstance(prop, dict) and isinstance(prop.get("name"), str):
            properties[prop["name"]] = str(prop.get("value", ""))
        else:
            problems.add(f"{where}/properties/{number}", "must be an object with a name")
    parsed.components.append(_Component(where, name.strip(), bom_ref, crypto, properties))


def _check_crypto(crypto: dict[str, Any], where: str, problems: _Problems) -> None:
    asset_type = crypto.get("assetType")
    if asset_type not in ASSET_TYPES:
        problems.add(f"{where}/assetType", f"must be one of {', '.join(ASSET_TYPES)}")
    algorithm = _object(crypto, "algorithmProperties", where, problems)
    if algorithm is not None:
        base = f"{where}/algorithmProperties"
        if "primitive" in algorithm and algorithm["primitive"] not in PRIMITIVES:
            problems.add(f"{base}/primitive", f"must be one of {', '.join(PRIMITIVES)}")
        _integer(algorithm, "classicalSecurityLevel", base, problems, 0, 100_000)
        _integer(algorithm, "nistQuantumSecurityLevel", base, problems, 0, 6)
        for key in ("parameterSetIdentifier", "curve", "mode", "padding"):
            _string(algorithm, key, base, problems)
    certificate = _object(crypto, "certificateProperties", where, problems)
    if certificate is not None:
        base = f"{where}/certificateProperties"
        for key in ("subjectName", "issuerName", "signatureAlgorithmRef", "subjectPublicKeyRef"):
            _string(certificate, key, base, problems)
        for key in ("notValidBefore", "notValidAfter"):
            if _string(certificate, key, base, problems) and _timestamp(certificate[key]) is None:
                problems.add(f"{base}/{key}", "must be an RFC 3339 date-time")
    material = _object(crypto, "relatedCryptoMaterialProperties", where, problems)
    if material is not None:
        base = f"{where}/relatedCryptoMaterialProperties"
        _integer(material, "size", base, problems, 0, 1_000_000)
        for key in ("type", "algorithmRef", "state"):
            _string(material, key, base, problems)
    protocol = _object(crypto, "protocolProperties", where, problems)
    if protocol is not None:
        base = f"{where}/protocolProperties"
        if "type" in protocol and protocol["type"] not in PROTOCOL_TYPES:
            problems.add(f"{base}/type", f"must be one of {', '.join(PROTOCOL_TYPES)}")
        _string(protocol, "version", base, problems)
        suites = protocol.get("cipherSuites", [])
        if not isinstance(suites, list):
            problems.add(f"{base}/cipherSuites", "must be an array")
        else:
            for number, suite in enumerate(suites):
                if not isinstance(suite, dict):
                    problems.add(f"{base}/cipherSuites/{number}", "must be an object")
                else:
                    _string(suite, "name", f"{base}/cipherSuites/{number}", problems)
    _string(crypto, "oid", where, problems)


def _object(
    parent: dict[str, Any], key: str, where: str, problems: _Problems
) -> dict[str, Any] | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add(f"{where}/{key}", "must be an object")
        return None
    return value


def _string(parent: dict[str, Any], key: str, where: str, problems: _Problems) -> bool:
    if key not in parent:
        return False
    if not isinstance(parent[key], str):
        problems.add(f"{where}/{key}", "must be a string")
        return False
    return True


def _integer(
    parent: dict[str, Any], key: str, where: str, problems: _Problems, low: int, high: int
) -> None:
    value = parent.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.add(f"{where}/{key}", f"must be an integer from {low} to {high}")


def _dependency(data: Any, index: int, parsed: ParsedCbom, problems: _Problems) -> None:
    where = f"/dependencies/{index}"
    if not isinstance(data, dict) or not isinstance(data.get("ref"), str):
        problems.add(f"{where}/ref", "is required (a string)")
        parsed.dependencies[f"#invalid-{index}"] = {}
        return
    entry: dict[str, list[str]] = {}
    for key in ("dependsOn", "provides"):
        values = data.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            problems.add(f"{where}/{key}", "must be an array of bom-ref strings")
            continue
        entry[key] = list(values)
    parsed.dependencies[data["ref"]] = entry


def _check_references(parsed: ParsedCbom, refs: dict[str, str], problems: _Problems) -> None:
    for index, (ref, entry) in enumerate(parsed.dependencies.items()):
        if ref.startswith("#invalid-"):
            continue
        if ref not in refs:
            problems.add(f"/dependencies/{index}/ref", f"{ref!r} names no bom-ref")
        for key, values in entry.items():
            for number, target in enumerate(values):
                if target not in refs:
                    problems.add(
                        f"/dependencies/{index}/{key}/{number}", f"{target!r} names no bom-ref"
                    )
    for component in parsed.components:
        base = f"{component.pointer}/cryptoProperties"
        for section, key in (
            ("certificateProperties", "signatureAlgorithmRef"),
            ("certificateProperties", "subjectPublicKeyRef"),
            ("relatedCryptoMaterialProperties", "algorithmRef"),
        ):
            named = (component.crypto.get(section) or {}).get(key)
            if isinstance(named, str) and named not in refs:
                problems.add(f"{base}/{section}/{key}", f"{named!r} names no bom-ref")


# --- components to assets ------------------------------------------------------------------


def assets_from(
    parsed: ParsedCbom, *, label: str, now: datetime | None = None
) -> list[CryptoAsset]:
    """One asset per crypto component (cipher suites of a protocol become their own)."""
    by_ref = {c.bom_ref: c for c in parsed.components if c.bom_ref}
    now = now or datetime.now(UTC)
    assets: list[CryptoAsset] = []
    for component in parsed.components:
        if component.properties.get("qrap:auxiliary") == "true":
            continue  # an exporter helper: its facts live in the asset that references it
        if "qrap:kind" in component.properties:
            assets.append(_restored(component, parsed))
            continue
        asset_type = component.crypto.get("assetType")
        if asset_type == "algorithm":
            assets.append(_algorithm(component, label, parsed))
        elif asset_type == "certificate":
            assets.append(_certificate(component, by_ref, label, parsed, now))
        elif asset_type == "related-crypto-material":
            assets.append(_material(component, by_ref, label, parsed))
        else:
            assets.extend(_protocol(component, label, parsed))
    return assets


def _common(component: _Component, parsed: ParsedCbom) -> dict[str, Any]:
    details: dict[str, Any] = {"source": "cbom", "bom_ref": component.bom_ref}
    deps = parsed.dependencies.get(component.bom_ref or "")
    if deps:
        details["dependencies"] = deps
    return details


def _restored(component: _Component, parsed: ParsedCbom) -> CryptoAsset:
    props = component.properties
    kind = props["qrap:kind"]
    details: dict[str, Any] = {}
    if props.get("qrap:details"):
        try:
            loaded = json.loads(props["qrap:details"])
        except ValueError:
            loaded = {}
        details = loaded if isinstance(loaded, dict) else {}
    details.setdefault("source", "cbom")
    size = props.get("qrap:key_size")
    asset_kind: AssetKind = next((k for k in _KINDS if k == kind), "algorithm")
    return CryptoAsset(
        kind=asset_kind,
        name=component.name,
        location=props.get("qrap:location") or component.name,
        usage=_usage(props.get("qrap:usage")),
        algorithm=props.get("qrap:algorithm") or None,
        family=props.get("qrap:family") or None,
        key_size=int(size) if size and size.isdigit() else None,
        protocol=props.get("qrap:protocol") or None,
        details=details,
    )


def _usage(text: str | None) -> Usage:
    try:
        return Usage(text or "unknown")
    except ValueError:
        return Usage.UNKNOWN


def identify(component: _Component) -> AlgorithmInfo:
    """The catalog entry for an algorithm component: by name, then name+parameter set, OID."""
    properties = component.crypto.get("algorithmProperties") or {}
    parameter = properties.get("parameterSetIdentifier")
    curve = properties.get("curve")
    size = int(parameter) if isinstance(parameter, str) and parameter.isdigit() else None
    # The most specific spelling first: "ML-KEM" alone is a family, "ML-KEM-768" a parameter set.
    candidates = []
    if parameter:
        candidates += [f"{component.name}-{parameter}", f"{component.name}{parameter}"]
    if curve:
        candidates += [f"{component.name}-{curve}", str(curve)]
    candidates.append(component.name)
    if component.crypto.get("oid"):
        candidates.append(str(component.crypto["oid"]))
    for candidate in candidates:
        info = parse_algorithm(candidate, size)
        if info.known:
            return info
    return parse_algorithm(component.name, size)


def _algorithm(component: _Component, label: str, parsed: ParsedCbom) -> CryptoAsset:
    info = identify(component)
    properties = dict(component.crypto.get("algorithmProperties") or {})
    primitive = properties.get("primitive")
    enriched = []
    if properties.get("classicalSecurityLevel") is None and info.classical_bits is not None:
        properties["classicalSecurityLevel"] = info.classical_bits
        enriched.append("classicalSecurityLevel")
    if properties.get("nistQuantumSecurityLevel") is None and info.known:
        level = quantum_level(info)
        if level is not None:
            properties["nistQuantumSecurityLevel"] = level
            enriched.append("nistQuantumSecurityLevel")
    if properties.get("parameterSetIdentifier") is None and info.key_size is not None:
        properties["parameterSetIdentifier"] = str(info.key_size)
        enriched.append("parameterSetIdentifier")
    usage = _USAGE_BY_PRIMITIVE.get(str(primitive), info.usage)
    kind: AssetKind = "key_exchange" if primitive in ("kem", "key-agree") else "algorithm"
    details = _common(component, parsed) | {
        "asset_type": "algorithm",
        "declared_algorithm": component.name,
        "primitive": primitive,
        "classical_security_level": properties.get("classicalSecurityLevel"),
        "nist_quantum_security_level": properties.get("nistQuantumSecurityLevel"),
        "parameter_set": properties.get("parameterSetIdentifier"),
        "curve": properties.get("curve"),
        "oid": component.crypto.get("oid"),
        "known": info.known,
        "pqc": info.pqc,
        "hybrid_pqc": info.hybrid,
        "quantum_vulnerable": info.quantum_vulnerable,
        "enriched": enriched,
    }
    return CryptoAsset(
        kind=kind,
        name=component.name,
        location=_location(component, label),
        usage=usage,
        algorithm=info.canonical if info.known else component.name,
        family=info.family,
        key_size=info.key_size,
        details=details,
    )


def quantum_level(info: AlgorithmInfo) -> int | None:
    """The NIST PQC security category (0-6) the catalog implies; 0 for quantum-breakable."""
    if info.quantum_vulnerable:
        return 0
    if info.pqc or info.hybrid:
        return _CATEGORY_BY_BITS.get(info.classical_bits or 0)
    if info.canonical in _HASH_CATEGORY:
        return _HASH_CATEGORY[info.canonical]
    if info.usage is Usage.ENCRYPTION and info.key_size in _CATEGORY_BY_BITS:
        return _CATEGORY_BY_BITS[info.key_size or 0]
    return None


def _certificate(
    component: _Component,
    by_ref: dict[str, _Component],
    label: str,
    parsed: ParsedCbom,
    now: datetime,
) -> CryptoAsset:
    props = component.crypto.get("certificateProperties") or {}
    key_ref = by_ref.get(props.get("subjectPublicKeyRef") or "")
    signature_ref = by_ref.get(props.get("signatureAlgorithmRef") or "")
    key_info: AlgorithmInfo | None = None
    key_size = None
    enriched = []
    if key_ref is not None:
        if key_ref.crypto.get("assetType") == "related-crypto-material":
            material = key_ref.crypto.get("relatedCryptoMaterialProperties") or {}
            key_size = material.get("size")
            algorithm_ref = by_ref.get(material.get("algorithmRef") or "")
            key_info = identify(algorithm_ref) if algorithm_ref else parse_algorithm(key_ref.name)
        else:
            key_info = identify(key_ref)
    if key_size is None and key_info is not None and key_info.key_size is not None:
        key_size = key_info.key_size
        enriched.append("key_size")
    not_before = _timestamp(props.get("notValidBefore"))
    not_after = _timestamp(props.get("notValidAfter"))
    subject = props.get("subjectName") or component.name
    details = _common(component, parsed) | {
        "asset_type": "certificate",
        "subject": subject,
        "issuer": props.get("issuerName"),
        "not_before": not_before.isoformat() if not_before else None,
        "not_after": not_after.isoformat() if not_after else None,
        "signature_algorithm": signature_ref.name if signature_ref else None,
        "certificate_format": props.get("certificateFormat"),
        "enriched": enriched,
    }
    if not_after is not None:
        details["days_to_expiry"] = (not_after - now) // timedelta(days=1)
        if not_before is not None:
            details["lifetime_days"] = (not_after - not_before) // timedelta(days=1)
    return CryptoAsset(
        kind="certificate",
        name=subject,
        location=_location(component, label),
        usage=Usage.SIGNATURE,
        algorithm=(key_info.family if key_info and key_info.known else None)
        or (key_info.canonical if key_info else None),
        family=key_info.family if key_info else None,
        key_size=key_size if isinstance(key_size, int) else None,
        details=details,
    )


def _material(
    component: _Component, by_ref: dict[str, _Component], label: str, parsed: ParsedCbom
) -> CryptoAsset:
    props = component.crypto.get("relatedCryptoMaterialProperties") or {}
    algorithm_ref = by_ref.get(props.get("algorithmRef") or "")
    info = identify(algorithm_ref) if algorithm_ref else parse_algorithm(component.name)
    size = props.get("size")
    enriched = []
    if size is None and info.key_size is not None:
        size = info.key_size
        enriched.append("size")
    usage = info.usage
    if algorithm_ref is not None:
        primitive = (algorithm_ref.crypto.get("algorithmProperties") or {}).get("primitive")
        usage = _USAGE_BY_PRIMITIVE.get(str(primitive), usage)
    return CryptoAsset(
        kind="key",
        name=component.name,
        location=_location(component, label),
        usage=usage,
        algorithm=info.canonical if info.known else None,
        family=info.family,
        key_size=size if isinstance(size, int) else None,
        details=_common(component, parsed)
        | {
            "asset_type": "related-crypto-material",
            "material_type": props.get("type"),
            "state": props.get("state"),
            "enriched": enriched,
        },
    )


def _protocol(component: _Component, label: str, parsed: ParsedCbom) -> list[CryptoAsset]:
    props = component.crypto.get("protocolProperties") or {}
    kind = str(props.get("type") or "unknown")
    version = props.get("version")
    if kind == "tls" and version:
        name = f"TLSv{version}" if not str(version).upper().startswith("TLS") else str(version)
    elif kind == "ssh" and version:
        name = f"SSH-{version}"
    else:
        name = component.name
    location = _location(component, label)
    suites = [s.get("name") for s in props.get("cipherSuites") or [] if s.get("name")]
    assets = [
        CryptoAsset(
            kind="protocol",
            name=name,
            location=location,
            usage=Usage.PROTOCOL,
            algorithm=name,
            protocol=name,
            details=_common(component, parsed)
            | {"asset_type": "protocol", "protocol_type": kind, "cipher_suites": suites},
        )
    ]
    for suite in suites:
        assets.append(
            CryptoAsset(
                kind="cipher_suite",
                name=suite,
                location=location,
                usage=Usage.ENCRYPTION,
                algorithm=suite,
                protocol=name,
                details={"source": "cbom", "bom_ref": component.bom_ref},
            )
        )
    return assets


def _location(component: _Component, label: str) -> str:
    return component.bom_ref or f"{label}/{component.name}"


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- the analyzer --------------------------------------------------------------------------


def analyze(
    target: CbomTarget,
    *,
    artifacts: ArtifactSource | None,
    now: datetime | None = None,
) -> TargetResult:
    """Assets of an inline or uploaded CBOM; a bad document is a target error, not a raise."""
    label = target.label()
    try:
        parsed = load_target(target, artifacts)
    except InvalidInput as exc:
        return TargetResult.failed(label, "cbom", exc.message)
    assets = assets_from(parsed, label=label, now=now)
    enriched = sum(1 for a in assets if a.details.get("enriched"))
    return TargetResult(
        target=label,
        type="cbom",
        status="ok",
        assets=assets,
        details={
            "spec_version": parsed.spec_version,
            "serial_number": parsed.serial_number,
            "crypto_components": len(parsed.components),
            "other_components": parsed.other_components,
            "dependencies": len(parsed.dependencies),
            "enriched_assets": enriched,
        },
    )


def check_document(document: dict[str, Any]) -> None:
    """Raise ValueError (for pydantic) naming where an inline document is wrong."""
    try:
        read_cbom(io.BytesIO(json.dumps(document).encode()))
    except InvalidCbom as exc:
        raise ValueError(exc.message) from None


def load_target(target: CbomTarget, artifacts: ArtifactSource | None) -> ParsedCbom:
    """Read the target's document, wherever it is. Raises InvalidInput."""
    if (target.document is None) == (target.artifact_id is None):
        raise InvalidInput("a cbom target needs exactly one of 'document' and 'artifact_id'")
    if target.document is not None:
        return read_cbom(io.BytesIO(json.dumps(target.document).encode()))
    if artifacts is None:
        raise InvalidInput(f"uploaded document {target.artifact_id} is not available here")
    with artifacts(target.artifact_id) as stream:
        return read_cbom(stream)
