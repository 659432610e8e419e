"""scripts/audit.py (`make audit`): what fails CI, what is reported and passed."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("qrap_audit", ROOT / "scripts" / "audit.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks the module up while being made
    spec.loader.exec_module(module)
    return module


audit = _load()


def _report(*dependencies: dict[str, Any]) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


CLEAN: dict[str, Any] = {"name": "fastapi", "version": "0.121.0", "vulns": []}
VULNERABLE: dict[str, Any] = {
    "name": "jinja2",
    "version": "3.1.2",
    "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": []}],
}
NOT_FOUND: dict[str, Any] = {
    "name": "alembic",
    "version": "1.20.1",
    "skip_reason": "Dependency not found on PyPI",
}


class TestJudge:
    def test_a_vulnerability_fails(self) -> None:
        outcome = audit.judge(1, _report(CLEAN, VULNERABLE), "")
        assert outcome.code == 1
        assert "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)" in outcome.message

    def test_clean_passes(self) -> None:
        outcome = audit.judge(0, _report(CLEAN, NOT_FOUND), "")
        assert (outcome.code, outcome.message) == (
            0,
            "no known vulnerabilities in 1 packages (1 skipped)",
        )

    def test_a_service_that_answers_nothing_is_reported_not_failed(self) -> None:
        outcome = audit.judge(0, _report(NOT_FOUND, NOT_FOUND), "")
        assert outcome.code == 0
        assert outcome.message.startswith("audit skipped: the advisory service answered for none")

    def test_no_network_is_reported_not_failed(self) -> None:
        stderr = "requests.exceptions.ConnectionError: Max retries exceeded with url: /pypi/"
        outcome = audit.judge(1, "", stderr)
        assert outcome.code == 0
        assert "cannot be reached" in outcome.message

    def test_another_failure_fails(self) -> None:
        outcome = audit.judge(2, "", "pip-audit: error: unrecognized arguments: --bogus")
        assert outcome.code == 1


class TestIgnores:
    def test_entries_carry_their_reasons(self) -> None:
        text = "# comment\n\nGHSA-h5c8-rqwp-cp95  only in the docs build, fixed by 3.1.3\n"
        assert audit.read_ignores(text) == {
            "GHSA-h5c8-rqwp-cp95": "only in the docs build, fixed by 3.1.3"
        }

    def test_an_entry_without_a_reason_is_refused(self) -> None:
        with pytest.raises(ValueError, match="GHSA-h5c8-rqwp-cp95 needs a reason"):
            audit.read_ignores("GHSA-h5c8-rqwp-cp95\n")

    def test_the_shipped_file_parses(self) -> None:
        audit.read_ignores((ROOT / "pip-audit-ignore.txt").read_text())
