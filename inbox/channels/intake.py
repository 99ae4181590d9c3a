"""Webhook intake: verify, journal durably, hand to the stream. Threading happens later.

A delivery is answered 2xx only after its journal entry is written, so whatever happens to
the broker or a worker afterwards, `redeliver_stale` can hand it over again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pymongo import UpdateOne

from connectors import get_connector, signature
from connectors.base import (
    Connector,
    MalformedPayload,
    OwnWebhookFormat,
    WebhookRejected,
    WebhookRequest,
    WebhooksUnsupported,
)
from inbox.channels import service as channel_service
from inbox.channels.documents import Channel, WebhookDelivery
from inbox.document_base import utcnow
from inbox.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from inbox.ports import Deps
from inbox.queries import update_in
from inbox.records import InboundRecord

log = logging.getLogger(__name__)


async def verify_subscription(
    channel_id: str, mode: str | None, token: str | None, challenge: str | None
) -> str:
    """Meta's GET handshake: echo `hub.challenge` when the verify token matches."""
    channel = await channel_service.get_for_webhook(channel_id)
    expected = channel.config.get("webhookVerifyToken")
    if mode != "subscribe" or not expected or not token or not _same(expected, token):
        raise Forbidden("Webhook verification failed", code="VERIFY_TOKEN_MISMATCH")
    if challenge is None:
        raise ValidationFailed("hub.challenge is required", details={"hub.challenge": "required"})
    return challenge


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def delivery_id(channel_id: str, raw_body: bytes) -> str:
    return hashlib.sha256(channel_id.encode() + b"\0" + raw_body).hexdigest()


async def accept(
    deps: Deps,
    channel_id: str,
    raw_body: bytes,
    signature_header: str | None,
    *,
    headers: dict[str, str] | None = None,
    received_url: str | None = None,
) -> tuple[str, str] | None:
    """Verify, journal and hand over one delivery. Returns the (body, content type) the
    platform expects back when it is not the default `{"ok": true}` (Twilio: TwiML)."""
    channel, cached = await deps.caches.channels.get(channel_id)
    while True:
        connector = get_connector(channel.type)
        if connector is None:
            raise NotFound(f"{channel.type} channels have no webhook connector yet")
        reply: tuple[str, str] | None = None
        try:
            if isinstance(connector, OwnWebhookFormat):
                # The connector checks its own signature and reads its own body format.
                payload = _verify_own_format(
                    connector,
                    channel,
                    deps.settings.public_url,
                    raw_body,
                    headers or {},
                    received_url,
                )
                reply = connector.webhook_reply
            else:
                payload = _verify_meta_format(channel, raw_body, signature_header)
            break
        except (Unauthorized, Forbidden):
            if not cached:
                raise
            # Maybe the secret changed in another process: judge by the stored channel.
            channel, cached = await deps.caches.channels.get(channel_id, fresh=True)

    status, errors = "RECEIVED", []
    try:
        events = connector.parse(payload, channel.config)
    except MalformedPayload as exc:
        # Signed by the platform but unreadable: keep it with the reason, answer 2xx so the
        # platform does not retry it forever, and never let it reach a worker.
        status, errors = "FAILED", [{"reason": str(exc)}]
        log.warning("webhook on channel %s unreadable: %s", channel.id, exc)
        events = []
    if not events and status == "RECEIVED":
        status = "PROCESSED"
    entry = journal_entry(
        delivery_id(channel.id, raw_body),
        channel,
        raw_body.decode(),
        status=status,
        event_count=len(events),
        errors=errors,
    )
    if not await deps.caches.journal.submit(entry):
        return reply  # a redelivery of a body we already hold: it is (or will be) threaded once
    await hand_off(deps, channel, entry["_id"], events, indexes=range(len(events)))
    return reply


