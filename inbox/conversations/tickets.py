"""Tickets: one conversation with one customer on one channel."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from pymongo.errors import DuplicateKeyError

from inbox import events
from inbox.accounts.documents import User
from inbox.audit import service as audit
from inbox.caches import Caches
from inbox.channels.documents import Channel
from inbox.commerce import orders as order_service
from inbox.conversations import ticket_list
from inbox.conversations.documents import Message, Priority, Ticket, TicketStatus
from inbox.conversations.views import TicketView, message_view, ticket_view
from inbox.crm.customer_documents import Customer, Identity
from inbox.document_base import utcnow
from inbox.errors import Conflict, ValidationFailed
from inbox.ports import EventPublisher
from inbox.queries import get_in_org

UNASSIGNED = "unassigned"
OPEN_STATES = (TicketStatus.OPEN, TicketStatus.PENDING)


def open_key(channel_id: str, thread_id: str) -> str:
    return f"{channel_id}:{thread_id}"


@dataclass(frozen=True)
class TicketFilters:
    status: TicketStatus | None = None
    assignee_id: str | None = None  # a user id, or UNASSIGNED
    channel_id: str | None = None
    priority: Priority | None = None
    customer_id: str | None = None


async def _refs(
    document: type[Channel] | type[Customer] | type[User], ids: set[str], fields: tuple[str, ...]
) -> dict[str, Any]:
    """`ids` -> an object with `id` and `fields`: what a ticket's view shows of the document.
    A projected read without Beanie's parsing (a whole Customer is large, and parsing 20 of
    them took a good part of a list request); the view's own models validate the values."""
    if not ids:
        return {}
    cursor = document.get_pymongo_collection().find(
        {"_id": {"$in": sorted(ids)}}, {f: 1 for f in fields}
    )
    out: dict[str, Any] = {}
    async for d in cursor:
        out[d["_id"]] = SimpleNamespace(id=d["_id"], **{f: d.get(f) for f in fields})
    return out


async def views(tickets: list[Ticket]) -> list[TicketView]:
    """Views for a page of tickets with three batched look-ups, not three per ticket, all
    three at once."""
    chans, custs, users = await asyncio.gather(
        _refs(Channel, {t.channel_id for t in tickets}, ("name", "type")),
        _refs(Customer, {t.customer_id for t in tickets if t.customer_id}, ("name", "platform")),
        _refs(User, {t.assignee_id for t in tickets if t.assignee_id}, ("name",)),
    )
    return [
        ticket_view(
            t,
            chans.get(t.channel_id),
            custs.get(t.customer_id or ""),
            users.get(t.assignee_id or ""),
        )
        for t in tickets
    ]


async def view(ticket: Ticket) -> TicketView:
    return (await views([ticket]))[0]


async def publish(publisher: EventPublisher, name: str, ticket: Ticket) -> None:
    await publisher.publish(ticket.org_id, name, (await view(ticket)).dump())


def list_filters(filters: TicketFilters) -> dict[str, Any]:
    """The list's equality conditions besides `orgId`, as stored (`None`: no assignee)."""
    query: dict[str, Any] = {}
    if filters.status:
        query["status"] = filters.status.value
    if filters.assignee_id == UNASSIGNED:
        query["assigneeId"] = None
    elif filters.assignee_id:
        query["assigneeId"] = filters.assignee_id
    if filters.channel_id:
        query["channelId"] = filters.channel_id
    if filters.priority:
        query["priority"] = filters.priority.value
    if filters.customer_id:
        query["customerId"] = filters.customer_id
    return query


