"""Names from scanned servers and uploads cannot drive the terminal: control characters in any
table cell reach it as visible escapes, never as ESC, CR or LF."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from qrap_cli.main import app
from qrap_cli.render import escape_control, print_report
from qrap_core.reports.model import Report
from tests.reports.sample import sample_report

RED = "\x1b[31mred"
SPLIT = "a\r\nb"
_SGR = re.compile("\x1b\\[[0-9;]*m")


def _report() -> Report:
    return sample_report(
        assessment={"name": f"estate {RED}", "status": "COMPLETED", "risk_score": 50.0},
        summary={"total_findings": 1, "high_findings": 1},
        targets=[{"target": f"host{SPLIT}", "type": "tls", "status": "error", "error": RED}],
        findings=[{"affected_asset": RED, "title": SPLIT, "rule_id": "QRAP-TLS-001\x07"}],
        unrecognised=[
            {"asset_id": "a", "kind": "algorithm", "name": "x", "location": "l",
             "algorithm": "ALG\x9b2J"},
        ],
    )  # fmt: skip


def _terminal_output(report: Report) -> str:
    """What a colour terminal would receive (rich's own styling included)."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="standard", width=300)
    print_report(console, report)
    return out.getvalue()


class TestEscapeControl:
    @pytest.mark.parametrize(
        ("raw", "shown"),
        [
            (RED, "\\x1b[31mred"),
            (SPLIT, "a\\r\\nb"),
            ("tab\there", "tab\\there"),
            ("bell\x07 del\x7f c1\x9b", "bell\\x07 del\\x7f c1\\x9b"),
            ("plain [bold]text[/bold] ü", "plain [bold]text[/bold] ü"),
        ],
    )
    def test_control_characters_become_visible(self, raw: str, shown: str) -> None:
        assert escape_control(raw) == shown


class TestPrintReport:
    def test_no_escape_or_line_break_from_the_data_reaches_the_terminal(self) -> None:
        output = _terminal_output(_report())

        assert RED not in output
        assert "\r" not in output
        assert "\x07" not in output
        assert "\x9b" not in output
        # rich styles its own output with SGR sequences (ESC [ ... m); nothing else is sent.
        assert "\x1b" not in _SGR.sub("", output)
        assert "\\x1b[31mred" in output
        assert "a\\r\\nb" in output

    def test_the_escaped_names_are_shown(self) -> None:
        console = Console(record=True, width=300)
        print_report(console, _report())
        text = console.export_text()

        assert "estate \\x1b[31mred" in text
        assert "host\\r\\nb" not in text  # the whole cell is on one line
        assert "hosta\\r\\nb" in text
        assert "ALG\\x9b2J" in text


class TestPlanCommand:
    def test_asset_names_in_the_plan_table_are_escaped(self, tmp_path: Path) -> None:
        path = tmp_path / "assets.json"
        path.write_text(json.dumps([{"asset": RED, "algorithm": "3DES"}]))

        result = CliRunner().invoke(app, ["plan", str(path)])

        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output
        assert "\\x1b[31mred" in result.output
        assert "Phase 1" in result.output  # the table was printed
