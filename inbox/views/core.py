"""What the API and the websocket show of each document: one pydantic model per shape.

The same models render HTTP responses and realtime event data, so a ticket looks the same
whether it was fetched or pushed. Secrets never reach a view (see `channel_view`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from inbox import documents as d


class View(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class UserView(View):
    id: str
    email: str
    name: str
    role: d.Role
    org_id: str
    is_active: bool
    created_at: datetime


class AuthUserView(View):
    id: str
    email: str
    name: str
    role: d.Role
    org_id: str


class OrgView(View):
    id: str
    name: str
    created_at: datetime
    updated_at: datetime


class InviteView(View):
    id: str
    email: str
    role: d.Role
    accepted: bool
    expires_at: datetime
    created_at: datetime


class ChannelView(View):
    id: str
    type: d.ChannelType
    name: str
    config: dict[str, Any]
    is_active: bool
    webhook_url: str
    created_at: datetime
    updated_at: datetime


class Ref(View):
    id: str
    name: str


class ChannelRef(Ref):
    type: d.ChannelType


class CustomerRef(Ref):
    platform: d.ChannelType | None


class IdentityView(View):
    platform: d.ChannelType
    external_id: str = Field(description="The customer's id there: wa_id, PSID, IGSID, address")


class CustomerView(View):
    id: str
    name: str
    avatar: str | None
    platform: d.ChannelType | None = Field(
        description="Where the customer first wrote from; null when created by hand or by an order"
    )
    external_id: str | None
    identities: list[IdentityView]
    email: str | None
    phone: str | None = Field(description="E.164")
    tags: list[str]
    notes: str | None
    status: d.CustomerStatus
    city: str | None
    birthday: datetime | None
    anniversary: datetime | None
    total_orders: int
    total_revenue: float = Field(description="Sum of the totals of orders not cancelled")
    last_order_date: datetime | None
    last_message_at: datetime | None
    last_message: str | None
    is_active: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class TicketView(View):
    id: str
    subject: str
    status: d.TicketStatus
    priority: d.Priority
    channel_id: str
    customer_id: str | None
    assignee_id: str | None
    external_thread_id: str
    last_message_at: datetime | None
    last_message_preview: str | None
    created_at: datetime
    updated_at: datetime
    channel: ChannelRef | None
    customer: CustomerRef | None
    assignee: Ref | None


class MessageView(View):
    id: str
    ticket_id: str
    channel_id: str
    direction: d.Direction
    external_message_id: str | None
    sender_name: str
    content: str
    type: str
    metadata: dict[str, Any]
    status: d.DeliveryStatus
    error: dict[str, Any] | None
    timestamp: datetime
    created_at: datetime
    updated_at: datetime
    sender_user: Ref | None


class TicketWithMessagesView(TicketView):
    messages: list[MessageView]


def user_view(user: d.User) -> UserView:
    return UserView.model_validate(user, from_attributes=True)


def auth_user_view(user: d.User) -> AuthUserView:
    return AuthUserView.model_validate(user, from_attributes=True)


def org_view(org: d.Organisation) -> OrgView:
    return OrgView.model_validate(org, from_attributes=True)


def invite_view(invite: d.Invite) -> InviteView:
    return InviteView(
        id=invite.id,
        email=invite.email,
        role=invite.role,
        accepted=invite.accepted_at is not None,
        expires_at=invite.expires_at,
        created_at=invite.created_at,
    )


def channel_view(channel: d.Channel, secret_fields: frozenset[str], public_url: str) -> ChannelView:
    # Secrets are write-only: shown only as whether they are set.
    config = {
        k: ("********" if v else "") if k in secret_fields else v
        for k, v in channel.config.items()
        if k != "apiBaseUrl" or v
    }
    return ChannelView(
        id=channel.id,
        type=channel.type,
        name=channel.name,
        config=config,
        is_active=channel.is_active,
        webhook_url=f"{public_url.rstrip('/')}/webhook/{channel.id}",
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


def customer_view(customer: d.Customer) -> CustomerView:
    return CustomerView.model_validate(customer, from_attributes=True)


def ticket_view(
    ticket: d.Ticket,
    channel: d.Channel | None,
    customer: d.Customer | None,
    assignee: d.User | None,
) -> TicketView:
    return TicketView(
        id=ticket.id,
        subject=ticket.subject,
        status=ticket.status,
        priority=ticket.priority,
        channel_id=ticket.channel_id,
        customer_id=ticket.customer_id,
        assignee_id=ticket.assignee_id,
        external_thread_id=ticket.external_thread_id,
        last_message_at=ticket.last_message_at,
        last_message_preview=ticket.last_message_preview,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        channel=ChannelRef(id=channel.id, name=channel.name, type=channel.type)
        if channel
        else None,
        customer=(
            CustomerRef(id=customer.id, name=customer.name, platform=customer.platform)
            if customer
            else None
        ),
        assignee=Ref(id=assignee.id, name=assignee.name) if assignee else None,
    )


def message_view(message: d.Message, sender: d.User | None = None) -> MessageView:
    return MessageView(
        id=message.id,
        ticket_id=message.ticket_id,
        channel_id=message.channel_id,
        direction=message.direction,
        external_message_id=message.external_message_id,
        sender_name=message.sender_name,
        content=message.content,
        type=message.type,
        metadata=message.metadata,
        status=message.status,
        error=message.error,
        timestamp=message.timestamp,
        created_at=message.created_at,
        updated_at=message.updated_at,
        sender_user=Ref(id=sender.id, name=sender.name) if sender else None,
    )


class MacroView(View):
    id: str
    name: str
    content: str
    created_at: datetime
    updated_at: datetime
    created_by_user: Ref | None


class AuditLogView(View):
    id: str
    action: str
    entity: str
    entity_id: str
    metadata: dict[str, Any]
    created_at: datetime
    user: Ref | None


class NotificationView(View):
    id: str
    type: d.NotificationType
    title: str
    message: str
    data: dict[str, Any]
    is_read: bool
    read_at: datetime | None
    created_at: datetime


def macro_view(macro: d.Macro, creator: d.User | None) -> MacroView:
    return MacroView(
        id=macro.id,
        name=macro.name,
        content=macro.content,
        created_at=macro.created_at,
        updated_at=macro.updated_at,
        created_by_user=Ref(id=creator.id, name=creator.name) if creator else None,
    )


def audit_log_view(entry: d.AuditLog, user: d.User | None) -> AuditLogView:
    return AuditLogView(
        id=entry.id,
        action=entry.action,
        entity=entry.entity,
        entity_id=entry.entity_id,
        metadata=entry.metadata,
        created_at=entry.created_at,
        user=Ref(id=user.id, name=user.name) if user else None,
    )


def notification_view(notification: d.Notification) -> NotificationView:
    return NotificationView.model_validate(notification, from_attributes=True)


class PlatformCountsView(BaseModel):
    """Customers per platform, every platform present (zero when none). Keys are the
    platform names themselves, so no camelCase alias applies."""

    INSTAGRAM: int = 0
    FACEBOOK: int = 0
    WHATSAPP: int = 0
    TWITTER: int = 0
    LINKEDIN: int = 0
    EMAIL: int = 0
    SMS: int = 0
    MOCK: int = 0

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class CustomerDashboardView(View):
    total_customers: int
    active_customers: int
    new_last7_days: int
    new_last30_days: int
    by_platform: PlatformCountsView
    recent_conversations: list[TicketView] = Field(
        description="The latest conversations (by activity) with customer and last message"
    )


class AuditSummaryView(View):
    total: int
    by_action: dict[str, int] = Field(description="Entries per action, most frequent first")
    by_entity: dict[str, int] = Field(description="Entries per entity, most frequent first")


class MarkedReadView(View):
    success: bool
    message: str
    count: int = Field(description="How many notifications were unread and are now read")


# -- campaigns -------------------------------------------------------------------------------


class CampaignView(View):
    id: str
    name: str
    message_template: str
    status: d.CampaignStatus
    scheduled_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    channel_id: str
    created_at: datetime
    updated_at: datetime
    channel: ChannelRef | None
    subject: str | None = Field(default=None, description="EMAIL campaigns: a template too")
    opened_count: int = Field(default=0, description="EMAIL: recipients who opened it")
    clicked_count: int = Field(default=0, description="EMAIL: recipients who clicked a link")
    segment_id: str | None = Field(default=None, description="Audience: a saved segment")
    recipient_type: d.AudienceType | None = Field(
        default=None, description="Audience: all, with_orders, without_orders, vip, custom"
    )
    recipient_ids: list[str] = Field(default_factory=list, description="custom: customer ids")
    template_id: str | None = None
    template_type: str | None = None
    audience_resolved_at: datetime | None = Field(
        default=None, description="When the audience became recipients (after the start)"
    )
    recipient_count: int = Field(default=0, description="Recipients so far")
    sent_count: int = 0
    delivered_count: int = Field(default=0, description="Confirmed by status webhooks")
    read_count: int = Field(default=0, description="Read, by status webhooks")
    failed_count: int = 0
    skipped_count: int = Field(
        default=0, description="Customers of the audience with no address on this platform"
    )


class CampaignStatsView(View):
    total_recipients: int
    sent_count: int
    failed_count: int
    pending_count: int
    delivered_count: int
    """Sent and confirmed delivered (or read) by the platform's status webhooks."""
    read_count: int
    opened_count: int = Field(default=0, description="EMAIL: recipients who opened it (once each)")
    clicked_count: int = Field(default=0, description="EMAIL: recipients who clicked (once each)")
    skipped_count: int = Field(
        default=0, description="Customers of the audience with no address on this platform"
    )


