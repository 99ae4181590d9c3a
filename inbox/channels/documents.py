"""Channels (one connected platform account each) and the webhook journal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from pymongo import ASCENDING, IndexModel

from connectors.base import ChannelType
from inbox.document_base import _Base


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
