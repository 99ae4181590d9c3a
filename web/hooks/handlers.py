"""/orgs/{orgId}/webhooks: outbound webhooks (ADMIN): subscriptions, delivery log, redelivery."""

from __future__ import annotations

from inbox.accounts.documents import Role
from inbox.hooks import service as hooks_service
from inbox.hooks.views import (
    OutboundWebhookCreatedView,
    OutboundWebhookView,
    WebhookDeliveryDetailView,
    WebhookDeliveryView,
    WebhookEventsView,
)
from web.endpoints import Call, Paged, Routes
from web.hooks.schemas import DeliveryQuery, WebhookCreateBody, WebhookUpdateBody
from web.schemas import Ok

routes = Routes("outbound_webhooks")

_TAGS = ["outbound webhooks"]
_DELIVERY = (
    "Each POST carries `X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with "
    "the secret>`, `X-Webhook-Timestamp` (Unix seconds of the attempt), `X-Webhook-Event` and "
    "`X-Webhook-Id` (the delivery id: the same on every retry, for deduplication). The body is "
    '`{"id", "event", "timestamp", "orgId", "data"}`. A non-2xx answer or no answer within '
    "10 s is retried with exponential backoff for up to 24 hours after the event."
)


@routes.get(
    "/orgs/{orgId}/webhooks",
    "List webhooks",
    role=Role.ADMIN,
    description="Newest first. Secrets are never shown.",
    tags=_TAGS,
    response=OutboundWebhookView,
    list_response=True,
)
async def list_webhooks(call: Call[None, None]) -> Paged:
    return Paged(*await hooks_service.list_webhooks(call.org_id, call.page.skip, call.page.limit))


@routes.post(
    "/orgs/{orgId}/webhooks",
    "Subscribe a URL to events",
    role=Role.ADMIN,
    description="The response shows the signing `secret` (generated unless given) this once; "
    "it is never returned again. " + _DELIVERY,
    tags=_TAGS,
    body=WebhookCreateBody,
    response=OutboundWebhookCreatedView,
    status=201,
    errors=[409],
)
async def create(call: Call[WebhookCreateBody, None]) -> OutboundWebhookCreatedView:
    body = call.body
    return await hooks_service.create(
        call.user,
        url=body.url,
        events=body.events,
        secret=body.secret,
        description=body.description,
        is_active=body.is_active,
    )


@routes.get(
    "/orgs/{orgId}/webhooks/events",
    "Events a webhook may subscribe to",
    role=Role.ADMIN,
    tags=_TAGS,
    response=WebhookEventsView,
)
async def events(call: Call[None, None]) -> WebhookEventsView:
    return hooks_service.subscribable()


@routes.get(
    "/orgs/{orgId}/webhooks/{webhookId}",
    "Get a webhook",
    role=Role.ADMIN,
    tags=_TAGS,
    response=OutboundWebhookView,
)
async def get(call: Call[None, None]) -> OutboundWebhookView:
    return await hooks_service.detail(call.org_id, call.path("webhookId"))


@routes.put(
    "/orgs/{orgId}/webhooks/{webhookId}",
    "Update a webhook",
    role=Role.ADMIN,
    description="Fields left out keep their value. A new `secret` is not shown back.",
    tags=_TAGS,
    body=WebhookUpdateBody,
    response=OutboundWebhookView,
)
async def update(call: Call[WebhookUpdateBody, None]) -> OutboundWebhookView:
    given = {name: getattr(call.body, name) for name in call.body.model_fields_set}
    return await hooks_service.update(call.user, call.path("webhookId"), **given)


@routes.delete(
    "/orgs/{orgId}/webhooks/{webhookId}",
    "Delete a webhook",
    role=Role.ADMIN,
    description="Its delivery log goes with it; no further attempt is made.",
    tags=_TAGS,
    response=Ok,
)
async def delete(call: Call[None, None]) -> Ok:
    await hooks_service.delete(call.user, call.path("webhookId"))
    return Ok(message="Webhook deleted")


@routes.post(
    "/orgs/{orgId}/webhooks/{webhookId}/test",
    "Send a webhook.test event",
    role=Role.ADMIN,
    description="To this webhook only, whatever it subscribes to (even while inactive). The "
    "worker sends it within about a second; follow it in the delivery log. " + _DELIVERY,
    tags=_TAGS,
    response=WebhookDeliveryView,
    status=202,
)
async def test(call: Call[None, None]) -> WebhookDeliveryView:
    return await hooks_service.send_test(call.settings, call.user, call.path("webhookId"))


@routes.get(
    "/orgs/{orgId}/webhooks/{webhookId}/deliveries",
    "The webhook's delivery log",
    role=Role.ADMIN,
    description="Newest first; `status` filters (pending, retrying, succeeded, failed).",
    tags=_TAGS,
    query=DeliveryQuery,
    response=WebhookDeliveryView,
    list_response=True,
)
async def list_deliveries(call: Call[None, DeliveryQuery]) -> Paged:
    return Paged(
        *await hooks_service.list_deliveries(
            call.org_id,
            call.path("webhookId"),
            call.page.skip,
            call.page.limit,
            status=call.query.status,
        )
    )


@routes.get(
    "/orgs/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}",
    "One delivery, with its body and every attempt",
    role=Role.ADMIN,
    tags=_TAGS,
    response=WebhookDeliveryDetailView,
)
async def get_delivery(call: Call[None, None]) -> WebhookDeliveryDetailView:
    return await hooks_service.delivery_detail(
        call.org_id, call.path("webhookId"), call.path("deliveryId")
    )


@routes.post(
    "/orgs/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver",
    "Redeliver",
    role=Role.ADMIN,
    description="Sends the same body again as a new delivery (its own id, attempts and "
    "retries), logged with `redeliveryOf`; the worker sends it within about a second.",
    tags=_TAGS,
    response=WebhookDeliveryView,
    status=202,
)
async def redeliver(call: Call[None, None]) -> WebhookDeliveryView:
    return await hooks_service.redeliver(
        call.settings, call.user, call.path("webhookId"), call.path("deliveryId")
    )
