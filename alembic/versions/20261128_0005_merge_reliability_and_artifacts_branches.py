"""merge reliability and artifacts branches

The two were written in parallel from 0001; neither touches the other's tables.

Revision ID: 0005
Revises: 0002, 0003
Create Date: 2026-11-28 08:17:28.818648
"""

from collections.abc import Sequence

revision: str = "0005"
down_revision: tuple[str, str] = ("0002", "0003")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: this revision only joins the two branches."""


def downgrade() -> None:
    """Nothing to undo."""
