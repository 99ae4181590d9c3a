"""/orgs/{orgId}/tickets and their messages."""

from __future__ import annotations

from aiohttp import web

from inbox.conversations import messages as message_service
from inbox.conversations import tickets as ticket_service
from inbox.conversations.views import MessageView, TicketView
from inbox.crm.views import TicketDetailView
from web import keys
from web.auth import authenticated, current_user
from web.conversations.schemas import (
    AssignBody,
    MessageBody,
    TicketCreateBody,
    TicketQuery,
    TicketUpdateBody,
)
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import json_body, query

OPERATION_PREFIX = "tickets"  # operation ids in /openapi.json


async def _one(ticket) -> web.Response:  # type: ignore[no-untyped-def]
    return web.json_response((await ticket_service.view(ticket)).dump())


@spec(
    "List tickets, newest activity first",
    tags=["tickets"],
    query=TicketQuery,
    response=TicketView,
    list_response=True,
)
@authenticated()
async def list_tickets(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, TicketQuery)
    filters = ticket_service.TicketFilters(
        status=q.status,
        assignee_id=q.assignee_id,
        channel_id=q.channel_id,
        priority=q.priority,
        customer_id=q.customer_id,
    )
    found, total = await ticket_service.list_tickets(
        current_user(request).org_id, filters, page.skip, page.limit
    )
    return paged_response(
        request, [v.dump() for v in await ticket_service.views(found)], total, page
    )


@spec(
    "Get a ticket with its messages and the customer's latest orders",
    tags=["tickets"],
    response=TicketDetailView,
)
@authenticated()
async def get(request: web.Request) -> web.Response:
    data = await ticket_service.get_with_messages(
        current_user(request).org_id, request.match_info["ticketId"]
    )
    return web.json_response(data)


@spec(
    "Open a ticket",
    tags=["tickets"],
    body=TicketCreateBody,
    response=TicketView,
    status=201,
    errors=[409],
)
@authenticated()
async def create(request: web.Request) -> web.Response:
    body = await json_body(request, TicketCreateBody)
    ticket = await ticket_service.create(
        request.app[keys.DEPS].events,
        current_user(request).org_id,
        channel_id=body.channel_id,
        customer_id=body.customer_id,
        subject=body.subject,
        priority=body.priority,
        actor=current_user(request),
    )
    return web.json_response((await ticket_service.view(ticket)).dump(), status=201)


@spec("Update a ticket", tags=["tickets"], body=TicketUpdateBody, response=TicketView, errors=[409])
@authenticated()
async def update(request: web.Request) -> web.Response:
    body = await json_body(request, TicketUpdateBody)
    ticket = await ticket_service.update(
        request.app[keys.DEPS].events,
        current_user(request).org_id,
        request.match_info["ticketId"],
        subject=body.subject,
        status=body.status,
        priority=body.priority,
        actor=current_user(request),
    )
    return await _one(ticket)


@spec("Assign or unassign a ticket", tags=["tickets"], body=AssignBody, response=TicketView)
@authenticated()
async def assign(request: web.Request) -> web.Response:
    body = await json_body(request, AssignBody)
    ticket = await ticket_service.assign(
        request.app[keys.DEPS].events,
        current_user(request).org_id,
        request.match_info["ticketId"],
        body.assignee_id,
        actor=current_user(request),
    )
    return await _one(ticket)


@spec("Close a ticket", tags=["tickets"], response=TicketView)
@authenticated()
async def close(request: web.Request) -> web.Response:
    me = current_user(request)
    ticket = await ticket_service.close(
        request.app[keys.DEPS].events, me.org_id, request.match_info["ticketId"], actor=me
    )
    return await _one(ticket)


@spec(
    "List a ticket's messages, oldest first",
    tags=["messages"],
    response=MessageView,
    list_response=True,
    page_size=50,
)
@authenticated()
async def list_messages(request: web.Request) -> web.Response:
    page = page_of(request, default_limit=50)
    msgs, total = await message_service.list_messages(
        current_user(request).org_id, request.match_info["ticketId"], page.skip, page.limit
    )
    return paged_response(request, [m.dump() for m in msgs], total, page)


@spec(
    "Reply on a ticket (queued, then sent through the channel)",
    tags=["messages"],
    body=MessageBody,
    response=MessageView,
    status=201,
    errors=[409],
)
@authenticated()
async def post_message(request: web.Request) -> web.Response:
    body = await json_body(request, MessageBody)
    message = await message_service.post_reply(
        request.app[keys.DEPS],
        current_user(request),
        request.match_info["ticketId"],
        content=body.content,
        metadata=body.metadata,
        macro_id=body.macro_id,
    )
    return web.json_response(message.dump(), status=201)
