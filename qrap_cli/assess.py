"""``qrap assess``: read the target files, run the assessment in-process (or on a server with
``--api-url``), print the report and decide the exit status."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError

from qrap_cli import output
from qrap_cli.common import die, progress_bar, quiet_logs, report_console, settings, warn
from qrap_core.assessment.schemas import DataProfile
from qrap_core.discovery.targets import (
    CbomTarget,
    CertificateTarget,
    InventoryItem,
    InventoryTarget,
    Target,
)
from qrap_core.enums import RiskLevel
from qrap_core.errors import QrapError
from qrap_core.reports import FORMATS

if TYPE_CHECKING:  # the report model loads planning and schemas: after the run, not before
    from qrap_core.reports.model import Report


@dataclass(frozen=True)
class AssessOptions:
    """The command line of ``qrap assess``, as typer parsed it."""

    targets: list[str] = field(default_factory=list)
    cert: list[Path] = field(default_factory=list)
    inventory: list[Path] = field(default_factory=list)
    cbom: list[Path] = field(default_factory=list)
    shelf_life: float | None = None
    migration_years: float | None = None
    output_format: str = "table"
    name: str = "cli assessment"
    db: Path | None = None
    allow_network: list[str] = field(default_factory=list)
    fail_on: str | None = None
    api_url: str | None = None
    api_token: str | None = None
    api_key: str | None = None
    organization: str = "cli"
    wait_timeout: float = 1800


def run(options: AssessOptions) -> None:
    """Assess, print the report, and exit 1 for a run that did not complete, 3 for --fail-on."""
    quiet_logs()
    if options.output_format not in ("table", *FORMATS):
        raise die(
            f"--format must be one of table, {', '.join(FORMATS)}; not {options.output_format!r}"
        )
    threshold = _threshold(options.fail_on)
    typed: list[Target] = [_certificate(p) for p in options.cert]
    typed += [_inventory(p) for p in options.inventory]
    typed += [_cbom(p) for p in options.cbom]
    if not options.targets and not typed:
        raise die("nothing to assess: give a target, --cert, --inventory or --cbom")
    profile = DataProfile(
        shelf_life_years=options.shelf_life, migration_years=options.migration_years
    )
    console = report_console(options.output_format)
    if options.api_url is not None:
        status, error, report = _remote(options, options.api_url, typed, profile)
    else:
        status, error, report = _embedded(options, typed, profile)
    if status != "COMPLETED":
        raise die(f"the run ended {status}: {error}", code=1)
    _warn_unassessed(report)
    output.emit(console, report, options.output_format)
    if output.fails(report, threshold):
        raise typer.Exit(3)


def _threshold(fail_on: str | None) -> RiskLevel | None:
    if fail_on is None:
        return None
    try:
        return RiskLevel(fail_on.upper())
    except ValueError:
        raise die(f"--fail-on must be one of {', '.join(RiskLevel)}") from None


def _embedded(
    options: AssessOptions, typed: list[Target], profile: DataProfile
) -> tuple[str, str, Report]:
    """The in-process path: the real pipeline on the embedded SQLite database."""
    from qrap_cli.embedded import EMBEDDED_ALLOW_NETWORKS, EmbeddedRunner, default_db_path

    networks = ",".join(options.allow_network) if options.allow_network else None
    configured = settings(
        scan_allow_networks=networks or EMBEDDED_ALLOW_NETWORKS, auth_disabled=True
    )
    try:
        runner = EmbeddedRunner(configured, options.db or default_db_path())
    except OSError as exc:
        raise die(f"cannot open the embedded database: {exc}") from None
    try:
        with progress_bar() as progress:
            task = progress.add_task("analyzing", total=None)

            def on_progress(done: int, total: int, label: str) -> None:
                progress.update(task, completed=done, total=total, description=f"done {label}")

            outcome, report = runner.assess(
                name=options.name,
                target_assets=list(options.targets),
                targets=typed,
                data_profile=profile,
                on_progress=on_progress,
            )
    except QrapError as exc:
        raise die(exc.message) from None
    finally:
        runner.close()
    return outcome.status, outcome.detail, report


def _remote(
    options: AssessOptions, api_url: str, typed: list[Target], profile: DataProfile
) -> tuple[str, str, Report]:
    """The --api-url path: the progress bar follows the server's live events."""
    from qrap_cli import remote

    client = remote.RemoteClient(api_url, token=options.api_token, api_key=options.api_key)
    try:
        with progress_bar() as progress:
            task = progress.add_task("queued", total=None)

            def on_progress(done: int, total: int, label: str) -> None:
                progress.update(task, completed=done, total=total or None, description=label)

            return remote.assess_remote(
                client,
                organization=options.organization,
                name=options.name,
                target_assets=list(options.targets),
                targets=typed,
                data_profile=profile,
                on_progress=on_progress,
                timeout=options.wait_timeout,
            )
    except QrapError as exc:
        raise die(exc.message) from None
    finally:
        client.close()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise die(f"cannot read {what} {path}: {exc.strerror}") from None


def _inventory(path: Path) -> InventoryTarget:
    try:
        data = json.loads(_read(path, "inventory file"))
    except json.JSONDecodeError as exc:
        raise die(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    items = data.get("assets") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise die(f"{path}: expected a list of assets or {{'assets': [...]}}")
    try:
        return InventoryTarget(
            name=path.name, assets=[InventoryItem.model_validate(i) for i in items]
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise die(f"{path}: invalid inventory entry ({where}: {first['msg']})") from None


def _certificate(path: Path) -> CertificateTarget:
    """A certificate, chain or CA bundle file, checked here so that an error names the file."""
    from qrap_core.discovery.certificate import (
        MAX_CERTIFICATE_BYTES,
        MAX_CERTIFICATES,
        load_certificates,
    )

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise die(f"cannot read certificate {path}: {exc.strerror}") from None
    if size > MAX_CERTIFICATE_BYTES:
        raise die(
            f"{path}: {size:,} bytes is more than the limit of {MAX_CERTIFICATE_BYTES:,} bytes "
            f"for a certificate file (at most {MAX_CERTIFICATES:,} certificates)"
        )
    data = _read(path, "certificate")
    try:
        load_certificates(data)
    except QrapError as exc:
        raise die(f"{path}: {exc.message}") from None
    if b"-----BEGIN" in data:
        return CertificateTarget(name=path.name, pem=data.decode("ascii", "replace"))
    return CertificateTarget(name=path.name, der_base64=base64.b64encode(data).decode())


def _cbom(path: Path) -> CbomTarget:
    try:
        document = json.loads(_read(path, "CBOM"))
    except json.JSONDecodeError as exc:
        raise die(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(document, dict):
        raise die(f"{path}: a CBOM is a JSON object")
    try:
        return CbomTarget(name=path.name, document=document)
    except ValidationError as exc:
        raise die(f"{path}: {exc.errors()[0]['msg']}") from None


def _warn_unassessed(report: Report) -> None:
    """One line on stderr when some targets could not be assessed (a partial run)."""
    failed = [t for t in report.targets if t.status != "ok"]
    if not failed:
        return
    total = len(report.targets)
    reasons = "; ".join(f"{t.target}: {t.error or 'no result'}" for t in failed)
    noun = "target" if total == 1 else "targets"
    warn(f"{len(failed)} of {total} {noun} could not be assessed: {reasons}")
