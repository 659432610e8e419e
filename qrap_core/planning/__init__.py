"""Migration planning: targets, effort and order for moving assets to PQC."""

from qrap_core.planning.planner import (
    MigrationPlan,
    MigrationStep,
    PlanInput,
    SkippedAsset,
    plan_from_findings,
    plan_migration,
)

__all__ = [
    "MigrationPlan",
    "MigrationStep",
    "PlanInput",
    "SkippedAsset",
    "plan_from_findings",
    "plan_migration",
]
