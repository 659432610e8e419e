"""Imports every ORM model so Base.metadata is complete (Alembic and create_all use this)."""

from qrap_core.assessment.models import Assessment, AssessmentRun
from qrap_core.audit.models import AuditLogEntry
from qrap_core.db import Base
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.organization.models import Organization

__all__ = [
    "Assessment",
    "AssessmentRun",
    "AuditLogEntry",
    "Base",
    "CryptoAssetRecord",
    "Finding",
    "Organization",
]
