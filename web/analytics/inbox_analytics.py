"""/orgs/analytics/*: the caller's organisation (from the token) in figures."""

from __future__ import annotations

from aiohttp import web

from inbox.analytics import inbox_analytics as analytics_service
from inbox.analytics.inbox_analytics import Period
from inbox.analytics.views import (
    AgentAnalyticsView,
    CampaignAnalyticsView,
    ChannelAnalyticsView,
    TicketAnalyticsView,
)
from web.analytics.schemas import AnalyticsQuery, TicketAnalyticsQuery
from web.auth import authenticated, current_user
from web.openapi import spec
from web.parsing import query

OPERATION_PREFIX = "analytics"  # operation ids in /openapi.json

_TAGS = ["analytics"]
_PERIOD = (
    " `from`/`to` (UTC dates, inclusive, or date-times) limit it to what was created in "
    "that period."
)


def _period(q: AnalyticsQuery) -> Period:
    return Period.of(q.from_, q.to)


@spec(
    "Ticket analytics",
    description="Counts by status and channel, mean first response time in seconds (first "
    "inbound message to first agent reply), and created/closed per day (the last 30 days "
    "without a period)." + _PERIOD,
    tags=_TAGS,
    query=TicketAnalyticsQuery,
    response=TicketAnalyticsView,
)
@authenticated(org_scoped=False)
async def tickets(request: web.Request) -> web.Response:
    q = query(request, TicketAnalyticsQuery)
    result = await analytics_service.tickets(
        current_user(request).org_id, _period(q), channel_id=q.channel_id
    )
    return web.json_response(result.dump())


@spec(
    "Channel analytics",
    description="Per channel: messages in and out, tickets, customers." + _PERIOD,
    tags=_TAGS,
    query=AnalyticsQuery,
    response=ChannelAnalyticsView,
)
@authenticated(org_scoped=False)
async def channels(request: web.Request) -> web.Response:
    q = query(request, AnalyticsQuery)
    result = await analytics_service.channels(current_user(request).org_id, _period(q))
    return web.json_response(result.dump())


@spec(
    "Campaign analytics",
    description="Per campaign: recipients sent, failed and pending, and delivery and read "
    "rates from the platforms' receipts." + _PERIOD,
    tags=_TAGS,
    query=AnalyticsQuery,
    response=CampaignAnalyticsView,
)
@authenticated(org_scoped=False)
async def campaigns(request: web.Request) -> web.Response:
    q = query(request, AnalyticsQuery)
    result = await analytics_service.campaigns(current_user(request).org_id, _period(q))
    return web.json_response(result.dump())


@spec(
    "Agent analytics",
    description="Per user: tickets assigned, open and closed, replies written, and the mean "
    "first response and resolution times (seconds) of their tickets." + _PERIOD,
    tags=_TAGS,
    query=AnalyticsQuery,
    response=AgentAnalyticsView,
)
@authenticated(org_scoped=False)
async def agents(request: web.Request) -> web.Response:
    q = query(request, AnalyticsQuery)
    result = await analytics_service.agents(current_user(request).org_id, _period(q))
    return web.json_response(result.dump())
