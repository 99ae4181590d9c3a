"""What the API shows of notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from inbox.notifications.documents import Notification, NotificationType
from inbox.view_base import View


class NotificationView(View):
    id: str
    type: NotificationType
    title: str
    message: str
    data: dict[str, Any]
    is_read: bool
    read_at: datetime | None
    created_at: datetime


def notification_view(notification: Notification) -> NotificationView:
    return NotificationView.model_validate(notification, from_attributes=True)


class MarkedReadView(View):
    success: bool
    message: str
    count: int = Field(description="How many notifications were unread and are now read")
