"""The inbox's documents: organisations, users, channels, customers, tickets, messages and what
hangs off them (macros, audit, notifications, campaigns)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from beanie import Document
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pymongo import ASCENDING, DESCENDING, IndexModel

from connectors.base import ChannelType, DeliveryStatus, Direction
from inbox.documents.queries import FlatFindMany, FlatFindOne

__all__ = [
    "ChannelType",
    "DeliveryStatus",
    "Direction",
    "Role",
    "TicketStatus",
    "Priority",
    "Organisation",
    "User",
    "RefreshToken",
    "Invite",
    "Channel",
    "Customer",
    "Ticket",
    "Message",
    "PendingStatus",
    "WebhookDelivery",
    "Macro",
    "AuditLog",
    "NotificationType",
    "Notification",
    "CampaignStatus",
    "RecipientStatus",
    "AudienceType",
    "Campaign",
    "CampaignRecipient",
    "CORE_DOCUMENTS",
    "CustomerStatus",
    "Identity",
    "CustomerIdentity",
    "new_id",
    "utcnow",
]


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    # Mongo keeps milliseconds; trimming here keeps in-memory and stored values equal.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _alias(name: str) -> str:
    return "_id" if name == "id" else to_camel(name)


class Role(StrEnum):
    ADMIN = "ADMIN"
    AGENT = "AGENT"


class TicketStatus(StrEnum):
    OPEN = "OPEN"
    PENDING = "PENDING"
    CLOSED = "CLOSED"


class Priority(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class _Base(Document):
    model_config = ConfigDict(alias_generator=_alias, populate_by_name=True)
    # Flat filters: the embedded server plans no index for Beanie's `$and` (see queries.py).
    _find_one_query_class: ClassVar[type] = FlatFindOne
    _find_many_query_class: ClassVar[type] = FlatFindMany

    id: str = Field(default_factory=new_id)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Organisation(_Base):
    name: str

    class Settings:
        name = "organisations"


class User(_Base):
    org_id: str
    name: str
    email: str
    password_hash: str
    role: Role
    is_active: bool = True

    class Settings:
        name = "users"
        indexes = [
            IndexModel([("email", ASCENDING)], unique=True),
            IndexModel([("orgId", ASCENDING), ("createdAt", ASCENDING)]),
        ]


class RefreshToken(_Base):
    """Stored as a SHA-256 hash; rotated on every use. Reuse of a rotated token revokes its
    whole family, since only a thief would present it."""

    org_id: str
    user_id: str
    token_hash: str
    family_id: str
    expires_at: datetime
    revoked_at: datetime | None = None

    class Settings:
        name = "refresh_tokens"
        indexes = [
            IndexModel([("tokenHash", ASCENDING)], unique=True),
            IndexModel([("familyId", ASCENDING)]),
            IndexModel([("userId", ASCENDING)]),
        ]


class Invite(_Base):
    org_id: str
    email: str
    role: Role
    token_hash: str
    expires_at: datetime
    invited_by: str
    accepted_at: datetime | None = None

    class Settings:
        name = "invites"
        indexes = [
            IndexModel([("tokenHash", ASCENDING)], unique=True),
            IndexModel([("orgId", ASCENDING), ("createdAt", DESCENDING)]),
        ]


class Channel(_Base):
    org_id: str
    type: ChannelType
    name: str
    config: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True
    deleted_at: datetime | None = None

    class Settings:
        name = "channels"
        indexes = [IndexModel([("orgId", ASCENDING), ("createdAt", ASCENDING)])]


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    BLOCKED = "blocked"


class Identity(BaseModel):
    """One way to reach a customer: a platform and the customer's id there (WhatsApp wa_id,
    Messenger PSID, Instagram IGSID, an e-mail address, a phone number for SMS)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    platform: ChannelType
    external_id: str


