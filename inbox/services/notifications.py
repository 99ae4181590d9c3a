"""Notifications: private notes to one user, made by the stream worker from domain events.

Rules (`from_event`):
* `message.created`, INBOUND: with an (active) assignee, the assignee gets CUSTOMER_REPLY
  when the ticket already had messages, NEW_MESSAGE when this is its first; an unassigned
  ticket gives every active user of the org a NEW_MESSAGE.
* `ticket.assigned`: the new assignee gets TICKET_ASSIGNED, unless they assigned themselves.

Kafka delivers at least once, and a re-run threading record publishes its message again
under a new event id, so each notification carries a `sourceKey` (the message id for
messages, the event id for assignments) that is unique per user: a repeat creates nothing.

Each new notification is pushed as `notification.created` with data
`{"userId", "notification"}`. Org events reach every member's websocket, so clients show
only those whose `userId` is their own.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.errors import BulkWriteError

from connectors.base import Direction
from inbox import events
from inbox.documents import (
    Customer,
    Message,
    Notification,
    NotificationType,
    Ticket,
    User,
    utcnow,
)
from inbox.errors import NotFound
from inbox.ports import EventPublisher
from inbox.views import NotificationView, notification_view

log = logging.getLogger(__name__)

PREVIEW_CHARS = 140
_DUPLICATE_KEY = 11000


# ------------------------------------------------------------------ the API (a user's own)


def _own(user: User, unread_only: bool = False) -> dict[str, Any]:
    query: dict[str, Any] = {"orgId": user.org_id, "userId": user.id}
    if unread_only:
        query["isRead"] = False
    return query


async def list_for(
    user: User, *, unread_only: bool, skip: int, limit: int
) -> tuple[list[NotificationView], int]:
    found = Notification.find(_own(user, unread_only))
    total = await found.count()
    page = (
        await found.sort(-Notification.created_at, -Notification.id)
        .skip(skip)
        .limit(limit)
        .to_list()
    )
    return [notification_view(n) for n in page], total


async def unread_count(user: User) -> int:
    return await Notification.find(_own(user, unread_only=True)).count()


async def mark_read(user: User, notification_id: str) -> NotificationView:
    """Mark one of the caller's notifications read; another user's is a 404."""
    coll = Notification.get_pymongo_collection()
    # Only the first read sets readAt; marking again keeps it.
    await coll.update_one(
        {**_own(user), "_id": notification_id, "isRead": False},
        {"$set": {"isRead": True, "readAt": utcnow(), "updatedAt": utcnow()}},
    )
    found = await Notification.find_one({**_own(user), "_id": notification_id})
    if found is None:
        raise NotFound("Notification not found")
    return notification_view(found)


async def mark_all_read(user: User) -> int:
    now = utcnow()
    result = await Notification.get_pymongo_collection().update_many(
        _own(user, unread_only=True), {"$set": {"isRead": True, "readAt": now, "updatedAt": now}}
    )
    return result.modified_count


# ------------------------------------------------------------------ the worker side


async def from_event(publisher: EventPublisher, record: dict[str, Any]) -> list[Notification]:
    """Create (once) and push the notifications one events-topic record calls for.

    `record` is what `FanoutPublisher` puts on the topic: {"id", "orgId", "event", "data"}.
    Returns the notifications created now (none for a repeat)."""
    name, org_id, data = record.get("event"), record.get("orgId"), record.get("data") or {}
    if not org_id:
        return []
    if name == events.MESSAGE_CREATED:
        wanted = await _for_inbound_message(org_id, data)
    elif name == events.TICKET_ASSIGNED:
        wanted = await _for_assignment(org_id, str(record.get("id", "")), data)
    else:
        return []
    created = await _insert_new(wanted)
    for n in created:
        await publisher.publish(
            n.org_id,
            events.NOTIFICATION_CREATED,
            {"userId": n.user_id, "notification": notification_view(n).dump()},
        )
    return created


async def _for_inbound_message(org_id: str, data: dict[str, Any]) -> list[Notification]:
    if data.get("direction") != Direction.INBOUND.value or not data.get("id"):
        return []
    ticket = await Ticket.find_one(Ticket.org_id == org_id, Ticket.id == data.get("ticketId"))
    # By id alone (messages carry no (orgId, _id) index, see inbox/documents); org checked here.
    message = await Message.find_one(Message.id == data["id"])
    if ticket is None or message is None or message.org_id != org_id:
        return []
    customer = (
        await Customer.find_one(Customer.org_id == org_id, Customer.id == ticket.customer_id)
        if ticket.customer_id
        else None
    )
    who = customer.name if customer else message.sender_name
    base = {
        "org_id": org_id,
        "message": _preview(message.content),
        "data": {
            "ticketId": ticket.id,
            "messageId": message.id,
            "channelId": ticket.channel_id,
            "customerId": ticket.customer_id,
            "customerName": who,
        },
        "source_key": f"{events.MESSAGE_CREATED}:{message.id}",
    }
    assignee = await _active_user(org_id, ticket.assignee_id)
    if assignee is not None:
        earlier = await Message.find_one(
            {
                "ticketId": ticket.id,
                "_id": {"$ne": message.id},
                "createdAt": {"$lt": message.created_at},
            }
        )
        if earlier is not None:
            return [
                Notification(
                    **base,
                    user_id=assignee,
                    type=NotificationType.CUSTOMER_REPLY,
                    title=f"{who} replied",
                )
            ]
        recipients = [assignee]
    else:
        cursor = User.get_pymongo_collection().find({"orgId": org_id, "isActive": True}, {"_id": 1})
        recipients = [doc["_id"] async for doc in cursor]
    return [
        Notification(
            **base,
            user_id=user_id,
            type=NotificationType.NEW_MESSAGE,
            title=f"New message from {who}",
        )
        for user_id in recipients
    ]


async def _for_assignment(org_id: str, event_id: str, data: dict[str, Any]) -> list[Notification]:
    assignee_id = data.get("assigneeId")
    assigned_by = data.get("assignedBy") or {}
    if (
        not event_id
        or not assignee_id
        or assignee_id == data.get("previousAssigneeId")
        or assignee_id == assigned_by.get("id")  # assigning yourself needs no telling
    ):
        return []
    if await _active_user(org_id, assignee_id) is None:
        return []
    subject = data.get("subject") or "A ticket"
    by = f" by {assigned_by['name']}" if assigned_by.get("name") else ""
    customer = data.get("customer") or {}
    return [
        Notification(
            org_id=org_id,
            user_id=assignee_id,
            type=NotificationType.TICKET_ASSIGNED,
            title="Ticket assigned to you",
            message=_preview(f"“{subject}” was assigned to you{by}"),
            data={
                "ticketId": data.get("id"),
                "channelId": data.get("channelId"),
                "customerId": data.get("customerId"),
                "customerName": customer.get("name"),
                "assignedBy": assigned_by or None,
            },
            source_key=f"{events.TICKET_ASSIGNED}:{event_id}",
        )
    ]


async def _active_user(org_id: str, user_id: str | None) -> str | None:
    if not user_id:
        return None
    found = await User.get_pymongo_collection().find_one(
        {"_id": user_id, "orgId": org_id, "isActive": True}, {"_id": 1}
    )
    return found["_id"] if found else None


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


async def _insert_new(wanted: list[Notification]) -> list[Notification]:
    """Insert all; the unique (sourceKey, userId) index turns repeats into no-ops."""
    if not wanted:
        return []
    try:
        await Notification.insert_many(wanted, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != _DUPLICATE_KEY for e in errors):
            raise
        repeated = {e["index"] for e in errors}
        return [n for i, n in enumerate(wanted) if i not in repeated]
    return wanted
