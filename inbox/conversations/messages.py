"""Messages of a ticket: listing, agents' replies, and sending them through the connector.

A reply is stored QUEUED and handed to the stream; the worker claims it (SENDING), sends it
with the message id as idempotency key, and records SENT with the platform's id, or FAILED.
A redelivered send record for a message that is already SENT or FAILED does nothing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from beanie.odm.queries.find import FindMany
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from connectors import get_connector
from connectors.base import (
    ChannelType,
    DeliveryStatus,
    Direction,
    OutboundMessage,
    PermanentSendError,
    RetryableSendError,
)
from inbox import events
from inbox.accounts.documents import User
from inbox.audit import service as audit
from inbox.campaigns import email_campaigns
from inbox.channels import service as channel_service
from inbox.channels.documents import Channel
from inbox.conversations import macros as macro_service
from inbox.conversations import tickets as ticket_service
from inbox.conversations.documents import Message, Ticket, TicketStatus
from inbox.conversations.threader import apply_pending_statuses, public_message
from inbox.conversations.views import MessageView, message_view
from inbox.document_base import utcnow
from inbox.errors import ValidationFailed
from inbox.ports import Deps, EventPublisher
from inbox.queries import find_one_and_delete, find_one_and_update
from inbox.records import OutboundRecord, thread_key

log = logging.getLogger(__name__)

_DONE = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ, DeliveryStatus.FAILED)


def ticket_messages(ticket: Ticket) -> FindMany[Message]:
    """A ticket's messages, by the ticket alone: the caller has found the ticket in its org,
    and its messages are that org's. (`orgId` in the filter too would make the embedded
    engine scan every message: its planner needs the filter's fields to be an index prefix,
    here (ticketId, timestamp, createdAt).)"""
    return Message.find({"ticketId": ticket.id})


async def list_messages(
    org_id: str, ticket_id: str, skip: int, limit: int
) -> tuple[list[MessageView], int]:
    ticket = await ticket_service.get(org_id, ticket_id)
    query = ticket_messages(ticket)
    total = await query.count()
    msgs = (
        await query.sort(+Message.timestamp, +Message.created_at).skip(skip).limit(limit).to_list()
    )
    senders = {m.sender_user_id for m in msgs if m.sender_user_id}
    users = (
        {u.id: u for u in await User.find({"_id": {"$in": list(senders)}}).to_list()}
        if senders
        else {}
    )
    return [message_view(m, users.get(m.sender_user_id or "")) for m in msgs], total


async def post_reply(
    deps: Deps,
    user: User,
    ticket_id: str,
    *,
    content: str | None = None,
    metadata: dict[str, Any],
    macro_id: str | None = None,
) -> MessageView:
    """Queue an agent's reply: `content`, or the macro `macro_id` rendered for the ticket."""
    ticket = await ticket_service.get(user.org_id, ticket_id)
    channel = await Channel.find_one(Channel.id == ticket.channel_id)
    if channel is None or channel.deleted_at is not None or not channel.is_active:
        raise ValidationFailed(
            "This ticket's channel is deleted or inactive", code="CHANNEL_INACTIVE"
        )
    if get_connector(channel.type) is None:
        raise ValidationFailed(
            f"{channel.type} channels cannot send messages yet", code="NO_CONNECTOR"
        )
    if macro_id is not None:
        content = await macro_service.render_for_ticket(user, macro_id, ticket)
        metadata = {**metadata, "macroId": macro_id}
    if content is None:
        raise ValidationFailed("A reply needs content", details={"content": "required"})
    if channel.type == ChannelType.EMAIL:
        metadata = {**email_campaigns.reply_metadata(ticket), **metadata}
    if ticket.status == TicketStatus.CLOSED:
        # Replying to a closed conversation reopens it (409 if another one is open).
        ticket = await ticket_service.update(
            deps.events, user.org_id, ticket.id, status=TicketStatus.OPEN
        )
    now = utcnow()
    message = Message(
        org_id=user.org_id,
        ticket_id=ticket.id,
        channel_id=channel.id,
        external_thread_id=ticket.external_thread_id,
        direction=Direction.OUTBOUND,
        sender_user_id=user.id,
        sender_name=user.name,
        content=content,
        metadata=metadata,
        status=DeliveryStatus.QUEUED,
        timestamp=now,
    )
    await message.insert()
    doc = await find_one_and_update(
        Ticket.get_pymongo_collection(),
        {"_id": ticket.id},
        {
            "$set": {"lastMessagePreview": content[:200], "updatedAt": now},
            "$max": {"lastMessageAt": now, "lastActivityAt": now},
            "$min": {"firstResponseAt": now},
        },
        return_document=ReturnDocument.AFTER,
    )
    await enqueue_send(deps, message)
    await audit.record(
        user, "message.create", "message", message.id, {"ticketId": ticket.id, "macroId": macro_id}
    )
    await deps.events.publish(user.org_id, events.MESSAGE_CREATED, public_message(message))
    await ticket_service.publish(deps.events, events.TICKET_UPDATED, Ticket.model_validate(doc))
    return message_view(message, user)


