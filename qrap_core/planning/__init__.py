"""Migration planning: targets, effort, deadlines, phases and order for moving assets to PQC."""

from qrap_core.planning.planner import (
    PHASES,
    MigrationPlan,
    MigrationStep,
    Phase,
    PlanInput,
    SkippedAsset,
    plan_from_findings,
    plan_from_stored,
    plan_migration,
)

__all__ = [
    "PHASES",
    "MigrationPlan",
    "MigrationStep",
    "Phase",
    "PlanInput",
    "SkippedAsset",
    "plan_from_findings",
    "plan_from_stored",
    "plan_migration",
]
