"""Outbound webhooks: an org's URLs subscribed to its domain events, and their deliveries.

Subscriptions are managed over the API (ADMIN). The stream worker (`streams/hooks.py`)
reads the events topic, records one `OutboundDelivery` per (subscription, event) and POSTs
it; this module holds what both sides share: validation, the delivery body and signature,
the retry schedule, and the atomic claim/record steps that let several workers send
without doubling a delivery.

A delivery body is `{"id", "event", "timestamp", "orgId", "data"}` (compact JSON, stored
once so every attempt sends the same bytes), signed with the subscription's secret as
`X-Signature-256: sha256=<hex HMAC-SHA256 of the body>`. A non-2xx answer, a timeout or a
connection error is retried after `WEBHOOK_RETRY_BASE_SECONDS` x 3^(attempt-1) (capped at an
hour, never under the base) until `WEBHOOK_RETRY_WINDOW_SECONDS` after the event, then the
delivery is `failed`. Delivery is at least once: receivers dedupe on `X-Webhook-Id`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError

from inbox import events
from inbox.accounts.documents import User
from inbox.audit import service as audit
from inbox.config import Settings
from inbox.document_base import new_id, utcnow
from inbox.errors import Conflict, NotFound, ValidationFailed
from inbox.events import parse_event_id
from inbox.hooks.documents import (
    DeliveryAttempt,
    HookDeliveryStatus,
    OutboundDelivery,
    OutboundWebhook,
)
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
from inbox.queries import duplicate_positions, find_one_and_update, get_in_org

ALL_EVENTS = "*"
# Internal to the agents' app, or a per-user notice: never sent to outside URLs.
_NOT_SUBSCRIBABLE = {events.NOTIFICATION_CREATED, events.RESYNC_REQUIRED, events.WEBHOOK_TEST}
MAX_WEBHOOKS_PER_ORG = 50
MAX_BACKOFF_SECONDS = 3600.0
ATTEMPT_LOG_KEPT = 50  # the latest attempts of a delivery; `attempts` counts them all
_DUE = [HookDeliveryStatus.PENDING.value, HookDeliveryStatus.RETRYING.value]
_UNSET: Any = object()


def subscribable_events() -> list[str]:
    """Every event name in `inbox.events` ("<entity>.<verb>") that a webhook may receive.

    Read from the module, so an event another area adds is subscribable without a change here.
    """
    names = {
        value
        for key, value in vars(events).items()
        if key.isupper() and isinstance(value, str) and "." in value
    }
    return sorted(names - _NOT_SUBSCRIBABLE)


def subscribable() -> WebhookEventsView:
    """`subscribable_events()` as the API lists them."""
    return WebhookEventsView(events=subscribable_events())


# -- validation and the wire format ----------------------------------------------------------


def check_url(url: str) -> str:
    """The URL as given, if it is an absolute http(s) URL with a host; 400 naming `url` if not."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        raise ValidationFailed(
            "The webhook URL must be an absolute http:// or https:// URL",
            details={"url": "must be an absolute http(s) URL with a host"},
        )
    if any(c.isspace() for c in url):
        raise ValidationFailed(
            "The webhook URL must not contain whitespace",
            details={"url": "must not contain whitespace"},
        )
    return url


def check_events(names: Iterable[str]) -> list[str]:
    """The subscription's event list, de-duplicated in order (`["*"]` when it holds `*`);
    400 naming every unknown event otherwise."""
    wanted = list(dict.fromkeys(n.strip() for n in names))
    if not wanted:
        raise ValidationFailed(
            "Subscribe to at least one event", details={"events": "name at least one event"}
        )
    known = set(subscribable_events())
    unknown = [n for n in wanted if n != ALL_EVENTS and n not in known]
    if unknown:
        listed = ", ".join(repr(n) for n in unknown)
        raise ValidationFailed(
            f"Unknown event names: {listed}",
            code="UNKNOWN_EVENTS",
            details={"events": f"unknown event names: {listed}"},
        )
    return [ALL_EVENTS] if ALL_EVENTS in wanted else wanted


