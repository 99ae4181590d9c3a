"""Outbound webhooks as the API shows them. The secret appears in the create response only."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import Field

from inbox.hooks.documents import HookDeliveryStatus, OutboundDelivery, OutboundWebhook
from inbox.view_base import View

__all__ = [
    "OutboundWebhookView",
    "OutboundWebhookCreatedView",
    "WebhookEventsView",
    "DeliveryAttemptView",
    "WebhookDeliveryView",
    "WebhookDeliveryDetailView",
    "outbound_webhook_view",
    "webhook_delivery_view",
    "webhook_delivery_detail_view",
]


class OutboundWebhookView(View):
    id: str
    url: str
    events: list[str]
    description: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class OutboundWebhookCreatedView(OutboundWebhookView):
    secret: str = Field(
        description="Key of the `X-Signature-256` HMAC. Shown here once: store it now."
    )


class WebhookEventsView(View):
    events: list[str] = Field(description="Event names a webhook may subscribe to")


class DeliveryAttemptView(View):
    at: datetime
    status_code: int | None
    error: str | None
    response_time_ms: int | None


class WebhookDeliveryView(View):
    id: str
    webhook_id: str
    event_id: str
    event: str
    status: HookDeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    response_time_ms: int | None
    delivered_at: datetime | None
    redelivery_of: str | None
    created_at: datetime
    updated_at: datetime


class WebhookDeliveryDetailView(WebhookDeliveryView):
    payload: dict[str, Any] = Field(description="The JSON body sent (signed as sent)")
    attempt_log: list[DeliveryAttemptView]


def outbound_webhook_view(hook: OutboundWebhook) -> OutboundWebhookView:
    return OutboundWebhookView(
        id=hook.id,
        url=hook.url,
        events=hook.events,
        description=hook.description,
        is_active=hook.is_active,
        created_at=hook.created_at,
        updated_at=hook.updated_at,
    )


def _delivery_fields(delivery: OutboundDelivery) -> dict[str, Any]:
    finished = delivery.status in (HookDeliveryStatus.SUCCEEDED, HookDeliveryStatus.FAILED)
    return {
        "id": delivery.id,
        "webhook_id": delivery.webhook_id,
        "event_id": delivery.event_id,
        "event": delivery.event,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "next_attempt_at": None if finished else delivery.next_attempt_at,
        "response_time_ms": delivery.response_time_ms,
        "delivered_at": delivery.delivered_at,
        "redelivery_of": delivery.redelivery_of,
        "created_at": delivery.created_at,
        "updated_at": delivery.updated_at,
    }


def webhook_delivery_view(delivery: OutboundDelivery) -> WebhookDeliveryView:
    return WebhookDeliveryView(**_delivery_fields(delivery))


def webhook_delivery_detail_view(delivery: OutboundDelivery) -> WebhookDeliveryDetailView:
    return WebhookDeliveryDetailView(
        **_delivery_fields(delivery),
        payload=json.loads(delivery.payload),
        attempt_log=[
            DeliveryAttemptView(
                at=a.at,
                status_code=a.status_code,
                error=a.error,
                response_time_ms=a.response_time_ms,
            )
            for a in delivery.attempt_log
        ],
    )
