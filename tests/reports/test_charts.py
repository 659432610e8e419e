"""The inline SVG charts: escaped, self-describing, and free of what the dashboard's
Content-Security-Policy refuses (inline styles and scripts)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from qrap_core.reports import charts
from tests.cli.test_assess import EXAMPLES, qrap

_REFUSED = re.compile(r"<script|<style|\sstyle=|\son[a-z]+=", re.IGNORECASE)


class TestBarChart:
    def test_labels_are_escaped_and_values_described(self) -> None:
        svg = charts.bar_chart([("<b>&x", 3.0), ("low", 1.5)], title="T <1>")
        assert "<b>" not in svg
        assert "&lt;b&gt;&amp;x" in svg
        assert "<title>T &lt;1&gt;</title>" in svg
        assert "<desc>&lt;b&gt;&amp;x: 3; low: 1.50</desc>" in svg
        assert _REFUSED.search(svg) is None

    def test_the_longest_bar_is_the_largest_value(self) -> None:
        svg = charts.bar_chart([("a", 2.0), ("b", 8.0)], title="t", width=480)
        widths = [float(w) for w in re.findall(r'<rect [^>]*width="([0-9.]+)"', svg)]
        assert widths == [60.0, 240.0]


class TestLineChart:
    def test_an_empty_chart_says_so(self) -> None:
        svg = charts.line_chart([], title="t", x_label="x", y_label="y")
        assert "No data yet." in svg

    def test_one_polyline_per_series_with_a_legend(self) -> None:
        series = [
            charts.Series("one", [(2026.0, 0.1), (2030.0, 0.5)]),
            charts.Series("two", [(2026.0, 0.2), (2030.0, 0.9)]),
        ]
        svg = charts.line_chart(series, title="t", x_label="year", y_label="p", y_max=1)
        assert svg.count("<polyline") == 2
        assert ">one</text>" in svg
        assert ">two</text>" in svg
        assert _REFUSED.search(svg) is None


class TestTimeline:
    def test_each_phase_ends_at_its_deadline(self) -> None:
        svg = charts.timeline(
            [
                charts.Milestone("1. first", date(2027, 1, 1), "CRITICAL"),
                charts.Milestone("2. later", None, "LOW"),
            ],
            title="plan",
            today=date(2026, 1, 1),
        )
        assert "2027-01-01" in svg
        assert "no deadline" in svg
        assert charts.LEVEL_COLOURS["CRITICAL"] in svg
        assert _REFUSED.search(svg) is None


def test_axis_ticks_are_round_and_whole_for_runs_and_years() -> None:
    from qrap_core.reports.charts import _ticks

    assert _ticks(2026, 2056, whole=True) == [2030, 2035, 2040, 2045, 2050, 2055]
    assert _ticks(0, 2, whole=True) == [0, 1, 2]  # one run: no "run 0.5"
    assert _ticks(0.0, 0.9) == [0.0, 0.2, 0.4, 0.6, 0.8]


def test_the_html_report_draws_the_dashboards_charts(tmp_path: Path) -> None:
    """Item 5 of the dashboard: the report (no scripts) shares its charts as inline SVG."""
    done = qrap("assess", "--inventory", str(EXAMPLES / "inventory.json"), "--format", "html",
                tmp_path=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = done.stdout
    titles = re.findall(
        r'<svg [^>]*role="img"[^>]*><title>([^<]+)</title><desc>([^<]*)</desc>', page
    )
    drawn = dict(titles)
    assert set(drawn) == {"Findings by level", "Findings by category", "Migration plan"}
    kpis = dict(re.findall(r'<div class="kpi">(\w+)<b>(\d+)</b></div>', page))
    for level in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"):
        assert f"{level}: {kpis[level.title()]}" in drawn["Findings by level"]
    assert re.search(r"1\. [^:]+: by \d{4}-\d{2}-\d{2}", drawn["Migration plan"])
    assert "<script" not in page