def generate_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes) -> str:
    """The `X-Signature-256` value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event_time(event_id: str) -> datetime:
    """When the event was logged: its id is the Redis stream id "<milliseconds>-<sequence>"."""
    try:
        ms, _ = parse_event_id(event_id)
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return utcnow()


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def payload(event_id: str, event: str, org_id: str, at: datetime, data: Any) -> str:
    body = {"id": event_id, "event": event, "timestamp": _iso(at), "orgId": org_id, "data": data}
    return json.dumps(body, separators=(",", ":"), default=str)


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """Wait after the `attempts`-th failed attempt: base x 3^(n-1), capped at an hour."""
    base = settings.webhook_retry_base_seconds
    return min(base * 3 ** max(0, attempts - 1), max(MAX_BACKOFF_SECONDS, base))


def _ms(at: datetime) -> datetime:
    """Milliseconds, as MongoDB stores them: a lease compared later must equal what was stored."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def lease_seconds(settings: Settings) -> float:
    """How long a claimed delivery is left to its sender: the POST's timeout plus slack to
    record the outcome. A sender that dies leaves it due again after this."""
    return settings.webhook_timeout_seconds + 20.0


def wants(hook: OutboundWebhook, event: str) -> bool:
    if not hook.is_active or event in _NOT_SUBSCRIBABLE:
        return False
    return ALL_EVENTS in hook.events or event in hook.events


# -- subscriptions (web) ---------------------------------------------------------------------


async def list_webhooks(
    org_id: str, skip: int, limit: int
) -> tuple[list[OutboundWebhookView], int]:
    found = OutboundWebhook.find(OutboundWebhook.org_id == org_id)
    total = await found.count()
    hooks = (
        await found.sort(-OutboundWebhook.created_at, +OutboundWebhook.id)
        .skip(skip)
        .limit(limit)
        .to_list()
    )
    return [outbound_webhook_view(h) for h in hooks], total


async def get(org_id: str, webhook_id: str) -> OutboundWebhook:
    return await get_in_org(OutboundWebhook, org_id, webhook_id, "Webhook")


async def detail(org_id: str, webhook_id: str) -> OutboundWebhookView:
    """The subscription as the API shows it (never its secret)."""
    return outbound_webhook_view(await get(org_id, webhook_id))


def _summary(hook: OutboundWebhook) -> dict[str, Any]:
    # The host only: a URL's path or query often carries a token, and audit logs are read
    # by every ADMIN. Never the secret.
    return {"host": urlsplit(hook.url).hostname, "events": hook.events}


async def create(
    user: User,
    *,
    url: str,
    events: list[str],
    secret: str | None = None,
    description: str | None = None,
    is_active: bool = True,
) -> OutboundWebhookCreatedView:
    """The new subscription; its `secret` (generated unless given) is for this response only."""
    hook = OutboundWebhook(
        org_id=user.org_id,
        url=check_url(url),
        events=check_events(events),
        secret=secret or generate_secret(),
        description=description,
        is_active=is_active,
        created_by=user.id,
    )
    if await OutboundWebhook.find(OutboundWebhook.org_id == user.org_id).count() >= (
        MAX_WEBHOOKS_PER_ORG
    ):
        raise Conflict(
            f"An organisation may have at most {MAX_WEBHOOKS_PER_ORG} webhooks",
            code="WEBHOOK_LIMIT_REACHED",
            details={"webhooks": f"at most {MAX_WEBHOOKS_PER_ORG}"},
        )
    await hook.insert()
    await audit.record(user, "webhook.create", "webhook", hook.id, _summary(hook))
    return OutboundWebhookCreatedView(
        **outbound_webhook_view(hook).model_dump(), secret=hook.secret
    )