async def list_tickets(
    caches: Caches, org_id: str, filters: TicketFilters, skip: int, limit: int
) -> tuple[list[Ticket], int]:
    """A page in list order (latest activity first, then id) and the number of matches.

    Both avoid reading every match on the embedded MongoDB server: the count is kept per
    filter and brought up to date from the tickets changed since (ticket_counts), the page
    is read through recent-activity windows (ticket_list)."""
    conditions = list_filters(filters)
    counts, windows = caches.ticket_counts, caches.list_windows
    hint = counts.last_known(org_id, conditions)
    if hint is None:  # the first time: count first, the page starts better knowing it
        total = await counts.count(org_id, conditions)
        page = await ticket_list.page(
            org_id, conditions, skip, limit, windows=windows, total_hint=total
        )
        return page, total
    # Both at once: the page only takes the count as a hint of where to start.
    total, page = await asyncio.gather(
        counts.count(org_id, conditions),
        ticket_list.page(org_id, conditions, skip, limit, windows=windows, total_hint=hint),
    )
    return page, total


async def listed(
    caches: Caches, org_id: str, filters: TicketFilters, skip: int, limit: int
) -> tuple[list[TicketView], int]:
    """`list_tickets` as the API shows it: the page's views and the number of matches."""
    found, total = await list_tickets(caches, org_id, filters, skip, limit)
    return await views(found), total


async def get(org_id: str, ticket_id: str) -> Ticket:
    return await get_in_org(Ticket, org_id, ticket_id, "Ticket")


async def get_with_messages(org_id: str, ticket_id: str, limit: int = 200) -> dict[str, Any]:
    ticket = await get(org_id, ticket_id)
    msgs = (
        await Message.find(Message.ticket_id == ticket.id)
        .sort(+Message.timestamp, +Message.created_at)
        .limit(limit)
        .to_list()
    )
    senders = {m.sender_user_id for m in msgs if m.sender_user_id}
    users = (
        {u.id: u for u in await User.find({"_id": {"$in": list(senders)}}).to_list()}
        if senders
        else {}
    )
    out = (await view(ticket)).dump()
    out["messages"] = [message_view(m, users.get(m.sender_user_id or "")).dump() for m in msgs]
    # What the agent needs next to the conversation: the customer's latest orders.
    out["recentOrders"] = (
        [o.dump() for o in await order_service.recent_orders(org_id, ticket.customer_id)]
        if ticket.customer_id
        else []
    )
    return out


async def create(
    publisher: EventPublisher,
    org_id: str,
    *,
    channel_id: str,
    customer_id: str,
    subject: str,
    priority: Priority,
    actor: User | None = None,
) -> TicketView:
    channel = await Channel.find_one(
        Channel.org_id == org_id,
        Channel.id == channel_id,
        Channel.deleted_at == None,  # noqa: E711
    )
    if channel is None:
        raise ValidationFailed("Unknown channel", details={"channelId": "no such channel"})
    customer = await Customer.find_one(Customer.org_id == org_id, Customer.id == customer_id)
    if customer is None:
        raise ValidationFailed("Unknown customer", details={"customerId": "no such customer"})
    # The conversation is with the customer's identity on this channel's platform.
    known = customer.identities or (  # a customer stored before identities: its first one
        [Identity(platform=customer.platform, external_id=customer.external_id)]
        if customer.platform and customer.external_id
        else []
    )
    thread_id = next((i.external_id for i in known if i.platform == channel.type), None)
    if thread_id is None:
        on = sorted({i.platform.value for i in known}) or ["no platform"]
        raise ValidationFailed(
            "Customer is not on this channel's platform",
            details={"customerId": f"customer is on {', '.join(on)}, channel is {channel.type}"},
        )
    ticket = Ticket(
        org_id=org_id,
        channel_id=channel.id,
        customer_id=customer.id,
        external_thread_id=thread_id,
        subject=subject,
        priority=priority,
        open_key=open_key(channel.id, thread_id),
    )
    try:
        await ticket.insert()
    except DuplicateKeyError as exc:
        existing = await Ticket.find_one(Ticket.open_key == ticket.open_key)
        raise Conflict(
            "This customer already has an open ticket on this channel",
            code="OPEN_TICKET_EXISTS",
            details={"ticketId": existing.id if existing else None},
        ) from exc
    await Customer.get_pymongo_collection().update_one(
        {"_id": customer.id}, {"$addToSet": {"channelIds": channel.id}}
    )
    await publish(publisher, events.TICKET_CREATED, ticket)
    await audit.record(actor, "ticket.create", "ticket", ticket.id, {"subject": subject})
    return await view(ticket)


