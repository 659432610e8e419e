"""Closed vocabularies shared by the database, the API and the pipeline."""

from enum import StrEnum


class AssessmentStatus(StrEnum):
    DRAFT = "DRAFT"
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    ARCHIVED = "ARCHIVED"


ACTIVE_STATUSES = frozenset({AssessmentStatus.QUEUED, AssessmentStatus.IN_PROGRESS})
TERMINAL_STATUSES = frozenset(
    {AssessmentStatus.COMPLETED, AssessmentStatus.FAILED, AssessmentStatus.CANCELLED}
)


class RiskLevel(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFO = "INFO"


# Highest first: used to sort findings and plan steps.
RISK_ORDER: dict[RiskLevel, int] = {
    RiskLevel.CRITICAL: 0,
    RiskLevel.HIGH: 1,
    RiskLevel.MEDIUM: 2,
    RiskLevel.LOW: 3,
    RiskLevel.INFO: 4,
}


class FindingCategory(StrEnum):
    WEAK_ALGORITHM = "WEAK_ALGORITHM"
    SHORT_KEY_LENGTH = "SHORT_KEY_LENGTH"
    DEPRECATED_PROTOCOL = "DEPRECATED_PROTOCOL"
    MISSING_PQC = "MISSING_PQC"
    CERTIFICATE_EXPIRY = "CERTIFICATE_EXPIRY"
    HARVEST_NOW_DECRYPT_LATER = "HARVEST_NOW_DECRYPT_LATER"


class TriageStatus(StrEnum):
    OPEN = "open"
    ACCEPTED_RISK = "accepted_risk"
    FALSE_POSITIVE = "false_positive"
    FIXED = "fixed"


class ExecutionOutcome(StrEnum):
    """How one worker's claim of a run ended (``run_executions.outcome``)."""

    COMPLETED = "completed"
    FAILED = "failed"
    LOST = "lost"  # the worker found the run cancelled or taken over
    ABANDONED = "abandoned"  # the worker died; the next claim closed its execution


class DeliveryStatus(StrEnum):
    """Where one webhook message stands (``webhook_deliveries.status``)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AttemptOutcome(StrEnum):
    """One HTTP try of a webhook message (``webhook_attempts.outcome``)."""

    IN_FLIGHT = "in_flight"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class TargetType(StrEnum):
    TLS = "tls"
    SSH = "ssh"
    CERTIFICATE = "certificate"
    INVENTORY = "inventory"
    CBOM = "cbom"


class Usage(StrEnum):
    """What a piece of cryptography is used for; HNDL applies to key establishment only."""

    KEY_ESTABLISHMENT = "key-establishment"
    SIGNATURE = "signature"
    ENCRYPTION = "encryption"
    HASH = "hash"
    PROTOCOL = "protocol"
    UNKNOWN = "unknown"
