"""The parsers and the document generator of ``make bench`` (bench/run.py), without services."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bench.parts.a_submit import parse_wrk
from bench.parts.c_scoring import parse_printed
from bench.parts.cbom_doc import document
from bench.parts.loadgen import percentile
from bench.parts.profile import summarize
from qrap_core.discovery.cbom_reader import read_cbom

WRK_OUTPUT = """\
Running 15s test @ http://127.0.0.1:49797/api/v1/assessments
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   726.14ms  347.03ms   1.95s    73.43%
    Req/Sec    40.67     31.25   165.00     71.00%
  Latency Distribution
     50%  658.97ms
     75%  872.07ms
     90%    1.20s 
     99%    1.79s 
  1025 requests in 15.08s, 1.47MB read
  Non-2xx or 3xx responses: 3
Requests/sec:     67.99
Transfer/sec:     99.66KB
"""  # noqa: W291  (wrk pads the seconds column)

SCORING_OUTPUT = """\
assets scored per second, 50,000 assets (one run's assumptions):
  features + predict + contributions          3,805 /s  (13.1 s)
  features + predict                         25,886 /s  (1.9 s)
  of which features                          40,100 /s
distinct rows: 8,750 of 50,000 (17.5 %)
  predict, no dedup                          65,294 rows/s
  SHAP contributions, no dedup                1,062 rows/s
"""


class TestParseWrk:
    def test_reads_rate_and_percentiles_in_their_units(self) -> None:
        figures = parse_wrk(WRK_OUTPUT)

        assert figures["requests"] == 1025
        assert figures["rps"] == pytest.approx(67.99)
        assert figures["p50_ms"] == pytest.approx(658.97)
        assert figures["p99_ms"] == pytest.approx(1790.0)
        assert figures["non_2xx"] == 3

    def test_refuses_output_without_figures(self) -> None:
        with pytest.raises(ValueError, match="unexpected wrk output"):
            parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


class TestParsePrinted:
    def test_reads_scoring_figures(self) -> None:
        figures = parse_printed(SCORING_OUTPUT)

        assert figures["assets_per_s"] == 3805
        assert figures["features_predict_assets_per_s"] == 25886
        assert figures["raw_predict_rows_per_s"] == 65294

    def test_refuses_unknown_output(self) -> None:
        with pytest.raises(ValueError, match="no figures"):
            parse_printed("model 1.1.0\n")


class TestPercentile:
    @pytest.mark.parametrize(("fraction", "expected"), [(0.0, 1.0), (0.5, 51.0), (0.99, 99.0)])
    def test_nearest_rank(self, fraction: float, expected: float) -> None:
        assert percentile([float(x) for x in range(1, 101)], fraction) == expected


class TestCbomDocument:
    def test_every_component_is_read_and_keys_link_to_algorithms(self) -> None:
        parsed = read_cbom(io.BytesIO(document(240)))

        assert len(parsed.components) == 240
        assert parsed.other_components == 0

    def test_bom_refs_are_unique(self) -> None:
        body = document(1200)

        assert body.count(b'"bom-ref"') == 1200
        assert len(set(body.split(b'"bom-ref":')[1:])) == 1200


class TestSummarize:
    def test_self_and_inclusive_shares(self, tmp_path: Path) -> None:
        raw = tmp_path / "worker.txt"
        raw.write_text(
            "process 1:main;run (qrap_core/pipeline.py:10);read (qrap_core/cbom.py:5) 3\n"
            "process 1:main;run (qrap_core/pipeline.py:10);execute (sqlalchemy/x.py:1) 1\n"
        )

        summary = summarize(raw)

        assert "4 samples" in summary
        assert " 75.0%  read (qrap_core/cbom.py:5)" in summary
        assert "100.0%  run (qrap_core/pipeline.py:10)" in summary