def journal_entry(
    id: str,
    channel: Channel,
    body: str,
    *,
    status: str,
    event_count: int,
    errors: list[dict[str, Any]],
) -> dict[str, Any]:
    """A `WebhookDelivery` as stored, built directly: Beanie's document and encoder cost
    more than the rest of a webhook's own work (tests/unit/test_webhook_journal.py keeps
    the two in step)."""
    now = utcnow()
    return {
        "_id": id,
        "createdAt": now,
        "updatedAt": now,
        "orgId": channel.org_id,
        "channelId": channel.id,
        "body": body,
        "status": status,
        "eventCount": event_count,
        "doneEvents": [],
        "errors": errors,
        "handedOffAt": None,
    }


def _verify_meta_format(
    channel: Channel, raw_body: bytes, signature_header: str | None
) -> dict[str, Any]:
    app_secret = channel.config.get("appSecret")
    # Every Meta channel has an appSecret (its config requires one); only a MOCK channel
    # created without one accepts unsigned posts, for local development.
    if app_secret:
        if not signature_header:
            raise Unauthorized("Missing X-Hub-Signature-256", code="SIGNATURE_MISSING")
        if not signature.verify(app_secret, raw_body, signature_header):
            raise Forbidden("Invalid X-Hub-Signature-256", code="SIGNATURE_INVALID")
    try:
        payload = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        # RecursionError: hostile nesting ([[[[...]]]]) is refused like any other bad JSON.
        raise ValidationFailed("Body is not valid JSON", code="INVALID_JSON") from exc
    if not isinstance(payload, dict):
        raise ValidationFailed("Body must be a JSON object", code="INVALID_JSON")
    return payload


def public_webhook_url(public_url: str, channel_id: str) -> str:
    """The URL shown on the channel, which the platform is configured with (and signs)."""
    return f"{public_url.rstrip('/')}/webhook/{channel_id}"


def _verify_own_format(
    connector: OwnWebhookFormat,
    channel: Channel,
    public_url: str,
    raw_body: bytes,
    headers: dict[str, str],
    received_url: str | None,
) -> dict[str, Any]:
    urls = [public_webhook_url(public_url, channel.id)]
    if received_url:
        query = received_url.partition("?")[2]
        if query:  # the platform signs the URL it called, query string included
            urls[0] += "?" + query
        urls.append(received_url)
    request = WebhookRequest(
        body=raw_body, headers={k.lower(): v for k, v in headers.items()}, urls=urls
    )
    try:
        connector.verify_webhook(request, channel.config)
        return connector.decode_webhook(raw_body)
    except WebhooksUnsupported as exc:
        raise NotFound(str(exc), code="WEBHOOKS_UNSUPPORTED") from exc
    except WebhookRejected as exc:
        if exc.missing:
            raise Unauthorized(exc.message, code="SIGNATURE_MISSING") from exc
        raise Forbidden(exc.message, code="SIGNATURE_INVALID") from exc
    except MalformedPayload as exc:
        raise ValidationFailed(f"Unreadable body: {exc}", code="INVALID_BODY") from exc


def decode_journaled(connector: Connector, body: str) -> dict[str, Any]:
    """A journaled body as its connector's `parse` takes it (JSON unless it says otherwise)."""
    if isinstance(connector, OwnWebhookFormat):
        return connector.decode_webhook(body.encode())
    return json.loads(body)


async def hand_off(
    deps: Deps, channel: Channel, delivery_id: str, events: list[Any], indexes: Any
) -> None:
    for i in indexes:
        event = events[i]
        record = InboundRecord(
            delivery_id=delivery_id,
            index=i,
            org_id=channel.org_id,
            channel_id=channel.id,
            event=event,
            event_count=len(events),
        )
        await deps.stream.hand_off_inbound(record)


