"""Webhook API shapes and the versioned event payloads (documented in README "Webhooks")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from qrap_core.netpolicy import is_host
from qrap_core.validation import Text, has_control

EventType = Literal["assessment.started", "assessment.completed", "assessment.failed"]
EVENT_TYPES: tuple[str, ...] = ("assessment.started", "assessment.completed", "assessment.failed")
PAYLOAD_VERSION = "1"


def check_webhook_url(value: str) -> str:
    """Shape checks only (scheme, host, port, no credentials); the network policy comes after.

    The host must be an IP address in its standard form or an ASCII host name, as for scan
    targets: ``0177.0.0.1``, ``127.1``, ``2130706433`` or Unicode digits would be read as
    other addresses by some resolvers, so they are refused rather than interpreted. Every
    ValueError becomes a 400 naming the field.
    """
    value = value.strip()
    if len(value) > 2048:
        raise ValueError("a webhook URL is at most 2048 characters")
    if has_control(value) or any(c.isspace() for c in value):
        raise ValueError("a webhook URL must not contain whitespace or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("a webhook URL must use http or https")
    if not parts.hostname:
        raise ValueError("a webhook URL needs a host")
    if not is_host(parts.hostname):
        raise ValueError(
            "the host of a webhook URL must be a host name (international names in their"
            " xn-- form) or an IP address in standard notation"
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError("a webhook URL must not carry credentials")
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("port out of range (1-65535)")
    if parts.fragment:
        raise ValueError("a webhook URL must not have a fragment")
    try:
        httpx.URL(value)  # what delivery will parse: refuse now what it would refuse then
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a valid URL ({exc})") from None
    return value


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: uuid.UUID
    url: Text = Field(max_length=2048, description="http(s) URL that receives signed POSTs")
    events: list[EventType] = Field(
        default_factory=list, description="event types to send; empty means every type"
    )
    description: Text | None = Field(default=None, max_length=255)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_webhook_url(value)

    @field_validator("events")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class WebhookEndpointRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    assessment_id: uuid.UUID | None
    url: str
    description: str | None
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class WebhookEndpointCreated(WebhookEndpointRead):
    secret: str = Field(description="the whsec_ signing secret; shown only in this response")


class WebhookAttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt: int
    trigger: str
    webhook_timestamp: int
    started_at: datetime
    duration_ms: int | None
    status_code: int | None
    outcome: str
    error: str | None
    response_excerpt: str | None


class WebhookDeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    endpoint_id: uuid.UUID
    message_id: str
    event_type: str
    status: str
    attempts: int
    max_attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
    payload: dict[str, Any] = Field(default_factory=dict)
    attempt_log: list[WebhookAttemptRead] = Field(default_factory=list)


class RunDiffCounts(BaseModel):
    """Findings of this run against the previous completed run, matched by fingerprint."""

    previous_run_number: int | None
    new: int
    fixed: int
    unchanged: int


class AssessmentEventData(BaseModel):
    """``data`` of every assessment.* event, payload version 1."""

    assessment_id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    run_id: uuid.UUID
    run_number: int
    status: str
    attempt: int
    triggered_by: str
    queued_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    risk_score: float | None = None
    overall_risk: str | None = None
    pqc_readiness: float | None = None
    summary: dict[str, Any] | None = None
    diff: RunDiffCounts | None = None
    error: str | None = None


class WebhookEvent(BaseModel):
    """The body of every webhook: ``{"type", "version", "timestamp", "data"}``."""

    type: EventType
    version: str = PAYLOAD_VERSION
    timestamp: datetime
    data: AssessmentEventData
