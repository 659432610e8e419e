"""The `qrap` command."""

from __future__ import annotations

import base64
import json
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.utils import CryptographyDeprecationWarning
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from qrap_cli import risk
from qrap_core.assessment.schemas import DataProfile
from qrap_core.discovery.certificate import (
    MAX_CERTIFICATE_BYTES,
    MAX_CERTIFICATES,
    load_certificates,
)
from qrap_core.discovery.targets import (
    CbomTarget,
    CertificateTarget,
    InventoryItem,
    InventoryTarget,
    Target,
)
from qrap_core.enums import RISK_ORDER, RiskLevel
from qrap_core.errors import QrapError
from qrap_core.logging import configure as configure_logging
from qrap_core.reports.formats import FORMATS
from qrap_core.reports.formats import render as render_export
from qrap_core.reports.model import Report
from qrap_core.settings import Settings, load_settings

app = typer.Typer(help="QRAP: find your cryptography, measure its quantum risk, plan PQC.")
db_app = typer.Typer(help="Database migrations.")
app.add_typer(db_app, name="db")
risk.register(app)  # hndl, plan, model train|info

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


def _progress_bar() -> Progress:
    """A transient bar on stderr, so stdout carries only the report."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _report_console(output_format: str) -> Console:
    # Piped table output would otherwise be cut to 80 columns, folding rule ids and categories;
    # machine formats go to stdout raw, so the console (progress, notes) uses stderr.
    return Console(stderr=output_format != "table", width=None if sys.stdout.isatty() else 200)


def _quiet_logs() -> None:
    # stdout carries the report; the pipeline's progress logs would only clutter it.
    configure_logging("warning", json=False)
    _quiet_library_warnings()


def _quiet_library_warnings() -> None:
    """Keep libraries' deprecation notices off the terminal.

    They address QRAP's developers, not its users: cryptography warns on every CA-bundle root
    with a non-positive serial number, pyOpenSSL on its own API. ``python -W`` and
    PYTHONWARNINGS still decide when given.
    """
    if sys.warnoptions:
        return
    for category in (DeprecationWarning, PendingDeprecationWarning, CryptographyDeprecationWarning):
        warnings.filterwarnings("ignore", category=category)


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
    """A certificate, chain or CA bundle file, checked here so that an error names the file."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _die(f"cannot read certificate {path}: {exc.strerror}") from None
    if size > MAX_CERTIFICATE_BYTES:
        raise _die(
            f"{path}: {size:,} bytes is more than the limit of {MAX_CERTIFICATE_BYTES:,} bytes "
            f"for a certificate file (at most {MAX_CERTIFICATES:,} certificates)"
        )
    data = _read(path, "certificate")
    try:
        load_certificates(data)
    except QrapError as exc:
        raise _die(f"{path}: {exc.message}") from None
    if b"-----BEGIN" in data:
        return CertificateTarget(name=path.name, pem=data.decode("ascii", "replace"))
    return CertificateTarget(name=path.name, der_base64=base64.b64encode(data).decode())


