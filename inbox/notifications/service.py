"""Notifications: private notes to one user, made by the stream worker from domain events.

Rules (`from_events`):
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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.errors import BulkWriteError

from connectors.base import Direction
from inbox import events
from inbox.accounts.documents import User
from inbox.conversations.documents import Message, Ticket
from inbox.crm.customer_documents import Customer
from inbox.document_base import utcnow
from inbox.errors import NotFound
from inbox.notifications.documents import Notification, NotificationType
from inbox.notifications.views import MarkedReadView, NotificationView, notification_view
from inbox.ports import EventPublisher
from inbox.queries import duplicate_positions, models_by_id

log = logging.getLogger(__name__)

PREVIEW_CHARS = 140


# ------------------------------------------------------------------ the API (a user's own)


def _own(user: User, unread_only: bool = False) -> dict[str, Any]:
    query: dict[str, Any] = {"orgId": user.org_id, "userId": user.id}
    if unread_only:
        query["isRead"] = False
    return query


async def list_for(
    user: User, *, unread_only: bool, skip: int, limit: int
) -> tuple[list[NotificationView], int, int]:
    """A page of the user's notifications, the number of matches, and the user's unread
    count (the badge, so a client needs no second request for it)."""
    found = Notification.find(_own(user, unread_only))
    total = await found.count()
    page = (
        await found.sort(-Notification.created_at, -Notification.id)
        .skip(skip)
        .limit(limit)
        .to_list()
    )
    unread = total if unread_only else await unread_count(user)
    return [notification_view(n) for n in page], total, unread


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


async def mark_all_read(user: User) -> MarkedReadView:
    now = utcnow()
    result = await Notification.get_pymongo_collection().update_many(
        _own(user, unread_only=True), {"$set": {"isRead": True, "readAt": now, "updatedAt": now}}
    )
    count = result.modified_count
    return MarkedReadView(
        success=True,
        message=f"{count} notification{'' if count == 1 else 's'} marked as read",
        count=count,
    )


# ------------------------------------------------------------------ the worker side


async def from_events(
    publisher: EventPublisher, records: Sequence[dict[str, Any]]
) -> list[Notification]:
    """Create (once) and push the notifications these events-topic records call for, in
    their order, with a few queries for the whole batch (not several per message).

    A record is what `FanoutPublisher` puts on the topic: {"id", "orgId", "event", "data"}.
    Returns the notifications created now (none for a repeat)."""
    wanted = [r for r in records if _may_notify(r)]
    if not wanted:
        return []
    facts = await _Facts.read(wanted)
    made: list[Notification] = []
    for record in wanted:
        org_id, data = str(record["orgId"]), record.get("data") or {}
        if record["event"] == events.MESSAGE_CREATED:
            made += await _for_inbound_message(facts, org_id, data)
        else:
            made += _for_assignment(facts, org_id, str(record.get("id", "")), data)
    created = await _insert_new(made)
    for n in created:
        await publisher.publish(
            n.org_id,
            events.NOTIFICATION_CREATED,
            {"userId": n.user_id, "notification": notification_view(n).dump()},
        )
    return created


def _may_notify(record: dict[str, Any]) -> bool:
    """Inbound messages and assignments notify; everything else is passed over unread."""
    if not record.get("orgId"):
        return False
    if record.get("event") == events.MESSAGE_CREATED:
        return (record.get("data") or {}).get("direction") == Direction.INBOUND.value
    return record.get("event") == events.TICKET_ASSIGNED


@dataclass
class _Facts:
    """What a batch of records needs to know, read together: tickets and messages by id,
    their customers, and each org's active users."""

    tickets: dict[str, Ticket]
    messages: dict[str, Message]
    customers: dict[str, Customer]
    active_users: dict[str, list[str]]

    @classmethod
    async def read(cls, records: Sequence[dict[str, Any]]) -> _Facts:
        inbound = [r.get("data") or {} for r in records if r["event"] == events.MESSAGE_CREATED]
        # By id alone (the embedded engine's fast path); each org is checked when used.
        tickets = await models_by_id(Ticket, {d.get("ticketId") for d in inbound})
        messages = await models_by_id(Message, {d.get("id") for d in inbound})
        customers = await models_by_id(Customer, {t.customer_id for t in tickets.values()})
        orgs = sorted({str(r["orgId"]) for r in records})
        active: dict[str, list[str]] = {org: [] for org in orgs}
        # By org alone, an index prefix; with `isActive` in the filter the embedded engine
        # would scan every user.
        cursor = User.get_pymongo_collection().find(
            {"orgId": {"$in": orgs}}, {"_id": 1, "orgId": 1, "isActive": 1}
        )
        async for doc in cursor:
            if doc.get("isActive"):
                active[doc["orgId"]].append(doc["_id"])
        return cls(tickets, messages, customers, active)

    def ticket(self, org_id: str, ticket_id: Any) -> Ticket | None:
        found = self.tickets.get(str(ticket_id))
        return found if found is not None and found.org_id == org_id else None

    def message(self, org_id: str, message_id: Any) -> Message | None:
        found = self.messages.get(str(message_id))
        return found if found is not None and found.org_id == org_id else None

    def customer(self, org_id: str, customer_id: str | None) -> Customer | None:
        found = self.customers.get(customer_id or "")
        return found if found is not None and found.org_id == org_id else None

    def active_user(self, org_id: str, user_id: str | None) -> str | None:
        return user_id if user_id and user_id in self.active_users.get(org_id, []) else None


async def _for_inbound_message(
    facts: _Facts, org_id: str, data: dict[str, Any]
) -> list[Notification]:
    if not data.get("id"):  # inbound only: `_may_notify` passed over the rest
        return []
    ticket = facts.ticket(org_id, data.get("ticketId"))
    message = facts.message(org_id, data["id"])
    if ticket is None or message is None:
        return []
    customer = facts.customer(org_id, ticket.customer_id)
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
    assignee = facts.active_user(org_id, ticket.assignee_id)
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
        recipients = facts.active_users.get(org_id, [])
    return [
        Notification(
            **base,
            user_id=user_id,
            type=NotificationType.NEW_MESSAGE,
            title=f"New message from {who}",
        )
        for user_id in recipients
    ]


def _for_assignment(
    facts: _Facts, org_id: str, event_id: str, data: dict[str, Any]
) -> list[Notification]:
    assignee_id = data.get("assigneeId")
    assigned_by = data.get("assignedBy") or {}
    if (
        not event_id
        or not assignee_id
        or assignee_id == data.get("previousAssigneeId")
        or assignee_id == assigned_by.get("id")  # assigning yourself needs no telling
    ):
        return []
    if facts.active_user(org_id, assignee_id) is None:
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
        repeated = duplicate_positions(exc)
        return [n for i, n in enumerate(wanted) if i not in repeated]
    return wanted