class Customer(_Base):
    """One person, however they reached us: the conversations on every platform, the CRM
    record and the orders all hang off this one document.

    `platform`/`external_id` are the identity the customer first wrote from (None for a customer
    created by hand or by an order); `identities` lists every identity, the first included.
    Which identity belongs to whom is decided by `CustomerIdentity`, whose `_id` is unique.
    """

    org_id: str
    name: str
    platform: ChannelType | None = None
    external_id: str | None = None
    identities: list[Identity] = Field(default_factory=list)
    avatar: str | None = None
    channel_ids: list[str] = Field(default_factory=list)
    last_message_at: datetime | None = None
    last_message: str | None = None
    is_active: bool = True
    metadata: dict[str, Any] = Field(default_factory=dict)
    # CRM
    email: str | None = None  # lower-cased
    phone: str | None = None  # E.164
    tags: list[str] = Field(default_factory=list)
    notes: str | None = None
    status: CustomerStatus = CustomerStatus.ACTIVE
    city: str | None = None
    birthday: datetime | None = None
    anniversary: datetime | None = None
    # Commerce: kept current by the order service with $inc, so concurrent orders add up.
    total_orders: int = 0
    total_revenue: float = 0.0
    last_order_date: datetime | None = None

    class Settings:
        name = "customers"
        indexes = [
            IndexModel([("orgId", ASCENDING), ("platform", ASCENDING), ("externalId", ASCENDING)]),
            IndexModel([("orgId", ASCENDING), ("channelIds", ASCENDING)]),
            IndexModel([("orgId", ASCENDING), ("lastMessageAt", DESCENDING)]),
            IndexModel([("orgId", ASCENDING), ("createdAt", DESCENDING)]),
            IndexModel([("orgId", ASCENDING), ("email", ASCENDING)]),
            IndexModel([("orgId", ASCENDING), ("totalRevenue", DESCENDING)]),
        ]


class CustomerIdentity(Document):
    """Claims one identity for one customer. `_id` is "<orgId>:<platform>:<externalId>", so
    two customers can never hold the same identity, and finding a customer by identity is
    one primary-key read. A merge re-points these at the surviving customer."""

    model_config = ConfigDict(alias_generator=_alias, populate_by_name=True)

    id: str  # type: ignore[assignment]
    org_id: str
    customer_id: str
    platform: ChannelType
    external_id: str
    created_at: datetime = Field(default_factory=utcnow)

    @staticmethod
    def key(org_id: str, platform: ChannelType | str, external_id: str) -> str:
        return f"{org_id}:{ChannelType(platform).value}:{external_id}"

    class Settings:
        name = "customer_identities"
        indexes = [IndexModel([("orgId", ASCENDING), ("customerId", ASCENDING)])]


class Ticket(_Base):
    org_id: str
    channel_id: str
    customer_id: str | None = None
    external_thread_id: str
    subject: str
    status: TicketStatus = TicketStatus.OPEN
    priority: Priority = Priority.MEDIUM
    assignee_id: str | None = None
    # Set to "<channelId>:<threadId>" while OPEN or PENDING and removed on close: a unique
    # sparse index on it is what makes "one open ticket per conversation" hold under races.
    open_key: str | None = None
    last_message_at: datetime | None = None
    last_message_preview: str | None = None
    last_activity_at: datetime = Field(default_factory=utcnow)
    first_inbound_at: datetime | None = None
    first_response_at: datetime | None = None
    closed_at: datetime | None = None

    class Settings:
        name = "tickets"
        keep_nulls = False
        # The list's indexes: (orgId, <filter fields>, lastActivityAt, _id). The list reads
        # recent-activity windows (inbox/services/ticket_list.py), windowing a filter on the
        # index with its fields before lastActivityAt; writes keep `lastActivityAt` current.
        # The trailing `_id` is the list's tie-break, so a real MongoDB walks the index in
        # order and stops at the page instead of sorting every match.
        indexes = [
            IndexModel([("openKey", ASCENDING)], unique=True, sparse=True),
            IndexModel([("orgId", ASCENDING), ("lastActivityAt", DESCENDING), ("_id", DESCENDING)]),
            IndexModel(
                [
                    ("orgId", ASCENDING),
                    ("status", ASCENDING),
                    ("lastActivityAt", DESCENDING),
                    ("_id", DESCENDING),
                ]
            ),
            IndexModel(
                [
                    ("orgId", ASCENDING),
                    ("assigneeId", ASCENDING),
                    ("status", ASCENDING),
                    ("lastActivityAt", DESCENDING),
                    ("_id", DESCENDING),
                ]
            ),
            # "Mine"/"unassigned" in any status.
            IndexModel(
                [
                    ("orgId", ASCENDING),
                    ("assigneeId", ASCENDING),
                    ("lastActivityAt", DESCENDING),
                    ("_id", DESCENDING),
                ]
            ),
            IndexModel([("orgId", ASCENDING), ("customerId", ASCENDING)]),
            IndexModel([("orgId", ASCENDING), ("createdAt", ASCENDING)]),  # analytics
        ]


