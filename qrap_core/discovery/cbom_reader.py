"""Reading a CycloneDX document (1.5 to 1.7) in one streaming pass, and checking it.

The document is read as a stream of JSON events (ijson): each top-level component is built,
checked and reduced to a small record before the next is read, so memory follows the number
of crypto components, not the document's size. A document that breaks the rules QRAP relies
on is refused with the JSON pointer of the first problems
(``/components/12/cryptoProperties/assetType``).

A big document is read whole once per run (``prepare``): the pass cuts its top-level
components into slices of about ``per_slice`` crypto components each, written out as small
JSON documents, and records in a ``LinkIndex`` file every bom-ref, every ``dependencies``
entry, the fields a link to each crypto component reads and the document's own facts. Each
chunk of the run then reads only its slice (``read_slice``) and asks the index about the
rest, so links resolve across slices and a chunk holds its own components, never the whole
list. The caller closes the index (``ParsedCbom.close``).

What the CycloneDX schema allows is not refused: empty names (cbomkit-theia writes
``"name": ""`` for certificates without a CN) and references that name no ``bom-ref`` (the
schema does not check references; published documents hold such). A dangling reference is a
warning kept on the component it belongs to, or on the document; warnings are bounded.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO, NoReturn

import ijson

from qrap_core.discovery.cbom_index import LinkIndex
from qrap_core.errors import InvalidInput
from qrap_core.validation import JsonDepth

# Components in one document, nested ones included, counted as they stream by (the default
# of QRAP_CBOM_MAX_COMPONENTS: a 50 MB upload holds about 100,000 typical crypto components).
MAX_COMPONENTS = 100_000
# Arrays and objects nested in one another, counted from the document (components inside
# components count two each): deeper is refused while streaming, before anything is built.
MAX_DEPTH = 64
# The longest component name and cryptoProperties string kept (asset names are varchar(1024)).
MAX_STRING_LENGTH = 1024
MAX_PROBLEMS = 20
# Warnings kept per document and per component; more are counted, not kept.
MAX_WARNINGS = 100
MAX_COMPONENT_WARNINGS = 10
# 1.5 has no cryptographic assets (its SBOMs import with none); 1.7 adds algorithmFamily,
# ellipticCurve and relatedCryptographicAssets.
SPEC_VERSIONS = ("1.5", "1.6", "1.7")
ASSET_TYPES = ("algorithm", "certificate", "protocol", "related-crypto-material")
PRIMITIVES = (
    "drbg", "mac", "block-cipher", "stream-cipher", "signature", "hash", "pke", "xof", "kdf",
    "key-agree", "kem", "ae", "combiner", "other", "unknown",
)  # fmt: skip
PROTOCOL_TYPES = ("tls", "ssh", "ipsec", "ike", "sstp", "wpa", "other", "unknown")
# Where a crypto component names another by bom-ref: (section, key, holds a list).
_REFERENCES = (
    ("certificateProperties", "signatureAlgorithmRef", False),
    ("certificateProperties", "subjectPublicKeyRef", False),
    ("relatedCryptoMaterialProperties", "algorithmRef", False),
    ("protocolProperties", "cryptoRefArray", True),
)
# What resolving a link to a component reads of it (``cbom._Links``): kept for the crypto
# components outside a window.
_LINKED_KEYS = ("assetType", "oid", "algorithmProperties", "relatedCryptoMaterialProperties")
_RELATED_SECTIONS = (
    "certificateProperties",
    "relatedCryptoMaterialProperties",
    "protocolProperties",
)


class InvalidCbom(InvalidInput):
    """The document is not a CBOM QRAP can read; ``details`` holds JSON pointers."""


@dataclass(slots=True)
class CbomComponent:
    """One ``cryptographic-asset`` component, reduced to what the mapping reads."""

    pointer: str  # "/components/3" or "/components/3/components/0"
    name: str  # may be empty: the schema allows it
    bom_ref: str | None
    crypto: dict[str, Any]
    properties: dict[str, str]
    warnings: list[dict[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class ParsedCbom:
    """The crypto components of one document, with what the pass learned about the rest."""

    spec_version: str
    serial_number: str | None
    components: list[CbomComponent] = field(default_factory=list)
    other_components: int = 0
    dependencies: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # Warnings that belong to no crypto component (a dependency naming nothing).
    warnings: list[dict[str, str]] = field(default_factory=list)
    warning_count: int = 0  # every warning, the components' included, kept or not
    crypto_count: int = 0  # every crypto component of the document, in the window or not
    dependency_count: int = 0  # every dependencies entry (``dependencies`` may hold fewer)
    # [first, end) positions of the crypto components kept in ``components``; None: all.
    window: tuple[int, int] | None = None
    # With a window: the rest of the document, for links (``dependencies`` then holds only
    # the entries of the window's components).
    index: LinkIndex | None = None

    def close(self) -> None:
        if self.index is not None:
            self.index.close()


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


def read_cbom(
    stream: BinaryIO,
    max_components: int | None = MAX_COMPONENTS,
    *,
    stored: bool = False,
) -> ParsedCbom:
    """Parse and check a CycloneDX 1.5-1.7 JSON document from ``stream`` in one streaming pass.

    Raises InvalidCbom naming where the document is wrong, or as soon as it nests deeper than
    MAX_DEPTH or holds more than ``max_components`` components (None: no limit, for documents
    checked when they were uploaded). ``stored``: a document checked for NUL characters when
    it was uploaded; reading it again skips that check, which costs half of a parse.
    """
    parsed = ParsedCbom(spec_version="", serial_number=None)
    _read(stream, max_components, parsed, {}, _Problems(), stored=stored)
    return parsed


def prepare(
    stream: BinaryIO,
    per_slice: int,
    write_slice: Callable[[int, bytes], None],
    index_path: str,
    *,
    stored: bool = True,
) -> list[tuple[int, int]]:
    """Read and check the whole document once; cut its top-level components into slices.

    Each slice holds whole top-level components (a component and the ones nested in it stay
    together) until it has at least ``per_slice`` crypto components; ``write_slice(first,
    data)`` receives it as it is cut (``first``: the position of its first crypto component),
    so only one slice is held at a time. The link index, with the document's facts, is written
    to ``index_path``. Returns each slice's [first, end) crypto positions, in order. Raises
    InvalidCbom like ``read_cbom``. A ``stored`` document (checked when it was uploaded) in a
    seekable stream is read in three passes of items that ijson builds in C (``_read_stored``),
    about twice as fast as one pass of events.
    """
    problems = _Problems()
    # An empty window: every crypto component goes to the index, for links from any slice.
    parsed = ParsedCbom(spec_version="", serial_number=None, window=(0, 0))
    parsed.index = LinkIndex(index_path)
    slicer = _Slicer(parsed, per_slice, write_slice)
    try:
        if stored and stream.seekable():
            _read_stored(stream, parsed, parsed.index, problems, slicer.add)
        else:
            _read(
                stream, None, parsed, parsed.index, problems, stored=stored, on_component=slicer.add
            )
        slicer.cut()
        parsed.index.save(
            {
                "spec_version": parsed.spec_version,
                "serial_number": parsed.serial_number,
                "crypto_count": parsed.crypto_count,
                "other_components": parsed.other_components,
                "dependency_count": parsed.dependency_count,
                "warning_count": parsed.warning_count,
                "warnings": parsed.warnings,
            }
        )
    finally:
        parsed.close()
    return slicer.windows


def _read_stored(
    stream: BinaryIO,
    parsed: ParsedCbom,
    index: LinkIndex,
    problems: _Problems,
    on_component: Callable[[int, Any], None],
) -> None:
    """``_read`` for a stored document: its facts and other bom-refs, then its components,
    then its ``dependencies``, each pass over the whole stream. The bom-refs of the metadata's
    component and of services are added after the components' (``setdefault``, as ``_read``
    does): in a document that passed the upload's checks they name nothing a component names,
    unless the component came first, and then the component's pointer is the one kept."""
    others: list[tuple[str, str]] = []
    try:
        stream.seek(0)
        for prefix, event, value in ijson.parse(stream, use_float=True):
            if event != "string":
                continue
            if prefix == "specVersion":
                parsed.spec_version = value
            elif prefix == "serialNumber":
                parsed.serial_number = value
            elif prefix == "metadata.component.bom-ref":
                others.append((value, "/metadata/component"))
            elif prefix == "services.item.bom-ref":
                others.append((value, "/services"))
        stream.seek(0)
        items = ijson.items(stream, "components.item", use_float=True)
        for number, component in enumerate(items):
            _component(component, f"/components/{number}", parsed, index, problems)
            on_component(number, component)
        for ref, pointer in others:
            index.setdefault(ref, pointer)
        stream.seek(0)
        for entry in ijson.items(stream, "dependencies.item", use_float=True):
            _dependency(entry, parsed.dependency_count, parsed, problems)
    except ijson.JSONError as exc:
        raise InvalidCbom(
            f"invalid CBOM at /: not valid JSON ({exc})",
            details=[{"field": "/", "pointer": "/", "message": f"not valid JSON: {exc}"}],
        ) from exc
    problems.raise_if_any()
    _check_indexed_references(parsed, index)


