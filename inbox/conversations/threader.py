"""Threading: apply parsed inbound events to customers, tickets and messages.

Runs in the stream worker, a stream batch at a time: the embedded MongoDB-protocol server
pays a fixed cost per command, so a batch costs a handful of commands plus one customer
upsert per conversation, not several round trips per message. Every step is idempotent,
because Kafka delivers at least once and the webhook journal may hand an event over again:
a message is stored once per (channel, external id), and re-running the same record only
repeats harmless updates.

Query shapes follow the embedded engine's planner, which uses an index only when the
filter's fields are exactly an index prefix (`{_id, orgId}` is a collection scan): look up
by `_id` alone or by a whole index prefix, and check the rest in Python or in an
aggregation-pipeline update.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import bson
from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError

from connectors.base import DeliveryStatus, Direction, InboundMessage, StatusUpdate
from inbox import events
from inbox.accounts.documents import User
from inbox.caches import Caches
from inbox.campaigns import progress as campaign_progress
from inbox.channels.documents import Channel
from inbox.conversations import tickets as ticket_service
from inbox.conversations.documents import Message, PendingStatus, Ticket, TicketStatus
from inbox.conversations.views import message_view, ticket_view
from inbox.crm import sightings
from inbox.crm.customer_documents import Customer
from inbox.crm.customer_views import customer_view
from inbox.document_base import utcnow
from inbox.ports import EventPublisher
from inbox.queries import duplicate_positions, find_in, find_one_and_update, models_by_id

log = logging.getLogger(__name__)


_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENDING: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.READ: 4,
}


def statuses_before(status: DeliveryStatus) -> list[str]:
    """Statuses a message may move *from* to reach `status`: receipts only move forward,
    and a late "sent" never overwrites "read"."""
    if status == DeliveryStatus.FAILED:
        return [DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.SENT]
    rank = _RANK.get(status, 0)
    return [s.value for s, r in _RANK.items() if r < rank]


def subject_from(content: str) -> str:
    line = content.strip().splitlines()[0] if content.strip() else "New conversation"
    return line[:80]


@dataclass(frozen=True)
class Incoming:
    """One inbound message of a stream batch, with where it came from."""

    channel: Channel
    message: InboundMessage
    source: str
    """"<deliveryId>#<index>" of the webhook event (see `Message.source`)."""


async def apply_message(
    publisher: EventPublisher,
    channel: Channel,
    msg: InboundMessage,
    source: str,
    *,
    caches: Caches,
) -> Message | None:
    """Thread one message. Returns the stored message, or None when it was a duplicate."""
    return (await apply_messages(publisher, [Incoming(channel, msg, source)], caches=caches))[0]


async def apply_messages(
    publisher: EventPublisher,
    batch: Sequence[Incoming],
    concurrency: int = 8,
    *,
    caches: Caches,
) -> list[Message | None]:
    """Thread a batch of messages with a few writes for the whole batch, not per message.

    Returns, per item, the stored message, or None for a platform duplicate. Each
    conversation's messages keep their batch order (the caller's stream order); its
    customer is upserted once, its ticket found or created once and updated once, and its
    events are published in order: ticket.created (new ticket), message.created for each
    message, ticket.updated (existing ticket).

    A message already stored by the same webhook event (`source`) is a re-run of a record
    (Kafka redelivery, sweeper): its ticket is brought up to date but its events are not
    published again. Raises on the first unstorable message before writing anything, so the
    caller can retry the items one by one and record the bad one.
    """
    for item in batch:
        _check_storable(item.message)
    results: list[Message | None] = [None] * len(batch)
    stored = await _stored_messages(batch)
    fresh: list[int] = []
    reruns: list[int] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(batch):
        key = (item.channel.id, item.message.external_message_id)
        if key in seen:
            continue  # the same message twice in one delivery or batch: stored once
        seen.add(key)
        stored_before = stored.get(key)
        if stored_before is None:
            fresh.append(i)
        elif stored_before.source == item.source:
            results[i] = stored_before
            reruns.append(i)
        # else: stored before from another delivery: a platform redelivery, nothing to do

    conversations: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i in fresh:
        conversations[(batch[i].channel.id, batch[i].message.thread_id)].append(i)
    new_customers: dict[str, Customer] = {}
    customers = await _customers_of(batch, conversations, new_customers, caches)
    unannounced = caches.unannounced
    tickets, created = await _open_tickets(batch, conversations, customers)

    messages: dict[int, Message] = {}
    for key, indexes in conversations.items():
        for i in indexes:
            item, customer = batch[i], customers[key]
            messages[i] = _new_message(item, tickets[key].id, customer)
    inserted = await _insert_messages(messages)
    for i in inserted:
        results[i] = messages[i]
        unannounced.add(batch[i].source)

    # Ticket activity: one update per ticket for the whole batch (new tickets were created
    # with it already). Re-runs bring their message's own ticket up to date too.
    by_ticket: dict[str, list[Message]] = defaultdict(list)
    for key, indexes in conversations.items():
        if key not in created:
            by_ticket[tickets[key].id].extend(messages[i] for i in indexes if i in inserted)
    announce_again = [i for i in reruns if batch[i].source in unannounced]
    for i in reruns:
        rerun = results[i]
        assert rerun is not None
        by_ticket[rerun.ticket_id].append(rerun)
    await _touch_tickets({t: ms for t, ms in by_ticket.items() if ms})

    # Events, per ticket in stream order. Existing tickets are read back once for their
    # ticket.updated event; views need the channel, customer and assignee.
    announced: dict[str, list[Message]] = defaultdict(list)
    for i in sorted(inserted | set(announce_again)):
        m = results[i]
        assert m is not None
        announced[m.ticket_id].append(m)
    if not announced:
        return results
    new_tickets = {t.id: t for t in created.values()}
    existing = list((await models_by_id(Ticket, set(announced) - set(new_tickets))).values())
    views = await _ticket_views(
        [*existing, *new_tickets.values()],
        {item.channel.id: item.channel for item in batch},
        customers,
    )
    limit = asyncio.Semaphore(concurrency)
    # A customer's first message makes them (automation's customer_registered trigger).
    for customer in new_customers.values():
        await publisher.publish(
            customer.org_id, events.CUSTOMER_CREATED, customer_view(customer).dump()
        )

    async def announce(ticket_id: str, ms: list[Message]) -> None:
        org_id = ms[0].org_id
        async with limit:
            if ticket_id in new_tickets and ticket_id in views:
                await publisher.publish(org_id, events.TICKET_CREATED, views[ticket_id])
            for m in ms:
                await publisher.publish(org_id, events.MESSAGE_CREATED, public_message(m))
                unannounced.discard(m.source or "")
            if ticket_id not in new_tickets and ticket_id in views:
                await publisher.publish(org_id, events.TICKET_UPDATED, views[ticket_id])

    await asyncio.gather(*(announce(t, ms) for t, ms in announced.items()))
    if len(unannounced) > 10_000:  # only failures leave entries behind
        unannounced.clear()
    return results


def _check_storable(msg: InboundMessage) -> None:
    """Raise before any write when MongoDB could not store this message's fields."""
    bson.encode({"content": msg.content, "metadata": msg.metadata, "type": msg.type})


