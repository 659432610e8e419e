"""/api/v1/webhooks: organization endpoints, their deliveries, manual redelivery."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel

from qrap_api.deps import Admin, Analyst, Page, ReadUow, Uow, Viewer, get_state
from qrap_core.webhook import service as webhook_service
from qrap_core.webhook.models import WebhookAttempt, WebhookDelivery
from qrap_core.webhook.schemas import (
    WebhookAttemptRead,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointRead,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
EndpointId = Annotated[uuid.UUID, Path(description="webhook endpoint id")]
DeliveryId = Annotated[uuid.UUID, Path(description="delivery id")]


class WebhookList(BaseModel):
    webhooks: list[WebhookEndpointRead]
    total_count: int
    offset: int
    limit: int


class DeliveryList(BaseModel):
    deliveries: list[WebhookDeliveryRead]
    total_count: int
    offset: int
    limit: int


class SecretRotated(BaseModel):
    id: uuid.UUID
    secret: str
    previous_secret_valid_for_seconds: int


def _delivery(row: WebhookDelivery, attempts: list[WebhookAttempt]) -> WebhookDeliveryRead:
    read = WebhookDeliveryRead.model_validate(row)
    read.payload = json.loads(row.body)
    read.attempt_log = [WebhookAttemptRead.model_validate(a) for a in attempts]
    return read


@router.post("", status_code=201, response_model=WebhookEndpointCreated)
def create_webhook(
    spec: WebhookEndpointCreate, uow: Uow, actor: Admin, request: Request, response: Response
) -> WebhookEndpointCreated:
    """Register an endpoint. The `secret` (whsec_...) is in this response only: keep it."""
    endpoint, secret = webhook_service.create_endpoint(
        uow, actor, spec, get_state(request).settings
    )
    response.headers["Location"] = f"/api/v1/webhooks/{endpoint.id}"
    created = WebhookEndpointCreated.model_validate(
        {**WebhookEndpointRead.model_validate(endpoint).model_dump(), "secret": secret}
    )
    return created


@router.get("", response_model=WebhookList)
def list_webhooks(
    uow: ReadUow, actor: Viewer, page: Page, organization_id: uuid.UUID | None = None
) -> WebhookList:
    result = webhook_service.list_endpoints(
        uow, actor, organization_id=organization_id, offset=page.offset, limit=page.limit
    )
    return WebhookList(
        webhooks=[WebhookEndpointRead.model_validate(e) for e in result.items],
        total_count=result.total_count,
        offset=result.offset,
        limit=result.limit,
    )


@router.get("/{endpoint_id}", response_model=WebhookEndpointRead)
def get_webhook(endpoint_id: EndpointId, uow: Uow, actor: Viewer) -> WebhookEndpointRead:
    return WebhookEndpointRead.model_validate(webhook_service.get_endpoint(uow, actor, endpoint_id))


@router.delete("/{endpoint_id}", status_code=204)
def delete_webhook(endpoint_id: EndpointId, uow: Uow, actor: Admin) -> Response:
    webhook_service.delete_endpoint(
        uow, actor, webhook_service.get_endpoint(uow, actor, endpoint_id)
    )
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", response_model=SecretRotated)
def rotate_secret(endpoint_id: EndpointId, uow: Uow, actor: Admin) -> SecretRotated:
    """A new secret, shown once; the old one also signs (a second signature) for 24 h."""
    endpoint = webhook_service.get_endpoint(uow, actor, endpoint_id)
    secret = webhook_service.rotate_secret(uow, actor, endpoint)
    return SecretRotated(
        id=endpoint.id,
        secret=secret,
        previous_secret_valid_for_seconds=int(webhook_service.ROTATION_GRACE.total_seconds()),
    )


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryList)
def list_deliveries(
    endpoint_id: EndpointId, uow: ReadUow, actor: Viewer, page: Page
) -> DeliveryList:
    """Every message to this endpoint, newest first, each with every attempt made."""
    result = webhook_service.list_deliveries(
        uow, actor, endpoint_id, offset=page.offset, limit=page.limit
    )
    attempts = webhook_service.attempts_of(uow, [d.id for d in result.items])
    return DeliveryList(
        deliveries=[_delivery(d, attempts[d.id]) for d in result.items],
        total_count=result.total_count,
        offset=result.offset,
        limit=result.limit,
    )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=WebhookDeliveryRead,
)
def redeliver(
    endpoint_id: EndpointId, delivery_id: DeliveryId, uow: Uow, actor: Analyst
) -> WebhookDeliveryRead:
    """Send a finished message once more (same webhook-id); re-enables a disabled endpoint."""
    message = webhook_service.redeliver(uow, actor, endpoint_id, delivery_id)
    attempts = webhook_service.attempts_of(uow, [message.id])
    return _delivery(message, attempts[message.id])
