"""Tickets (one conversation each), their messages, pending delivery statuses and macros."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from connectors.base import DeliveryStatus, Direction
from inbox.document_base import _Base, utcnow


class TicketStatus(StrEnum):
    OPEN = "OPEN"
    PENDING = "PENDING"
    CLOSED = "CLOSED"


class Priority(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


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
        # recent-activity windows (inbox/conversations/ticket_list.py), windowing a filter on the
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


class Macro(_Base):
    """A canned reply; `content` is a sandboxed Jinja2 template (inbox/conversations/macros.py)."""

    org_id: str
    name: str
    content: str
    created_by: str

    class Settings:
        name = "macros"
        indexes = [IndexModel([("orgId", ASCENDING), ("name", ASCENDING)], unique=True)]
