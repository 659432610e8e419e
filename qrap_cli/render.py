"""Printing a report for people: summary, targets, findings, migration plan."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

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


def print_report(console: Console, report: dict[str, Any]) -> None:
    assessment = report["assessment"]
    summary = assessment.get("summary") or {}
    run = report.get("run") or {}
    risk = assessment.get("overall_risk") or "-"
    headline = Text()
    headline.append(assessment["name"], style="bold")
    headline.append(f"  status {assessment['status']}  risk score ")
    headline.append(f"{assessment['risk_score']:.1f}", style="bold")
    headline.append(" (")
    headline.append(risk, style=_LEVEL_STYLE.get(risk, ""))
    headline.append(
        f")  PQC readiness {summary.get('pqc_readiness_percentage', 0):.1f}%"
        f"  model {run.get('model_version') or '-'}"
    )
    console.print(headline)
    if summary.get("risk_floor"):
        console.print(
            f"risk score raised from the model's {summary.get('model_risk_score', 0):.1f} to the"
            f" floor of the worst findings' level ({summary['risk_floor']})"
        )
    console.print(
        f"findings {summary.get('total_findings', 0)}: "
        f"{summary.get('critical_findings', 0)} critical, {summary.get('high_findings', 0)} high, "
        f"{summary.get('medium_findings', 0)} medium, {summary.get('low_findings', 0)} low"
        f"  | assets {summary.get('assets_scanned', 0)}"
    )

    targets = Table(title="Targets", title_justify="left")
    for column in ("target", "type", "status", "detail"):
        targets.add_column(column)
    for target in report["targets"]:
        details = target.get("details") or {}
        detail = target.get("error") or _target_detail(details)
        style = "red" if target["status"] != "ok" else "green"
        targets.add_row(
            Text(target["target"]),
            target["type"],
            Text(target["status"], style=style),
            Text(detail),
        )
    console.print(targets)

    findings = Table(title="Findings", title_justify="left")
    for column in ("level", "category", "asset", "finding", "rule", "score"):
        findings.add_column(column, overflow="fold")
    for finding in report["findings"]:
        level = finding["risk_level"]
        findings.add_row(
            Text(level, style=_LEVEL_STYLE.get(level, "")),
            finding["category"],
            Text(finding["affected_asset"]),
            Text(finding["title"]),
            finding["rule_id"],
            f"{finding['risk_score']:.0f}",
        )
    console.print(findings)
    unknown = report.get("unrecognised_algorithms") or []
    if unknown:
        names = ", ".join(sorted({str(u["algorithm"] or u["name"]) for u in unknown}))
        console.print(
            Text(f"{len(unknown)} asset(s) with algorithms the catalog does not know: {names}")
        )

    plan = report.get("migration_plan") or {}
    steps = plan.get("steps") or []
    if steps:
        table = Table(title="Migration plan", title_justify="left")
        for column in ("priority", "asset", "from", "to", "effort"):
            table.add_column(column, overflow="fold")
        for step in steps:
            table.add_row(
                *(
                    Text(str(step[key]))
                    for key in (
                        "priority",
                        "asset",
                        "current_algorithm",
                        "target_algorithm",
                        "estimated_effort",
                    )
                )
            )
        console.print(table)
