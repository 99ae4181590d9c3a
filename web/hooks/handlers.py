"""/orgs/{orgId}/webhooks: outbound webhooks (ADMIN): subscriptions, delivery log, redelivery."""

from __future__ import annotations

from aiohttp import web

from inbox.accounts.documents import Role
from inbox.hooks import service as hooks_service
from inbox.hooks.views import (
    OutboundWebhookCreatedView,
    OutboundWebhookView,
    WebhookDeliveryDetailView,
    WebhookDeliveryView,
    WebhookEventsView,
    outbound_webhook_view,
    webhook_delivery_detail_view,
    webhook_delivery_view,
)
from web import keys
from web.auth import authenticated, current_user
from web.hooks.schemas import DeliveryQuery, WebhookCreateBody, WebhookUpdateBody
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import json_body, query
from web.schemas import Ok

OPERATION_PREFIX = "outbound_webhooks"  # operation ids in /openapi.json

_TAGS = ["outbound webhooks"]
_DELIVERY = (
    "Each POST carries `X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with "
    "the secret>`, `X-Webhook-Timestamp` (Unix seconds of the attempt), `X-Webhook-Event` and "
    "`X-Webhook-Id` (the delivery id: the same on every retry, for deduplication). The body is "
    '`{"id", "event", "timestamp", "orgId", "data"}`. A non-2xx answer or no answer within '
    "10 s is retried with exponential backoff for up to 24 hours after the event."
)


@spec(
    "Events a webhook may subscribe to",
    tags=_TAGS,
    response=WebhookEventsView,
)
@authenticated(Role.ADMIN)
async def events(request: web.Request) -> web.Response:
    return web.json_response(WebhookEventsView(events=hooks_service.subscribable_events()).dump())


@spec(
    "List webhooks",
    description="Newest first. Secrets are never shown.",
    tags=_TAGS,
    response=OutboundWebhookView,
    list_response=True,
)
@authenticated(Role.ADMIN)
async def list_webhooks(request: web.Request) -> web.Response:
    page = page_of(request)
    found, total = await hooks_service.list_webhooks(
        current_user(request).org_id, page.skip, page.limit
    )
    return paged_response(request, [outbound_webhook_view(h).dump() for h in found], total, page)


@spec(
    "Subscribe a URL to events",
    description="The response shows the signing `secret` (generated unless given) this once; "
    "it is never returned again. " + _DELIVERY,
    tags=_TAGS,
    body=WebhookCreateBody,
    response=OutboundWebhookCreatedView,
    status=201,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def create(request: web.Request) -> web.Response:
    body = await json_body(request, WebhookCreateBody)
    hook = await hooks_service.create(
        current_user(request),
        url=body.url,
        events=body.events,
        secret=body.secret,
        description=body.description,
        is_active=body.is_active,
    )
    view = OutboundWebhookCreatedView(
        **outbound_webhook_view(hook).model_dump(), secret=hook.secret
    )
    return web.json_response(view.dump(), status=201)


@spec("Get a webhook", tags=_TAGS, response=OutboundWebhookView)
@authenticated(Role.ADMIN)
async def get(request: web.Request) -> web.Response:
    hook = await hooks_service.get(current_user(request).org_id, request.match_info["webhookId"])
    return web.json_response(outbound_webhook_view(hook).dump())


@spec(
    "Update a webhook",
    description="Fields left out keep their value. A new `secret` is not shown back.",
    tags=_TAGS,
    body=WebhookUpdateBody,
    response=OutboundWebhookView,
)
@authenticated(Role.ADMIN)
async def update(request: web.Request) -> web.Response:
    body = await json_body(request, WebhookUpdateBody)
    given = {name: getattr(body, name) for name in body.model_fields_set}
    hook = await hooks_service.update(
        current_user(request), request.match_info["webhookId"], **given
    )
    return web.json_response(outbound_webhook_view(hook).dump())


@spec(
    "Delete a webhook",
    description="Its delivery log goes with it; no further attempt is made.",
    tags=_TAGS,
    response=Ok,
)
@authenticated(Role.ADMIN)
async def delete(request: web.Request) -> web.Response:
    await hooks_service.delete(current_user(request), request.match_info["webhookId"])
    return web.json_response(Ok(message="Webhook deleted").model_dump())


@spec(
    "Send a webhook.test event",
    description="To this webhook only, whatever it subscribes to (even while inactive). The "
    "worker sends it within about a second; follow it in the delivery log. " + _DELIVERY,
    tags=_TAGS,
    response=WebhookDeliveryView,
    status=202,
)
@authenticated(Role.ADMIN)
async def test(request: web.Request) -> web.Response:
    delivery = await hooks_service.send_test(
        request.app[keys.SETTINGS], current_user(request), request.match_info["webhookId"]
    )
    return web.json_response(webhook_delivery_view(delivery).dump(), status=202)


@spec(
    "The webhook's delivery log",
    description="Newest first; `status` filters (pending, retrying, succeeded, failed).",
    tags=_TAGS,
    query=DeliveryQuery,
    response=WebhookDeliveryView,
    list_response=True,
)
@authenticated(Role.ADMIN)
async def list_deliveries(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, DeliveryQuery)
    found, total = await hooks_service.list_deliveries(
        current_user(request).org_id,
        request.match_info["webhookId"],
        page.skip,
        page.limit,
        status=q.status,
    )
    return paged_response(request, [webhook_delivery_view(d).dump() for d in found], total, page)


@spec(
    "One delivery, with its body and every attempt",
    tags=_TAGS,
    response=WebhookDeliveryDetailView,
)
@authenticated(Role.ADMIN)
async def get_delivery(request: web.Request) -> web.Response:
    delivery = await hooks_service.get_delivery(
        current_user(request).org_id,
        request.match_info["webhookId"],
        request.match_info["deliveryId"],
    )
    return web.json_response(webhook_delivery_detail_view(delivery).dump())


@spec(
    "Redeliver",
    description="Sends the same body again as a new delivery (its own id, attempts and "
    "retries), logged with `redeliveryOf`; the worker sends it within about a second.",
    tags=_TAGS,
    response=WebhookDeliveryView,
    status=202,
)
@authenticated(Role.ADMIN)
async def redeliver(request: web.Request) -> web.Response:
    delivery = await hooks_service.redeliver(
        request.app[keys.SETTINGS],
        current_user(request),
        request.match_info["webhookId"],
        request.match_info["deliveryId"],
    )
    return web.json_response(webhook_delivery_view(delivery).dump(), status=202)
