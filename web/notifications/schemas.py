"""The notifications list's query string."""

from __future__ import annotations

from web.schemas import _Query


class NotificationQuery(_Query):
    unread_only: bool = False
