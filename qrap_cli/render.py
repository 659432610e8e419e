"""Printing a report for people: summary, targets, findings, migration plan.

Every string that came from outside (asset and finding names, banners, errors) goes through
``safe``: a control character in it (ESC, CR, LF, other C0/C1) is shown as an escape such as
``\x1b`` instead of reaching the terminal, where it could recolour, rewrite or forge lines.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from qrap_core.planning.schemas import StepRead
from qrap_core.reports.model import Report, ReportFinding, ReportTarget
from qrap_core.reports.text import printable


def escape_control(text: str) -> str:
    """``text`` with each C0/C1 control character and DEL written as a visible escape."""
    return printable(text)


def safe(text: object, style: str = "") -> Text:
    """A rich Text (never parsed as markup) of ``text`` with control characters escaped."""
    return Text(escape_control(str(text)), style=style)


_LEVEL_STYLE = {
    "CRITICAL": "bold red",
    "HIGH": "red",
    "MEDIUM": "yellow",
    "LOW": "cyan",
    "INFO": "dim",
}


def _target_detail(details: dict[str, Any]) -> str:
    """One line per probe: what was negotiated and the post-quantum key-exchange verdict."""
    parts = [
        f"{key}={details[key]}"
        for key in ("negotiated_version", "cipher", "group", "banner")
        if details.get(key)
    ]
    kex = details.get("key_exchange")
    if isinstance(kex, dict) and kex.get("verdict"):
        verdict = str(kex["verdict"])
        if kex.get("classical_fallback"):
            verdict += " (classical fallback)"
        parts.append(f"kex={verdict}")
    return ", ".join(parts)


_WIDE = 100  # columns from which the findings table shows its category column


def print_report(console: Console, report: Report) -> None:
    console.print(_headline(report))
    summary = report.assessment.summary
    if summary.risk_floor:
        console.print(
            f"risk score raised from the model's {summary.model_risk_score or 0:.1f} to the"
            f" floor of the worst findings' level ({summary.risk_floor})"
        )
    console.print(
        f"findings {summary.total_findings}: "
        f"{summary.critical_findings} critical, {summary.high_findings} high, "
        f"{summary.medium_findings} medium, {summary.low_findings} low"
        f"  | assets {summary.assets_scanned}"
    )
    console.print(_targets(report.targets))
    console.print(_findings(report.findings, narrow=console.width < _WIDE))
    unknown = report.unrecognised_algorithms
    if unknown:
        names = ", ".join(sorted({u["algorithm"] or u["name"] for u in unknown}))
        console.print(
            safe(f"{len(unknown)} asset(s) with algorithms the catalog does not know: {names}")
        )
    if report.migration_plan.steps:
        console.print(_plan(report.migration_plan.steps))


def _headline(report: Report) -> Text:
    assessment = report.assessment
    risk = assessment.overall_risk or "-"
    model = report.run.model_version if report.run else None
    headline = Text()
    headline.append(escape_control(assessment.name), style="bold")
    headline.append(f"  status {assessment.status}  risk score ")
    headline.append(f"{assessment.risk_score:.1f}", style="bold")
    headline.append(" (")
    headline.append(risk, style=_LEVEL_STYLE.get(risk, ""))
    headline.append(
        f")  PQC readiness {assessment.summary.pqc_readiness_percentage:.1f}%  model {model or '-'}"
    )
    return headline


def _targets(targets: list[ReportTarget]) -> Table:
    table = Table(title="Targets", title_justify="left")
    for column in ("target", "type", "status", "detail"):
        table.add_column(column)
    for target in targets:
        detail = target.error or _target_detail(target.details or {})
        style = "red" if target.status != "ok" else "green"
        table.add_row(
            safe(target.target), safe(target.type), safe(target.status, style), safe(detail)
        )
    return table


def _findings(findings: list[ReportFinding], *, narrow: bool = False) -> Table:
    # Readable at 80 columns: no vertical rules, and no category column (the rule id says
    # it); ids and levels never break, words wrap at spaces.
    table = Table(
        title="Findings", title_justify="left", box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD
    )
    table.add_column("level", no_wrap=True)
    if not narrow:
        table.add_column("category", no_wrap=True)
    table.add_column("asset", overflow="fold")
    table.add_column("finding", overflow="fold")
    table.add_column("rule", no_wrap=True)
    table.add_column("score", no_wrap=True, justify="right")
    for finding in findings:
        level = finding.risk_level
        cells = [safe(level, _LEVEL_STYLE.get(level, ""))]
        if not narrow:
            cells.append(safe(finding.category))
        cells += [
            safe(finding.affected_asset),
            safe(finding.title),
            safe(finding.rule_id),
            Text(f"{finding.risk_score:.0f}"),
        ]
        table.add_row(*cells)
    return table


def _plan(steps: list[StepRead]) -> Table:
    table = Table(title="Migration plan", title_justify="left")
    for column in ("priority", "asset", "from", "to", "effort"):
        table.add_column(column, overflow="fold")
    for step in steps:
        cells = (
            step.priority,
            step.asset,
            step.current_algorithm,
            step.target_algorithm,
            step.estimated_effort,
        )
        table.add_row(*(safe(cell) for cell in cells))
    return table