async def _apply(ticket: Ticket, changes: dict[str, Any]) -> Ticket:
    """Write field changes; moving between open and closed states maintains `openKey`."""
    now = utcnow()
    update: dict[str, Any] = {"$set": {**changes, "updatedAt": now, "lastActivityAt": now}}
    new_status = changes.get("status")
    if new_status == TicketStatus.CLOSED and ticket.status != TicketStatus.CLOSED:
        update["$set"]["closedAt"] = now
        update["$unset"] = {"openKey": ""}
    elif new_status in OPEN_STATES and ticket.status == TicketStatus.CLOSED:
        update["$set"]["openKey"] = open_key(ticket.channel_id, ticket.external_thread_id)
        update["$unset"] = {"closedAt": ""}
    try:
        await Ticket.get_pymongo_collection().update_one({"_id": ticket.id}, update)
    except DuplicateKeyError as exc:
        raise Conflict(
            "Another ticket is already open for this conversation", code="OPEN_TICKET_EXISTS"
        ) from exc
    refreshed = await Ticket.find_one(Ticket.id == ticket.id)
    assert refreshed is not None
    return refreshed


async def update(
    publisher: EventPublisher,
    org_id: str,
    ticket_id: str,
    *,
    subject: str | None = None,
    status: TicketStatus | None = None,
    priority: Priority | None = None,
    actor: User | None = None,
) -> Ticket:
    ticket = await get(org_id, ticket_id)
    changes: dict[str, Any] = {}
    if subject is not None:
        changes["subject"] = subject
    if status is not None:
        changes["status"] = status.value
    if priority is not None:
        changes["priority"] = priority.value
    if not changes:
        return ticket
    ticket = await _apply(ticket, changes)
    await publish(publisher, events.TICKET_UPDATED, ticket)
    await audit.record(actor, "ticket.update", "ticket", ticket.id, {"changes": changes})
    return ticket


async def edit(
    publisher: EventPublisher,
    org_id: str,
    ticket_id: str,
    *,
    subject: str | None = None,
    status: TicketStatus | None = None,
    priority: Priority | None = None,
    actor: User | None = None,
) -> TicketView:
    """An agent's `update` through the API: the ticket's view afterwards."""
    ticket = await update(
        publisher,
        org_id,
        ticket_id,
        subject=subject,
        status=status,
        priority=priority,
        actor=actor,
    )
    return await view(ticket)


async def assign(
    publisher: EventPublisher,
    org_id: str,
    ticket_id: str,
    assignee_id: str | None,
    actor: User | None = None,
) -> TicketView:
    ticket = await get(org_id, ticket_id)
    previous = ticket.assignee_id
    if assignee_id is not None:
        user = await User.find_one(User.org_id == org_id, User.id == assignee_id)
        if user is None or not user.is_active:
            raise ValidationFailed(
                "Assignee must be an active user of this organisation",
                details={"assigneeId": "not an active user of this organisation"},
            )
    ticket = await _apply(ticket, {"assigneeId": assignee_id})
    shown = await view(ticket)  # one view for both events and the answer
    await publisher.publish(org_id, events.TICKET_UPDATED, shown.dump())
    if previous != assignee_id:
        # ticket.updated cannot tell who had it before; notifications need to know.
        by = {"id": actor.id, "name": actor.name} if actor else None
        data = {**shown.dump(), "previousAssigneeId": previous, "assignedBy": by}
        await publisher.publish(org_id, events.TICKET_ASSIGNED, data)
    await audit.record(
        actor,
        "ticket.assign",
        "ticket",
        ticket.id,
        {"assigneeId": assignee_id, "previousAssigneeId": previous},
    )
    return shown


async def close(
    publisher: EventPublisher, org_id: str, ticket_id: str, actor: User | None = None
) -> TicketView:
    ticket = await update(publisher, org_id, ticket_id, status=TicketStatus.CLOSED)
    await audit.record(actor, "ticket.close", "ticket", ticket.id)
    return await view(ticket)
