"""`make demo`: a real assessment of bundled examples and a TLS server started on loopback."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from qrap_cli.demo_server import serve_tls
from qrap_cli.embedded import EMBEDDED_ALLOW_NETWORKS, EmbeddedRunner
from qrap_cli.render import print_report
from qrap_core.assessment.schemas import DataProfile
from qrap_core.discovery.targets import CertificateTarget, InventoryItem, InventoryTarget, Target
from qrap_core.settings import load_settings

EXAMPLES = Path(__file__).resolve().parent.parent / "qrap_core" / "examples"
DEMO_CERTS = (
    "rsa1024.pem",
    "rsa2048.pem",
    "ecdsa-p256.pem",
    "ed25519.pem",
    "expired-rsa2048.pem",
    "sha1-rsa2048.pem",
)


def run_demo() -> int:
    console = Console(width=None if sys.stdout.isatty() else 200)
    certs = EXAMPLES / "certs"
    targets: list[Target] = [
        CertificateTarget(name=name, pem=(certs / name).read_text()) for name in DEMO_CERTS
    ]
    inventory = json.loads((EXAMPLES / "inventory.json").read_text())
    targets.append(
        InventoryTarget(
            name="inventory.json", assets=[InventoryItem.model_validate(i) for i in inventory]
        )
    )
    settings = load_settings().model_copy(
        update={"scan_allow_networks": EMBEDDED_ALLOW_NETWORKS, "auth_disabled": True}
    )
    with tempfile.TemporaryDirectory(prefix="qrap-demo-") as tmp:
        runner = EmbeddedRunner(settings, Path(tmp) / "demo.db")
        try:
            with serve_tls(certs / "tls-server.pem", certs / "tls-server.key") as port:
                console.print(f"demo TLS server listening on 127.0.0.1:{port}")
                outcome, report = runner.assess(
                    name="QRAP demo",
                    target_assets=[f"127.0.0.1:{port}"],
                    targets=targets,
                    data_profile=DataProfile(shelf_life_years=15, migration_years=3),
                )
        finally:
            runner.close()
    print_report(console, report)
    console.print(f"run {outcome.status}")
    return 0 if outcome.status == "COMPLETED" else 1