class Message(_Base):
    org_id: str
    ticket_id: str
    channel_id: str
    external_thread_id: str
    direction: Direction
    external_message_id: str | None = None
    sender_user_id: str | None = None
    sender_name: str
    content: str
    type: str = "text"
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: DeliveryStatus
    error: dict[str, Any] | None = None
    attempts: int = 0
    # "<deliveryId>#<index>" of the webhook event that stored it: tells a re-run of the same
    # stream record (finish its work) from a platform redelivery (ignore it).
    source: str | None = None
    # The platform's time for inbound messages and echoes, ours for replies: the sort key.
    timestamp: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "messages"
        keep_nulls = False
        indexes = [
            # "Stored once per (channel, external message id)"; replies get theirs on send.
            IndexModel(
                [("channelId", ASCENDING), ("externalMessageId", ASCENDING)],
                unique=True,
                partialFilterExpression={"externalMessageId": {"$type": "string"}},
            ),
            IndexModel(
                [("ticketId", ASCENDING), ("timestamp", ASCENDING), ("createdAt", ASCENDING)]
            ),
            IndexModel(
                [
                    ("channelId", ASCENDING),
                    ("externalThreadId", ASCENDING),
                    ("direction", ASCENDING),
                ]
            ),
            IndexModel([("status", ASCENDING), ("updatedAt", ASCENDING)]),
            # Plain twin of the unique index above: the embedded engine's planner skips
            # partial indexes. Serves `{externalMessageId: {$in}}` (threading a batch) and
            # `{externalMessageId, channelId}` (status receipts). Not the unique index's two
            # fields alone: Beanie tells indexes apart by their *set* of fields, and of two
            # with the same set it creates only the last (the unique one went missing).
            IndexModel(
                [
                    ("externalMessageId", ASCENDING),
                    ("channelId", ASCENDING),
                    ("direction", ASCENDING),
                ]
            ),
            # Analytics: per-org time ranges, and a campaign's messages (delivered/read).
            IndexModel([("orgId", ASCENDING), ("createdAt", ASCENDING)]),
            IndexModel([("metadata.campaignId", ASCENDING)], sparse=True),
        ]


class PendingStatus(_Base):
    """A status webhook that arrived before our send recorded the platform's message id.

    Applied (and deleted) the moment the send records that id, so no receipt is lost."""

    org_id: str
    channel_id: str
    external_message_id: str
    status: DeliveryStatus
    error: dict[str, Any] | None = None
    timestamp: datetime

    class Settings:
        name = "pending_statuses"
        indexes = [IndexModel([("channelId", ASCENDING), ("externalMessageId", ASCENDING)])]


