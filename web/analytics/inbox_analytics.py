"""/orgs/analytics/*: the caller's organisation (from the token) in figures."""

from __future__ import annotations

from inbox.analytics import inbox_analytics as analytics_service
from inbox.analytics.inbox_analytics import Period
from inbox.analytics.views import (
    AgentAnalyticsView,
    CampaignAnalyticsView,
    ChannelAnalyticsView,
    TicketAnalyticsView,
)
from web.analytics.schemas import AnalyticsQuery, TicketAnalyticsQuery
from web.endpoints import Call, Routes

routes = Routes("analytics")

_TAGS = ["analytics"]
_PERIOD = (
    " `from`/`to` (UTC dates, inclusive, or date-times) limit it to what was created in "
    "that period."
)


def _period(q: AnalyticsQuery) -> Period:
    return Period.of(q.from_, q.to)


@routes.get(
    "/orgs/analytics/tickets",
    "Ticket analytics",
    description="Counts by status and channel, mean first response time in seconds (first "
    "inbound message to first agent reply), and created/closed per day (the last 30 days "
    "without a period)." + _PERIOD,
    tags=_TAGS,
    query=TicketAnalyticsQuery,
    response=TicketAnalyticsView,
    org_scoped=False,
)
async def tickets(call: Call[None, TicketAnalyticsQuery]) -> TicketAnalyticsView:
    q = call.query
    return await analytics_service.tickets(call.org_id, _period(q), channel_id=q.channel_id)


@routes.get(
    "/orgs/analytics/channels",
    "Channel analytics",
    description="Per channel: messages in and out, tickets, customers." + _PERIOD,
    tags=_TAGS,
    query=AnalyticsQuery,
    response=ChannelAnalyticsView,
    org_scoped=False,
)
async def channels(call: Call[None, AnalyticsQuery]) -> ChannelAnalyticsView:
    return await analytics_service.channels(call.org_id, _period(call.query))


@routes.get(
    "/orgs/analytics/campaigns",
    "Campaign analytics",
    description="Per campaign: recipients sent, failed and pending, and delivery and read "
    "rates from the platforms' receipts." + _PERIOD,
    tags=_TAGS,
    query=AnalyticsQuery,
    response=CampaignAnalyticsView,
    org_scoped=False,
)
async def campaigns(call: Call[None, AnalyticsQuery]) -> CampaignAnalyticsView:
    return await analytics_service.campaigns(call.org_id, _period(call.query))


@routes.get(
    "/orgs/analytics/agents",
    "Agent analytics",
    description="Per user: tickets assigned, open and closed, replies written, and the mean "
    "first response and resolution times (seconds) of their tickets." + _PERIOD,
    tags=_TAGS,
    query=AnalyticsQuery,
    response=AgentAnalyticsView,
    org_scoped=False,
)
async def agents(call: Call[None, AnalyticsQuery]) -> AgentAnalyticsView:
    return await analytics_service.agents(call.org_id, _period(call.query))
