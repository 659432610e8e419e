"""Imports every ORM model so Base.metadata is complete (Alembic and create_all use this)."""

from qrap_core.apikey.models import ApiKey
from qrap_core.artifact.models import AssessmentArtifact
from qrap_core.assessment.models import (
    Assessment,
    AssessmentRun,
    RunChunk,
    RunExecution,
    RunInput,
)
from qrap_core.audit.models import AuditLogEntry
from qrap_core.db import Base
from qrap_core.finding.models import CryptoAssetRecord, Finding
from qrap_core.idempotency.models import IdempotencyRecord
from qrap_core.organization.models import Organization
from qrap_core.webhook.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey",
    "Assessment",
    "AssessmentArtifact",
    "AssessmentRun",
    "AuditLogEntry",
    "Base",
    "CryptoAssetRecord",
    "Finding",
    "IdempotencyRecord",
    "Organization",
    "RunChunk",
    "RunExecution",
    "RunInput",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
