"""What the API shows of channels (never their secrets)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.base import ChannelType
from inbox.channels.documents import Channel
from inbox.view_base import View


class ChannelView(View):
    id: str
    type: ChannelType
    name: str
    config: dict[str, Any]
    is_active: bool
    webhook_url: str
    created_at: datetime
    updated_at: datetime


def channel_view(channel: Channel, secret_fields: frozenset[str], public_url: str) -> ChannelView:
    # Secrets are write-only: shown only as whether they are set.
    config = {
        k: ("********" if v else "") if k in secret_fields else v
        for k, v in channel.config.items()
        if k != "apiBaseUrl" or v
    }
    return ChannelView(
        id=channel.id,
        type=channel.type,
        name=channel.name,
        config=config,
        is_active=channel.is_active,
        webhook_url=f"{public_url.rstrip('/')}/webhook/{channel.id}",
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )
