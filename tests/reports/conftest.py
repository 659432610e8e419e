"""One real assessment, run through the embedded pipeline (SQLite), shared by the export tests.

It covers every target type against real peers on 127.0.0.1: the hybrid pyOpenSSL server,
Debian's OpenSSL 3.0 ``s_server`` (modern and TLS 1.0/1.1-only), OpenSSH ``sshd``, the
example certificates, an inventory and an inline CBOM.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from qrap_cli.embedded import EMBEDDED_ALLOW_NETWORKS, EmbeddedRunner
from qrap_core.assessment.schemas import DataProfile
from qrap_core.discovery.targets import (
    CbomTarget,
    CertificateTarget,
    InventoryItem,
    InventoryTarget,
    Target,
)
from qrap_core.reports.model import Report
from qrap_core.settings import Settings
from tests.servers import CERTS, SSHD, cert_pair, openssl_server, pyopenssl_server, sshd_server

SAMPLE_CBOM: dict[str, Any] = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
    "version": 1,
    "components": [
        {"type": "application", "name": "payments", "bom-ref": "app"},
        {
            "type": "cryptographic-asset",
            "name": "RSA",
            "bom-ref": "alg:rsa",
            "cryptoProperties": {
                "assetType": "algorithm",
                "algorithmProperties": {"primitive": "pke", "parameterSetIdentifier": "2048"},
            },
        },
        {
            "type": "cryptographic-asset",
            "name": "ML-KEM-768",
            "bom-ref": "alg:mlkem",
            "cryptoProperties": {
                "assetType": "algorithm",
                "algorithmProperties": {"primitive": "kem"},
            },
        },
        {
            "type": "cryptographic-asset",
            "name": "AES-128-GCM",
            "bom-ref": "alg:aes",
            "cryptoProperties": {
                "assetType": "algorithm",
                "algorithmProperties": {"primitive": "ae"},
            },
        },
    ],
    "dependencies": [{"ref": "app", "dependsOn": ["alg:rsa", "alg:mlkem", "alg:aes"]}],
}


@pytest.fixture(scope="session")
def assessed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("report")
    settings = Settings(
        database_url=f"sqlite:///{folder / 'qrap.db'}",
        scan_allow_networks=EMBEDDED_ALLOW_NETWORKS,
        auth_disabled=True,
        probe_timeout=3.0,
    )
    runner = EmbeddedRunner(settings, folder / "qrap.db")
    with (
        pyopenssl_server(*cert_pair("tls-server")) as hybrid,
        openssl_server(*cert_pair("rsa2048"), ["-no_ssl3", "-no_tls1", "-no_tls1_1"]) as modern,
        openssl_server(
            *cert_pair("rsa2048"), ["-no_tls1_2", "-no_tls1_3", "-cipher", "DEFAULT@SECLEVEL=0"]
        ) as legacy,
        _maybe_sshd(folder) as ssh_port,
    ):
        target_assets = [f"127.0.0.1:{hybrid}", f"tls://127.0.0.1:{modern}", f"127.0.0.1:{legacy}"]
        if ssh_port is not None:
            target_assets.append(f"ssh://127.0.0.1:{ssh_port}")
        targets: list[Target] = [
            CertificateTarget(name="chain.pem", pem=(CERTS / "chain.pem").read_text()),
            InventoryTarget(
                name="declared",
                assets=[
                    InventoryItem(asset="backup-vault", algorithm="RSA-2048", usage="encryption")
                ],
            ),
            CbomTarget(name="sample.cdx.json", document=SAMPLE_CBOM),
        ]
        outcome, report = runner.assess(
            name='export <test> & "quotes"',
            target_assets=target_assets,
            targets=targets,
            data_profile=DataProfile(shelf_life_years=15),
        )
    runner.close()
    assert outcome.status == "COMPLETED", outcome.detail
    return report.to_json()


@pytest.fixture(scope="session")
def report(assessed: dict[str, Any]) -> Report:
    """The same run's report as the renderers take it, read back from its JSON."""
    return Report.from_json(assessed)


class _NoServer:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_exc: object) -> None:
        return None


def _maybe_sshd(folder: Path) -> Any:
    if shutil.which(SSHD) is None:
        return _NoServer()
    return sshd_server(folder / "sshd")
