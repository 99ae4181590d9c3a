"""The inbox analytics answers: tickets, channels, campaigns and agents per period."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from connectors.base import ChannelType
from inbox.accounts.documents import Role
from inbox.campaigns.documents import CampaignStatus
from inbox.view_base import ChannelRef, View

# -- analytics -------------------------------------------------------------------------------


class AnalyticsPeriod(View):
    """The period a report covers (UTC dates, inclusive); null ends mean unbounded."""

    from_: date | None = Field(alias="from")
    to: date | None


class DailyTicketStat(View):
    date: str  # YYYY-MM-DD (UTC)
    created: int
    closed: int


class TicketAnalyticsView(View):
    period: AnalyticsPeriod
    total_tickets: int
    open_tickets: int
    """Not closed: OPEN plus PENDING."""
    closed_tickets: int
    avg_response_time: float | None
    """Mean seconds from a ticket's first inbound message to its first agent reply."""
    tickets_by_status: dict[str, int]
    tickets_by_channel: dict[str, int]
    """Channel id -> tickets."""
    daily_stats: list[DailyTicketStat]


class ChannelStat(View):
    channel_id: str
    name: str
    type: ChannelType
    is_active: bool
    messages_in: int
    messages_out: int
    tickets: int
    open_tickets: int
    customers: int


class ChannelAnalyticsView(View):
    period: AnalyticsPeriod
    total_messages_in: int
    total_messages_out: int
    total_tickets: int
    total_customers: int
    channels: list[ChannelStat]


class CampaignStat(View):
    campaign_id: str
    name: str
    status: CampaignStatus
    channel: ChannelRef | None
    recipients: int
    sent: int
    failed: int
    pending: int
    delivered: int
    read: int
    delivery_rate: float | None
    """delivered / sent (0..1); null before anything was sent."""
    read_rate: float | None
    """read / sent (0..1)."""
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class CampaignAnalyticsView(View):
    period: AnalyticsPeriod
    total_campaigns: int
    campaigns_by_status: dict[str, int]
    total_recipients: int
    total_sent: int
    total_failed: int
    total_delivered: int
    total_read: int
    campaigns: list[CampaignStat]


class AgentStat(View):
    user_id: str
    name: str
    email: str
    role: Role
    is_active: bool
    assigned: int
    """Tickets assigned to the agent now."""
    open: int
    closed: int
    replies: int
    avg_first_response_time: float | None
    """Mean seconds to first reply on the agent's tickets."""
    avg_resolution_time: float | None
    """Mean seconds from creation to close of the agent's closed tickets."""


class AgentAnalyticsView(View):
    period: AnalyticsPeriod
    agents: list[AgentStat]