async def _stored_messages(batch: Sequence[Incoming]) -> dict[tuple[str, str], Message]:
    """Messages of this batch already stored, by (channel, external id): one indexed query.

    The filter is the external ids alone: the embedded engine plans an index only when the
    filter's fields are exactly an index prefix (`(externalMessageId, channelId)`)."""
    ids = sorted({item.message.external_message_id for item in batch})
    channel_ids = {item.channel.id for item in batch}
    found: dict[tuple[str, str], Message] = {}
    for doc in await find_in(Message.get_pymongo_collection(), "externalMessageId", ids):
        if doc.get("channelId") in channel_ids:
            m = Message.model_validate(doc)
            found[(m.channel_id, m.external_message_id or "")] = m
    return found


def _newest(batch: Sequence[Incoming], indexes: list[int]) -> Incoming:
    """The conversation's latest message by platform time (the later arrival on a tie)."""
    return batch[max(indexes, key=lambda i: (batch[i].message.timestamp, i))]


async def _customers_of(
    batch: Sequence[Incoming],
    conversations: dict[tuple[str, str], list[int]],
    new_customers: dict[str, Customer],
    caches: Caches,
) -> dict[tuple[str, str], Customer]:
    """Each conversation's customer, upserted once with its newest message (which is what
    upserting message by message would end with: name, lastMessage, lastMessageAt), all
    conversations together. Customers seen for the first time are added to `new_customers`."""
    keys = list(conversations)
    seen = [_sighting(_newest(batch, conversations[key])) for key in keys]
    customers: dict[tuple[str, str], Customer] = {}
    for key, (customer, created) in zip(
        keys, await sightings.for_identities(seen, caches=caches), strict=True
    ):
        customers[key] = customer
        if created:
            new_customers[customer.id] = customer
    return customers


