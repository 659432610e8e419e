"""CSV of a run's findings (one row each), safe to open in a spreadsheet and to print.

Control characters (ESC, CR, LF, ...) in a cell are spelled out (``reports.text``), so one
finding is always one physical line; cells that a spreadsheet would run as a formula are
prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date

from qrap_core.reports.model import Report, ReportFinding
from qrap_core.reports.text import printable

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
# OWASP "CSV injection": a cell starting with one of these is a formula to a spreadsheet
# (tab and CR are spelled out before this check, so they no longer start a cell).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render(report: Report) -> str:
    """CSV text with a header row; findings in the report's order (worst first)."""
    return "".join(stream(report.findings))


def stream(findings: Iterable[ReportFinding], rows_per_chunk: int = 500) -> Iterator[str]:
    """The same CSV text in chunks of up to ``rows_per_chunk`` rows (the header first), read
    from ``findings`` as it goes, so an export never holds more than one chunk."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for count, finding in enumerate(findings, start=1):
        writer.writerow([_cell(getattr(finding, column)) for column in COLUMNS])
        if count % rows_per_chunk == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def _cell(value: str | float | date | list[str] | None) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    text = printable(str(value))
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
