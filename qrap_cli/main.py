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


_ASSESS_EXAMPLES = """Examples (from a source checkout; files under qrap_core/examples/):

\b
  qrap assess --cert qrap_core/examples/certs/rsa2048.pem
  qrap assess --inventory qrap_core/examples/inventory.json --fail-on high
  qrap assess tls://127.0.0.1:8443 ssh://127.0.0.1:22 --format html > report.html
  qrap assess --cbom cbom.json --format sarif --api-url http://127.0.0.1:8083

Exit status: 0 done, 1 the run did not complete, 2 bad usage or input, 3 --fail-on matched.
"""
_LEVELS = "CRITICAL, HIGH, MEDIUM, LOW or INFO"


@app.command(epilog=_ASSESS_EXAMPLES)
def assess(
    targets: Annotated[
        list[str] | None,
        # hidden: typer would list it with a type label such as <str>; the docstring describes it
        typer.Argument(metavar="TARGET", hidden=True, show_default=False),
    ] = None,
    cert: Annotated[
        list[Path] | None,
        typer.Option(
            "--cert", metavar="FILE", help="PEM or DER certificate, chain or CA bundle; repeatable"
        ),
    ] = None,
    inventory: Annotated[
        list[Path] | None,
        typer.Option(
            "--inventory", metavar="FILE", help="JSON file of declared assets; repeatable"
        ),
    ] = None,
    cbom: Annotated[
        list[Path] | None,
        typer.Option(
            "--cbom", metavar="FILE", help="CycloneDX 1.4-1.7 CBOM (JSON) to import; repeatable"
        ),
    ] = None,
    shelf_life: Annotated[
        float | None,
        typer.Option(
            "--shelf-life",
            min=0,
            max=100,
            metavar="YEARS",
            help="years the data must stay secret (default: 10)",
        ),
    ] = None,
    migration_years: Annotated[
        float | None,
        typer.Option(
            "--migration-years",
            min=0,
            max=50,
            metavar="YEARS",
            help="years a move to post-quantum algorithms takes (default: 3)",
        ),
    ] = None,
    output_format: Annotated[
        str,
        typer.Option("--format", metavar="FORMAT", help="table, json, cbom, sarif, csv or html"),
    ] = "table",
    name: Annotated[str, typer.Option(metavar="TEXT", help="assessment name")] = "cli assessment",
    db: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="embedded SQLite file (default: ~/.local/share/qrap)"),
    ] = None,
    allow_network: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CIDR",
            help="network probes may reach; repeatable (default: loopback and private ranges)",
        ),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(metavar="LEVEL", help=f"exit 3 if a finding is at LEVEL or worse: {_LEVELS}"),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="submit to this QRAP server instead of running here"),
    ] = None,
    api_token: Annotated[
        str | None,
        typer.Option(envvar="QRAP_API_TOKEN", metavar="TOKEN", help="bearer token for --api-url"),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="QRAP_API_KEY", metavar="KEY", help="API key for --api-url"),
    ] = None,
    organization: Annotated[
        str,
        typer.Option(
            metavar="NAME", help="organization name or id on the server (created if missing)"
        ),
    ] = "cli",
    wait_timeout: Annotated[
        float,
        typer.Option(metavar="SECONDS", min=1, help="how long to wait for a remote run"),
    ] = 1800,
) -> None:
    """Assess network TARGETs (host, host:port, https://host, tls://host:port,
    ssh://host:port), certificate files, inventories and CBOMs, in-process on an embedded
    SQLite database (or on a server with --api-url), and print the report."""
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


@app.command("list")
def list_(
    db: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="embedded SQLite file (default: ~/.local/share/qrap)"),
    ] = None,
    limit: Annotated[int, typer.Option(metavar="N", min=1, help="how many to show")] = 20,
) -> None:
    """List the assessments `qrap assess` kept in the embedded database, newest first."""
    from qrap_cli.history import list_assessments

    list_assessments(db, limit)


@app.command()
def show(
    # hidden: typer would list it with a type label such as <str>; the docstring describes it
    assessment: Annotated[str, typer.Argument(metavar="ID", hidden=True)],
    output_format: Annotated[
        str,
        typer.Option("--format", metavar="FORMAT", help="table, json, cbom, sarif, csv or html"),
    ] = "table",
    db: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="embedded SQLite file (default: ~/.local/share/qrap)"),
    ] = None,
) -> None:
    """Print the report of a past embedded assessment again, in any format. ID is an id from
    `qrap list`, or enough of its first characters to tell it apart."""
    from qrap_cli.history import show_assessment

    show_assessment(db, assessment, output_format)


