"""A large CBOM in the shape cbomkit writes, for the chunking and memory tests.

Groups of five components: a public-key algorithm, its key, a signature algorithm, a
certificate and, every third group, a TLS protocol. cbomkit links them through the top-level
``dependencies`` only; here a certificate depends on the key of another group, far away in the
document, so that its links cross any slice of the document.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from qrap_core.artifact import service as artifact_service
from qrap_core.assessment import service as assessment_service
from qrap_core.assessment.schemas import AssessmentCreate
from qrap_core.audit.service import Actor
from qrap_core.db import Database, DeferredTask
from qrap_core.discovery.targets import CertificateTarget
from qrap_core.organization import service as organization_service
from qrap_core.organization.schemas import OrganizationCreate

KEY_ALGORITHMS = ("RSA-2048", "RSA-1024", "EC-secp256r1", "ML-KEM-768", "RSA-4096", "X25519")
SIGNATURES = ("SHA256withRSA", "SHA1withRSA", "SHA256withECDSA", "ML-DSA-65", "MD5withRSA")
CERTS = Path(__file__).resolve().parents[2] / "qrap_core" / "examples" / "certs"
ACTOR = Actor(subject="tester")
# How far apart (in groups) a certificate and the key it names are.
STRIDE = 37


def _ref(group: int, part: str) -> str:
    return f"{group:08x}-{part}"


def components(groups: int) -> Iterator[dict[str, Any]]:
    for g in range(groups):
        yield {
            "name": KEY_ALGORITHMS[g % len(KEY_ALGORITHMS)] if g % 11 else f"Vendor-PKE-{g % 4}",
            "type": "cryptographic-asset",
            "bom-ref": _ref(g, "alg"),
            "evidence": {"occurrences": [{"location": f"src/main/java/K{g}.java", "line": g}]},
            "cryptoProperties": {
                "assetType": "algorithm",
                "algorithmProperties": {"primitive": "pke", "cryptoFunctions": ["keygen"]},
            },
        }
        yield {
            "name": f"key@{_ref(g, 'key')}",
            "type": "cryptographic-asset",
            "bom-ref": _ref(g, "key"),
            "cryptoProperties": {
                "assetType": "related-crypto-material",
                "relatedCryptoMaterialProperties": {"type": "public-key"},
            },
        }
        yield {
            "name": SIGNATURES[g % len(SIGNATURES)],
            "type": "cryptographic-asset",
            "bom-ref": _ref(g, "sig"),
            "cryptoProperties": {
                "assetType": "algorithm",
                "algorithmProperties": {"primitive": "signature", "parameterSetIdentifier": "256"},
            },
        }
        yield {
            "name": "",  # cbomkit-theia leaves certificates without a CN unnamed
            "type": "cryptographic-asset",
            "bom-ref": _ref(g, "crt"),
            "cryptoProperties": {
                "assetType": "certificate",
                "certificateProperties": {
                    "subjectName": f"CN=host{g}.example.com",
                    "issuerName": "CN=Example CA",
                    "notValidBefore": "2024-01-01T00:00:00Z",
                    "notValidAfter": f"20{26 + g % 6}-03-01T00:00:00Z",
                },
            },
        }
        if g % 3 == 0:
            yield {
                "name": "TLS",
                "type": "cryptographic-asset",
                "bom-ref": _ref(g, "tls"),
                "cryptoProperties": {
                    "assetType": "protocol",
                    "protocolProperties": {
                        "type": "tls",
                        "version": "1.2" if g % 2 else "1.3",
                        "cipherSuites": [{"name": "TLS_RSA_WITH_AES_128_CBC_SHA"}],
                    },
                },
            }


def dependencies(groups: int) -> Iterator[dict[str, Any]]:
    for g in range(groups):
        yield {"ref": _ref(g, "key"), "dependsOn": [_ref(g, "alg")]}
        far = (g + STRIDE) % groups
        needs = [_ref(far, "key"), _ref(far, "sig")]
        if g % 50 == 0:
            needs.append(f"missing-{g}")  # a dangling reference: a warning, not a refusal
        yield {"ref": _ref(g, "crt"), "dependsOn": needs}


def crypto_components(groups: int) -> int:
    return 4 * groups + (groups + 2) // 3


def write(out: BinaryIO, groups: int) -> None:
    """Write the document to ``out`` a component at a time (it is never whole in memory)."""
    head = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {"tools": {"components": [{"type": "application", "name": "cbomkit"}]}},
    }
    out.write(json.dumps(head)[:-1].encode() + b', "components": [')
    for number, item in enumerate(components(groups)):
        out.write((b"," if number else b"") + json.dumps(item).encode())
    out.write(b'], "dependencies": [')
    for number, item in enumerate(dependencies(groups)):
        out.write((b"," if number else b"") + json.dumps(item).encode())
    out.write(b"]}")


def document(groups: int) -> dict[str, Any]:
    """The same document as a dict (for inline targets)."""
    head: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {"tools": {"components": [{"type": "application", "name": "cbomkit"}]}},
    }
    return head | {
        "components": list(components(groups)),
        "dependencies": list(dependencies(groups)),
    }


def queue_run(database: Database, groups: int) -> uuid.UUID:
    """An assessment of one certificate and one uploaded cbomkit-shaped CBOM, run queued."""
    buffer = io.BytesIO()
    write(buffer, groups)
    sent: list[DeferredTask] = []
    with database.unit_of_work(sent.append) as uow:
        org = organization_service.create(
            uow, ACTOR, OrganizationCreate(name=f"cbom-chunks-{uuid.uuid4()}")
        )
        assessment = assessment_service.create(
            uow,
            ACTOR,
            AssessmentCreate(
                name="estate",
                organization_id=org.id,
                targets=[CertificateTarget(pem=(CERTS / "rsa1024.pem").read_text())],
            ),
        )
        buffer.seek(0)
        artifact_service.add_cbom(
            uow, ACTOR, assessment, filename="estate.cdx.json",
            media_type="application/json", stream=buffer,
        )  # fmt: skip
        assessment_service.start_run(uow, ACTOR, assessment)
    return uuid.UUID(next(t for t in sent if t.name == "qrap.assessment.run").kwargs["run_id"])
