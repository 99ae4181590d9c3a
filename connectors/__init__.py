"""Channel connectors: one per platform, looked up by channel type.

connector = get_connector(channel.type)   # None for TWITTER / LINKEDIN
events = connector.parse(payload, channel.config)
result = await connector.send(http, config_with_api_base_url, outbound)
"""

from __future__ import annotations

from connectors.base import ChannelType, Connector
from connectors.instagram import InstagramConnector
from connectors.messenger import MessengerConnector
from connectors.mock import MockConnector
from connectors.sms import SmsConnector
from connectors.smtp import EmailConnector
from connectors.whatsapp import WhatsAppConnector

# Connectors are stateless, so one shared instance per type serves every channel.
_CONNECTORS: dict[ChannelType, Connector] = {
    ChannelType.WHATSAPP: WhatsAppConnector(),
    ChannelType.FACEBOOK: MessengerConnector(),
    ChannelType.INSTAGRAM: InstagramConnector(),
    ChannelType.MOCK: MockConnector(),
    ChannelType.EMAIL: EmailConnector(),
    ChannelType.SMS: SmsConnector(),
}

CONNECTED_TYPES: frozenset[ChannelType] = frozenset(_CONNECTORS)
"""Channel types that have a connector (webhooks and replies work)."""


def get_connector(channel_type: str) -> Connector | None:
    """The connector for a channel type ("WHATSAPP" or ChannelType.WHATSAPP), else None."""
    try:
        return _CONNECTORS.get(ChannelType(str(channel_type).upper()))
    except ValueError:
        return None


__all__ = [
    "CONNECTED_TYPES",
    "EmailConnector",
    "InstagramConnector",
    "MessengerConnector",
    "MockConnector",
    "SmsConnector",
    "WhatsAppConnector",
    "get_connector",
]