def _new_message(item: Incoming, ticket_id: str, customer: Customer) -> Message:
    msg, channel = item.message, item.channel
    inbound = msg.direction == Direction.INBOUND
    return Message(
        org_id=channel.org_id,
        ticket_id=ticket_id,
        channel_id=channel.id,
        external_thread_id=msg.thread_id,
        direction=msg.direction,
        external_message_id=msg.external_message_id,
        sender_name=customer.name if inbound else channel.name,
        content=msg.content,
        type=msg.type,
        metadata=msg.metadata,
        source=item.source,
        status=DeliveryStatus.RECEIVED if inbound else DeliveryStatus.SENT,
        timestamp=msg.timestamp,
    )


async def _insert_messages(messages: dict[int, Message]) -> set[int]:
    """Insert all in one command; returns the keys stored now. The unique (channel, external
    id) index turns a message stored concurrently by another worker into a no-op."""
    if not messages:
        return set()
    keys = list(messages)
    try:
        await Message.insert_many([messages[k] for k in keys], ordered=False)
    except BulkWriteError as exc:
        lost = duplicate_positions(exc)
        return {k for n, k in enumerate(keys) if n not in lost}
    return set(keys)


async def _open_tickets(
    batch: Sequence[Incoming],
    conversations: dict[tuple[str, str], list[int]],
    customers: dict[tuple[str, str], Customer],
) -> tuple[dict[tuple[str, str], Ticket], dict[tuple[str, str], Ticket]]:
    """Each conversation's open ticket, creating the missing ones (the threading rule).

    Returns (ticket per conversation, the tickets created now). New tickets are inserted
    with this batch's activity already on them, so they need no update afterwards."""
    tickets: dict[tuple[str, str], Ticket] = {}
    created: dict[tuple[str, str], Ticket] = {}
    todo = dict(conversations)
    for _ in range(5):  # a conflict means another writer won; a close in between, retry
        if not todo:
            break
        keys = {ticket_service.open_key(*key): key for key in todo}
        for doc in await find_in(Ticket.get_pymongo_collection(), "openKey", keys):
            t = Ticket.model_validate(doc)
            tickets[keys[t.open_key or ""]] = t
            todo.pop(keys[t.open_key or ""], None)
        if not todo:
            break
        new = {
            key: _new_ticket(batch, key, indexes, customers[key]) for key, indexes in todo.items()
        }
        order = list(new)
        try:
            await Ticket.insert_many([new[k] for k in order], ordered=False)
            lost: set[int] = set()
        except BulkWriteError as exc:
            lost = duplicate_positions(exc)
        for n, key in enumerate(order):
            if n not in lost:
                tickets[key] = created[key] = new[key]
                todo.pop(key)
    if todo:
        raise RuntimeError(f"no open ticket for {len(todo)} conversations after retries")
    return tickets, created


