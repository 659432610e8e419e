"""``qrap list`` and ``qrap show``: the assessments kept in the embedded database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qrap_cli import output
from qrap_cli.common import die, err, pipe_closed, quiet_logs, report_console, settings
from qrap_core.errors import QrapError
from qrap_core.reports import FORMATS

if TYPE_CHECKING:
    from qrap_cli.embedded import EmbeddedRunner


def _runner(db: Path | None) -> EmbeddedRunner:
    from qrap_cli.embedded import EmbeddedRunner, default_db_path

    path = db or default_db_path()
    if not path.exists():
        raise die(f"no embedded database at {path} yet: `qrap assess` creates it", code=1)
    try:
        return EmbeddedRunner(settings(auth_disabled=True), path)
    except OSError as exc:
        raise die(f"cannot open the embedded database {path}: {exc}") from None


def list_assessments(db: Path | None, limit: int) -> None:
    from rich.table import Table

    from qrap_cli.render import safe

    quiet_logs()
    runner = _runner(db)
    try:
        rows, total = runner.history(limit)
    finally:
        runner.close()
    if not rows:
        err().print("no assessments yet: run `qrap assess`")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("id", "created", "name", "status", "risk"):
        table.add_column(column, no_wrap=column != "name")
    for row in rows:
        risk = f"{row.risk_score:.1f} {row.overall_risk}" if row.overall_risk else "-"
        created = row.created_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(str(row.id)[:8], created, safe(row.name), str(row.status), risk)
    try:
        report_console("table").print(table)
    except BrokenPipeError:
        pipe_closed()
        return
    if total > len(rows):
        err().print(f"{len(rows)} of {total}; --limit shows more", highlight=False)


def show_assessment(db: Path | None, reference: str, output_format: str) -> None:
    quiet_logs()
    if output_format not in ("table", *FORMATS):
        raise die(f"--format must be one of table, {', '.join(FORMATS)}; not {output_format!r}")
    runner = _runner(db)
    try:
        report = runner.report(runner.find(reference))
    except QrapError as exc:
        raise die(exc.message) from None
    finally:
        runner.close()
    output.emit(report_console(output_format), report, output_format)
