"""least-privilege application role

The migrations run as the owner of the tables; the API and the workers connect as this role
(QRAP_DB_APP_ROLE, default ``qrap_app``). It owns nothing, so it can neither disable the audit
log's triggers nor change ``session_replication_role``, and on ``qrap_audit_log`` it may only
INSERT and SELECT. Roles belong to the whole cluster: the role is created when missing (LOGIN
without a password; an existing role keeps its attributes), the grants are per database. The
statements live in qrap_core/audit/approle.py, which also grants again after a restore.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:50:00.000000
"""

from collections.abc import Sequence

from alembic import op
from qrap_core.audit import approle
from qrap_core.settings import get_settings

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # SQLite has no roles: a single-user file
        approle.grant(op.get_bind(), get_settings().db_app_role)


def downgrade() -> None:
    """Revoke the grants in this database; the role stays (other databases may use it)."""
    if op.get_bind().dialect.name == "postgresql":
        approle.revoke(op.get_bind(), get_settings().db_app_role)
