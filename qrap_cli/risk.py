"""Risk-engine commands: ``qrap hndl``, ``qrap plan``, ``qrap model train|info``."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qrap_core.errors import QrapError

if TYPE_CHECKING:
    from rich.console import Console

    from qrap_core.settings import Settings

model_app = typer.Typer(help="The XGBoost risk model: train (reproducibly, with feedback), info.")
FORMATS = ("table", "json")


def register(app: typer.Typer) -> None:
    """Add ``hndl``, ``plan`` and ``model`` to the ``qrap`` command."""
    app.command("hndl")(hndl)
    app.command("plan")(plan)
    app.add_typer(model_app, name="model")


def _die(message: str, code: int = 2) -> typer.Exit:
    from qrap_cli.common import die

    return die(message, code)


def _note(message: str) -> None:
    from qrap_cli.common import err

    err().print(message, highlight=False)


def _settings() -> Settings:
    from qrap_core.logging import configure as configure_logging
    from qrap_core.settings import load_settings

    configure_logging("warning", json=False)  # stdout carries the answer
    try:
        return load_settings()
    except QrapError as exc:
        raise _die(exc.message) from None


def _format(value: str) -> str:
    if value not in FORMATS:
        raise _die(f"--format must be table or json, not {value!r}")
    return value


def _console() -> Console:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def hndl(
    # hidden: typer would list it with a type label such as <str>; the docstring describes it
    algorithm: Annotated[str, typer.Argument(metavar="ALGORITHM", hidden=True)],
    shelf_life: Annotated[
        int,
        typer.Option(
            "--shelf-life",
            min=0,
            max=100,
            metavar="YEARS",
            help="whole years the data stays secret",
        ),
    ] = 10,
    migration_years: Annotated[
        float | None,
        typer.Option(
            "--migration-years",
            min=0,
            max=50,
            metavar="YEARS",
            help="years the move to post-quantum takes, Mosca's y (default: 3)",
        ),
    ] = None,
    threat_model: Annotated[
        str | None,
        typer.Option(metavar="MODEL", help="pessimistic, median or optimistic (default: median)"),
    ] = None,
    reference_year: Annotated[
        int | None,
        typer.Option(
            min=2000, max=2100, metavar="YEAR", help="the year counted from (default: now)"
        ),
    ] = None,
    key_size: Annotated[
        int | None,
        typer.Option(min=1, max=65536, metavar="BITS", help="key size when ALGORITHM omits it"),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="table or json")
    ] = "table",
) -> None:
    """Harvest-now-decrypt-later exposure of data protected by ALGORITHM (Mosca, probabilistic),
    for example RSA-2048, X25519, ML-KEM-768 or ecdh-sha2-nistp256.

    Urgency is the higher of the risk window's (>= 10 years CRITICAL, >= 5 HIGH, > 0 MEDIUM)
    and the probability of exposure's (>= 0.50 CRITICAL, >= 0.25 HIGH, >= 0.10 MEDIUM).
    """
    from rich.table import Table

    from qrap_cli.render import safe
    from qrap_core.db import utcnow
    from qrap_core.scoring import hndl as hndl_service

    settings = _settings()
    fmt = _format(output_format)
    try:
        timeline = hndl_service.timeline_for(
            threat_model or settings.threat_model,
            survey_file=settings.crqc_survey_file,
            edition=settings.crqc_survey_edition,
        )
        result = hndl_service.assess(
            algorithm,
            shelf_life_years=shelf_life,
            migration_years=(
                settings.default_migration_years if migration_years is None else migration_years
            ),
            timeline=timeline,
            reference_year=reference_year or utcnow().year,
            key_size=key_size,
        )
    except QrapError as exc:
        raise _die(exc.message) from None
    body = result.to_dict()
    if fmt == "json":
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    table = Table(title=safe(f"HNDL: {body['canonical_algorithm']}"), title_justify="left")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for key in (
        "estimated_break_year",
        "break_year_basis",
        "data_shelf_life_years",
        "migration_time_years",
        "risk_window_years",
        "is_at_risk",
        "urgency",
        "probability_at_risk",
        "threat_model",
        "reference_year",
        "note",
    ):
        table.add_row(key, safe(body[key]))
    _console().print(table)


def plan(
    # hidden: typer would list it with a type label such as <str>; the docstring describes it
    path: Annotated[Path, typer.Argument(metavar="FILE", hidden=True)],
    profile: Annotated[
        str, typer.Option(metavar="PROFILE", help="nist or cnsa2 (CNSA 2.0 deadlines)")
    ] = "nist",
    output_format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="table or json")
    ] = "table",
) -> None:
    """Plan the migration of the assets declared in FILE (JSON {"assets": [...]}, as for
    POST /migration-plan, e.g. qrap_core/examples/inventory.json): targets, phases, deadlines,
    dependencies."""
    from pydantic import ValidationError
    from rich.table import Table

    from qrap_cli.render import safe
    from qrap_core.planning import plan_migration
    from qrap_core.planning.schemas import MigrationPlanRequest

    _settings()
    fmt = _format(output_format)
    if profile not in ("nist", "cnsa2"):
        raise _die(f"--profile must be nist or cnsa2, not {profile!r}")
    try:
        raw = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        data = json.loads(raw)
    except OSError as exc:
        raise _die(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise _die(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    document = {"assets": data} if isinstance(data, list) else data
    if isinstance(document, dict):
        document = {"profile": profile} | document
    try:
        request = MigrationPlanRequest.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise _die(f"{path}: invalid plan input ({where}: {first['msg']})") from None
    result = plan_migration([asset.to_input() for asset in request.assets], profile=request.profile)
    body = result.to_dict()
    if fmt == "json":
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    console = _console()
    for phase in body["phases"]:
        table = Table(
            title=f"Phase {phase['number']}: {phase['name']} (by {phase['deadline'] or '-'})"
            + (
                f", after phase {', '.join(map(str, phase['depends_on']))}"
                if phase["depends_on"]
                else ""
            ),
            title_justify="left",
        )
        for column in ("priority", "asset", "from", "to", "effort", "deadline"):
            table.add_column(column, overflow="fold")
        for step in body["steps"]:
            if step["phase"] != phase["number"]:
                continue
            table.add_row(
                *(
                    safe(step[key] or "-")
                    for key in (
                        "priority",
                        "asset",
                        "current_algorithm",
                        "target_algorithm",
                        "estimated_effort",
                        "deadline",
                    )
                )
            )
        console.print(table)
    for skipped in body["skipped"]:
        console.print(
            safe(f"skipped {skipped['asset']} ({skipped['algorithm']}): {skipped['reason']}")
        )
    console.print(
        f"{body['total_assets']} assets, {len(body['steps'])} steps, "
        f"{body['critical_count']} critical, {body['estimated_phases']} phases "
        f"({body['profile']} profile)"
    )


@model_app.command("train")
def model_train(
    output: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="directory for the new version (default: QRAP_MODEL_DIR)"),
    ] = None,
    feedback: Annotated[
        bool, typer.Option("--feedback", help="blend analysts' verdicts from the database")
    ] = False,
    organization: Annotated[
        str | None,
        typer.Option(metavar="ID", help="only this organization's verdicts (with --feedback)"),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="compare with the shipped model; exit 1 if it differs")
    ] = False,
    card: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="also write the model card here (docs/model-card.md)"),
    ] = None,
) -> None:
    """Train the risk model deterministically from the expert prior (and feedback)."""
    from qrap_core.scoring import training
    from qrap_core.scoring.hndl import load_survey

    settings = _settings()
    directory = output or settings.model_dir
    if directory is None and not check:
        raise _die("give --output DIR or set QRAP_MODEL_DIR (where trained versions are kept)")
    if check and feedback:
        raise _die("--check compares the prior-only model with the shipped one: drop --feedback")
    survey = load_survey(settings.crqc_survey_file)
    examples = _feedback_examples(settings, organization) if feedback else []
    if feedback and not examples:
        raise _die("no analyst verdicts to learn from (PATCH /api/v1/findings/{id} first)", 1)
    trained = training.train(
        survey=survey,
        feedback=examples,
        base_version=training.SHIPPED_VERSION,
        progress=_note,
    )
    if directory is not None:
        model_path, _, card_path = training.save(trained, directory)
        _note(f"wrote {model_path} and {card_path}")
        if card is not None:
            card.write_text(card_path.read_text(encoding="utf-8"), encoding="utf-8")
            _note(f"wrote {card}")
    metrics = trained.meta["metrics"]
    sys.stdout.write(
        json.dumps(
            {"version": trained.meta["version"], "model_id": trained.meta["model_id"]}
            | {"metrics": metrics, "feedback": trained.meta["feedback"]},
            indent=2,
        )
        + "\n"
    )
    if directory is not None and feedback:
        _note(
            f"activate it with QRAP_MODEL_DIR={directory} "
            f"QRAP_MODEL_VERSION={trained.meta['version']}"
        )
    if check:
        report = training.reproduction_report(trained)
        _note(json.dumps(report, indent=2))
        if not report["same_predictions"]:
            raise typer.Exit(1)


@model_app.command("info")
def model_info() -> None:
    """The active model: version, artifact, features, held-out metrics."""
    from qrap_core.scoring import get_risk_model

    settings = _settings()
    try:
        model = get_risk_model(settings)
    except QrapError as exc:
        raise _die(exc.message) from None
    meta = model.meta
    info: dict[str, Any] = {
        "model_id": model.version,
        "device": model.device,
        "threat_model": model.threat_model,
        "trained_from": meta.get("trained_from"),
        "artifact": meta.get("artifact"),
        "features": [feature["name"] for feature in meta["features"]],
        "metrics": meta.get("metrics"),
        "feedback": meta.get("feedback"),
    }
    sys.stdout.write(json.dumps(info, indent=2) + "\n")


def _feedback_examples(settings: Settings, organization: str | None) -> list[Any]:
    from qrap_core.db import Database
    from qrap_core.finding import service as finding_service
    from qrap_core.scoring import feedback as feedback_service
    from qrap_core.scoring.hndl import load_survey

    org_id = None
    if organization is not None:
        try:
            org_id = uuid.UUID(organization)
        except ValueError:
            raise _die(f"--organization must be a UUID, not {organization!r}") from None
    survey = load_survey(settings.crqc_survey_file)
    database = Database(settings.sqlalchemy_url)
    try:
        with database.unit_of_work() as uow:
            verdicts = finding_service.feedback_verdicts(uow, org_id)
            return feedback_service.examples(
                verdicts,
                threat_model=settings.threat_model,
                survey=survey,
                survey_edition=settings.crqc_survey_edition,
                default_shelf_life_years=settings.default_shelf_life_years,
                default_migration_years=settings.default_migration_years,
            )
    finally:
        database.dispose()
