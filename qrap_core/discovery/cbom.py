"""CBOM import: CycloneDX ``cryptographic-asset`` components as crypto assets.

``cbom_reader`` reads and checks the document in one streaming pass; this module maps what it
kept onto assets. References between components (``signatureAlgorithmRef``,
``subjectPublicKeyRef``, ``algorithmRef``, 1.7's ``relatedCryptographicAssets``, and the
top-level ``dependencies``, which is all cbomkit writes) are resolved after the pass.

What generators write is taken for what it is, not more:

- A number beside a hash-and-sign name ("SHA512withRSA" with ``parameterSetIdentifier``
  512) is the digest's size; the key's size comes from a key or certificate component.
- A ``primitive`` or ``cryptoFunctions`` that contradicts the catalog ("pke" on ECDSA) does
  not decide the usage: the catalog does, and the asset lists the contradiction.
- A name the catalog does not recognise stays on the asset, marked ``unrecognised``.

Generators often leave key sizes and security levels out; they are filled from the catalog
and listed in the asset's ``enriched`` detail, so nobody mistakes them for declared values.
Documents QRAP itself exported carry ``qrap:*`` properties that restore each asset exactly.

A big document is analysed in slices (``CbomSlice``): ``prepare`` reads it once and writes
each slice of its components, and an index of what links to any of them read, to the run's
inputs; each slice then reads only its own part, so links resolve across slices and
``merge_slices`` puts the slices' target results back together into the one a single pass
gives.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, Protocol

import ijson

from qrap_core.crypto import AlgorithmInfo, parse_algorithm, parse_cbom_algorithm
from qrap_core.crypto.names import primitive_usage, signed_digest
from qrap_core.discovery.cbom_index import LinkIndex
from qrap_core.discovery.cbom_reader import (
    ASSET_TYPES,
    MAX_COMPONENTS,
    MAX_PROBLEMS,
    PRIMITIVES,
    PROTOCOL_TYPES,
    SPEC_VERSIONS,
    CbomComponent,
    InvalidCbom,
    ParsedCbom,
    check_document,
    read_cbom,
    read_slice,
    timestamp,
)
from qrap_core.discovery.cbom_reader import prepare as prepare_document
from qrap_core.discovery.targets import CbomTarget
from qrap_core.discovery.types import AssetKind, CryptoAsset, TargetResult
from qrap_core.enums import Usage
from qrap_core.errors import InvalidInput

__all__ = [
    "ASSET_TYPES",
    "MAX_COMPONENTS",
    "MAX_PROBLEMS",
    "PRIMITIVES",
    "PROTOCOL_TYPES",
    "SPEC_VERSIONS",
    "ArtifactSource",
    "CbomComponent",
    "CbomSlice",
    "InvalidCbom",
    "ParsedCbom",
    "SliceSource",
    "analyze",
    "assets_from",
    "check_document",
    "count_components",
    "identify",
    "load_target",
    "merge_slices",
    "prepare",
    "quantum_level",
    "read_cbom",
]

ArtifactSource = Callable[[Any], AbstractContextManager[BinaryIO]]
"""Opens an uploaded document (by artifact id) as a binary stream."""


class SliceSource(Protocol):
    """Where a run keeps what ``prepare`` wrote for its sliced documents, by name."""

    def open_slice(self, name: str) -> AbstractContextManager[BinaryIO]:
        """One slice's components, as a stream."""
        ...

    def index_file(self, name: str) -> str:
        """A local file holding the index ``name`` (fetched once, then reused)."""
        ...


