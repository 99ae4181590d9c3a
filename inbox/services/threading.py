"""Threading: apply one parsed inbound event to customers, tickets and messages.

Runs in the stream worker. Every step is idempotent, because Kafka delivers at least once
and the webhook journal may hand an event over again: a message is stored once per
(channel, external id), and re-running the same record only repeats harmless updates.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from connectors.base import DeliveryStatus, Direction, InboundMessage, StatusUpdate
from inbox import events
from inbox.documents import (
    CampaignRecipient,
    Channel,
    Customer,
    Message,
    PendingStatus,
    Ticket,
    TicketStatus,
    new_id,
    utcnow,
)
from inbox.ports import EventPublisher
from inbox.services import tickets as ticket_service
from inbox.views import message_view

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


async def apply_message(
    publisher: EventPublisher, channel: Channel, msg: InboundMessage, source: str
) -> Message | None:
    """Thread one message. Returns the stored message, or None when it was a duplicate."""
    existing = await Message.find_one(
        Message.channel_id == channel.id, Message.external_message_id == msg.external_message_id
    )
    if existing is not None and existing.source != source:
        return None  # stored before from another delivery: a platform redelivery

    customer = await _upsert_customer(channel, msg)
    ticket, created = await _open_ticket(channel, customer, msg)
    message = existing or Message(
        org_id=channel.org_id,
        ticket_id=ticket.id,
        channel_id=channel.id,
        external_thread_id=msg.thread_id,
        direction=msg.direction,
        external_message_id=msg.external_message_id,
        sender_name=customer.name if msg.direction == Direction.INBOUND else channel.name,
        content=msg.content,
        type=msg.type,
        metadata=msg.metadata,
        source=source,
        status=DeliveryStatus.RECEIVED
        if msg.direction == Direction.INBOUND
        else DeliveryStatus.SENT,
        timestamp=msg.timestamp,
    )
    if existing is None:
        try:
            await message.insert()
        except DuplicateKeyError:
            return None  # a concurrent worker stored it first
    ticket = await _touch_ticket(ticket, message)
    if created:
        await ticket_service.publish(publisher, events.TICKET_CREATED, ticket)
    await publisher.publish(channel.org_id, events.MESSAGE_CREATED, public_message(message))
    if not created:
        await ticket_service.publish(publisher, events.TICKET_UPDATED, ticket)
    return message


def public_message(message: Message) -> dict[str, Any]:
    return message_view(message).dump()


async def _upsert_customer(channel: Channel, msg: InboundMessage) -> Customer:
    now = utcnow()
    key = {"orgId": channel.org_id, "platform": channel.type.value, "externalId": msg.thread_id}
    set_fields: dict[str, Any] = {"updatedAt": now}
    on_insert: dict[str, Any] = {
        "_id": new_id(),
        "createdAt": now,
        "isActive": True,
        "metadata": {},
    }
    if msg.customer_name and msg.direction == Direction.INBOUND:
        set_fields["name"] = msg.customer_name
    else:
        on_insert["name"] = msg.thread_id
    update = {
        "$set": set_fields,
        "$setOnInsert": on_insert,
        "$addToSet": {"channelIds": channel.id},
        "$max": {"lastMessageAt": msg.timestamp},
    }
    coll = Customer.get_pymongo_collection()
    try:
        doc = await coll.find_one_and_update(
            key, update, upsert=True, return_document=ReturnDocument.AFTER
        )
    except DuplicateKeyError:
        # Two workers upserting the same new customer: the loser updates the winner's.
        doc = await coll.find_one_and_update(key, update, return_document=ReturnDocument.AFTER)
    customer = Customer.model_validate(doc)
    if (
        _same_instant(customer.last_message_at, msg.timestamp)
        and customer.last_message != msg.content
    ):
        await coll.update_one(
            {"_id": customer.id, "lastMessageAt": msg.timestamp},
            {"$set": {"lastMessage": msg.content}},
        )
        customer.last_message = msg.content
    return customer


def _same_instant(a: datetime | None, b: datetime) -> bool:
    return a is not None and abs((a - b).total_seconds()) < 0.001


async def _open_ticket(
    channel: Channel, customer: Customer, msg: InboundMessage
) -> tuple[Ticket, bool]:
    """The open ticket of this conversation, or a new one (the threading rule)."""
    key = ticket_service.open_key(channel.id, msg.thread_id)
    ticket = await Ticket.find_one(Ticket.open_key == key)
    if ticket is not None:
        return ticket, False
    ticket = Ticket(
        org_id=channel.org_id,
        channel_id=channel.id,
        customer_id=customer.id,
        external_thread_id=msg.thread_id,
        subject=subject_from(msg.content),
        open_key=key,
    )
    try:
        await ticket.insert()
    except DuplicateKeyError:
        found = await Ticket.find_one(Ticket.open_key == key)
        if found is None:  # closed in between; try once more
            return await _open_ticket(channel, customer, msg)
        return found, False
    return ticket, True


async def _touch_ticket(ticket: Ticket, message: Message) -> Ticket:
    """Bring the ticket's activity fields up to this message; idempotent."""
    now = utcnow()
    set_fields: dict[str, Any] = {"updatedAt": now}
    update: dict[str, Any] = {
        "$set": set_fields,
        "$max": {"lastMessageAt": message.timestamp, "lastActivityAt": now},
    }
    # Only this conversation's partition writes these fields, so comparing here is safe.
    if ticket.last_message_at is None or message.timestamp >= ticket.last_message_at:
        set_fields["lastMessagePreview"] = message.content[:200]
    if message.direction == Direction.INBOUND:
        update["$min"] = {"firstInboundAt": message.timestamp}
        if ticket.status == TicketStatus.PENDING:
            set_fields["status"] = TicketStatus.OPEN.value  # the customer answered
    doc = await Ticket.get_pymongo_collection().find_one_and_update(
        {"_id": ticket.id}, update, return_document=ReturnDocument.AFTER
    )
    return Ticket.model_validate(doc)