def _cbom(path: Path) -> CbomTarget:
    try:
        document = json.loads(_read(path, "CBOM"))
    except json.JSONDecodeError as exc:
        raise _die(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(document, dict):
        raise _die(f"{path}: a CBOM is a JSON object")
    try:
        return CbomTarget(name=path.name, document=document)
    except ValidationError as exc:
        raise _die(f"{path}: {exc.errors()[0]['msg']}") from None


def _emit(console: Console, report: Report, output_format: str) -> None:
    """The report on stdout in ``output_format`` (the table goes through rich)."""
    from qrap_cli.render import print_report

    if output_format == "table":
        print_report(console, report)
        return
    text = render_export(report, output_format)[0]
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def assess(
    targets: Annotated[
        list[str] | None,
        typer.Argument(help="host, host:port, https://host, tls://host:port or ssh://host:port"),
    ] = None,
    cert: Annotated[
        list[Path] | None, typer.Option("--cert", help="PEM or DER certificate (or chain) file")
    ] = None,
    inventory: Annotated[
        list[Path] | None, typer.Option("--inventory", help="JSON file of declared assets")
    ] = None,
    cbom: Annotated[
        list[Path] | None, typer.Option("--cbom", help="CycloneDX 1.5-1.7 CBOM (JSON) to import")
    ] = None,
    shelf_life: Annotated[
        float | None,
        typer.Option("--shelf-life", min=0, max=100, help="years the data must stay secret"),
    ] = None,
    migration_years: Annotated[
        float | None, typer.Option("--migration-years", min=0, max=50)
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="table, json, cbom, sarif, csv or html")
    ] = "table",
    name: Annotated[str, typer.Option(help="assessment name")] = "cli assessment",
    db: Annotated[Path | None, typer.Option(help="embedded SQLite file")] = None,
    allow_network: Annotated[
        list[str] | None,
        typer.Option(help="CIDR that probes may reach (default: loopback and private ranges)"),
    ] = None,
    fail_on: Annotated[
        str | None, typer.Option(help="exit 3 if a finding is at this level or worse")
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(help="submit to this QRAP server instead of running in-process"),
    ] = None,
    api_token: Annotated[
        str | None, typer.Option(envvar="QRAP_API_TOKEN", help="bearer token for --api-url")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="QRAP_API_KEY", help="API key for --api-url")
    ] = None,
    organization: Annotated[
        str, typer.Option(help="organization name or id on the server (created if missing)")
    ] = "cli",
    wait_timeout: Annotated[
        float, typer.Option(min=1, help="seconds to wait for a remote run to finish")
    ] = 1800,
) -> None:
    """Assess targets in-process on an embedded SQLite database (or on a server with
    --api-url) and print the results."""
    from qrap_cli.embedded import EMBEDDED_ALLOW_NETWORKS, EmbeddedRunner, default_db_path

    _quiet_logs()
    if output_format not in ("table", *FORMATS):
        raise _die(f"--format must be one of table, {', '.join(FORMATS)}; not {output_format!r}")
    threshold = None
    if fail_on is not None:
        try:
            threshold = RiskLevel(fail_on.upper())
        except ValueError:
            raise _die(f"--fail-on must be one of {', '.join(RiskLevel)}") from None
    typed: list[Target] = [_certificate(p) for p in cert or []]
    typed += [_inventory(p) for p in inventory or []]
    typed += [_cbom(p) for p in cbom or []]
    if not targets and not typed:
        raise _die("nothing to assess: give a target, --cert, --inventory or --cbom")
    profile = DataProfile(shelf_life_years=shelf_life, migration_years=migration_years)
    if api_url is not None:
        _assess_remote(
            api_url, api_token, api_key, organization, wait_timeout, name,
            list(targets or []), typed, profile, output_format, threshold,
        )  # fmt: skip
        return
    settings = _settings(
        scan_allow_networks=",".join(allow_network) if allow_network else EMBEDDED_ALLOW_NETWORKS,
        auth_disabled=True,
    )
    try:
        runner = EmbeddedRunner(settings, db or default_db_path())
    except OSError as exc:
        raise _die(f"cannot open the embedded database: {exc}") from None
    console = _report_console(output_format)
    try:
        with _progress_bar() as progress:
            task = progress.add_task("analyzing", total=None)

            def on_progress(done: int, total: int, label: str) -> None:
                progress.update(task, completed=done, total=total, description=f"done {label}")

            outcome, report = runner.assess(
                name=name,
                target_assets=list(targets or []),
                targets=typed,
                data_profile=profile,
                on_progress=on_progress,
            )
    except QrapError as exc:
        raise _die(exc.message) from None
    finally:
        runner.close()
    if outcome.status != "COMPLETED":
        raise _die(f"the run ended {outcome.status}: {outcome.detail}", code=1)
    _warn_unassessed(report)
    _emit(console, report, output_format)
    if threshold is not None and any(
        RISK_ORDER[f.risk_level] <= RISK_ORDER[threshold] for f in report.findings
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
        "assessments,maintenance,webhooks"
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


def _assess_remote(
    api_url: str,
    token: str | None,
    api_key: str | None,
    organization: str,
    timeout: float,
    name: str,
    target_assets: list[str],
    typed: list[Target],
    profile: DataProfile,
    output_format: str,
    threshold: RiskLevel | None,
) -> None:
    """The --api-url path: the progress bar follows the server's live events."""
    from qrap_cli.remote import RemoteClient, assess_remote

    client = RemoteClient(api_url, token=token, api_key=api_key)
    console = _report_console(output_format)
    try:
        with _progress_bar() as progress:
            task = progress.add_task("queued", total=None)

            def on_progress(done: int, total: int, label: str) -> None:
                progress.update(task, completed=done, total=total or None, description=label)

            status, error, report = assess_remote(
                client,
                organization=organization,
                name=name,
                target_assets=target_assets,
                targets=typed,
                data_profile=profile,
                on_progress=on_progress,
                timeout=timeout,
            )
    except QrapError as exc:
        raise _die(exc.message) from None
    finally:
        client.close()
    if status != "COMPLETED":
        raise _die(f"the run ended {status}: {error}", code=1)
    _warn_unassessed(report)
    _emit(console, report, output_format)
    if threshold is not None and any(
        RISK_ORDER[f.risk_level] <= RISK_ORDER[threshold] for f in report.findings
    ):
        raise typer.Exit(3)


def _warn_unassessed(report: Report) -> None:
    """One line on stderr when some targets could not be assessed (a partial run)."""
    failed = [t for t in report.targets if t.status != "ok"]
    if not failed:
        return
    total = len(report.targets)
    reasons = "; ".join(f"{t.target}: {t.error or 'no result'}" for t in failed)
    noun = "target" if total == 1 else "targets"
    err.print(
        f"[yellow]warning:[/yellow] {len(failed)} of {total} {noun} could not be assessed: "
        f"{reasons}",
        highlight=False,
    )


if __name__ == "__main__":
    app()