async def update(
    user: User,
    webhook_id: str,
    *,
    url: str = _UNSET,
    events: list[str] = _UNSET,
    secret: str | None = _UNSET,
    description: str | None = _UNSET,
    is_active: bool = _UNSET,
) -> OutboundWebhookView:
    """Changes what is given. A new `secret` signs every attempt from now on, retries of
    older events included."""
    hook = await get(user.org_id, webhook_id)
    changed: list[str] = []
    if url is not _UNSET and url is not None and url != hook.url:
        hook.url = check_url(url)
        changed.append("url")
    if events is not _UNSET and events is not None:
        new_events = check_events(events)
        if new_events != hook.events:
            hook.events = new_events
            changed.append("events")
    if secret is not _UNSET and secret and secret != hook.secret:
        hook.secret = secret
        changed.append("secret")
    if description is not _UNSET and description != hook.description:
        hook.description = description
        changed.append("description")
    if is_active is not _UNSET and is_active is not None and is_active != hook.is_active:
        hook.is_active = is_active
        changed.append("isActive")
    if not changed:
        return outbound_webhook_view(hook)
    hook.updated_at = utcnow()
    await hook.save()
    await audit.record(
        user, "webhook.update", "webhook", hook.id, {**_summary(hook), "changed": changed}
    )
    return outbound_webhook_view(hook)


async def delete(user: User, webhook_id: str) -> None:
    hook = await get(user.org_id, webhook_id)
    await hook.delete()
    # Its log goes with it; a send in flight finds nothing left to record into.
    await OutboundDelivery.get_pymongo_collection().delete_many(
        {"orgId": user.org_id, "webhookId": hook.id}
    )
    await audit.record(user, "webhook.delete", "webhook", hook.id, _summary(hook))


# -- the delivery log (web) ------------------------------------------------------------------


async def list_deliveries(
    org_id: str,
    webhook_id: str,
    skip: int,
    limit: int,
    status: HookDeliveryStatus | None = None,
) -> tuple[list[WebhookDeliveryView], int]:
    await get(org_id, webhook_id)
    query: dict[str, Any] = {"orgId": org_id, "webhookId": webhook_id}
    if status is not None:
        query["status"] = status.value
    found = OutboundDelivery.find(query)
    total = await found.count()
    page = (
        await found.sort(-OutboundDelivery.created_at, -OutboundDelivery.id)
        .skip(skip)
        .limit(limit)
        .to_list()
    )
    return [webhook_delivery_view(d) for d in page], total


async def get_delivery(org_id: str, webhook_id: str, delivery_id: str) -> OutboundDelivery:
    delivery = await OutboundDelivery.find_one(OutboundDelivery.id == delivery_id)
    if delivery is None or (delivery.org_id, delivery.webhook_id) != (org_id, webhook_id):
        raise NotFound("Delivery not found")
    return delivery


async def delivery_detail(
    org_id: str, webhook_id: str, delivery_id: str
) -> WebhookDeliveryDetailView:
    """One delivery with its body and every attempt logged."""
    return webhook_delivery_detail_view(await get_delivery(org_id, webhook_id, delivery_id))


def _manual(
    settings: Settings, hook: OutboundWebhook, kind: str, event_id: str, event: str, body: str
) -> OutboundDelivery:
    """A delivery asked for over the API: due now, retried for a full window from now."""
    now = utcnow()
    delivery_id = new_id()
    return OutboundDelivery(
        id=delivery_id,
        org_id=hook.org_id,
        webhook_id=hook.id,
        event_id=event_id,
        event=event,
        dedupe_key=f"{kind}:{delivery_id}",
        payload=body,
        next_attempt_at=now,
        expires_at=now + timedelta(seconds=settings.webhook_retry_window_seconds),
        created_at=now,
        updated_at=now,
    )