class CampaignProgressView(CampaignView):
    """Data of the campaign.started / campaign.updated / campaign.completed events."""

    stats: CampaignStatsView


class CampaignRecipientView(View):
    id: str
    recipient_contact: str
    status: d.RecipientStatus
    sent_at: datetime | None
    error: str | None
    ticket_id: str | None
    message_id: str | None
    created_at: datetime
    opened_at: datetime | None = Field(default=None, description="EMAIL: first open")
    clicked_at: datetime | None = Field(default=None, description="EMAIL: first click")


class InvalidRecipient(View):
    recipient: str
    reason: str


class RecipientsAddedView(View):
    success: bool
    message: str
    added: int
    duplicates: int
    invalid: list[InvalidRecipient]


def campaign_view(campaign: d.Campaign, channel: d.Channel | None) -> CampaignView:
    return CampaignView(
        id=campaign.id,
        name=campaign.name,
        message_template=campaign.message_template,
        status=campaign.status,
        scheduled_at=campaign.scheduled_at,
        started_at=campaign.started_at,
        completed_at=campaign.completed_at,
        channel_id=campaign.channel_id,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
        channel=ChannelRef(id=channel.id, name=channel.name, type=channel.type)
        if channel
        else None,
        subject=campaign.subject,
        opened_count=campaign.opened_count,
        clicked_count=campaign.clicked_count,
        segment_id=campaign.segment_id,
        recipient_type=campaign.recipient_type,
        recipient_ids=campaign.recipient_ids,
        template_id=campaign.template_id,
        template_type=campaign.template_type,
        audience_resolved_at=campaign.audience_resolved_at,
        recipient_count=campaign.recipient_count,
        sent_count=campaign.sent_count,
        delivered_count=campaign.delivered_count,
        read_count=campaign.read_count,
        failed_count=campaign.failed_count,
        skipped_count=campaign.skipped_count,
    )


def campaign_recipient_view(recipient: d.CampaignRecipient) -> CampaignRecipientView:
    return CampaignRecipientView.model_validate(recipient, from_attributes=True)


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
    type: d.ChannelType
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
    status: d.CampaignStatus
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
    role: d.Role
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