async def apply_status(publisher: EventPublisher, channel: Channel, status: StatusUpdate) -> int:
    """Apply a receipt to our outbound messages; returns how many changed."""
    coll = Message.get_pymongo_collection()
    base: dict[str, Any] = {
        "channelId": channel.id,
        "direction": Direction.OUTBOUND.value,
        "status": {"$in": statuses_before(status.status)},
    }
    changes: dict[str, Any] = {"status": status.status.value, "updatedAt": utcnow()}
    if status.error:
        changes["error"] = status.error
    if status.external_message_id:
        doc = await coll.find_one_and_update(
            {**base, "externalMessageId": status.external_message_id},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            if not await coll.find_one(
                {"channelId": channel.id, "externalMessageId": status.external_message_id},
                {"_id": 1},
            ):
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
        await publisher.publish(
            channel.org_id, events.MESSAGE_UPDATED, public_message(Message.model_validate(doc))
        )
        if status.status == DeliveryStatus.FAILED and (doc.get("metadata") or {}).get(
            "recipientId"
        ):
            await _fail_campaign_recipient(doc)
        return 1
    if status.watermark is None:
        return 0
    # Messenger/Instagram: everything sent in this thread up to the watermark.
    query = {**base, "externalThreadId": status.thread_id, "timestamp": {"$lte": status.watermark}}
    changed = 0
    async for doc in coll.find(query, {"_id": 1}):
        after = await coll.find_one_and_update(
            {**query, "_id": doc["_id"]}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
        if after is not None:
            changed += 1
            await publisher.publish(
                channel.org_id,
                events.MESSAGE_UPDATED,
                public_message(Message.model_validate(after)),
            )
    return changed


async def _fail_campaign_recipient(doc: dict[str, Any]) -> None:
    """A campaign message the platform accepted, then failed (e.g. WhatsApp 131026), fails
    its campaign recipient too: the recipient's status follows its message."""
    error = doc.get("error") or {}
    reason = error.get("message") or error.get("title") or "the platform reported a failure"
    await CampaignRecipient.get_pymongo_collection().update_one(
        {"_id": doc["metadata"]["recipientId"], "status": {"$in": ["PENDING", "SENT"]}},
        {"$set": {"status": "FAILED", "error": str(reason)[:1000], "updatedAt": utcnow()}},
    )


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
