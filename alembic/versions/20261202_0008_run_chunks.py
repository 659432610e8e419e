"""run chunks: big runs cut into slices any worker may take, counted on the run

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS_CHECK = (
    "status IN ('DRAFT','QUEUED','IN_PROGRESS','COMPLETED','FAILED','CANCELLED','ARCHIVED')"
)


def upgrade() -> None:
    with op.batch_alter_table("assessment_runs") as batch:
        batch.add_column(
            sa.Column("chunks_total", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("chunks_done", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "run_chunks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("chunk_index", sa.Integer(), nullable=False),
        sa.Column("first_target", sa.Integer(), nullable=False),
        sa.Column("end_target", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "results",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_STATUS_CHECK, name=op.f("ck_run_chunks_status")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["assessment_runs.id"],
            name=op.f("fk_run_chunks_run_id_assessment_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_chunks")),
        sa.UniqueConstraint("run_id", "chunk_index", name="uq_run_chunks_index"),
    )


def downgrade() -> None:
    op.drop_table("run_chunks")
    with op.batch_alter_table("assessment_runs") as batch:
        batch.drop_column("chunks_done")
        batch.drop_column("chunks_total")
