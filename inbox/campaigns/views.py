"""What the API shows of campaigns, their progress and recipients."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from inbox.campaigns.documents import (
    AudienceType,
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    RecipientStatus,
)
from inbox.channels.documents import Channel
from inbox.view_base import ChannelRef, View

# -- campaigns -------------------------------------------------------------------------------


class CampaignView(View):
    id: str
    name: str
    message_template: str
    status: CampaignStatus
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
    recipient_type: AudienceType | None = Field(
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
    status: RecipientStatus
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


def campaign_view(campaign: Campaign, channel: Channel | None) -> CampaignView:
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


def campaign_recipient_view(recipient: CampaignRecipient) -> CampaignRecipientView:
    return CampaignRecipientView.model_validate(recipient, from_attributes=True)