class _Slicer:
    """Top-level components, as ``prepare``'s pass builds them, gathered into slices."""

    def __init__(
        self, parsed: ParsedCbom, per_slice: int, write: Callable[[int, bytes], None]
    ) -> None:
        self.parsed = parsed
        self.per_slice = per_slice
        self.write = write
        self.windows: list[tuple[int, int]] = []
        self.first_top_level = 0
        self.first_crypto = 0
        self.items: list[bytes] = []

    def add(self, top_level: int, component: Any) -> None:
        if not self.items:
            self.first_top_level = top_level
        self.items.append(json.dumps(component, separators=(",", ":")).encode())
        if self.parsed.crypto_count - self.first_crypto >= self.per_slice:
            self.cut()

    def cut(self) -> None:
        if not self.items:
            return
        head = f'{{"first":{self.first_top_level},"components":['.encode()
        self.write(self.first_crypto, head + b",".join(self.items) + b"]}")
        self.windows.append((self.first_crypto, self.parsed.crypto_count))
        self.first_crypto = self.parsed.crypto_count
        self.items = []


def read_slice(stream: BinaryIO, index: LinkIndex, window: tuple[int, int]) -> ParsedCbom:
    """One slice ``prepare`` wrote, with the document's facts and links from its index.

    The result holds what one pass over the whole document (``read_cbom``) gives for the
    slice's components, with the same pointers and warnings, and the document's counts and
    warnings."""
    data = json.load(stream)
    meta = index.meta()
    parsed = ParsedCbom(spec_version=meta["spec_version"], serial_number=meta["serial_number"])
    problems = _Problems()
    # The slice's own bom-refs: the whole document's were checked by ``prepare``.
    refs: dict[str, str] = {}
    first = int(data["first"])
    for number, component in enumerate(data["components"]):
        _component(component, f"/components/{first + number}", parsed, refs, problems)
    problems.raise_if_any()  # the whole document was checked by ``prepare``: never here
    parsed.window, parsed.index = window, index
    parsed.crypto_count = int(meta["crypto_count"])
    parsed.other_components = int(meta["other_components"])
    parsed.dependency_count = int(meta["dependency_count"])
    parsed.warning_count = int(meta["warning_count"])
    parsed.warnings = list(meta["warnings"])
    for component in parsed.components:
        ref = component.bom_ref
        if ref and not ref.startswith("#invalid-"):
            for position, key, number, target in index.dangling_of(ref):
                message = f"{target!r} names no bom-ref in this document"
                pointer = f"/dependencies/{position}/{key}/{number}"
                _warn(component.warnings, MAX_COMPONENT_WARNINGS, pointer, message)
        for pointer, target in _references(component):
            if target not in index:
                message = f"{target!r} names no bom-ref in this document"
                _warn(component.warnings, MAX_COMPONENT_WARNINGS, pointer, message)
        if ref:
            entry = index.entry(ref)
            if entry is not None:
                parsed.dependencies[ref] = entry
    return parsed