_KINDS: tuple[AssetKind, ...] = (
    "certificate", "protocol", "cipher_suite", "key_exchange", "algorithm", "key",
)  # fmt: skip
# NIST PQC security categories by the classical strength they match (FIPS 203/204 §1).
_CATEGORY_BY_BITS = {128: 1, 192: 3, 256: 5}
_HASH_CATEGORY = {"SHA-256": 2, "SHA3-256": 2, "SHA-384": 4, "SHA3-384": 4, "SHA-512": 5}
# cryptoFunctions that a usage rules out: a signature scheme neither encapsulates nor
# decapsulates, a key establishment does not sign. (encrypt/decrypt stay open: generators
# use them for RSA signing too.)
_RULED_OUT_FUNCTIONS = {
    Usage.SIGNATURE: frozenset({"encapsulate", "decapsulate"}),
    Usage.KEY_ESTABLISHMENT: frozenset({"sign", "verify"}),
}
_PUBLIC_KEY_MATERIAL = ("public-key", "private-key", "key-pair")
MAX_LISTED_UNRECOGNISED = 100
# How much of a stored document is copied at a time to the local file ``prepare`` reads.
COPY_BUFFER = 1 << 20
# The end of the last slice of a document: whatever its count said, the rest is in it.
TO_THE_END = 2**31 - 1
# Target result details that count assets: a document's slices add theirs up.
_SUMMED_DETAILS = ("enriched_assets", "unrecognised_assets", "contradicted_assets")


class CbomSlice(CbomTarget):
    """A slice of one CBOM target: its crypto components ``window[0]`` up to ``window[1]``,
    which ``prepare`` wrote under ``prepared`` (``{prepared}/slice/{window[0]}``, with the
    document's index at ``{prepared}/index``).

    Built by the run's chunk plan, never from user input (the API's target union does not
    name it)."""

    window: tuple[int, int]
    prepared: str

    @classmethod
    def of(cls, target: CbomTarget, window: tuple[int, int], prepared: str) -> CbomSlice:
        # Constructed, not validated: the target was checked when it was submitted.
        return cls.model_construct(**dict(target), window=window, prepared=prepared)


# --- algorithms: the catalog entry, the usage, and what contradicted it ---------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """What QRAP makes of one algorithm component."""

    info: AlgorithmInfo
    usage: Usage
    key_exchange: bool  # a declared kem/key-agree primitive that the catalog did not overrule
    contradictions: tuple[dict[str, Any], ...] = ()
    digest: str | None = None  # the hash a hash-and-sign name fixes


def identify(component: CbomComponent) -> AlgorithmInfo:
    """The catalog entry for an algorithm component: its name completed by its properties.

    A ``parameterSetIdentifier`` beside a hash-and-sign name or OID is the digest's size and
    never becomes a key size or a curve (``names.parse_cbom_algorithm``).
    """
    properties = component.crypto.get("algorithmProperties") or {}
    return parse_cbom_algorithm(
        component.name,
        parameter_set=_text(properties.get("parameterSetIdentifier")),
        curve=_curve(properties),
        primitive=_text(properties.get("primitive")),
        mode=_text(properties.get("mode")),
        oid=_text(component.crypto.get("oid")),
        family=_text(properties.get("algorithmFamily")),
    )


def decide(component: CbomComponent) -> Decision:
    """The entry and usage of an algorithm component; the catalog wins a contradiction."""
    properties = component.crypto.get("algorithmProperties") or {}
    info = identify(component)
    primitive = _text(properties.get("primitive"))
    declared = primitive_usage(primitive)
    catalog_usage = info.usage if info.known else Usage.UNKNOWN
    contradictions: list[dict[str, Any]] = []
    usage = declared or catalog_usage
    if declared is not None and catalog_usage not in (Usage.UNKNOWN, declared):
        usage = catalog_usage
        contradictions.append(_contradiction("primitive", primitive, info, usage, "catalog"))
    functions = [f for f in properties.get("cryptoFunctions") or [] if isinstance(f, str)]
    ruled_out = sorted(set(functions) & _RULED_OUT_FUNCTIONS.get(usage, frozenset()))
    if ruled_out:
        decided_by = "catalog" if catalog_usage is usage else "primitive"
        contradictions.append(_contradiction("cryptoFunctions", ruled_out, info, usage, decided_by))
    oid = _text(component.crypto.get("oid"))
    digest = signed_digest(component.name) or (signed_digest(oid) if oid else None)
    return Decision(
        info=info,
        usage=usage,
        key_exchange=primitive in ("kem", "key-agree") and usage is declared,
        contradictions=tuple(contradictions),
        digest=digest,
    )


def _contradiction(
    field: str, declared: Any, info: AlgorithmInfo, usage: Usage, decided_by: str
) -> dict[str, Any]:
    return {
        "field": field,
        "declared": declared,
        "algorithm": info.canonical,
        "usage": usage.value,
        "decided_by": decided_by,
        "message": f"{field} {declared!r} contradicts {info.canonical or 'the algorithm'} "
        f"used for {usage.value} (decided by the {decided_by})",
    }


