"""Agents' in-app notifications."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from inbox.document_base import _Base


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