def _read(
    stream: BinaryIO,
    max_components: int | None,
    parsed: ParsedCbom,
    refs: MutableMapping[str, str],
    problems: _Problems,
    *,
    stored: bool = False,
    on_component: Callable[[int, Any], None] | None = None,
) -> None:
    seen_format = False
    top_level = 0
    try:
        events = ijson.parse(_DepthLimited(stream), use_float=True)
        if not stored:
            events = _no_nul(events)
        if max_components is not None:
            events = _counted(events, max_components)
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
                    problems.add(
                        "/specVersion", f"must be one of {', '.join(SPEC_VERSIONS)}, not {value!r}"
                    )
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
                component = _build(event, value, events, prefix)
                _component(component, f"/components/{top_level}", parsed, refs, problems)
                if on_component is not None:
                    on_component(top_level, component)
                top_level += 1
            elif prefix == "dependencies.item":
                index = parsed.dependency_count
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
    problems.raise_if_any()
    if parsed.index is not None:
        _check_indexed_references(parsed, parsed.index)
    else:
        _check_references(parsed, refs)


class _DepthLimited:
    """``stream``, refusing (InvalidCbom) a document nested deeper than MAX_DEPTH.

    Each chunk is measured before the parser sees it: ijson builds a prefix string per level
    for every event of a chunk (quadratic in the depth), and the checks after it recurse into
    nested components.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._depth = JsonDepth(MAX_DEPTH)
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        if chunk and not self._depth.feed(chunk):
            end = self._offset + len(chunk)
            message = f"nested deeper than {MAX_DEPTH} levels (within bytes {self._offset}-{end})"
            raise InvalidCbom(
                f"invalid CBOM: {message}",
                details=[{"field": "/", "pointer": "/", "message": message}],
            )
        self._offset += len(chunk)
        return chunk


def _no_nul(events: Iterator[tuple[str, str, Any]]) -> Iterator[tuple[str, str, Any]]:
    """The events, refusing (InvalidCbom) a string or key holding a NUL character, which
    PostgreSQL stores in neither text nor jsonb."""
    for prefix, event, value in events:
        if event in ("string", "map_key") and "\x00" in value:
            where = f"{prefix}.{value.replace(chr(0), '')}" if event == "map_key" else prefix
            _refuse(where, "contains the NUL character (\\u0000)")
        yield prefix, event, value


def _counted(events: Iterator[tuple[str, str, Any]], limit: int) -> Iterator[tuple[str, str, Any]]:
    """The events, refusing (InvalidCbom) the document once more than ``limit`` components
    (at any level) have begun: counted here, before any of them is built."""
    count = 0
    for prefix, event, value in events:
        if event == "start_map" and (
            prefix == "components.item" or prefix.endswith(".components.item")
        ):
            count += 1
            if count > limit:
                message = f"more than {limit} components"
                raise InvalidCbom(
                    f"invalid CBOM at /components: {message}",
                    details=[
                        {"field": "/components", "pointer": "/components", "message": message}
                    ],
                )
        yield prefix, event, value


def _refuse(prefix: str, message: str) -> NoReturn:
    # ijson's prefix names array items "item": /components/*/name.
    pointer = "/" + "/".join("*" if part == "item" else part for part in prefix.split(".") if part)
    raise InvalidCbom(
        f"invalid CBOM at {pointer}: {message}",
        details=[{"field": pointer, "pointer": pointer, "message": message}],
    )


def check_document(document: dict[str, Any]) -> None:
    """Raise ValueError (for pydantic) naming where an inline document is wrong."""
    try:
        read_cbom(io.BytesIO(json.dumps(document).encode()))
    except InvalidCbom as exc:
        raise ValueError(exc.message) from None


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
    data: Any, where: str, parsed: ParsedCbom, refs: MutableMapping[str, str], problems: _Problems
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
    if not isinstance(name, str):
        problems.add(f"{where}/name", "is required (a string, which may be empty)")
        return
    if len(name) > MAX_STRING_LENGTH:
        problems.add(f"{where}/name", f"is longer than {MAX_STRING_LENGTH} characters")
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
    _keep(parsed, CbomComponent(where, name.strip(), bom_ref, crypto, properties))


def _keep(parsed: ParsedCbom, component: CbomComponent) -> None:
    """Keep a crypto component inside the window whole; of one outside it, index what a link
    to it reads and the references it makes (for the warning count)."""
    position = parsed.crypto_count
    parsed.crypto_count += 1
    window, index = parsed.window, parsed.index
    if window is None or index is None or window[0] <= position < window[1]:
        parsed.components.append(component)
        return
    index.add_outgoing([target for _, target in _references(component)])
    if component.bom_ref:
        crypto = {k: component.crypto[k] for k in _LINKED_KEYS if k in component.crypto}
        index.add_linked(component.bom_ref, component.name, crypto)


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
        for key in (
            "parameterSetIdentifier", "curve", "mode", "padding", "algorithmFamily",
            "ellipticCurve",
        ):  # fmt: skip
            _string(algorithm, key, base, problems)
        functions = algorithm.get("cryptoFunctions")
        if functions is not None and (
            not isinstance(functions, list) or not all(isinstance(f, str) for f in functions)
        ):
            problems.add(f"{base}/cryptoFunctions", "must be an array of strings")
    certificate = _object(crypto, "certificateProperties", where, problems)
    if certificate is not None:
        base = f"{where}/certificateProperties"
        for key in ("subjectName", "issuerName", "signatureAlgorithmRef", "subjectPublicKeyRef"):
            _string(certificate, key, base, problems)
        for key in ("notValidBefore", "notValidAfter"):
            if _string(certificate, key, base, problems) and timestamp(certificate[key]) is None:
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
    for section in _RELATED_SECTIONS:
        value = crypto.get(section)
        if isinstance(value, dict):
            _check_related(value.get("relatedCryptographicAssets"), f"{where}/{section}", problems)
    _string(crypto, "oid", where, problems)


def _check_related(related: Any, where: str, problems: _Problems) -> None:
    """CycloneDX 1.7 ``relatedCryptographicAssets``: ``[{"type": ..., "ref": ...}]``."""
    if related is None:
        return
    base = f"{where}/relatedCryptographicAssets"
    if not isinstance(related, list):
        problems.add(base, "must be an array")
        return
    for number, item in enumerate(related):
        if not isinstance(item, dict):
            problems.add(f"{base}/{number}", "must be an object")
            continue
        for key in ("type", "ref"):
            _string(item, key, f"{base}/{number}", problems)


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
    if len(parent[key]) > MAX_STRING_LENGTH:
        problems.add(f"{where}/{key}", f"is longer than {MAX_STRING_LENGTH} characters")
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
        _add_dependency(parsed, f"#invalid-{index}", {})
        return
    entry: dict[str, list[str]] = {}
    for key in ("dependsOn", "provides"):
        values = data.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            problems.add(f"{where}/{key}", "must be an array of bom-ref strings")
            continue
        entry[key] = list(values)
    _add_dependency(parsed, data["ref"], entry)


def _add_dependency(parsed: ParsedCbom, ref: str, entry: dict[str, list[str]]) -> None:
    # A ref listed twice keeps its first place and its last targets, as a dict does.
    if parsed.index is not None:
        parsed.dependency_count += parsed.index.add_dependency(ref, entry)
        return
    parsed.dependency_count += ref not in parsed.dependencies
    parsed.dependencies[ref] = entry


def _warn(kept: list[dict[str, str]], limit: int, pointer: str, message: str) -> None:
    if len(kept) < limit:
        kept.append({"pointer": pointer, "message": message})


def _check_references(parsed: ParsedCbom, refs: MutableMapping[str, str]) -> None:
    """Every reference that names no bom-ref becomes a warning: the schema allows them."""
    crypto = {c.bom_ref: c for c in parsed.components if c.bom_ref}

    def warn(owner: CbomComponent | None, pointer: str, target: str) -> None:
        parsed.warning_count += 1
        message = f"{target!r} names no bom-ref in this document"
        if owner is not None:
            _warn(owner.warnings, MAX_COMPONENT_WARNINGS, pointer, message)
        else:
            _warn(parsed.warnings, MAX_WARNINGS, pointer, message)

    for index, (ref, entry) in enumerate(parsed.dependencies.items()):
        if ref.startswith("#invalid-"):
            continue
        if ref not in refs:
            warn(None, f"/dependencies/{index}/ref", ref)
        for key, values in entry.items():
            for number, target in enumerate(values):
                if target not in refs:
                    warn(crypto.get(ref), f"/dependencies/{index}/{key}/{number}", target)
    for component in parsed.components:
        for pointer, target in _references(component):
            if target not in refs:
                warn(component, pointer, target)


def _check_indexed_references(parsed: ParsedCbom, index: LinkIndex) -> None:
    """``_check_references`` for a window: the same warnings, in the same order, on the
    window's components and the document; those of other components are only counted."""
    crypto = {c.bom_ref: c for c in parsed.components if c.bom_ref}
    for position, ref, key, number, target in index.dangling_dependencies():
        parsed.warning_count += 1
        message = f"{target!r} names no bom-ref in this document"
        if key is None:
            _warn(parsed.warnings, MAX_WARNINGS, f"/dependencies/{position}/ref", message)
            continue
        pointer = f"/dependencies/{position}/{key}/{number}"
        owner = crypto.get(ref)
        if owner is not None:
            _warn(owner.warnings, MAX_COMPONENT_WARNINGS, pointer, message)
        elif not index.is_linked(ref):  # a crypto component outside the window: counted
            _warn(parsed.warnings, MAX_WARNINGS, pointer, message)
    for component in parsed.components:
        for pointer, target in _references(component):
            if target not in index:
                parsed.warning_count += 1
                message = f"{target!r} names no bom-ref in this document"
                _warn(component.warnings, MAX_COMPONENT_WARNINGS, pointer, message)
    parsed.warning_count += index.dangling_outgoing()
    for ref in crypto:
        entry = index.entry(ref)
        if entry is not None:
            parsed.dependencies[ref] = entry