def _curve(properties: dict[str, Any]) -> str | None:
    curve = _text(properties.get("curve"))
    if curve:
        return curve
    # 1.7's ellipticCurve is namespaced: "nist/P-256", "secg/secp256k1".
    named = _text(properties.get("ellipticCurve"))
    return named.rsplit("/", 1)[-1] if named else None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


# --- components to assets ------------------------------------------------------------------


class _Links:
    """Who names whom: bom-refs, and the dependencies in both directions."""

    def __init__(self, parsed: ParsedCbom) -> None:
        self.by_ref = {c.bom_ref: c for c in parsed.components if c.bom_ref}
        # A slice of a document: the rest of it is asked of its on-disk index.
        self.index = parsed.index
        self.depends_on: dict[str, list[str]] = {}
        self.depended_by: dict[str, list[str]] = {}
        if self.index is None:
            self.depends_on = {
                ref: entry.get("dependsOn", []) for ref, entry in parsed.dependencies.items()
            }
            for ref, targets in self.depends_on.items():
                if ref in self.by_ref:
                    for target in targets:
                        if target in self.by_ref:
                            self.depended_by.setdefault(target, []).append(ref)
        self._decisions: dict[str, Decision] = {}

    def get(self, ref: Any) -> CbomComponent | None:
        if not isinstance(ref, str):
            return None
        found = self.by_ref.get(ref)
        if found is None and self.index is not None:
            linked = self.index.component(ref)
            if linked is not None:
                found = CbomComponent("", linked[0], ref, linked[1], {})
        return found

    def _depends_on(self, ref: str) -> list[str]:
        if self.index is None:
            return self.depends_on.get(ref, [])
        return self.index.depends_on(ref)

    def _depended_by(self, ref: str) -> list[str]:
        if self.index is None:
            return self.depended_by.get(ref, [])
        if self.get(ref) is None:
            return []
        return [source for source in self.index.depended_by(ref) if self.get(source) is not None]

    def decision(self, component: CbomComponent) -> Decision:
        key = component.bom_ref or component.pointer
        if key not in self._decisions:
            self._decisions[key] = decide(component)
        return self._decisions[key]

    def related(self, component: CbomComponent, section: str, *types: str) -> list[CbomComponent]:
        """1.7 ``relatedCryptographicAssets`` of ``section`` whose type is one of ``types``."""
        items = (component.crypto.get(section) or {}).get("relatedCryptographicAssets") or []
        wanted = {_squash(t) for t in types}
        found = []
        for item in items:
            if isinstance(item, dict) and _squash(str(item.get("type", ""))) in wanted:
                target = self.get(item.get("ref"))
                if target is not None:
                    found.append(target)
        return found

    def dependencies(
        self, component: CbomComponent, wanted: Callable[[CbomComponent], bool]
    ) -> tuple[list[CbomComponent], str]:
        """The ``wanted`` components this one depends on, else those that depend on it
        (cbomkit links keys to algorithms in ``dependencies`` only)."""
        ref = component.bom_ref or ""
        for refs, via in (
            (self._depends_on(ref), "dependencies"),
            (self._depended_by(ref), "dependencies (reverse)"),
        ):
            found = [c for c in map(self.get, refs) if c is not None and wanted(c)]
            if found:
                return found, via
        return [], "dependencies"

    def key_algorithm(self, material: CbomComponent) -> tuple[CbomComponent | None, str | None]:
        """The algorithm component of a key: algorithmRef, 1.7 related assets, dependencies."""
        props = material.crypto.get("relatedCryptoMaterialProperties") or {}
        named = self.get(props.get("algorithmRef"))
        if named is not None and _asset_type(named) == "algorithm":
            return named, "algorithmRef"
        related = [
            c
            for c in self.related(material, "relatedCryptoMaterialProperties", "algorithm")
            if _asset_type(c) == "algorithm"
        ]
        if related:
            return related[0], "relatedCryptographicAssets"
        linked, via = self.dependencies(material, _is_algorithm)
        best = self.best_key_algorithm(linked)
        return (best, via) if best is not None else (None, None)

    def best_key_algorithm(self, candidates: Iterable[CbomComponent]) -> CbomComponent | None:
        """A key's algorithm among several: a sized public-key entry, then any public-key one,
        then any known one, then the first."""

        def rank(component: CbomComponent) -> int:
            info = self.decision(component).info
            public = info.known and (info.quantum_vulnerable or info.post_quantum)
            if public and info.key_size is not None:
                return 0
            return 1 if public else 2 if info.known else 3

        ranked = sorted(enumerate(candidates), key=lambda pair: (rank(pair[1]), pair[0]))
        return ranked[0][1] if ranked else None


