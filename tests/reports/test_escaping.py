"""CSV and HTML exports print safely: control characters are spelled out, formulas defused."""

from __future__ import annotations

import csv
import io

import pytest

from qrap_core.reports import csv_report, html
from qrap_core.reports.text import printable
from tests.reports.sample import sample_report

HOSTILE = {
    "title": "\x1b[31mred\x1b[0m",
    "affected_asset": "host\r\nfake,row,injected",
    "description": "=cmd|' /C calc'!A0",
    "remediation": "bell\x07 nel\x85 del\x7f",
}


class TestPrintable:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("\x1b[31m", "\\x1b[31m"),
            ("a\r\nb", "a\\r\\nb"),
            ("\t", "\\t"),
            ("\x00\x7f\x85\x9b", "\\x00\\x7f\\x85\\x9b"),
            ("plain é ✓", "plain é ✓"),
        ],
    )
    def test_spells_out_controls(self, text: str, expected: str) -> None:
        assert printable(text) == expected


class TestCsv:
    def test_hostile_cells(self) -> None:
        text = csv_report.render(sample_report(findings=[HOSTILE]))

        assert "\x1b" not in text
        assert "\x07" not in text
        assert "\x85" not in text
        lines = text.split("\r\n")
        assert len(lines) == 3  # header, one finding, the empty rest after the last CRLF
        assert "\n" not in "".join(lines)
        row = next(csv.DictReader(io.StringIO(text)))
        assert row["title"] == "\\x1b[31mred\\x1b[0m"
        assert row["affected_asset"] == "host\\r\\nfake,row,injected"
        assert row["description"] == "'=cmd|' /C calc'!A0"
        assert row["remediation"] == "bell\\x07 nel\\x85 del\\x7f"

    @pytest.mark.parametrize("start", ["=", "+", "-", "@"])
    def test_formula_prefixes(self, start: str) -> None:
        text = csv_report.render(sample_report(findings=[{"title": f"{start}1+1"}]))

        assert next(csv.DictReader(io.StringIO(text)))["title"] == f"'{start}1+1"

    def test_streamed_in_chunks_of_rows(self) -> None:
        report = sample_report(findings=[{"title": f"finding {n}"} for n in range(5)])

        chunks = list(csv_report.stream(report.findings, rows_per_chunk=2))

        assert len(chunks) == 3
        assert "".join(chunks) == csv_report.render(report)


class TestHtml:
    def test_hostile_cells(self) -> None:
        report = sample_report(
            findings=[HOSTILE],
            targets=[{"target": "t\x1b]0;owned\x07", "type": "tls", "status": "error",
                      "error": "\x9b2J"}],
        )  # fmt: skip

        page = html.render(report)

        for raw in ("\x1b", "\x07", "\x85", "\x9b", "\x7f", "\r"):
            assert raw not in page
        assert "\\x1b[31mred\\x1b[0m" in page
        assert "host\\r\\nfake,row,injected" in page
        assert "t\\x1b]0;owned\\x07" in page