async def mark_done(finished: Iterable[InboundRecord]) -> None:
    """Record the finished events of a stream batch in the journal, in as few commands as
    there are distinct shapes of work.

    A delivery whose every event is among `finished` (the usual case: one message, one
    record) is simply PROCESSED: deliveries alike are set in one `update_many` by `_id`
    (an update costs the embedded engine several times an insert, and an aggregation
    pipeline more again). A delivery only advanced, or one whose records do not say how many
    events it has, gets an atomic pipeline update that adds its indexes and moves it to
    PROCESSED once all are done. Finished is PROCESSED even for a delivery the sweeper gave
    up on meanwhile (its channel deleted): its `errors` say what became of its events.
    """
    indexes: dict[str, set[int]] = defaultdict(set)
    counts: dict[str, int | None] = {}
    for r in finished:
        indexes[r.delivery_id].add(r.index)
        counts[r.delivery_id] = r.event_count
    if not indexes:
        return
    now = utcnow()
    complete: dict[tuple[int, ...], list[str]] = defaultdict(list)
    partial: dict[str, set[int]] = {}
    for delivery_id, done in indexes.items():
        count = counts[delivery_id]
        if count is not None and done == set(range(count)):
            complete[tuple(sorted(done))].append(delivery_id)
        else:
            partial[delivery_id] = done
    coll = WebhookDelivery.get_pymongo_collection()
    for done_events, ids in complete.items():
        await update_in(
            coll,
            ids,
            {"$set": {"status": "PROCESSED", "doneEvents": list(done_events), "updatedAt": now}},
        )
    if partial:
        await coll.bulk_write(
            [_advance(delivery_id, done, now) for delivery_id, done in partial.items()],
            ordered=False,
        )


def _advance(delivery_id: str, done: set[int], now: datetime) -> UpdateOne:
    """Adds `done` to a delivery's finished events; PROCESSED once they are all there."""
    all_done = {
        "$and": [
            {"$eq": ["$status", "RECEIVED"]},
            {"$gte": [{"$size": "$doneEvents"}, {"$ifNull": ["$eventCount", 0]}]},
        ]
    }
    return UpdateOne(
        {"_id": delivery_id},
        [
            {
                "$set": {
                    "doneEvents": {"$setUnion": [{"$ifNull": ["$doneEvents", []]}, sorted(done)]},
                    "updatedAt": now,
                }
            },
            {"$set": {"status": {"$cond": [all_done, "PROCESSED", "$status"]}}},
        ],
    )


async def record_error(delivery_id: str, index: int, reason: str) -> None:
    await WebhookDelivery.get_pymongo_collection().update_one(
        {"_id": delivery_id},
        {"$push": {"errors": {"index": index, "reason": reason[:2000], "at": utcnow()}}},
    )


async def redeliver_stale(deps: Deps, limit: int = 500) -> int:
    """Hand deliveries that are still unfinished after a while to the stream again.

    This is what makes "nothing accepted is lost" hold when the broker (memory-only when
    embedded) or a worker dies: the journal is the source of truth, threading is idempotent.
    """
    cutoff = utcnow() - timedelta(seconds=deps.settings.redelivery_after_seconds)
    # One plain dict: the (status, updatedAt) index serves exactly this shape, while
    # Beanie's several-argument find sends `$and`, which the embedded engine scans.
    stale = (
        await WebhookDelivery.find({"status": "RECEIVED", "updatedAt": {"$lt": cutoff}})
        .limit(limit)
        .to_list()
    )
    coll = WebhookDelivery.get_pymongo_collection()
    channels: dict[str, Channel | None] = {}
    count = 0
    for delivery in stale:
        if delivery.channel_id not in channels:
            channels[delivery.channel_id] = await Channel.find_one({"_id": delivery.channel_id})
        channel = channels[delivery.channel_id]
        connector = get_connector(channel.type) if channel else None
        if channel is None or connector is None:
            await coll.update_one({"_id": delivery.id}, {"$set": {"status": "FAILED"}})
            continue
        events = connector.parse(decode_journaled(connector, delivery.body), channel.config)
        done = set(delivery.done_events)
        todo = [i for i in range(len(events)) if i not in done]
        await hand_off(deps, channel, delivery.id, events, indexes=todo)
        count += len(todo)
    handed = [d.id for d in stale if channels.get(d.channel_id) is not None]
    if handed:
        await update_in(coll, handed, {"$set": {"updatedAt": utcnow()}})
    return count
