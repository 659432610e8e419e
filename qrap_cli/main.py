"""The `qrap` command."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from qrap_core.assessment.schemas import DataProfile
from qrap_core.assessment.targets import (
    CertificateTarget,
    InventoryItem,
    InventoryTarget,
    Target,
)
from qrap_core.enums import RISK_ORDER, RiskLevel
from qrap_core.errors import QrapError
from qrap_core.logging import configure as configure_logging
from qrap_core.settings import Settings, load_settings

app = typer.Typer(help="QRAP: find your cryptography, measure its quantum risk, plan PQC.")
db_app = typer.Typer(help="Database migrations.")
app.add_typer(db_app, name="db")

err = Console(stderr=True, soft_wrap=True)


def _die(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _settings(**overrides: Any) -> Settings:
    try:
        settings = load_settings()
    except QrapError as exc:
        raise _die(exc.message) from None
    return settings.model_copy(update=overrides)


def _quiet_logs() -> None:
    # stdout carries the report; the pipeline's progress logs would only clutter it.
    configure_logging("warning", json=False)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _die(f"cannot read {what} {path}: {exc.strerror}") from None


def _inventory(path: Path) -> InventoryTarget:
    try:
        data = json.loads(_read(path, "inventory file"))
    except json.JSONDecodeError as exc:
        raise _die(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    items = data.get("assets") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise _die(f"{path}: expected a list of assets or {{'assets': [...]}}")
    try:
        return InventoryTarget(
            name=path.name, assets=[InventoryItem.model_validate(i) for i in items]
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _die(f"{path}: invalid inventory entry ({where}: {first['msg']})") from None


def _certificate(path: Path) -> CertificateTarget:
    data = _read(path, "certificate")
    if b"-----BEGIN" in data:
        return CertificateTarget(name=path.name, pem=data.decode("ascii", "replace"))
    return CertificateTarget(name=path.name, der_base64=base64.b64encode(data).decode())


@app.command()
def assess(
    targets: Annotated[
        list[str] | None,
        typer.Argument(help="host, host:port, https://host or tls://host:port"),
    ] = None,
    cert: Annotated[
        list[Path] | None, typer.Option("--cert", help="PEM or DER certificate (or chain) file")
    ] = None,
    inventory: Annotated[
        list[Path] | None, typer.Option("--inventory", help="JSON file of declared assets")
    ] = None,
    shelf_life: Annotated[
        float | None,
        typer.Option("--shelf-life", min=0, max=100, help="years the data must stay secret"),
    ] = None,
    migration_years: Annotated[
        float | None, typer.Option("--migration-years", min=0, max=50)
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    name: Annotated[str, typer.Option(help="assessment name")] = "cli assessment",
    db: Annotated[Path | None, typer.Option(help="embedded SQLite file")] = None,
    allow_network: Annotated[
        list[str] | None,
        typer.Option(help="CIDR that probes may reach (default: loopback and private ranges)"),
    ] = None,
    fail_on: Annotated[
        str | None, typer.Option(help="exit 3 if a finding is at this level or worse")
    ] = None,
) -> None:
    """Assess targets in-process on an embedded SQLite database and print the results."""
    from qrap_cli.embedded import EMBEDDED_ALLOW_NETWORKS, EmbeddedRunner, default_db_path
    from qrap_cli.render import print_report

    _quiet_logs()
    if output_format not in ("table", "json"):
        raise _die(f"--format must be table or json, not {output_format!r}")
    threshold = None
    if fail_on is not None:
        try:
            threshold = RiskLevel(fail_on.upper())
        except ValueError:
            raise _die(f"--fail-on must be one of {', '.join(RiskLevel)}") from None
    typed: list[Target] = [_certificate(p) for p in cert or []]
    typed += [_inventory(p) for p in inventory or []]
    if not targets and not typed:
        raise _die("nothing to assess: give a target, --cert or --inventory")
    settings = _settings(
        scan_allow_networks=",".join(allow_network) if allow_network else EMBEDDED_ALLOW_NETWORKS,
        auth_disabled=True,
    )
    try:
        runner = EmbeddedRunner(settings, db or default_db_path())
    except OSError as exc:
        raise _die(f"cannot open the embedded database: {exc}") from None
    # Piped table output would otherwise be cut to 80 columns, folding rule ids and categories.
    console = Console(stderr=output_format == "json", width=None if sys.stdout.isatty() else 200)
    try:
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            task = progress.add_task("analyzing", total=None)

            def on_progress(done: int, total: int, label: str) -> None:
                progress.update(task, completed=done, total=total, description=f"done {label}")

            outcome, report = runner.assess(
                name=name,
                target_assets=list(targets or []),
                targets=typed,
                data_profile=DataProfile(
                    shelf_life_years=shelf_life, migration_years=migration_years
                ),
                on_progress=on_progress,
            )
    except QrapError as exc:
        raise _die(exc.message) from None
    finally:
        runner.close()
    if outcome.status != "COMPLETED":
        raise _die(f"the run ended {outcome.status}: {outcome.detail}", code=1)
    if output_format == "json":
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        print_report(console, report)
    if threshold is not None and any(
        RISK_ORDER[RiskLevel(f["risk_level"])] <= RISK_ORDER[threshold] for f in report["findings"]
    ):
        raise typer.Exit(3)


@app.command()
def demo() -> None:
    """Assess the bundled example certificates, inventory and a local TLS server."""
    from qrap_cli.demo import run_demo

    _quiet_logs()
    raise typer.Exit(run_demo())


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Run the API with uvicorn (port from QRAP_API_PORT, 8083 by default)."""
    import uvicorn

    from qrap_api.app import create_app

    settings = _settings()
    try:
        application = create_app(settings)
    except QrapError as exc:
        raise _die(exc.message) from None
    uvicorn.run(
        application,
        host=host,
        port=port or settings.api_port,
        timeout_graceful_shutdown=20,
        log_level=settings.log_level.replace("warn", "warning").replace("warninging", "warning"),
    )


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="comma-separated queues")] = (
        "assessments,maintenance"
    ),
    concurrency: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Run a Celery worker on the given queues."""
    from qrap_worker.app import celery_app

    settings = _settings()
    argv = ["worker", "-Q", queues, "-c", str(concurrency or settings.worker_concurrency)]
    argv += ["--prefetch-multiplier", "1", "-l", "INFO"]
    celery_app.worker_main(argv)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "heads") -> None:
    """Apply migrations to the configured database."""
    from qrap_core import migrate

    settings = _settings()
    migrate.upgrade(settings.sqlalchemy_url, revision)
    err.print(f"database at revision {revision}")


@app.command()
def token(
    subject: Annotated[str, typer.Option(help="the token's sub claim")] = "admin",
    role: Annotated[str, typer.Option(help="admin, analyst or viewer")] = "admin",
    ttl: Annotated[int, typer.Option(help="lifetime in seconds")] = 3600,
) -> None:
    """Print an HS256 token signed with QUANTUN_JWT_SECRET (for curl and scripts)."""
    from qrap_api.auth import ROLES, issue_token

    if role not in ROLES:
        raise _die(f"--role must be one of {', '.join(ROLES)}")
    try:
        sys.stdout.write(
            issue_token(_settings(), subject=subject, role=role, ttl_seconds=ttl) + "\n"
        )
    except QrapError as exc:
        raise _die(exc.message) from None


if __name__ == "__main__":
    app()