async def redeliver(
    settings: Settings, user: User, webhook_id: str, delivery_id: str
) -> WebhookDeliveryView:
    """A new delivery of the same body (same event id and timestamp), with its own id and
    attempts, sent by the worker within a second; the original stays in the log as it was."""
    hook = await get(user.org_id, webhook_id)
    original = await get_delivery(user.org_id, webhook_id, delivery_id)
    again = _manual(
        settings, hook, "redelivery", original.event_id, original.event, original.payload
    )
    again.redelivery_of = original.id
    await again.insert()
    await audit.record(
        user,
        "webhook.redeliver",
        "webhook",
        hook.id,
        {"deliveryId": original.id, "event": original.event, "newDeliveryId": again.id},
    )
    return webhook_delivery_view(again)


async def send_test(settings: Settings, user: User, webhook_id: str) -> WebhookDeliveryView:
    """A `webhook.test` event to this subscription alone, whatever events it subscribes to."""
    hook = await get(user.org_id, webhook_id)
    event_id = new_id()
    data = {
        "webhookId": hook.id,
        "message": "A test event: this webhook is set up correctly if the signature matches.",
        "requestedBy": {"id": user.id, "name": user.name},
    }
    body = payload(event_id, events.WEBHOOK_TEST, hook.org_id, utcnow(), data)
    delivery = _manual(settings, hook, "test", event_id, events.WEBHOOK_TEST, body)
    await delivery.insert()
    await audit.record(
        user, "webhook.test", "webhook", hook.id, {"deliveryId": delivery.id, **_summary(hook)}
    )
    return webhook_delivery_view(delivery)


# -- delivering (worker) ---------------------------------------------------------------------


async def active_for_org(org_id: str) -> list[OutboundWebhook]:
    # By org alone (an index prefix); an org has a handful of webhooks.
    found = await OutboundWebhook.find(OutboundWebhook.org_id == org_id).to_list()
    return [h for h in found if h.is_active]


async def hooks_by_id(ids: Iterable[str]) -> dict[str, OutboundWebhook]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {h.id: h for h in await OutboundWebhook.find({"_id": {"$in": wanted}}).to_list()}


def new_delivery(
    settings: Settings, hook: OutboundWebhook, record: dict[str, Any], *, leased: bool = False
) -> OutboundDelivery:
    """The delivery of one events-topic record ({"id", "orgId", "event", "data"}) to `hook`.

    `leased`: recorded already leased to the caller, who sends it at once; otherwise it is
    due now and the next scan of due deliveries sends it."""
    now = utcnow()
    event_id, event = str(record["id"]), str(record["event"])
    at = event_time(event_id)
    return OutboundDelivery(
        org_id=hook.org_id,
        webhook_id=hook.id,
        event_id=event_id,
        event=event,
        dedupe_key=f"event:{event_id}",
        payload=payload(event_id, event, hook.org_id, at, record.get("data")),
        next_attempt_at=_ms(now + timedelta(seconds=lease_seconds(settings))) if leased else now,
        expires_at=at + timedelta(seconds=settings.webhook_retry_window_seconds),
        created_at=now,
        updated_at=now,
    )


async def insert_new(deliveries: list[OutboundDelivery]) -> set[str]:
    """Insert what is not recorded yet; returns the ids inserted. An event seen before (a
    replay after a restart or rebalance) hits the unique (webhookId, dedupeKey) index and is
    left out, so it is never delivered twice."""
    if not deliveries:
        return set()
    docs = [d.model_dump(by_alias=True) for d in deliveries]
    try:
        await OutboundDelivery.get_pymongo_collection().insert_many(docs, ordered=False)
        return {d["_id"] for d in docs}
    except BulkWriteError as exc:
        failed = {docs[i]["_id"] for i in duplicate_positions(exc)}
        return {d["_id"] for d in docs if d["_id"] not in failed}


