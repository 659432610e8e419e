"""The table report says what a reader would otherwise miss: unknown algorithms, the floor."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from qrap_cli.render import print_report
from qrap_core.reports.model import Report
from tests.reports.sample import sample_report


def _report(**summary: Any) -> Report:
    return sample_report(
        assessment={
            "name": "estate",
            "status": "COMPLETED",
            "risk_score": 80.0,
            "overall_risk": "CRITICAL",
        },
        summary={"total_findings": 1, "critical_findings": 1, **summary},
        targets=[{"target": "estate.cdx.json", "type": "cbom", "status": "ok"}],
        unrecognised=[
            {
                "asset_id": "a",
                "kind": "algorithm",
                "name": "x",
                "location": "l",
                "algorithm": "FROBNICATE-9",
            },
        ],
    )


def _printed(report: Report) -> str:
    console = Console(record=True, width=200)
    print_report(console, report)
    return console.export_text()


class TestPrintReport:
    def test_unrecognised_algorithms_are_listed(self) -> None:
        assert "catalog does not know: FROBNICATE-9" in _printed(_report())

    def test_the_floor_that_raised_the_score_is_stated(self) -> None:
        text = _printed(_report(model_risk_score=41.5, risk_floor="CRITICAL"))
        assert "raised from the model's 41.5" in text
        assert "(CRITICAL)" in text

    def test_no_floor_line_when_the_model_score_stands(self) -> None:
        assert "raised from" not in _printed(_report(model_risk_score=85.0, risk_floor=None))


class TestNarrowTerminal:
    def test_findings_read_at_80_columns(self) -> None:
        findings = [
            {"rule_id": "QRAP-HNDL-001", "category": "HARVEST_NOW_DECRYPT_LATER",
             "affected_asset": "legacy billing gateway",
             "title": "Data protected by RSA-2048 can be harvested now and decrypted later"},
        ]  # fmt: skip
        console = Console(width=80, record=True, force_terminal=False)
        print_report(console, sample_report(findings=findings))
        text = console.export_text()
        assert max(len(line) for line in text.splitlines()) <= 80
        assert "QRAP-HNDL-001" in text  # never broken across lines
        assert "HARVEST_NOW" not in text  # the category column gives way to the finding