class WebhookDelivery(_Base):
    """The durable journal of every accepted webhook POST, written before we answer 2xx.

    Its id is a hash of (channel, body), so a platform's redelivery of the same body is
    recognised here; `done_events` records which parsed events the worker has applied.
    """

    org_id: str
    channel_id: str
    body: str
    status: str = "RECEIVED"  # RECEIVED -> PROCESSED | FAILED
    event_count: int = 0
    done_events: list[int] = Field(default_factory=list)
    errors: list[dict[str, Any]] = Field(default_factory=list)
    handed_off_at: datetime | None = None

    class Settings:
        name = "webhook_deliveries"
        indexes = [
            # The sweeper's query: unfinished entries not touched for a while.
            IndexModel([("status", ASCENDING), ("updatedAt", ASCENDING)]),
        ]


class Macro(_Base):
    """A canned reply; `content` is a sandboxed Jinja2 template (inbox/services/macros.py)."""

    org_id: str
    name: str
    content: str
    created_by: str

    class Settings:
        name = "macros"
        indexes = [IndexModel([("orgId", ASCENDING), ("name", ASCENDING)], unique=True)]


class AuditLog(_Base):
    """One write by a user: who did what to which entity. Metadata never holds secrets."""

    org_id: str
    user_id: str
    action: str  # "<entity>.<verb>", e.g. "ticket.assign"
    entity: str
    entity_id: str
    metadata: dict[str, Any] = Field(default_factory=dict)

    class Settings:
        name = "audit_logs"
        indexes = [
            IndexModel([("orgId", ASCENDING), ("createdAt", DESCENDING)]),
            IndexModel([("orgId", ASCENDING), ("action", ASCENDING), ("createdAt", DESCENDING)]),
            IndexModel([("orgId", ASCENDING), ("entity", ASCENDING), ("createdAt", DESCENDING)]),
            IndexModel([("orgId", ASCENDING), ("userId", ASCENDING), ("createdAt", DESCENDING)]),
        ]


class NotificationType(StrEnum):
    NEW_MESSAGE = "NEW_MESSAGE"
    NEW_COMMENT = "NEW_COMMENT"
    TICKET_ASSIGNED = "TICKET_ASSIGNED"
    CUSTOMER_REPLY = "CUSTOMER_REPLY"


class Notification(_Base):
    """A private note to one user, created by the stream worker from a domain event."""

    org_id: str
    user_id: str
    type: NotificationType
    title: str
    message: str
    data: dict[str, Any] = Field(default_factory=dict)
    is_read: bool = False
    read_at: datetime | None = None
    # What caused it; unique per user, so a redelivered event creates nothing new.
    source_key: str

    class Settings:
        name = "notifications"
        indexes = [
            IndexModel([("sourceKey", ASCENDING), ("userId", ASCENDING)], unique=True),
            IndexModel([("orgId", ASCENDING), ("userId", ASCENDING), ("createdAt", DESCENDING)]),
            IndexModel(
                [
                    ("orgId", ASCENDING),
                    ("userId", ASCENDING),
                    ("isRead", ASCENDING),
                    ("createdAt", DESCENDING),
                ]
            ),
        ]


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
    `recipientType`); resolved to recipients when it starts (inbox/services/audiences.py)."""

    ALL = "all"
    WITH_ORDERS = "with_orders"
    WITHOUT_ORDERS = "without_orders"
    VIP = "vip"  # customers tagged "VIP", in any case
    CUSTOM = "custom"  # the customers listed in `recipientIds`


class Campaign(_Base):
    """A bulk outbound message on one channel (inbox/services/campaigns.py).

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
    # once per recipient by the public tracking endpoints (inbox/services/email_campaigns.py).
    subject: str | None = None
    opened_count: int = 0
    clicked_count: int = 0
    # Audience (inbox/services/audiences.py): a saved segment and/or a recipient type, turned
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


CORE_DOCUMENTS: list[type[Document]] = [
    Organisation,
    User,
    RefreshToken,
    Invite,
    Channel,
    Customer,
    CustomerIdentity,
    Ticket,
    Message,
    PendingStatus,
    WebhookDelivery,
    Macro,
    AuditLog,
    Notification,
    Campaign,
    CampaignRecipient,
]