async def due(scan_limit: int) -> AsyncIterator[tuple[str, str, datetime]]:
    """(delivery id, webhook id, nextAttemptAt) of deliveries whose attempt is due, oldest
    first, read lazily (the caller stops once its send slots are full). Finished deliveries
    have no `nextAttemptAt`, so the range holds only live ones."""
    cursor = (
        OutboundDelivery.get_pymongo_collection()
        .find({"nextAttemptAt": {"$lte": utcnow()}}, {"_id": 1, "webhookId": 1, "nextAttemptAt": 1})
        .sort("nextAttemptAt", 1)
        .limit(scan_limit)
        .batch_size(200)
    )
    async for doc in cursor:
        yield doc["_id"], doc["webhookId"], doc["nextAttemptAt"]


async def claim(settings: Settings, delivery_id: str, due_at: datetime) -> OutboundDelivery | None:
    """Lease a due delivery to the caller: a compare-and-set on the `nextAttemptAt` it was
    seen with, so of several workers exactly one gets it. None when another got it first."""
    doc = await find_one_and_update(
        OutboundDelivery.get_pymongo_collection(),
        {"_id": delivery_id, "nextAttemptAt": due_at},
        {"$set": {"nextAttemptAt": _ms(utcnow() + timedelta(seconds=lease_seconds(settings)))}},
        return_document=ReturnDocument.AFTER,
    )
    return OutboundDelivery.model_validate(doc) if doc else None


@dataclass(frozen=True)
class Outcome:
    """What one POST came to: a status code, or an error before any answer."""

    at: datetime
    status_code: int | None
    error: str | None
    response_time_ms: int | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _lease(delivery: OutboundDelivery) -> dict[str, Any]:
    """The filter that matches the delivery only while the caller's lease still holds."""
    return {"_id": delivery.id, "nextAttemptAt": delivery.next_attempt_at}


async def record_attempt(
    settings: Settings, delivery: OutboundDelivery, outcome: Outcome
) -> OutboundDelivery | None:
    """Log the attempt and decide what is next: succeeded, a retry at the backoff, or failed
    once the next try would fall past the retry window. Only the lease holder's record is
    taken (None when the lease was lost, or the webhook deleted)."""
    attempts = delivery.attempts + 1
    changes: dict[str, Any] = {
        "lastStatusCode": outcome.status_code,
        "lastError": outcome.error,
        "responseTimeMs": outcome.response_time_ms,
        "updatedAt": utcnow(),
    }
    if outcome.succeeded:
        changes.update(
            status=HookDeliveryStatus.SUCCEEDED.value, nextAttemptAt=None, deliveredAt=outcome.at
        )
    else:
        retry_at = _ms(outcome.at + timedelta(seconds=backoff_seconds(settings, attempts)))
        expires = delivery.expires_at
        if expires.tzinfo is None:  # stored as UTC; the driver hands back naive datetimes
            expires = expires.replace(tzinfo=UTC)
        if retry_at > expires:
            changes.update(status=HookDeliveryStatus.FAILED.value, nextAttemptAt=None)
        else:
            changes.update(status=HookDeliveryStatus.RETRYING.value, nextAttemptAt=retry_at)
    entry = DeliveryAttempt(
        at=outcome.at,
        status_code=outcome.status_code,
        error=outcome.error,
        response_time_ms=outcome.response_time_ms,
    ).model_dump(by_alias=True)
    doc = await find_one_and_update(
        OutboundDelivery.get_pymongo_collection(),
        _lease(delivery),
        {
            "$set": changes,
            "$inc": {"attempts": 1},
            "$push": {"attemptLog": {"$each": [entry], "$slice": -ATTEMPT_LOG_KEPT}},
        },
        return_document=ReturnDocument.AFTER,
    )
    return OutboundDelivery.model_validate(doc) if doc else None


async def give_up(delivery: OutboundDelivery, reason: str) -> None:
    """Fail a delivery without sending (its webhook was deleted or switched off)."""
    await OutboundDelivery.get_pymongo_collection().update_one(
        _lease(delivery),
        {
            "$set": {
                "status": HookDeliveryStatus.FAILED.value,
                "lastError": reason,
                "nextAttemptAt": None,
                "updatedAt": utcnow(),
            }
        },
    )
