"""CSV of a run's findings (one row each), safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import date

from qrap_core.reports.model import Report

MEDIA_TYPE = "text/csv; charset=utf-8"
COLUMNS = (
    "rule_id",
    "risk_level",
    "category",
    "title",
    "affected_asset",
    "current_algorithm",
    "recommended_algorithm",
    "deadline",
    "risk_score",
    "triage_status",
    "description",
    "remediation",
    "references",
    "fingerprint",
)
# OWASP "CSV injection": a cell starting with one of these is a formula to a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render(report: Report) -> str:
    """CSV text with a header row; findings in the report's order (worst first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for finding in report.findings:
        writer.writerow([_cell(getattr(finding, column)) for column in COLUMNS])
    return out.getvalue()


def _cell(value: str | float | date | list[str] | None) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    text = str(value)
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
