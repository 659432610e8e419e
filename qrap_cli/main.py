"""The `qrap` command.

This module only declares the commands: every body imports what it needs when it runs, so
``qrap --help`` and a command's start do not pay for the pipeline, numpy, xgboost or SQLAlchemy.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from qrap_cli import risk

# Plain help: rich-formatted help would import rich on every `--help` (about 0.15 s).
app = typer.Typer(
    help="QRAP: find your cryptography, measure its quantum risk, plan PQC.",
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database migrations.")
app.add_typer(db_app, name="db")
risk.register(app)  # hndl, plan, model train|info


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
    from qrap_cli.assess import AssessOptions, run

    run(
        AssessOptions(
            targets=list(targets or []),
            cert=list(cert or []),
            inventory=list(inventory or []),
            cbom=list(cbom or []),
            shelf_life=shelf_life,
            migration_years=migration_years,
            output_format=output_format,
            name=name,
            db=db,
            allow_network=list(allow_network or []),
            fail_on=fail_on,
            api_url=api_url,
            api_token=api_token,
            api_key=api_key,
            organization=organization,
            wait_timeout=wait_timeout,
        )
    )


@app.command()
def demo() -> None:
    """Assess the bundled example certificates, inventory and a local TLS server."""
    from qrap_cli.common import quiet_logs
    from qrap_cli.demo import run_demo

    quiet_logs()
    raise typer.Exit(run_demo())


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Run the API with uvicorn (port from QRAP_API_PORT, 8083 by default)."""
    import uvicorn

    from qrap_api.app import create_app
    from qrap_cli.common import die
    from qrap_cli.common import settings as load
    from qrap_core.errors import QrapError

    settings = load()
    try:
        application = create_app(settings)
    except QrapError as exc:
        raise die(exc.message) from None
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
    from qrap_cli.common import settings as load
    from qrap_worker.app import celery_app

    settings = load()
    argv = ["worker", "-Q", queues, "-c", str(concurrency or settings.worker_concurrency)]
    argv += ["--prefetch-multiplier", "1", "-l", "INFO"]
    celery_app.worker_main(argv)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "heads") -> None:
    """Apply migrations to the configured database."""
    from qrap_cli.common import err, settings
    from qrap_core import migrate

    migrate.upgrade(settings().sqlalchemy_url, revision)
    err().print(f"database at revision {revision}")


@app.command()
def token(
    subject: Annotated[str, typer.Option(help="the token's sub claim")] = "admin",
    role: Annotated[str, typer.Option(help="admin, analyst or viewer")] = "admin",
    ttl: Annotated[int, typer.Option(help="lifetime in seconds")] = 3600,
) -> None:
    """Print an HS256 token signed with QUANTUN_JWT_SECRET (for curl and scripts)."""
    from qrap_api.auth import ROLES, issue_token
    from qrap_cli.common import die, settings
    from qrap_core.errors import QrapError

    if role not in ROLES:
        raise die(f"--role must be one of {', '.join(ROLES)}")
    try:
        sys.stdout.write(
            issue_token(settings(), subject=subject, role=role, ttl_seconds=ttl) + "\n"
        )
    except QrapError as exc:
        raise die(exc.message) from None


if __name__ == "__main__":
    app()
