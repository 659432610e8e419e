"""docker/monitoring: the alert rules and the Grafana dashboard parse, and every query names
metrics QRAP exports (promtool checks the rules too where it is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from qrap_core import metrics

MONITORING = Path(__file__).resolve().parents[2] / "docker" / "monitoring"
RULES = MONITORING / "alerts.yml"
DASHBOARD = MONITORING / "grafana-dashboard.json"
# Exported by the API at scrape time (qrap_api/metrics.py), besides qrap_core/metrics.py's.
SCRAPE_TIME = ("qrap_queue_depth", "qrap_queue_depth_up")
_SUFFIXES = ("_bucket", "_count", "_sum", "_created")
_METRIC = re.compile(r"\bqrap_[a-z_]+\b")


def exported(name: str) -> bool:
    known = (*metrics.NAMES, *SCRAPE_TIME)
    return name in known or any(
        name.endswith(suffix) and name[: -len(suffix)] in known for suffix in _SUFFIXES
    )


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_alerts_the_operations_guide_promises_exist() -> None:
    names = {rule["alert"] for rule in _rules()}
    assert {
        "QrapQueueStuck", "QrapWebhooksFailing", "QrapApiErrorRate", "QrapLeaseTakeovers"
    } <= names  # fmt: skip
    for rule in _rules():
        assert rule["expr"].strip()
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]


@pytest.mark.parametrize("where", ["rules", "dashboard"])
def test_every_query_names_exported_metrics(where: str) -> None:
    exprs = [rule["expr"] for rule in _rules()] if where == "rules" else _dashboard_exprs()
    assert exprs
    for expr in exprs:
        names = _METRIC.findall(expr)
        assert names, expr
        unknown = [name for name in names if not exported(name)]
        assert not unknown, f"{expr!r} names metrics QRAP does not export: {unknown}"


def test_the_structural_check_notices_a_stray_name() -> None:
    assert exported("qrap_run_duration_seconds_bucket")
    assert not exported("qrap_runs_total")


def test_the_dashboard_covers_every_exported_metric() -> None:
    text = " ".join(_dashboard_exprs())
    missing = [name for name in (*metrics.NAMES, "qrap_queue_depth") if name not in text]
    assert not missing


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