def _new_ticket(
    batch: Sequence[Incoming], key: tuple[str, str], indexes: list[int], customer: Customer
) -> Ticket:
    first, newest = batch[indexes[0]], _newest(batch, indexes)
    inbound = [
        batch[i].message.timestamp
        for i in indexes
        if batch[i].message.direction == Direction.INBOUND
    ]
    return Ticket(
        org_id=first.channel.org_id,
        channel_id=first.channel.id,
        customer_id=customer.id,
        external_thread_id=first.message.thread_id,
        subject=subject_from(first.message.content),
        open_key=ticket_service.open_key(*key),
        last_message_at=newest.message.timestamp,
        last_message_preview=newest.message.content[:200],
        first_inbound_at=min(inbound) if inbound else None,
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def _touch_tickets(by_ticket: dict[str, list[Message]]) -> None:
    """Bring each ticket's activity fields up to its new messages, one command for all.

    Idempotent, and atomic per ticket without reading it first: an aggregation-pipeline
    update keeps whichever of the stored and the new values wins ($max/$min), moves the
    preview only for a message at least as new as the stored last one, and reopens a
    PENDING ticket when the customer answered."""
    if not by_ticket:
        return
    now = utcnow()
    ops = []
    for ticket_id, msgs in by_ticket.items():
        newest = max(msgs, key=lambda m: m.timestamp)  # max keeps the first of equals
        newest = [m for m in msgs if m.timestamp == newest.timestamp][-1]
        inbound = [m.timestamp for m in msgs if m.direction == Direction.INBOUND]
        fields: dict[str, Any] = {
            "updatedAt": now,
            "lastMessageAt": {"$max": ["$lastMessageAt", newest.timestamp]},
            "lastActivityAt": {"$max": ["$lastActivityAt", now]},
            "lastMessagePreview": {
                "$cond": [
                    {"$gte": [newest.timestamp, {"$ifNull": ["$lastMessageAt", _EPOCH]}]},
                    {"$literal": newest.content[:200]},
                    "$lastMessagePreview",
                ]
            },
        }
        if inbound:
            fields["firstInboundAt"] = {"$min": ["$firstInboundAt", min(inbound)]}
            fields["status"] = {
                "$cond": [
                    {"$eq": ["$status", TicketStatus.PENDING.value]},
                    TicketStatus.OPEN.value,  # the customer answered
                    "$status",
                ]
            }
        ops.append(UpdateOne({"_id": ticket_id}, [{"$set": fields}]))
    await Ticket.get_pymongo_collection().bulk_write(ops, ordered=False)


async def _ticket_views(
    tickets: list[Ticket],
    channels: dict[str, Channel],
    customers: dict[tuple[str, str], Customer],
) -> dict[str, dict[str, Any]]:
    """Event payloads for these tickets; only customers and assignees not at hand are read
    (one query each for the whole batch)."""
    known = {c.id: c for c in customers.values()}
    missing = {t.customer_id for t in tickets if t.customer_id and t.customer_id not in known}
    known.update(await models_by_id(Customer, missing))
    users = await models_by_id(User, {t.assignee_id for t in tickets if t.assignee_id})
    return {
        t.id: ticket_view(
            t,
            channels.get(t.channel_id),
            known.get(t.customer_id or ""),
            users.get(t.assignee_id or ""),
        ).dump()
        for t in tickets
    }


def public_message(message: Message) -> dict[str, Any]:
    return message_view(message).dump()


def _sighting(item: Incoming) -> sightings.Sighting:
    """Who the conversation is with, as this message shows them."""
    msg, channel = item.message, item.channel
    return sightings.Sighting(
        channel.org_id,
        channel.type,
        msg.thread_id,
        channel.id,
        profile_name=msg.customer_name if msg.direction == Direction.INBOUND else None,
        last_message=(msg.content, msg.timestamp),
    )


async def apply_status(publisher: EventPublisher, channel: Channel, status: StatusUpdate) -> int:
    """Apply a receipt to our outbound messages; returns how many changed.

    Each message is updated by an indexed key with the "only forward" rule inside the
    update (a pipeline `$cond` on the stored status), so the check and the write are one
    atomic command; the document from before tells whether it applied."""
    coll = Message.get_pymongo_collection()
    allowed = statuses_before(status.status)
    changes: dict[str, Any] = {"status": status.status.value, "updatedAt": utcnow()}
    if status.error:
        changes["error"] = status.error
    if status.external_message_id:
        before = await find_one_and_update(
            coll,
            {"externalMessageId": status.external_message_id, "channelId": channel.id},
            _receipt_update(allowed, changes),
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:
            # The receipt outran our own record of the send: keep it for later.
            await PendingStatus(
                org_id=channel.org_id,
                channel_id=channel.id,
                external_message_id=status.external_message_id,
                status=status.status,
                error=status.error,
                timestamp=status.timestamp,
            ).insert()
            return 0
        if not _receipt_applies(before, allowed):
            return 0
        after = {**before, **changes}
        await publisher.publish(
            channel.org_id, events.MESSAGE_UPDATED, public_message(Message.model_validate(after))
        )
        # A campaign's message: delivered/read counters, or its recipient fails too.
        await campaign_progress.on_receipt(before, status.status, status.error)
        return 1
    if status.watermark is None:
        return 0
    # Messenger/Instagram: everything sent in this thread up to the watermark.
    watermark = status.watermark
    candidates = coll.find(
        {
            "channelId": channel.id,
            "externalThreadId": status.thread_id,
            "direction": Direction.OUTBOUND.value,
        },
        {"_id": 1, "status": 1, "direction": 1, "timestamp": 1},
    )
    changed = 0
    async for doc in candidates:
        if not _receipt_applies(doc, allowed, watermark):
            continue
        before = await find_one_and_update(
            coll,
            {"_id": doc["_id"]},
            _receipt_update(allowed, changes, watermark),
            return_document=ReturnDocument.BEFORE,
        )
        if before is not None and _receipt_applies(before, allowed, watermark):
            changed += 1
            await publisher.publish(
                channel.org_id,
                events.MESSAGE_UPDATED,
                public_message(Message.model_validate({**before, **changes})),
            )
            await campaign_progress.on_receipt(before, status.status, status.error)
    return changed


def _receipt_applies(
    doc: dict[str, Any], allowed: list[str], watermark: datetime | None = None
) -> bool:
    """The same rule as `_receipt_update`, on a document read before it."""
    if doc.get("direction") != Direction.OUTBOUND.value or doc.get("status") not in allowed:
        return False
    if watermark is None:
        return True
    ts = doc.get("timestamp")
    return ts is not None and ts <= watermark


def _receipt_update(
    allowed: list[str], changes: dict[str, Any], watermark: datetime | None = None
) -> list[dict[str, Any]]:
    """A pipeline update writing `changes` only to an outbound message whose status may
    move to the new one (and, for a watermark, sent no later than it)."""
    rule: list[dict[str, Any]] = [
        {"$eq": ["$direction", Direction.OUTBOUND.value]},
        {"$in": ["$status", allowed]},
    ]
    if watermark is not None:
        rule.append({"$lte": ["$timestamp", watermark]})
    applies = {"$and": rule}
    return [
        {
            "$set": {
                field: {"$cond": [applies, {"$literal": value}, "$" + field]}
                for field, value in changes.items()
            }
        }
    ]


async def apply_pending_statuses(
    publisher: EventPublisher, channel: Channel, external_message_id: str
) -> None:
    pending = (
        await PendingStatus.find(
            PendingStatus.channel_id == channel.id,
            PendingStatus.external_message_id == external_message_id,
        )
        .sort(+PendingStatus.timestamp)
        .to_list()
    )
    for p in pending:
        await apply_status(
            publisher,
            channel,
            StatusUpdate(
                thread_id="",
                external_message_id=p.external_message_id,
                status=p.status,
                timestamp=p.timestamp,
                error=p.error,
            ),
        )
        await p.delete()