def _squash(text: str) -> str:
    return text.replace("-", "").replace("_", "").lower()


def _asset_type(component: CbomComponent) -> Any:
    return component.crypto.get("assetType")


def _is_algorithm(component: CbomComponent) -> bool:
    return bool(_asset_type(component) == "algorithm")


def _is_public_key(component: CbomComponent) -> bool:
    material = component.crypto.get("relatedCryptoMaterialProperties") or {}
    return (
        _asset_type(component) == "related-crypto-material"
        and material.get("type") in _PUBLIC_KEY_MATERIAL
    )


def assets_from(
    parsed: ParsedCbom, *, label: str, now: datetime | None = None
) -> list[CryptoAsset]:
    """One asset per crypto component (cipher suites of a protocol become their own)."""
    links = _Links(parsed)
    now = now or datetime.now(UTC)
    assets: list[CryptoAsset] = []
    for component in parsed.components:
        if component.properties.get("qrap:auxiliary") == "true":
            continue  # an exporter helper: its facts live in the asset that references it
        if "qrap:kind" in component.properties:
            assets.append(_restored(component, parsed))
            continue
        asset_type = _asset_type(component)
        if asset_type == "algorithm":
            assets.append(_algorithm(component, label, parsed, links))
        elif asset_type == "certificate":
            assets.append(_certificate(component, links, label, parsed, now))
        elif asset_type == "related-crypto-material":
            assets.append(_material(component, links, label, parsed))
        else:
            assets.extend(_protocol(component, label, parsed))
    return assets


def _common(component: CbomComponent, parsed: ParsedCbom) -> dict[str, Any]:
    details: dict[str, Any] = {"source": "cbom", "bom_ref": component.bom_ref}
    deps = parsed.dependencies.get(component.bom_ref or "")
    if deps:
        details["dependencies"] = deps
    if component.warnings:
        details["warnings"] = list(component.warnings)
    if not component.name:
        details["unnamed"] = True
    return details


