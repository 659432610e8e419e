"""A large CycloneDX 1.6 CBOM shaped like a cbomkit (sonar-cryptography) scan of Java sources.

Each "file" of the scanned code base contributes the twelve kinds of component a cbomkit
scan writes (``tests/core/discovery/cbom_docs/cbomkit_java.cdx.json``): signature, key
generation, padding and block-cipher algorithms with Java names and digest sizes as
``parameterSetIdentifier``, keys linked to their algorithm only through ``dependencies``, an
unrecognised algorithm; each with its own bom-ref and source location.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

# (name, extra occurrence context, cryptoProperties): "{ref}" is the component's bom-ref.
_KINDS: list[tuple[str, dict[str, Any]]] = [
    ("SHA512withRSA", {"assetType": "algorithm", "algorithmProperties": {
        "primitive": "signature", "parameterSetIdentifier": "512", "cryptoFunctions": ["sign"]},
        "oid": "1.2.840.113549.1.1.13"}),
    ("SHA256withECDSA", {"assetType": "algorithm", "algorithmProperties": {
        "primitive": "signature", "parameterSetIdentifier": "256",
        "cryptoFunctions": ["verify"]}, "oid": "1.2.840.10045.4.3.2"}),
    ("RSA-2048", {"assetType": "algorithm", "algorithmProperties": {
        "primitive": "pke", "parameterSetIdentifier": "2048", "cryptoFunctions": ["keygen"]},
        "oid": "1.2.840.113549.1.1.1"}),
    ("key@{ref}", {"assetType": "related-crypto-material",
                   "relatedCryptoMaterialProperties": {"type": "public-key"}}),
    ("RSA/ECB/PKCS1Padding", {"assetType": "algorithm", "algorithmProperties": {
        "primitive": "pke", "padding": "pkcs1v15", "cryptoFunctions": ["encrypt"]}}),
    ("des-56-cbc-pkcs5", {"assetType": "algorithm", "algorithmProperties": {
        "primitive": "block-cipher", "parameterSetIdentifier": "56", "mode": "cbc",
        "padding": "pkcs5", "cryptoFunctions": ["encrypt"]}, "oid": "1.3.14.3.2.7"}),
    ("desede-168-cbc-pkcs5", {"assetType": "algorithm", "algorithmProperties": {
        "primitive": "block-cipher", "parameterSetIdentifier": "168", "mode": "cbc",
        "padding": "pkcs5", "cryptoFunctions": ["decrypt"]}}),
    ("AES128-CBC-PKCS5", {"assetType": "algorithm", "algorithmProperties": {
        "primitive": "block-cipher", "parameterSetIdentifier": "128", "mode": "cbc",
        "padding": "pkcs5", "cryptoFunctions": ["encrypt", "decrypt"]}}),
    ("key@{ref}", {"assetType": "related-crypto-material",
                   "relatedCryptoMaterialProperties": {"type": "secret-key", "size": 128}}),
    ("pbkdf2withhmacsha1", {"assetType": "algorithm", "algorithmProperties": {
        "primitive": "kdf", "cryptoFunctions": ["keyderive"]}}),
    ("HMACSHA2", {"assetType": "algorithm", "algorithmProperties": {
        "primitive": "mac", "cryptoFunctions": ["tag"]}}),
    ("Frobnicate-Cipher", {"assetType": "algorithm", "algorithmProperties": {
        "primitive": "block-cipher", "cryptoFunctions": ["encrypt"]}}),
]  # fmt: skip
_CONTEXT = "java.security.Signature#getInstance(Ljava/lang/String;)"
# Within each file: the public key belongs to RSA-2048, the secret key to AES128-CBC-PKCS5.
_KEY_OF = {3: 2, 8: 7}


def document(components: int, seed: int = 7) -> bytes:
    """``components`` crypto components (and their dependencies) as compact JSON bytes."""
    namespace = uuid.UUID(int=seed)
    items: list[dict[str, Any]] = []
    dependencies: list[dict[str, Any]] = []
    for index in range(components):
        file_no, kind = divmod(index, len(_KINDS))
        name, properties = _KINDS[kind]
        ref = str(uuid.uuid5(namespace, str(index)))
        location = f"src/main/java/com/example/module{file_no // 50}/Crypto{file_no}.java"
        occurrence: dict[str, Any] = {"location": location, "line": 10 + 3 * kind, "offset": 8}
        if kind == 0:
            occurrence["additionalContext"] = _CONTEXT
        items.append(
            {
                "name": name.format(ref=ref),
                "type": "cryptographic-asset",
                "bom-ref": ref,
                "evidence": {"occurrences": [occurrence]},
                "cryptoProperties": properties,
            }
        )
        if kind in _KEY_OF:
            target = index - kind + _KEY_OF[kind]
            dependencies.append(
                {"ref": ref, "dependsOn": [str(uuid.uuid5(namespace, str(target)))]}
            )
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid5(namespace, 'serial')}",
        "version": 1,
        "metadata": {"timestamp": "2026-11-28T09:00:00Z", "tools": {"services": [
            {"provider": {"name": "Example Tools"}, "name": "Source Crypto Scanner",
             "version": "1.4.5"}]}},
        "components": items,
        "dependencies": dependencies,
    }  # fmt: skip
    return json.dumps(doc, separators=(",", ":")).encode()