def _references(component: CbomComponent) -> Iterator[tuple[str, str]]:
    """(JSON pointer, bom-ref) of every reference a crypto component makes."""
    base = f"{component.pointer}/cryptoProperties"
    for section, key, many in _REFERENCES:
        named = (component.crypto.get(section) or {}).get(key)
        targets = named if many and isinstance(named, list) else [named]
        for number, target in enumerate(targets):
            if isinstance(target, str):
                suffix = f"/{number}" if many else ""
                yield f"{base}/{section}/{key}{suffix}", target
    suites = (component.crypto.get("protocolProperties") or {}).get("cipherSuites")
    for number, suite in enumerate(suites if isinstance(suites, list) else []):
        algorithms = suite.get("algorithms") if isinstance(suite, dict) else None
        for position, target in enumerate(algorithms if isinstance(algorithms, list) else []):
            if isinstance(target, str):
                pointer = f"{base}/protocolProperties/cipherSuites/{number}/algorithms"
                yield f"{pointer}/{position}", target
    for section in _RELATED_SECTIONS:
        related = (component.crypto.get(section) or {}).get("relatedCryptographicAssets")
        for number, item in enumerate(related or []):
            related_ref = item.get("ref") if isinstance(item, dict) else None
            if isinstance(related_ref, str):
                yield f"{base}/{section}/relatedCryptographicAssets/{number}/ref", related_ref


def timestamp(value: Any) -> datetime | None:
    """An RFC 3339 date-time as an aware datetime (UTC when it names no zone); else None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
