"""docs/deployment.md's environment variable table is the one scripts/env_table.py generates
from the Settings class (`make docs-env`), and every setting explains itself."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from qrap_core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "qrap_env_table", ROOT / "scripts" / "env_table.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


env_table = _load()


def test_the_table_in_the_docs_is_up_to_date() -> None:
    document = env_table.DOC.read_text()
    assert env_table.replace_table(document, env_table.render()) == document, (
        "docs/deployment.md's environment variable table is out of date: run `make docs-env`"
    )


def test_every_setting_has_a_description() -> None:
    undescribed = [name for name, field in Settings.model_fields.items() if not field.description]
    assert undescribed == [], "add description= to these fields in qrap_core/settings.py"


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("db_read_url", ["QRAP_DB_READ_URL"]),
        ("jwt_secret", ["QUANTUN_JWT_SECRET"]),
        ("api_keys_raw", ["QUANTUN_API_KEYS"]),
    ],
)
def test_names_follow_the_prefix_and_aliases(field: str, names: list[str]) -> None:
    assert env_table.env_names(field, Settings.model_fields[field]) == names
    row = next(r for r in env_table.render().splitlines() if f"`{names[0]}`" in r)
    assert row.startswith(f"| `{names[0]}` |")


def test_check_mode_reports_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "deployment.md"
    stale.write_text(f"intro\n{env_table.START}\n| old |\n{env_table.END}\noutro\n")
    monkeypatch.setattr(env_table, "DOC", stale)
    assert env_table.main(["--check"]) == 1
    assert env_table.main(["--write"]) == 0
    assert env_table.main(["--check"]) == 0
    assert stale.read_text().endswith(f"{env_table.END}\noutro\n")