def _restored(component: CbomComponent, parsed: ParsedCbom) -> CryptoAsset:
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
    name = component.name or props.get("qrap:algorithm") or component.bom_ref or "unnamed"
    return CryptoAsset(
        kind=asset_kind,
        name=name,
        location=props.get("qrap:location") or name,
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


def _decision_details(decision: Decision, declared: str) -> dict[str, Any]:
    """What an asset says about how its algorithm was read (only what applies)."""
    details: dict[str, Any] = {}
    if not decision.info.known:
        details["unrecognised"] = True
        details["unrecognised_algorithm"] = declared or "(unnamed algorithm)"
    if decision.contradictions:
        details["contradictions"] = list(decision.contradictions)
    if decision.digest is not None:
        details["digest"] = decision.digest
    return details


def _algorithm(
    component: CbomComponent, label: str, parsed: ParsedCbom, links: _Links
) -> CryptoAsset:
    decision = links.decision(component)
    info = decision.info
    properties = dict(component.crypto.get("algorithmProperties") or {})
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
    kind: AssetKind = "key_exchange" if decision.key_exchange else "algorithm"
    declared = component.name or _text(component.crypto.get("oid")) or ""
    name = component.name or (info.canonical if info.known else None) or _unnamed(component)
    details = (
        _common(component, parsed)
        | {
            "asset_type": "algorithm",
            "declared_algorithm": component.name,
            "primitive": properties.get("primitive"),
            "classical_security_level": properties.get("classicalSecurityLevel"),
            "nist_quantum_security_level": properties.get("nistQuantumSecurityLevel"),
            "parameter_set": properties.get("parameterSetIdentifier"),
            "curve": properties.get("curve") or _curve(properties),
            "oid": component.crypto.get("oid"),
            "known": info.known,
            "pqc": info.pqc,
            "hybrid_pqc": info.hybrid,
            "quantum_vulnerable": info.quantum_vulnerable,
            "enriched": enriched,
        }
        | _decision_details(decision, declared or name)
    )
    if properties.get("algorithmFamily"):
        details["algorithm_family"] = properties["algorithmFamily"]
    return CryptoAsset(
        kind=kind,
        name=name,
        location=_location(component, label),
        usage=decision.usage,
        algorithm=info.canonical if info.known else (component.name or None),
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


@dataclass(frozen=True, slots=True)
class _Key:
    """A certificate's or key's algorithm, as far as the document links it."""

    decision: Decision | None  # None: no algorithm component linked
    info: AlgorithmInfo | None
    size: Any
    via: str | None
    declared: str | None


def _key_of(material: CbomComponent, links: _Links) -> _Key:
    props = material.crypto.get("relatedCryptoMaterialProperties") or {}
    algorithm, via = links.key_algorithm(material)
    if algorithm is not None:
        decision = links.decision(algorithm)
        declared = algorithm.name or _text(algorithm.crypto.get("oid"))
        return _Key(decision, decision.info, props.get("size"), via, declared)
    info = parse_algorithm(material.name) if material.name else None
    return _Key(None, info, props.get("size"), None, None)


def _certificate_key(component: CbomComponent, links: _Links) -> _Key | None:
    props = component.crypto.get("certificateProperties") or {}
    target = links.get(props.get("subjectPublicKeyRef"))
    via = "subjectPublicKeyRef"
    if target is None:
        related = links.related(component, "certificateProperties", "publicKey", "public-key")
        target, via = (related[0], "relatedCryptographicAssets") if related else (None, via)
    if target is None:
        materials, via = links.dependencies(component, _is_public_key)
        target = materials[0] if materials else None
    if target is None:
        return None
    if _asset_type(target) == "related-crypto-material":
        key = _key_of(target, links)
        return _Key(key.decision, key.info, key.size, f"{via}, then {key.via}", key.declared)
    decision = links.decision(target)
    declared = target.name or _text(target.crypto.get("oid"))
    return _Key(decision, decision.info, None, via, declared)


def _signature_algorithm(component: CbomComponent, links: _Links) -> CbomComponent | None:
    props = component.crypto.get("certificateProperties") or {}
    named = links.get(props.get("signatureAlgorithmRef"))
    if named is not None:
        return named
    related = links.related(
        component, "certificateProperties", "signatureAlgorithm", "signature", "algorithm"
    )
    if related:
        return related[0]
    signing, _via = links.dependencies(
        component, lambda c: _is_algorithm(c) and links.decision(c).usage is Usage.SIGNATURE
    )
    return signing[0] if signing else None


def _certificate(
    component: CbomComponent,
    links: _Links,
    label: str,
    parsed: ParsedCbom,
    now: datetime,
) -> CryptoAsset:
    props = component.crypto.get("certificateProperties") or {}
    key = _certificate_key(component, links)
    signature = _signature_algorithm(component, links)
    key_info = key.info if key else None
    key_size = key.size if key else None
    enriched = []
    if key_size is None and key_info is not None and key_info.key_size is not None:
        key_size = key_info.key_size
        enriched.append("key_size")
    not_before = timestamp(props.get("notValidBefore"))
    not_after = timestamp(props.get("notValidAfter"))
    subject = props.get("subjectName") or component.name or _unnamed(component)
    details = _common(component, parsed) | {
        "asset_type": "certificate",
        "subject": subject,
        "issuer": props.get("issuerName"),
        "not_before": not_before.isoformat() if not_before else None,
        "not_after": not_after.isoformat() if not_after else None,
        "signature_algorithm": (signature.name or _text(signature.crypto.get("oid")))
        if signature
        else None,
        "certificate_format": props.get("certificateFormat"),
        "enriched": enriched,
    }
    if key is not None:
        details["key_algorithm_via"] = key.via
        if key.decision is not None:
            details |= _decision_details(key.decision, key.declared or "")
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
        or (key_info.canonical if key_info and key_info.canonical else None),
        family=key_info.family if key_info else None,
        key_size=key_size if isinstance(key_size, int) else None,
        details=details,
    )


def _material(
    component: CbomComponent, links: _Links, label: str, parsed: ParsedCbom
) -> CryptoAsset:
    props = component.crypto.get("relatedCryptoMaterialProperties") or {}
    key = _key_of(component, links)
    info = key.info
    size = key.size
    enriched = []
    if size is None and info is not None and info.key_size is not None:
        size = info.key_size
        enriched.append("size")
    usage = key.decision.usage if key.decision else info.usage if info else Usage.UNKNOWN
    details = _common(component, parsed) | {
        "asset_type": "related-crypto-material",
        "material_type": props.get("type"),
        "state": props.get("state"),
        "enriched": enriched,
    }
    if key.via is not None:
        details["algorithm_via"] = key.via
    if key.decision is not None:
        details |= _decision_details(key.decision, key.declared or "")
    return CryptoAsset(
        kind="key",
        name=component.name or _unnamed(component),
        location=_location(component, label),
        usage=usage,
        algorithm=info.canonical if info and info.known else None,
        family=info.family if info else None,
        key_size=size if isinstance(size, int) else None,
        details=details,
    )


def _protocol(component: CbomComponent, label: str, parsed: ParsedCbom) -> list[CryptoAsset]:
    props = component.crypto.get("protocolProperties") or {}
    kind = str(props.get("type") or "unknown")
    version = props.get("version")
    if kind == "tls" and version:
        name = f"TLSv{version}" if not str(version).upper().startswith("TLS") else str(version)
    elif kind == "ssh" and version:
        name = f"SSH-{version}"
    else:
        name = component.name or _unnamed(component)
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


def _unnamed(component: CbomComponent) -> str:
    """A name for a component that has none (the schema allows ``"name": ""``)."""
    kind = str(_asset_type(component) or "component")
    return f"unnamed {kind} {component.bom_ref or component.pointer}"


def _location(component: CbomComponent, label: str) -> str:
    if component.bom_ref:
        return component.bom_ref
    return f"{label}/{component.name}" if component.name else f"{label}{component.pointer}"


# --- the analyzer --------------------------------------------------------------------------


def analyze(
    target: CbomTarget,
    *,
    artifacts: ArtifactSource | None,
    now: datetime | None = None,
    slices: SliceSource | None = None,
) -> TargetResult:
    """Assets of an inline or uploaded CBOM, or of a slice of one (from ``slices``); a bad
    document is a target error, not a raise."""
    label = target.label()
    try:
        if isinstance(target, CbomSlice):
            parsed = load_slice(target, slices)
        else:
            parsed = load_target(target, artifacts)
    except InvalidInput as exc:
        return TargetResult.failed(label, "cbom", exc.message)
    try:
        assets = assets_from(parsed, label=label, now=now)
    finally:
        parsed.close()
    details: dict[str, Any] = {
        "spec_version": parsed.spec_version,
        "serial_number": parsed.serial_number,
        "crypto_components": parsed.crypto_count,
        "other_components": parsed.other_components,
        "dependencies": parsed.dependency_count,
        "enriched_assets": sum(1 for a in assets if a.details.get("enriched")),
    }
    unrecognised = sorted(
        {str(a.details["unrecognised_algorithm"]) for a in assets if a.details.get("unrecognised")}
    )
    if unrecognised:
        details["unrecognised_algorithms"] = unrecognised[:MAX_LISTED_UNRECOGNISED]
        details["unrecognised_assets"] = sum(1 for a in assets if a.details.get("unrecognised"))
    contradicted = sum(1 for a in assets if a.details.get("contradictions"))
    if contradicted:
        details["contradicted_assets"] = contradicted
    if parsed.warning_count:
        details["warning_count"] = parsed.warning_count
        if parsed.warnings:
            details["warnings"] = parsed.warnings
    if not parsed.crypto_count:
        details["note"] = (
            f"the document (CycloneDX {parsed.spec_version}) lists no cryptographic assets"
        )
        if parsed.spec_version == "1.5":
            details["note"] += ": CycloneDX 1.5 has none, CBOMs start at 1.6"
    return TargetResult(target=label, type="cbom", status="ok", assets=assets, details=details)


def load_target(target: CbomTarget, artifacts: ArtifactSource | None) -> ParsedCbom:
    """Read the target's document, wherever it is. Raises InvalidInput."""
    with _document(target, artifacts) as (stream, stored):
        # A stored document's component count and characters were checked at the upload.
        return read_cbom(stream, max_components=None if stored else MAX_COMPONENTS, stored=stored)


def load_slice(target: CbomSlice, slices: SliceSource | None) -> ParsedCbom:
    """Read a slice ``prepare`` wrote, with its document's index. Raises InvalidInput."""
    if slices is None:
        raise InvalidInput(f"the slices of {target.label()} are not available here")
    index = LinkIndex.open(slices.index_file(f"{target.prepared}/index"))
    try:
        with slices.open_slice(f"{target.prepared}/slice/{target.window[0]}") as stream:
            return read_slice(stream, index, target.window)
    except BaseException:
        index.close()
        raise


@contextmanager
def _document(
    target: CbomTarget, artifacts: ArtifactSource | None
) -> Iterator[tuple[BinaryIO, bool]]:
    """The target's document as a stream, and whether it is a stored (uploaded) one."""
    if (target.document is None) == (target.artifact_id is None):
        raise InvalidInput("a cbom target needs exactly one of 'document' and 'artifact_id'")
    if target.document is not None:
        yield io.BytesIO(json.dumps(target.document).encode()), False
        return
    if artifacts is None:
        raise InvalidInput(f"uploaded document {target.artifact_id} is not available here")
    with artifacts(target.artifact_id) as stream:
        yield stream, True


def prepare(
    target: CbomTarget,
    artifacts: ArtifactSource | None,
    per_slice: int,
    write_slice: Callable[[int, bytes], None],
    index_path: str,
) -> list[tuple[int, int]]:
    """Cut the target's document into slices of about ``per_slice`` crypto components
    (``cbom_reader.prepare``): their windows, the last one reaching ``TO_THE_END``. Empty when
    the document cannot be read (its analysis then says why)."""
    try:
        with _document(target, artifacts) as (stream, stored), tempfile.TemporaryFile() as copy:
            if stored:  # on local disk, to be read in passes (``cbom_reader.prepare``)
                shutil.copyfileobj(stream, copy, COPY_BUFFER)
                copy.seek(0)
                stream = copy
            windows = prepare_document(stream, per_slice, write_slice, index_path, stored=stored)
    except InvalidInput:
        return []
    if windows:
        windows[-1] = (windows[-1][0], TO_THE_END)
    return windows


def count_components(target: CbomTarget, artifacts: ArtifactSource | None) -> int:
    """How many crypto components the target's document lists, counted from the stream
    without building any; 0 when it cannot be read (its analysis then says why)."""
    try:
        if target.document is not None:
            return _count(io.BytesIO(json.dumps(target.document).encode()))
        if artifacts is None or target.artifact_id is None:
            return 0
        with artifacts(target.artifact_id) as stream:
            return _count(stream)
    except (InvalidInput, ijson.JSONError):
        return 0


def _count(stream: BinaryIO) -> int:
    count = 0
    for prefix, event, value in ijson.parse(stream):
        if (
            event == "string"
            and value == "cryptographic-asset"
            and prefix.startswith("components.item")
            and prefix.endswith("components.item.type")
        ):
            count += 1
    return count


def merge_slices(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The target result of a whole document from those of its slices, in order (each a
    ``target_result_dict``): the document's facts are every slice's, asset counts add up."""
    failed = next((part for part in parts if part.get("status") != "ok"), None)
    if failed is not None:
        return dict(failed)
    merged = dict(parts[0])
    merged["assets"] = sum(int(part.get("assets", 0)) for part in parts)
    details = dict(merged.get("details") or {})
    for key in _SUMMED_DETAILS:
        total = sum(int((part.get("details") or {}).get(key, 0)) for part in parts)
        if total or key == "enriched_assets":
            details[key] = total
        else:
            details.pop(key, None)
    # Each slice lists its first names in order; the first of all are among them.
    names = {
        n for part in parts for n in (part.get("details") or {}).get("unrecognised_algorithms", [])
    }
    if names:
        details["unrecognised_algorithms"] = sorted(names)[:MAX_LISTED_UNRECOGNISED]
    merged["details"] = details
    return merged
