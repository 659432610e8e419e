"""The CLI's quick schema check: Alembic is skipped only when the database is surely current."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from qrap_core import migrate


def test_script_heads_agree_with_alembic() -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert migrate.script_heads() == frozenset(scripts.get_heads())


def test_a_new_database_is_migrated_then_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    assert migrate.database_revisions(url) == frozenset()
    migrate.ensure_current(url)
    assert migrate.database_revisions(url) == migrate.script_heads()

    def refuse(_url: str, _revision: str = "heads") -> None:
        raise AssertionError("Alembic ran for a database at head")

    monkeypatch.setattr(migrate, "upgrade", refuse)
    migrate.ensure_current(url)


def test_an_unreadable_script_takes_the_full_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    for script in migrate.VERSIONS.glob("*.py"):
        (versions / script.name).write_text(script.read_text())
    (versions / "9999_odd.py").write_text('revision = make_id()\ndown_revision = "0001"\n')
    monkeypatch.setattr(migrate, "VERSIONS", versions)
    assert migrate.script_heads() is None

    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    calls: list[str] = []
    monkeypatch.setattr(migrate, "upgrade", lambda u, r="heads": calls.append(u))
    migrate.ensure_current(url)
    assert calls == [url]


def test_a_database_behind_the_scripts_is_upgraded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    migrate.upgrade(url, "0001")
    migrate.ensure_current(url)
    assert migrate.database_revisions(url) == migrate.script_heads()
