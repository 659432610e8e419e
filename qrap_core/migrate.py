"""Run the Alembic migrations from code (the CLI's embedded mode, tests, `qrap db upgrade`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"
VERSIONS = ALEMBIC_INI.parent / "alembic" / "versions"
_REVISION = re.compile(r"^revision(?:\s*:\s*[^=]+)?\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision(?:\s*:\s*[^=]+)?\s*=\s*(.+)$", re.MULTILINE)
_IDS = re.compile(r"['\"]([^'\"]+)['\"]")


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    if not ALEMBIC_INI.exists():
        raise FileNotFoundError(
            f"{ALEMBIC_INI} not found: run QRAP from a source checkout (pip install -e .)"
        )
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def ensure_current(url: str) -> None:
    """Upgrade ``url`` to the latest schema, skipping Alembic when it is there already.

    Loading Alembic and its migration scripts costs a quarter of a second, which the CLI would
    pay on every command before its first probe. Any doubt (a script this quick read cannot
    parse, a database at another revision, no database yet) takes the full Alembic path.
    """
    heads = script_heads()
    if heads is None or database_revisions(url) != heads:
        upgrade(url)


def script_heads() -> frozenset[str] | None:
    """The head revisions of the migration scripts, or None when a script is not plain."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in VERSIONS.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(text), _DOWN.findall(text)
        if len(revision) != 1 or len(down) != 1:
            return None
        revisions.add(revision[0])
        parents.update(_IDS.findall(down[0]))
    heads = revisions - parents
    return frozenset(heads) if heads and parents <= revisions else None


def database_revisions(url: str) -> frozenset[str]:
    """The revisions recorded in the database's ``alembic_version`` (empty when none)."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return frozenset()
            rows = connection.execute(text("SELECT version_num FROM alembic_version"))
            return frozenset(str(row[0]) for row in rows)
    finally:
        engine.dispose()
