"""The sales document's e-mail and messaging shapes: views over campaigns and templates."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from inbox.campaigns.documents import AudienceType
from inbox.campaigns.template_documents import MessageTemplate, TemplateChannel
from inbox.view_base import View

__all__ = [
    "SalesStatus",
    "EmailCampaignView",
    "EmailCampaignCreatedView",
    "CampaignSendView",
    "EmailCampaignStatsView",
    "TextMessageView",
    "TextMessageSentView",
    "MessageStatsView",
    "EmailTemplateView",
    "TextTemplateView",
    "TemplateView",
    "email_template_view",
    "text_template_view",
    "template_view",
]

SalesStatus = Literal["draft", "scheduled", "sending", "sent"]
_RATE = "percent of sent, two decimals (0 before anything is sent)"


class _CampaignShape(View):
    id: str
    name: str
    channel_id: str
    status: SalesStatus = Field(
        description="draft, scheduled, sending (the worker is sending it) or sent (done)"
    )
    recipient_type: AudienceType | None = Field(
        description="all, with_orders, without_orders, vip (tagged VIP), custom; null for a "
        "segment audience (see segmentId)"
    )
    recipient_ids: list[str] = Field(description="custom: the customers' ids")
    segment_id: str | None
    recipient_count: int = Field(description="Recipients so far (the audience once resolved)")
    sent_count: int
    failed_count: int
    skipped_count: int = Field(description="Customers of the audience without an address here")
    schedule_at: datetime | None
    sent_at: datetime | None = Field(description="When sending began")
    completed_at: datetime | None
    created_by: str
    created_at: datetime


class EmailCampaignView(_CampaignShape):
    subject: str | None
    body: str = Field(description="The HTML body, a template")
    template_type: str | None = Field(description="blank, welcome, promotion, reminder ...")
    template_id: str | None
    opened_count: int
    clicked_count: int
    open_rate: float = Field(description=_RATE)
    click_rate: float = Field(description=_RATE)


class EmailCampaignCreatedView(EmailCampaignView):
    estimated_recipients: int = Field(
        description="The audience's active customers now (those without an e-mail address "
        "are skipped at send time)"
    )


class CampaignSendView(View):
    campaign_id: str
    status: SalesStatus
    recipient_count: int
    sent_count: int
    sent_at: datetime | None
    message: str


class EmailCampaignStatsView(View):
    total_campaigns: int
    total_sent: int
    total_opened: int
    total_clicked: int
    average_open_rate: float = Field(description="Mean of the sent campaigns' open rates (%)")
    average_click_rate: float = Field(description="Mean of the sent campaigns' click rates (%)")


class TextMessageView(_CampaignShape):
    type: Literal["sms", "whatsapp", "email"]
    content: str = Field(description="The message, a template")
    subject: str | None = Field(default=None, description="email only")
    delivered_count: int = Field(description="Confirmed delivered by the platform")
    delivery_rate: float = Field(description=_RATE)


class TextMessageSentView(TextMessageView):
    estimated_recipients: int


class MessageStatsView(View):
    total_sms_sent: int
    total_whats_app_sent: int = Field(alias="totalWhatsAppSent")
    total_messages: int
    average_delivery_rate: float = Field(description="Mean of the sent messages' rates (%)")


class EmailTemplateView(View):
    id: str
    name: str
    type: str | None = Field(description="The template's kind: welcome, promotion ...")
    subject: str | None
    body: str
    variables: list[str] = Field(description="What the subject and body read")
    created_at: datetime
    updated_at: datetime


class TextTemplateView(View):
    id: str
    name: str
    type: Literal["sms", "whatsapp"]
    content: str
    category: str | None
    variables: list[str]
    created_at: datetime
    updated_at: datetime


def email_template_view(t: MessageTemplate) -> EmailTemplateView:
    return EmailTemplateView(
        id=t.id,
        name=t.name,
        type=t.category,
        subject=t.subject,
        body=t.body,
        variables=t.variables,
        created_at=t.created_at,
        updated_at=t.updated_at,
    )


def text_template_view(t: MessageTemplate) -> TextTemplateView:
    return TextTemplateView(
        id=t.id,
        name=t.name,
        type=t.channel.value,  # type: ignore[arg-type] - sms or whatsapp on these paths
        content=t.body,
        category=t.category,
        variables=t.variables,
        created_at=t.created_at,
        updated_at=t.updated_at,
    )


TemplateView = EmailTemplateView | TextTemplateView


def template_view(t: MessageTemplate) -> TemplateView:
    """An e-mail template as /emails/templates shows it, an SMS or WhatsApp one as
    /messages/templates does."""
    return email_template_view(t) if t.channel == TemplateChannel.EMAIL else text_template_view(t)
