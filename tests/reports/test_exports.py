"""Every export of a real run validates against its schema and says what the peers offer."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from qrap_core.discovery import cbom as cbom_import
from qrap_core.reports import cbom as cbom_export
from qrap_core.reports import csv_report, html, sarif
from qrap_core.reports.model import Report
from tests.reports.sample import sample_report

pytestmark = pytest.mark.network
SARIF_SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json").read_text()
)


def target(report: dict[str, Any], kind: str, contains: str = "") -> dict[str, Any]:
    return next(t for t in report["targets"] if t["type"] == kind and contains in t["target"])


class TestTheRun:
    def test_every_target_was_reached(self, assessed: dict[str, Any]) -> None:
        assert [t["status"] for t in assessed["targets"]] == ["ok"] * len(assessed["targets"])

    def test_pq_verdicts(self, assessed: dict[str, Any]) -> None:
        verdicts = {
            t["target"]: t["details"]["key_exchange"]["verdict"]
            for t in assessed["targets"]
            if t["type"] in ("tls", "ssh")
        }
        assert sorted(verdicts.values()).count("classical-only") >= 2
        assert "hybrid-pq" in verdicts.values()

    def test_cbom_enrichment_reaches_the_report(self, assessed: dict[str, Any]) -> None:
        mlkem = next(a for a in assessed["assets"] if a["name"] == "ML-KEM-768")
        assert mlkem["details"]["nist_quantum_security_level"] == 3
        assert "nistQuantumSecurityLevel" in mlkem["details"]["enriched"]


def vars_of(asset: Any) -> dict[str, Any]:
    return {name: getattr(asset, name) for name in asset.__slots__}


class TestCbomExport:
    def test_validates_against_cyclonedx_16(self, report: Report) -> None:
        document = cbom_export.render(report)

        errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(document)

        assert errors is None, errors
        parsed = json.loads(document)
        assert parsed["specVersion"] == "1.6"
        crypto = [c for c in parsed["components"] if c["type"] == "cryptographic-asset"]
        asset_types = {c["cryptoProperties"]["assetType"] for c in crypto}
        assert {"algorithm", "certificate", "protocol"} <= asset_types
        assert parsed["dependencies"]

    def test_round_trip_gives_the_same_assets(
        self, assessed: dict[str, Any], report: Report
    ) -> None:
        document = cbom_export.render(report).encode()

        parsed = cbom_import.read_cbom(io.BytesIO(document))
        restored = cbom_import.assets_from(parsed, label="round-trip")

        def key(a: Any) -> tuple[Any, ...]:
            row = a if isinstance(a, dict) else {**vars_of(a), "usage": a.usage.value}
            fields = ("kind", "name", "location", "algorithm", "family", "key_size", "usage")
            return (*(row[f] for f in fields), row["protocol"])

        assert sorted(map(key, restored)) == sorted(map(key, assessed["assets"]))
        assert len(parsed.components) > len(restored)  # helper components were skipped

    def test_hybrid_group_is_a_kem(self, report: Report) -> None:
        parsed = json.loads(cbom_export.render(report))
        hybrid = next(c for c in parsed["components"] if c["name"] == "X25519MLKEM768")

        properties = hybrid["cryptoProperties"]["algorithmProperties"]
        assert properties["primitive"] == "kem"
        assert properties["nistQuantumSecurityLevel"] == 3


class TestSarif:
    def test_validates_against_sarif_210(self, assessed: dict[str, Any], report: Report) -> None:
        log = json.loads(sarif.render(report))

        jsonschema.Draft7Validator(SARIF_SCHEMA).validate(log)
        results = log["runs"][0]["results"]
        assert len(results) == len(assessed["findings"])
        rules = log["runs"][0]["tool"]["driver"]["rules"]
        assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)

    def test_levels_follow_risk(self, report: Report) -> None:
        log = json.loads(sarif.render(report))
        levels = {(r["properties"]["risk_level"], r["level"]) for r in log["runs"][0]["results"]}

        for risk, level in levels:
            assert level == {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning"}.get(
                risk, "note"
            )

    def test_schema_catches_a_broken_log(self, report: Report) -> None:
        log = json.loads(sarif.render(report))
        log["runs"][0]["results"][0]["level"] = "fatal"

        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft7Validator(SARIF_SCHEMA).validate(log)


class TestCsv:
    def test_one_row_per_finding(self, assessed: dict[str, Any], report: Report) -> None:
        rows = list(csv.DictReader(io.StringIO(csv_report.render(report))))

        assert len(rows) == len(assessed["findings"])
        assert {r["rule_id"] for r in rows} == {f["rule_id"] for f in assessed["findings"]}

    def test_formula_cells_are_neutralised(self) -> None:
        report = sample_report(findings=[{"title": '=HYPERLINK("x")', "risk_score": -1.5}])

        row = next(csv.DictReader(io.StringIO(csv_report.render(report))))

        assert row["title"] == '\'=HYPERLINK("x")'
        assert row["risk_score"] == "-1.5"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.extend(attrs)


class TestHtml:
    def test_self_contained_and_escaped(self, report: Report) -> None:
        page = html.render(report)
        collector = _Collector()
        collector.feed(page)

        assert "script" not in collector.tags
        assert not any(name in ("src", "href") for name, _ in collector.attrs)
        assert "export &lt;test&gt; &amp; &quot;quotes&quot;" in page
        assert "<test>" not in page

    def test_says_what_the_peers_offer(self, assessed: dict[str, Any], report: Report) -> None:
        page = html.render(report)

        assert "hybrid-pq (classical fallback)" in page
        assert "classical-only" in page
        for finding in assessed["findings"][:5]:
            assert finding["rule_id"] in page

    def test_hostile_values_cannot_inject_markup(self, assessed: dict[str, Any]) -> None:
        hostile = json.loads(json.dumps(assessed))
        hostile["assets"][0]["name"] = "<script>alert(1)</script>"
        hostile["targets"][0]["error"] = "<img src=x onerror=alert(1)>"

        page = html.render(Report.from_json(hostile))

        assert "<script>alert" not in page
        assert "<img" not in page
        assert re.search(r"&lt;script&gt;alert\(1\)&lt;/script&gt;", page)
