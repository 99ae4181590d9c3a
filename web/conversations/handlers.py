"""/orgs/{orgId}/tickets and their messages."""

from __future__ import annotations

from typing import Any

from inbox.conversations import messages as message_service
from inbox.conversations import tickets as ticket_service
from inbox.conversations.views import MessageView, TicketView
from inbox.crm.views import TicketDetailView
from web.conversations.schemas import (
    AssignBody,
    MessageBody,
    TicketCreateBody,
    TicketQuery,
    TicketUpdateBody,
)
from web.endpoints import Call, Paged, Routes

routes = Routes("tickets")  # operation ids in /openapi.json


@routes.get(
    "/orgs/{orgId}/tickets",
    "List tickets, newest activity first",
    tags=["tickets"],
    query=TicketQuery,
    response=TicketView,
    list_response=True,
)
async def list_tickets(call: Call[None, TicketQuery]) -> Paged:
    q = call.query
    filters = ticket_service.TicketFilters(
        status=q.status,
        assignee_id=q.assignee_id,
        channel_id=q.channel_id,
        priority=q.priority,
        customer_id=q.customer_id,
    )
    return Paged(
        *await ticket_service.listed(
            call.deps.caches, call.org_id, filters, call.page.skip, call.page.limit
        )
    )


@routes.post(
    "/orgs/{orgId}/tickets",
    "Open a ticket",
    tags=["tickets"],
    body=TicketCreateBody,
    response=TicketView,
    status=201,
    errors=[409],
)
async def create(call: Call[TicketCreateBody, None]) -> TicketView:
    return await ticket_service.create(
        call.deps.events,
        call.org_id,
        channel_id=call.body.channel_id,
        customer_id=call.body.customer_id,
        subject=call.body.subject,
        priority=call.body.priority,
        actor=call.user,
    )


@routes.get(
    "/orgs/{orgId}/tickets/{ticketId}",
    "Get a ticket with its messages and the customer's latest orders",
    tags=["tickets"],
    response=TicketDetailView,
)
async def get(call: Call[None, None]) -> dict[str, Any]:
    return await ticket_service.get_with_messages(call.org_id, call.path("ticketId"))


@routes.put(
    "/orgs/{orgId}/tickets/{ticketId}",
    "Update a ticket",
    tags=["tickets"],
    body=TicketUpdateBody,
    response=TicketView,
    errors=[409],
)
async def update(call: Call[TicketUpdateBody, None]) -> TicketView:
    return await ticket_service.edit(
        call.deps.events,
        call.org_id,
        call.path("ticketId"),
        subject=call.body.subject,
        status=call.body.status,
        priority=call.body.priority,
        actor=call.user,
    )


@routes.post(
    "/orgs/{orgId}/tickets/{ticketId}/assign",
    "Assign or unassign a ticket",
    tags=["tickets"],
    body=AssignBody,
    response=TicketView,
)
async def assign(call: Call[AssignBody, None]) -> TicketView:
    return await ticket_service.assign(
        call.deps.events,
        call.org_id,
        call.path("ticketId"),
        call.body.assignee_id,
        actor=call.user,
    )


@routes.post(
    "/orgs/{orgId}/tickets/{ticketId}/close",
    "Close a ticket",
    tags=["tickets"],
    response=TicketView,
)
async def close(call: Call[None, None]) -> TicketView:
    return await ticket_service.close(
        call.deps.events, call.org_id, call.path("ticketId"), actor=call.user
    )


@routes.get(
    "/orgs/{orgId}/tickets/{ticketId}/messages",
    "List a ticket's messages, oldest first",
    tags=["messages"],
    response=MessageView,
    list_response=True,
    page_size=50,
)
async def list_messages(call: Call[None, None]) -> Paged:
    return Paged(
        *await message_service.list_messages(
            call.org_id, call.path("ticketId"), call.page.skip, call.page.limit
        )
    )


@routes.post(
    "/orgs/{orgId}/tickets/{ticketId}/messages",
    "Reply on a ticket (queued, then sent through the channel)",
    tags=["messages"],
    body=MessageBody,
    response=MessageView,
    status=201,
    errors=[409],
)
async def post_message(call: Call[MessageBody, None]) -> MessageView:
    return await message_service.post_reply(
        call.deps,
        call.user,
        call.path("ticketId"),
        content=call.body.content,
        metadata=call.body.metadata,
        macro_id=call.body.macro_id,
    )