@app.command()
def demo() -> None:
    """Assess the bundled example certificates, inventory and a local TLS server."""
    from qrap_cli.common import quiet_logs
    from qrap_cli.demo import run_demo

    quiet_logs()
    raise typer.Exit(run_demo())


@app.command()
def serve(
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="address to listen on")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int | None, typer.Option(metavar="PORT", help="port (default: QRAP_API_PORT, 8083)")
    ] = None,
) -> None:
    """Run the API with uvicorn (port from QRAP_API_PORT, 8083 by default)."""
    import uvicorn

    from qrap_api.app import create_app
    from qrap_api.middleware import KEEP_ALIVE_SECONDS
    from qrap_cli.common import die
    from qrap_cli.common import settings as load
    from qrap_core.db_check import check_database
    from qrap_core.errors import QrapError

    settings = load()
    try:
        check_database(settings.sqlalchemy_url)  # a missing database: one line, not a traceback
        application = create_app(settings)  # logs unknown variables, disabled auth
    except QrapError as exc:
        raise die(exc.message) from None
    uvicorn.run(
        application,
        host=host,
        port=port or settings.api_port,
        timeout_graceful_shutdown=20,
        # h11 refuses request headers over the limit before buffering them; httptools (the
        # default when installed) would read any size into memory.
        http="h11",
        h11_max_incomplete_event_size=settings.max_header_size,
        # Longer than a proxy's idle keep-alive (nginx, AWS ALB: 60 s): see docker/Dockerfile.
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        log_level=settings.log_level.replace("warn", "warning").replace("warninging", "warning"),
    )


@app.command()
def worker(
    queues: Annotated[str, typer.Option(metavar="NAMES", help="comma-separated queues")] = (
        "assessments,maintenance,webhooks"
    ),
    concurrency: Annotated[
        int | None,
        typer.Option(metavar="N", help="processes (default: QRAP_WORKER_CONCURRENCY)"),
    ] = None,
) -> None:
    """Run a Celery worker on the given queues."""
    from qrap_cli.common import die, warn
    from qrap_cli.common import settings as load
    from qrap_core.db_check import check_database
    from qrap_core.env_check import startup_warnings
    from qrap_core.errors import QrapError
    from qrap_worker.app import celery_app

    settings = load()
    try:
        check_database(settings.sqlalchemy_url)
    except QrapError as exc:
        raise die(exc.message) from None
    for warning in startup_warnings(settings):
        warn(warning)
    argv = ["worker", "-Q", queues, "-c", str(concurrency or settings.worker_concurrency)]
    argv += ["--prefetch-multiplier", "1", "-l", "INFO"]
    celery_app.worker_main(argv)


@db_app.command("upgrade")
def db_upgrade(
    # hidden: typer would list it with a type label such as <str>; the docstring describes it
    revision: Annotated[str, typer.Argument(metavar="REVISION", hidden=True)] = "heads",
) -> None:
    """Apply migrations to the configured database, up to REVISION (default: the latest)."""
    from qrap_cli.common import die, err, settings
    from qrap_core import migrate
    from qrap_core.errors import QrapError

    try:
        migrate.upgrade(settings().sqlalchemy_url, revision)
    except QrapError as exc:  # a missing database: which one, and how to create it
        raise die(exc.message) from None
    err().print(f"database at revision {revision}")


@app.command()
def token(
    subject: Annotated[str, typer.Option(metavar="NAME", help="the token's sub claim")] = "admin",
    role: Annotated[str, typer.Option(metavar="ROLE", help="admin, analyst or viewer")] = "admin",
    org: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ID",
            help="organization id the token is bound to; repeatable (required unless "
            "an admin token is meant to be the platform admin's)",
        ),
    ] = None,
    ttl: Annotated[int, typer.Option(metavar="SECONDS", min=1, help="lifetime")] = 3600,
) -> None:
    """Print an HS256 token signed with QUANTUN_JWT_SECRET (for curl and scripts). Without
    --org, only an admin token can be made: the platform admin's."""
    import uuid

    from qrap_api.auth import ROLES, issue_token
    from qrap_cli.common import die, settings
    from qrap_core.errors import QrapError

    if role not in ROLES:
        raise die(f"--role must be one of {', '.join(ROLES)}")
    try:
        org_ids = [str(uuid.UUID(value)) for value in org] if org else None
    except ValueError:
        raise die("--org must be an organization id (a UUID)") from None
    try:
        signed = issue_token(
            settings(), subject=subject, role=role, ttl_seconds=ttl, org_ids=org_ids
        )
    except QrapError as exc:
        raise die(exc.message) from None
    sys.stdout.write(signed + "\n")


if __name__ == "__main__":
    app()