async def enqueue_send(deps: Deps, message: Message) -> None:
    key = thread_key(message.channel_id, message.external_thread_id)
    record = OutboundRecord(org_id=message.org_id, message_id=message.id, conversation=key)
    try:
        await deps.stream.enqueue_send(record)
    except Exception:  # noqa: BLE001 - the message is stored QUEUED; the sweeper resends it
        log.warning(
            "could not hand message %s to the stream; will retry", message.id, exc_info=True
        )


async def send(deps: Deps, record: OutboundRecord) -> None:
    """Worker side: send one queued message through its channel's connector."""
    coll = Message.get_pymongo_collection()
    claimed = await find_one_and_update(
        coll,
        {
            "_id": record.message_id,
            "orgId": record.org_id,
            "status": {"$in": [DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value]},
        },
        {"$set": {"status": DeliveryStatus.SENDING.value, "updatedAt": utcnow()}},
        return_document=ReturnDocument.AFTER,
    )
    if claimed is None:
        return  # already sent or failed: a redelivered record
    message = Message.model_validate(claimed)
    channel = await Channel.find_one(Channel.id == message.channel_id)
    connector = get_connector(channel.type) if channel else None
    if channel is None or connector is None:
        await _finish(
            deps.events,
            message,
            DeliveryStatus.FAILED,
            error={"message": "Channel has no connector"},
        )
        return
    outgoing = OutboundMessage(
        recipient=message.external_thread_id,
        content=message.content,
        metadata=message.metadata,
        idempotency_key=message.id,
    )
    config = channel_service.resolved_config(deps.settings, channel)
    attempt = 0
    while True:
        attempt += 1
        await coll.update_one(
            {"_id": message.id}, {"$inc": {"attempts": 1}, "$set": {"updatedAt": utcnow()}}
        )
        try:
            result = await connector.send(deps.http, config, outgoing)
        except RetryableSendError as exc:
            if attempt >= deps.settings.send_max_attempts:
                await _finish(deps.events, message, DeliveryStatus.FAILED, error=exc.as_dict())
                return
            delay = exc.retry_after or deps.settings.send_backoff_base_seconds * 2 ** (attempt - 1)
            log.info(
                "send of %s rate-limited/failed (%s); retry in %.1fs", message.id, exc.code, delay
            )
            await asyncio.sleep(min(delay, 30.0))
            continue
        except PermanentSendError as exc:
            await _finish(deps.events, message, DeliveryStatus.FAILED, error=exc.as_dict())
            return
        await _finish(
            deps.events,
            message,
            DeliveryStatus.SENT,
            external_message_id=result.external_message_id,
        )
        await apply_pending_statuses(deps.events, channel, result.external_message_id)
        return


async def _finish(
    publisher: EventPublisher,
    message: Message,
    status: DeliveryStatus,
    *,
    external_message_id: str | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    coll = Message.get_pymongo_collection()
    changes: dict[str, Any] = {"status": status.value, "updatedAt": utcnow()}
    if external_message_id:
        changes["externalMessageId"] = external_message_id
    if error:
        changes["error"] = error
    query = {"_id": message.id, "status": DeliveryStatus.SENDING.value}
    try:
        doc = await find_one_and_update(
            coll, query, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
    except DuplicateKeyError:
        # Messenger echoes our own sends; if the echo was threaded before we recorded the
        # id, it is a copy of this message: drop the copy and keep ours.
        echo = await find_one_and_delete(
            coll,
            {
                "channelId": message.channel_id,
                "externalMessageId": external_message_id,
                "_id": {"$ne": message.id},
            },
        )
        if echo:
            await publisher.publish(
                message.org_id,
                events.MESSAGE_DELETED,
                {"id": echo["_id"], "ticketId": echo["ticketId"]},
            )
        doc = await find_one_and_update(
            coll, query, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
    if doc is not None:
        shown = public_message(Message.model_validate(doc))
        await publisher.publish(message.org_id, events.MESSAGE_UPDATED, shown)
        if status == DeliveryStatus.SENT:
            # Once per message: only the send that moved it out of SENDING gets here.
            await publisher.publish(message.org_id, events.MESSAGE_SENT, shown)


async def requeue_stale(deps: Deps, limit: int = 500) -> int:
    """Hand QUEUED/SENDING messages nobody touched for a while back to the stream (the
    broker is memory-only when embedded, and a worker may have died mid-send)."""
    cutoff = utcnow() - timedelta(seconds=max(60.0, deps.settings.redelivery_after_seconds))
    stale = (
        await Message.find(
            {
                "status": {"$in": [DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value]},
                "updatedAt": {"$lt": cutoff},
            }
        )
        .limit(limit)
        .to_list()
    )
    for message in stale:
        await Message.get_pymongo_collection().update_one(
            {"_id": message.id}, {"$set": {"updatedAt": utcnow()}}
        )
        await enqueue_send(deps, message)
    return len(stale)
