"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 06:31:26.194676
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("name", name=op.f("uq_organizations_name")),
    )
    op.create_table(
        "qrap_audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("actor_type", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qrap_audit_log")),
    )
    with op.batch_alter_table("qrap_audit_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_qrap_audit_log_org_time", ["organization_id", "occurred_at"], unique=False
        )

    op.create_table(
        "assessments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("overall_risk", sa.String(length=16), nullable=True),
        sa.Column("risk_score", sa.Float(), nullable=False),
        sa.Column(
            "target_assets",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "targets",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "data_profile",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("webhook_url", sa.String(length=2048), nullable=True),
        sa.Column("pqc_readiness", sa.Float(), nullable=False),
        sa.Column("assets_scanned", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("schedule", sa.String(length=255), nullable=True),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('DRAFT','QUEUED','IN_PROGRESS','COMPLETED','FAILED','CANCELLED',"
            "'ARCHIVED')",
            name=op.f("ck_assessments_status"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_assessments_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assessments_org_status", ["organization_id", "status"], unique=False
        )

    op.create_table(
        "assessment_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("run_number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("targets_total", sa.Integer(), nullable=False),
        sa.Column("targets_done", sa.Integer(), nullable=False),
        sa.Column("risk_score", sa.Float(), nullable=True),
        sa.Column("overall_risk", sa.String(length=16), nullable=True),
        sa.Column("pqc_readiness", sa.Float(), nullable=True),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "target_results",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("triggered_by", sa.String(length=255), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('DRAFT','QUEUED','IN_PROGRESS','COMPLETED','FAILED','CANCELLED',"
            "'ARCHIVED')",
            name=op.f("ck_assessment_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_assessment_runs_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_assessment_runs_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_runs")),
        sa.UniqueConstraint("assessment_id", "run_number", name="uq_assessment_runs_number"),
    )
    with op.batch_alter_table("assessment_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assessment_runs_status_lease", ["status", "lease_expires_at"], unique=False
        )

    op.create_table(
        "crypto_assets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("location", sa.String(length=1024), nullable=False),
        sa.Column("algorithm", sa.String(length=255), nullable=True),
        sa.Column("family", sa.String(length=64), nullable=True),
        sa.Column("key_size", sa.Integer(), nullable=True),
        sa.Column("usage", sa.String(length=32), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("quantum_risk_score", sa.Float(), nullable=False),
        sa.Column(
            "explanation",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_crypto_assets_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["assessment_runs.id"],
            name=op.f("fk_crypto_assets_run_id_assessment_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crypto_assets")),
        sa.UniqueConstraint("run_id", "fingerprint", name="uq_crypto_assets_run_fingerprint"),
    )
    with op.batch_alter_table("crypto_assets", schema=None) as batch_op:
        batch_op.create_index("ix_crypto_assets_assessment", ["assessment_id"], unique=False)

    op.create_table(
        "findings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("affected_asset", sa.String(length=1024), nullable=False),
        sa.Column("current_algorithm", sa.String(length=255), nullable=True),
        sa.Column("recommended_algorithm", sa.String(length=255), nullable=True),
        sa.Column("remediation", sa.Text(), nullable=True),
        sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("risk_score", sa.Float(), nullable=False),
        sa.Column(
            "explanation",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column(
            "references",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("triage_status", sa.String(length=32), nullable=False),
        sa.Column("analyst_risk_level", sa.String(length=16), nullable=True),
        sa.Column("analyst_note", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "risk_level IN ('CRITICAL','HIGH','MEDIUM','LOW','INFO')",
            name=op.f("ck_findings_risk_level"),
        ),
        sa.CheckConstraint(
            "triage_status IN ('open','accepted_risk','false_positive','fixed')",
            name=op.f("ck_findings_triage_status"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_findings_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["crypto_assets.id"],
            name=op.f("fk_findings_asset_id_crypto_assets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["assessment_runs.id"],
            name=op.f("fk_findings_run_id_assessment_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
        sa.UniqueConstraint("run_id", "fingerprint", name="uq_findings_run_fingerprint"),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_findings_assessment_category", ["assessment_id", "category"], unique=False
        )
        batch_op.create_index(
            "ix_findings_assessment_level", ["assessment_id", "risk_level"], unique=False
        )

    _make_audit_log_append_only()


def _make_audit_log_append_only() -> None:
    """The audit trail must not be edited, even by the application's own database user."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION qrap_audit_log_immutable() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'qrap_audit_log is append-only: % refused', TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER qrap_audit_log_no_update_delete BEFORE UPDATE OR DELETE ON"
            " qrap_audit_log FOR EACH ROW EXECUTE FUNCTION qrap_audit_log_immutable()"
        )
        # Row triggers do not fire on TRUNCATE.
        op.execute(
            "CREATE TRIGGER qrap_audit_log_no_truncate BEFORE TRUNCATE ON qrap_audit_log"
            " FOR EACH STATEMENT EXECUTE FUNCTION qrap_audit_log_immutable()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER qrap_audit_log_no_{verb.lower()} BEFORE {verb} ON qrap_audit_log"
                f" BEGIN SELECT RAISE(ABORT, 'qrap_audit_log is append-only: {verb} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS qrap_audit_log_no_truncate ON qrap_audit_log")
        op.execute("DROP TRIGGER IF EXISTS qrap_audit_log_no_update_delete ON qrap_audit_log")
        op.execute("DROP FUNCTION IF EXISTS qrap_audit_log_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS qrap_audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS qrap_audit_log_no_delete")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index("ix_findings_assessment_level")
        batch_op.drop_index("ix_findings_assessment_category")

    op.drop_table("findings")
    with op.batch_alter_table("crypto_assets", schema=None) as batch_op:
        batch_op.drop_index("ix_crypto_assets_assessment")

    op.drop_table("crypto_assets")
    with op.batch_alter_table("assessment_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_assessment_runs_status_lease")

    op.drop_table("assessment_runs")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_assessments_org_status")

    op.drop_table("assessments")
    with op.batch_alter_table("qrap_audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_qrap_audit_log_org_time")

    op.drop_table("qrap_audit_log")
    op.drop_table("organizations")
