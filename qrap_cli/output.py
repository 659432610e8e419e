"""Writing a report to stdout: the table for people, an export format for tools."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from qrap_cli.common import err, pipe_closed
from qrap_core.enums import RISK_ORDER, RiskLevel
from qrap_core.reports.text import printable

if TYPE_CHECKING:
    from rich.console import Console

    from qrap_core.reports.model import Report


def emit(console: Console, report: Report, output_format: str) -> None:
    """The report on stdout in ``output_format`` (the table goes through rich)."""
    from qrap_cli.render import print_report
    from qrap_core.reports.formats import render as render_export

    try:
        if output_format == "table":
            print_report(console, report)
            return
        text = render_export(report, output_format)[0]
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        pipe_closed()


def fails(report: Report, threshold: RiskLevel | None) -> bool:
    """True when a finding is at ``threshold`` or worse; says on stderr which and how many."""
    if threshold is None:
        return False
    hits = [f for f in report.findings if RISK_ORDER[f.risk_level] <= RISK_ORDER[threshold]]
    if not hits:
        return False
    worst = min(hits, key=lambda f: RISK_ORDER[f.risk_level])
    noun = "finding is" if len(hits) == 1 else "findings are"
    err().print(
        f"--fail-on {threshold.value}: {len(hits)} {noun} at {threshold.value} or worse "
        f"(worst: {worst.risk_level} {worst.rule_id} on {printable(worst.affected_asset)}); "
        "exit 3",
        highlight=False,
        markup=False,
    )
    return True
