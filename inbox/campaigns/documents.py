"""Campaigns (bulk outbound) and their recipients."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from inbox.document_base import _Base


class CampaignStatus(StrEnum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    SENDING = "SENDING"
    COMPLETED = "COMPLETED"


class RecipientStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class AudienceType(StrEnum):
    """Who a campaign goes to besides contacts added by hand (the sales document's
    `recipientType`); resolved to recipients when it starts (inbox/crm/audiences.py)."""

    ALL = "all"
    WITH_ORDERS = "with_orders"
    WITHOUT_ORDERS = "without_orders"
    VIP = "vip"  # customers tagged "VIP", in any case
    CUSTOM = "custom"  # the customers listed in `recipientIds`


class Campaign(_Base):
    """A bulk outbound message on one channel (inbox/campaigns/service.py).

    DRAFT -> SCHEDULED (future `scheduledAt`) -> SENDING -> COMPLETED; every move is one
    atomic conditional update, so a campaign is started and completed exactly once."""

    org_id: str
    channel_id: str
    name: str
    message_template: str
    status: CampaignStatus = CampaignStatus.DRAFT
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    created_by: str
    # Last time a recipient finished: a SENDING campaign with no progress for a while has
    # its PENDING recipients handed to the stream again (the embedded broker is memory-only).
    progress_at: datetime | None = None
    # EMAIL campaigns: the subject (a template like the body); opens and clicks counted
    # once per recipient by the public tracking endpoints (inbox/campaigns/email_campaigns.py).
    subject: str | None = None
    opened_count: int = 0
    clicked_count: int = 0
    # Audience (inbox/crm/audiences.py): a saved segment and/or a recipient type, turned
    # into recipients by the worker once the campaign is SENDING (`audienceLeaseUntil` is the
    # claim of the worker resolving it; `audienceResolvedAt` says it is done).
    segment_id: str | None = None
    recipient_type: AudienceType | None = None
    recipient_ids: list[str] = Field(default_factory=list)  # custom: customer ids
    template_id: str | None = None
    template_type: str | None = None  # the sales document's label: welcome, promotion ...
    audience_lease_until: datetime | None = None
    audience_resolved_at: datetime | None = None
    # Counters kept with $inc as recipients are added and finish; skipped = customers of the
    # audience with no address on the channel's platform. Delivered comes from receipts.
    recipient_count: int = 0
    sent_count: int = 0
    failed_count: int = 0
    skipped_count: int = 0
    delivered_count: int = 0
    read_count: int = 0

    class Settings:
        name = "campaigns"
        indexes = [
            IndexModel([("orgId", ASCENDING), ("createdAt", DESCENDING)]),
            IndexModel([("status", ASCENDING), ("scheduledAt", ASCENDING)]),
            IndexModel([("status", ASCENDING), ("audienceLeaseUntil", ASCENDING)]),
        ]


class CampaignRecipient(_Base):
    """One contact of a campaign; its status follows the message sent to it."""

    org_id: str
    campaign_id: str
    channel_id: str
    recipient_contact: str
    """The platform thread id: WhatsApp wa_id (digits), PSID, IGSID, or a MOCK id."""
    customer_id: str | None = None  # known when the recipient came from the audience
    position: int = 0  # order added, for listing
    status: RecipientStatus = RecipientStatus.PENDING
    sent_at: datetime | None = None
    error: str | None = None
    message_id: str | None = None
    ticket_id: str | None = None
    handed_off_at: datetime | None = None
    # EMAIL: the unguessable token of this recipient's tracking URLs, the links its e-mail
    # contained (the only targets a click may redirect to), and its first open and click.
    tracking_token: str | None = None
    tracked_links: list[str] = Field(default_factory=list)
    opened_at: datetime | None = None
    clicked_at: datetime | None = None

    class Settings:
        name = "campaign_recipients"
        indexes = [
            IndexModel([("campaignId", ASCENDING), ("recipientContact", ASCENDING)], unique=True),
            IndexModel([("trackingToken", ASCENDING)]),
            IndexModel([("campaignId", ASCENDING), ("status", ASCENDING)]),
            IndexModel([("campaignId", ASCENDING), ("position", ASCENDING)]),
            IndexModel([("orgId", ASCENDING), ("campaignId", ASCENDING)]),
        ]
