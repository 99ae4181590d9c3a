"""Request bodies and query strings of /orgs/{orgId}/campaigns (camelCase, as documented)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from inbox.campaigns.documents import AudienceType, CampaignStatus, RecipientStatus
from inbox.crm.audiences import MAX_RECIPIENT_IDS
from web.schemas import Body

MAX_RECIPIENTS_PER_REQUEST = 10_000
TEMPLATE_HELP = (
    "Jinja2 template rendered per recipient: {{ customer.name }}, {{ customer.email }}, "
    "{{ customer.phone }}, {{ customer.city }}, {{ customer.tags }}, {{ customer.status }}, "
    "{{ customer.totalOrders }}, {{ customer.totalRevenue }}, {{ customer.lastOrderDate }}, "
    "{{ customer.externalId }}, {{ customer.platform }}, {{ customer.metadata.<key> }}, and "
    "{{ customer_name }} / {{ company_name }} (the organisation's name)"
)


class AudienceFields(Body):
    """Who a campaign goes to besides contacts added by hand: a segment or a recipient type."""

    segment_id: str | None = Field(
        default=None,
        max_length=100,
        description="A saved segment's customers (not with recipientType)",
    )
    recipient_type: AudienceType | None = Field(
        default=None,
        description="all, with_orders, without_orders, vip (customers tagged VIP, any case), "
        "custom (the customers in recipientIds). Only active customers receive campaigns; "
        "those without an address on the channel's platform are counted as skipped.",
    )
    recipient_ids: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None, max_length=MAX_RECIPIENT_IDS, description="custom: customer ids"
    )


class CampaignCreateBody(AudienceFields):
    channel_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    message_template: str | None = Field(
        default=None,
        min_length=1,
        max_length=65_536,
        description=TEMPLATE_HELP + ". At most 4096 characters, except the HTML body of an "
        "EMAIL campaign (values inserted into it are HTML-escaped). Required unless "
        "templateId is given",
    )
    template_id: str | None = Field(
        default=None,
        max_length=100,
        description="A message template of the channel's kind: its subject and body are "
        "copied in (unless given here)",
    )
    template_type: str | None = Field(
        default=None, max_length=50, description="A label: blank, welcome, promotion ..."
    )
    subject: str | None = Field(
        default=None,
        max_length=250,
        description="EMAIL campaigns (required there): the subject, a template like the body",
    )
    scheduled_at: datetime | None = Field(
        default=None, description="When the worker starts it (must be in the future; UTC)"
    )

    @field_validator("scheduled_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        # A time without a zone is read as UTC, like every time the API returns.
        return v.replace(tzinfo=UTC) if v is not None and v.tzinfo is None else v


class RecipientsBody(Body):
    recipients: list[str] = Field(
        min_length=1,
        max_length=MAX_RECIPIENTS_PER_REQUEST,
        description="Contact identifiers: WhatsApp phone numbers, or PSIDs / IGSIDs of "
        "customers known on the channel (MOCK: any id)",
    )

    @field_validator("recipients", mode="before")
    @classmethod
    def _numbers_as_text(cls, v: Any) -> Any:
        # Phone numbers are often sent as JSON numbers; they are identifiers all the same.
        if isinstance(v, list):
            return [str(x) if isinstance(x, int) and not isinstance(x, bool) else x for x in v]
        return v


class _Query(Body):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", str_strip_whitespace=True
    )

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v


class CampaignQuery(_Query):
    status: CampaignStatus | None = None


class RecipientQuery(_Query):
    status: RecipientStatus | None = None
